"""The API docs page in Chromium with the network cut off (only the platform itself reachable):
Swagger UI renders the operations."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_api_docs_show_the_operations_with_no_network_but_the_platform(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    outside = []

    def only_the_platform(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_platform)
    page = context.new_page()
    try:
        page.goto("/api/docs/")
        expect(page.get_by_text("MedRWA API").first).to_be_visible(timeout=15_000)
        expect(page.get_by_text("/api/v1/me/").first).to_be_visible()
        assert outside == []
    finally:
        context.close()
