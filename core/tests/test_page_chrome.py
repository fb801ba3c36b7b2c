"""What every page carries in its <head>: a plain-text title, in the reader's language, and the
project's own favicon (served from our static files, no other host)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.tests.factories import make_user
from core.permissions import Role

TITLE = re.compile(r"<title>(.*?)</title>", re.S | re.I)
ICON = re.compile(r'<link rel="icon" href="([^"]+)"')


def _title(resp) -> str:
    assert resp.status_code == 200, resp.status_code
    titles = TITLE.findall(resp.content.decode())
    assert len(titles) == 1, titles
    return titles[0]


def test_no_template_puts_markup_in_its_title_block():
    """A title is plain text: the tab, the bookmark and a screen reader show it verbatim."""
    block = re.compile(r"{%\s*block title\s*%}(.*?){%\s*endblock", re.S)
    offenders = []
    for base in settings.TEMPLATES[0]["DIRS"]:
        for path in sorted(Path(base).rglob("*.html")):
            offenders += [f"{path.relative_to(base)}: {b!r}" for b in block.findall(path.read_text(encoding="utf-8"))
                          if "<" in b]
    assert offenders == []


@pytest.mark.django_db
def test_tariffs_page_title_is_plain_text_and_the_compute_link_stays_on_the_page(client, platform_admin):
    client.force_login(platform_admin)
    resp = client.get(reverse("telemetry:tariffs"))
    title = _title(resp)
    assert "<" not in title and title.split("·")[0].strip() == "Fee schedule"
    body = resp.content.decode().split("</head>", 1)[1]
    assert f'<a href="{reverse("telemetry:compute-tariffs")}">' in body


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "url", "zh", "en"), [
    (Role.CLINIC_ADMIN, "assets:device-create", "登记设备", "Register a device"),
    (Role.APPRAISER, "assets:appraisal-queue", "评估队列", "Appraisal queue"),
    (Role.INSPECTOR, "assets:inspection-queue", "检验队列", "Inspection queue"),
])
def test_page_titles_and_headings_follow_the_language(client, role, url, zh, en):
    user = make_user(role, language="zh-hans")
    client.force_login(user)
    page = client.get(reverse(url))
    title = _title(page)
    assert zh in title and en not in title and "<" not in title
    assert f"<h1>{zh}</h1>" in page.content.decode()
    user.language = "en"
    user.save(update_fields=["language"])
    assert en in _title(client.get(reverse(url)))


@pytest.mark.django_db
def test_device_edit_title_and_queue_buttons_are_translated(client, clinic_device_factory):
    device, admin = clinic_device_factory("draft")
    admin.language = "zh-hans"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    title = _title(client.get(reverse("assets:device-edit", args=[device.pk])))
    assert title.startswith("编辑 ") and "Edit" not in title

    submitted, _ = clinic_device_factory("submitted")
    client.force_login(make_user(Role.APPRAISER, language="zh-hans"))
    page = client.get(reverse("assets:appraisal-queue")).content.decode()
    assert f"评估 {submitted.serial_number}</a>" in page and f"Appraise {submitted.serial_number}" not in page


@pytest.mark.django_db
def test_every_page_links_the_favicon_and_it_is_served(client):
    page = client.get("/").content.decode()
    head = page.split("</head>", 1)[0]
    icons = ICON.findall(head)
    assert icons == [f"{settings.STATIC_URL}favicon.svg"]
    resp = client.get(icons[0])
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in b"".join(resp.streaming_content if resp.streaming else [resp.content])
