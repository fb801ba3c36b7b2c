"""Check a test response against the OpenAPI schema the project publishes (what clients code against)."""

from functools import lru_cache

import jsonschema


@lru_cache(maxsize=1)
def _schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _to_jsonschema(node):
    """OpenAPI 3.0 `nullable` is not JSON Schema; turn it into a null alternative."""
    if isinstance(node, list):
        return [_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_jsonschema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def response_schema(path: str, method: str, status: int = 200) -> dict:
    schema = _schema()
    op = schema["paths"][path][method.lower()]
    content = op["responses"][str(status)]["content"]["application/json"]["schema"]
    return _to_jsonschema({**content, "components": schema.get("components", {})})


def assert_matches_schema(response, path: str, method: str = "get") -> None:
    """`path` is the templated schema path, e.g. /api/v1/devices/{id}/."""
    schema = response_schema(path, method, response.status_code)
    schema["components"] = schema.get("components", {})
    # $ref values are "#/components/schemas/X": resolvable against the document itself.
    jsonschema.validate(response.json(), schema)
