"""Forms are usable by keyboard alone (issue 11): Tab to move, type, Enter to submit; no mouse."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _focused(page) -> dict:
    return page.evaluate("""() => { const e = document.activeElement;
        return {tag: e.tagName.toLowerCase(), name: e.name || "", text: (e.textContent || "").trim()}; }""")


def _tab_to(page, name: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if _focused(page)["name"] == name:
            return
    raise AssertionError(f"Tab never reached the {name!r} field")


def test_investor_signs_up_and_sets_time_zone_with_the_keyboard_only(page):
    page.goto("/accounts/signup/investor/")
    # First tab stop is the skip link; Enter on it lands on the main content, past the navigation.
    page.keyboard.press("Tab")
    assert _focused(page)["text"] == "Skip to content"
    expect(page.locator(".skip-link")).to_be_in_viewport()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert _focused(page)["name"] == "full_name"

    page.keyboard.type("Kim Keyboard")
    page.keyboard.press("Tab")
    assert _focused(page)["name"] == "email"
    page.keyboard.type("kim@example.test")
    page.keyboard.press("Tab")
    page.keyboard.type("a-long-enough-pass-1")
    page.keyboard.press("Tab")
    assert _focused(page)["name"] == "password2"
    page.keyboard.type("a-long-enough-pass-1")
    page.keyboard.press("Enter")
    # The browser keeps the skip link's #main across the redirect.
    page.wait_for_url(re.compile(r"/dashboard/(#main)?$"))
    assert User.objects.get(email="kim@example.test").full_name == "Kim Keyboard"

    page.goto("/accounts/profile/")
    _tab_to(page, "time_zone")
    # A closed <select> takes type-ahead: typing the zone's name picks it.
    page.keyboard.type("Europe/Zurich")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Zurich")
    page.keyboard.press("Tab")
    assert _focused(page)["text"] == "Save"
    page.keyboard.press("Enter")
    expect(page.get_by_text("Profile saved.")).to_be_visible()
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Zurich")
    assert User.objects.get(email="kim@example.test").time_zone == "Europe/Zurich"
