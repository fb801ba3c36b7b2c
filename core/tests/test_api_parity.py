"""API parity in every app (issue 18, item 6): what a person can do on a page, a client can do
through the API, and the other way round.

The rule:
- every web route that takes a POST (a form target, an htmx or script post: found from the
  view itself: a class view with a `post` method, a function view whose source handles POST —
  `request.POST`, `request.method == "POST"`, `@require_POST`), one entry per action where the
  action is a path slug, has an API twin: at least one writing operation (POST/PUT/PATCH/DELETE)
  of the OpenAPI schema, listed in the app's `WEB_API_TWINS` (accounts, compliance,
  notifications keep theirs in `<app>/api_urls.py`; the others' are below) — or an entry in
  NO_API_TWIN saying why not;
- every writing operation in the schema is some web action's twin — or an entry in API_ONLY
  saying why a page has no use for it;
- every twin named exists in the schema with that method, and no entry of either list is stale
  (an action that is gone, or an exception that now has its twin).
A new POST form or a new writing endpoint fails here until it has its counterpart or a reason.
"""

import inspect
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

from accounts.api_urls import WEB_API_TWINS as ACCOUNTS_TWINS
from compliance import views as compliance_views
from compliance.api_urls import WEB_API_TWINS as COMPLIANCE_TWINS
from notifications.api_urls import WEB_API_TWINS as NOTIFICATIONS_TWINS

WRITE_METHODS = {"post", "put", "patch", "delete"}

# Web routes whose last path segment names the action: one action per slug.
SLUG_ACTIONS = {
    "compliance:case-action": sorted(compliance_views.ACTIONS),
    "tokens:agent-action-decide": ["confirm", "reject"],
}

_D = "/api/v1/devices/{pk}"
_T = "/api/v1/telemetry"
_O = "/api/v1/tokens/offerings"
_DIST = "/api/v1/tokens/distributions/{public_id}"
_M = "/api/v1/tokens/market"

