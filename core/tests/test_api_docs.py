"""The API docs (Swagger UI, ReDoc) work offline: every script, stylesheet and image they load
is served by the project itself, never a CDN (an air-gapped or strict-CSP deployment)."""

import re

import pytest

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|["']([^"'\s]+\.(?:js|css|png|ico))["']""")


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_every_asset_from_the_project(client, url):
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert not re.search(r"(?:src|href)\s*=\s*[\"'](?:https?:)?//", html), "an asset from another host"
    assert "cdn." not in html and "jsdelivr" not in html and "unpkg" not in html
    assets = {a or b for a, b in ASSET.findall(html)} - {""}
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts, html[:500]
    for asset in assets:
        if asset.startswith("/static/"):
            assert client.get(asset).status_code == 200, asset