# The twins of the apps that keep no WEB_API_TWINS of their own (web route name: API operations).
OTHER_TWINS = {
    "assets": {
        "device-create": [("post", "/api/v1/devices/")],
        "device-edit": [("patch", f"{_D}/")],
        "device-submit": [("post", f"{_D}/submit/")],
        "device-retire": [("post", f"{_D}/retire/")],
        "device-request-changes": [("post", f"{_D}/request-changes/")],
        "photo-add": [("post", f"{_D}/photos/")],
        "document-add": [("post", f"{_D}/documents/")],
        "appraise": [("post", f"{_D}/appraisals/")],
        "appraisal-sign": [("post", f"{_D}/appraisals/{{appraisal_pk}}/sign/")],
        "inspect": [("post", f"{_D}/certification/")],
        "device-anchor-retry": [("post", f"{_D}/anchor/retry/")],
    },
    "telemetry": {
        "credentials": [("post", f"{_T}/devices/{{device_id}}/credentials/")],
        "credential-revoke": [("post", f"{_T}/credentials/{{credential_id}}/revoke/")],
        "flag-clear": [("post", f"{_T}/flags/{{flag_id}}/clear/")],
        "tariffs": [("get", f"{_T}/tariffs/"), ("post", f"{_T}/tariffs/")],
        "period-close": [("post", f"{_T}/devices/{{device_id}}/periods/close/")],
        "period-settle": [("post", f"{_T}/periods/{{period_id}}/settle/")],
        "period-adjust": [("post", f"{_T}/periods/{{period_id}}/adjust/")],
        "compute-tariffs": [("post", f"{_T}/compute-tariffs/")],
        "payer-mix": [("put", f"{_T}/devices/{{device_id}}/payer-mix/")],
    },
    "tokens": {
        # The offering form's "Check the price" button is the preview.
        "offering-create": [("post", f"{_O}/"), ("post", f"{_O}/pricing/preview/")],
        "offering-edit": [("patch", f"{_O}/{{offering_id}}/terms/"), ("post", f"{_O}/pricing/preview/")],
        "offering-consent": [("post", f"{_O}/{{offering_id}}/consent/")],
        "offering-deploy": [("post", f"{_O}/{{offering_id}}/deploy/")],
        "offering-accept-pricing": [("post", f"{_O}/{{offering_id}}/pricing/accept/")],
        "agent-actions": [("post", f"{_O}/{{offering_id}}/actions/")],
        "agent-action-decide:confirm": [("post", "/api/v1/tokens/actions/{action_id}/confirm/")],
        "agent-action-decide:reject": [("post", "/api/v1/tokens/actions/{action_id}/reject/")],
        "compliance-params": [("post", f"{_O}/{{offering_id}}/compliance/")],
        "invest-buy": [("post", "/api/v1/tokens/orders/")],
        "order-cancel": [("post", "/api/v1/tokens/orders/{order_id}/cancel/")],
        "order-admin-refund": [("post", "/api/v1/tokens/admin/orders/{order_id}/refund/")],
        "order-dispute-resolve": [("post", "/api/v1/tokens/orders/{order_id}/dispute/resolve/")],
        "distribution-batch-claim": [("post", f"{_O}/{{offering_id}}/batch-claim/")],
        "distribution-confirm": [("post", f"{_DIST}/confirm/")],
        "distribution-dispute": [("post", f"{_DIST}/dispute/")],
        "distribution-checkout": [("post", f"{_DIST}/checkout/")],
        "distribution-resolve": [("post", f"{_DIST}/resolve/")],
        "distribution-bank-transfer": [("post", f"{_DIST}/bank-transfer/")],
        "distribution-bank-transfer-confirm": [("post", f"{_DIST}/bank-transfer/confirm/")],
        "distribution-bank-transfer-reject": [("post", f"{_DIST}/bank-transfer/reject/")],
        "distribution-retry": [("post", f"{_DIST}/retry/")],
        # A custodial wallet claims on the server; a self-custody wallet signs in the browser,
        # whose script asks the API to prepare the transaction and then tracks it.
        "income-claim": [("post", "/api/v1/tokens/income/claims/"), ("post", "/api/v1/tokens/income/claims/prepare/"),
                         ("post", "/api/v1/tokens/income/claims/track/")],
        "income-withdraw": [("post", "/api/v1/tokens/income/withdrawals/")],
        # The market's forms post twice: "Check with the token" (the contract's ERC-1404 answer),
        # then the action; self-custody wallets sign in the browser (prepare, then track).
        "market-sell": [("post", f"{_M}/offers/check/"), ("post", f"{_M}/offers/"),
                        ("post", f"{_M}/offers/prepare/"), ("post", f"{_M}/offers/track/")],
        "market-transfer": [("post", f"{_M}/transfers/check/"), ("post", f"{_M}/transfers/"),
                            ("post", f"{_M}/transfers/prepare/"), ("post", f"{_M}/transfers/track/")],
        "market-take": [("post", f"{_M}/offers/{{offer_id}}/take/check/"), ("post", f"{_M}/offers/{{offer_id}}/take/"),
                        ("post", f"{_M}/offers/{{offer_id}}/take/prepare/"),
                        ("post", f"{_M}/offers/{{offer_id}}/take/track/")],
        "market-offer-cancel": [("post", f"{_M}/offers/{{offer_id}}/cancel/"),
                                ("post", f"{_M}/offers/{{offer_id}}/cancel/prepare/"),
                                ("post", f"{_M}/offers/{{offer_id}}/cancel/track/")],
        "market-card": [("post", f"{_M}/offers/{{offer_id}}/card/check/"), ("post", f"{_M}/offers/{{offer_id}}/card/")],
        "market-card-cancel": [("post", f"{_M}/card-purchases/{{public_id}}/cancel/")],
        "market-card-dispute-resolve": [("post", f"{_M}/card-purchases/{{public_id}}/dispute/resolve/")],
    },
}

TWINS: dict[str, list[tuple[str, str]]] = {
    **{f"accounts:{k}": v for k, v in ACCOUNTS_TWINS.items()},
    **{f"compliance:{k}": v for k, v in COMPLIANCE_TWINS.items()},
    **{f"notifications:{k}": v for k, v in NOTIFICATIONS_TWINS.items()},
    **{f"{app}:{k}": v for app, twins in OTHER_TWINS.items() for k, v in twins.items()},
}

# POST web actions with no API twin, and why ("gap: …" marks one that should get a twin).
NO_API_TWIN = {
    "accounts:logout": "ends the browser's session; an API client holds no session to end (a token is "
                       "revoked by a password change, web or API)",
    "payments:stripe-webhook": "not a person's action: Stripe's signed server-to-server callback, itself the "
                               "machine interface (the payments port)",
    "payments:simulator-action": "stands in for Stripe's hosted checkout page on a laptop (a person paying at the "
                                 "provider, not on the platform); API clients pay through the checkout URL the "
                                 "checkout operations return, as with Stripe",
}

# Writing API operations no page has a use for, and why.
API_ONLY = {
    ("post", "/api/v1/telemetry/batches"): "the device agent's HMAC-signed usage upload: a machine, never a person",
    ("post", "/api/v1/devices/udi-check/"): "a read-only helper for clients (parse and check a UDI before "
                                            "registering); the device form runs the same check when it is posted",
}


def _routes(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(x for x in (namespace, p.namespace) if x)
            yield from _routes(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern) and p.name:
            yield prefix + str(p.pattern), ":".join(x for x in (namespace, p.name) if x), p.callback


def web_routes() -> dict[str, object]:
    """Every named web route (not Django's admin, not the API, its schema or docs): name → view."""
    return {name: cb for path, name, cb in _routes(get_resolver().url_patterns)
            if not path.startswith(("admin/", "api/"))}


def takes_post(view) -> bool:
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return any(hasattr(view_class, m) for m in WRITE_METHODS)
    # getsource of the undecorated function starts at its first decorator (@require_POST).
    return bool(re.search(r"(?<![A-Za-z])POST\b", inspect.getsource(inspect.unwrap(view))))


def post_actions() -> set[str]:
    actions = set()
    for name, view in web_routes().items():
        if takes_post(view):
            actions |= {f"{name}:{slug}" for slug in SLUG_ACTIONS[name]} if name in SLUG_ACTIONS else {name}
    return actions


def _norm(path: str) -> str:
    # Path parameter names are the schema's business ({pk} may be published as {id}).
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture(scope="module")
def schema_ops() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {(method, _norm(path)) for path, ops in schema["paths"].items() for method in ops
            if method in WRITE_METHODS | {"get"}}


def test_every_post_web_action_has_an_api_twin():
    actions = post_actions()
    without = sorted(a for a in actions if a not in NO_API_TWIN
                     and not any(m in WRITE_METHODS for m, _ in TWINS.get(a, [])))
    assert not without, f"POST web actions without a writing API twin (add one, or a reason in NO_API_TWIN): {without}"


def test_every_writing_api_operation_is_a_web_actions_twin(schema_ops):
    twinned = {(m, _norm(p)) for twins in TWINS.values() for m, p in twins}
    allowed = {(m, _norm(p)) for m, p in API_ONLY}
    orphans = sorted(op for op in schema_ops if op[0] in WRITE_METHODS and op not in twinned | allowed)
    assert not orphans, f"writing API operations no web action has (add the page, or a reason in API_ONLY): {orphans}"


def test_every_twin_is_in_the_schema(schema_ops):
    absent = sorted((name, m, p) for name, twins in TWINS.items() for m, p in twins if (m, _norm(p)) not in schema_ops)
    assert not absent, f"API twins missing from the OpenAPI schema: {absent}"


def test_no_stale_entries(schema_ops):
    routes = set(web_routes()) | {f"{n}:{s}" for n, slugs in SLUG_ACTIONS.items() for s in slugs}
    assert sorted(set(TWINS) - routes) == [], "twins of web routes that no longer exist"
    actions = post_actions()
    assert sorted(set(NO_API_TWIN) - actions) == [], "NO_API_TWIN names routes that no longer take a POST"
    assert sorted(set(NO_API_TWIN) & set(TWINS)) == [], "NO_API_TWIN names actions that now have a twin"
    assert sorted(op for op in API_ONLY if (op[0], _norm(op[1])) not in schema_ops) == [], "API_ONLY: not in schema"
    twinned = {(m, _norm(p)) for twins in TWINS.values() for m, p in twins}
    assert sorted(op for op in API_ONLY if (op[0], _norm(op[1])) in twinned) == [], "API_ONLY: now a twin"
    assert set(SLUG_ACTIONS) <= set(web_routes())


_FORM = re.compile(r"<form\b[^>]*>", re.I | re.S)
_POST_TARGET = re.compile(r"""\b(?:hx-post|action)\s*=\s*["']\{%\s*url\s+['"]([\w-]+:[\w-]+)['"]""", re.I)


def test_every_post_form_target_in_the_templates_is_seen_as_a_post_action():
    """The view-source check above is what finds POST actions; every POST form target and every
    hx-post in the templates must be among them (else that check missed one)."""
    routes = web_routes()
    missed = {}
    for path in sorted((Path(settings.BASE_DIR) / "templates").rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        targets = [m.group(1) for tag in _FORM.findall(source) if re.search(r"method\s*=\s*[\"']post", tag, re.I)
                   for m in [_POST_TARGET.search(tag)] if m]
        targets += re.findall(r"""hx-post\s*=\s*["']\{%\s*url\s+['"]([\w-]+:[\w-]+)['"]""", source)
        for name in targets:
            if name not in routes or not takes_post(routes[name]):
                missed.setdefault(name, str(path.relative_to(settings.BASE_DIR)))
    assert not missed, f"POST form targets not recognised as POST web actions: {missed}"
