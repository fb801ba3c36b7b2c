"""Every page every role can reach, in English and in Chinese, on the demo's own data.

The demo is seeded the way `make run` seeds it: `seed_demo` once before the chain is up (the
CT is certified and its anchoring fails: no AssetRegistry yet; the investors' KYC waits),
then the shared contracts are deployed and `seed_demo` runs again (KYC approved, the CT
tokenized, 10 units sold, the previous month closed — with its compute line — confirmed,
paid and distributed, the lock-up lifted; the CT's failed anchoring retried by itself). On top
of that: an offer on the market board partly taken, a device waiting for the appraiser and one
for the inspector, a certified device whose anchoring failed for good, and two empty states (an
investor and a clinic that have just signed up).

Then, for each role (every demo user, the two newcomers, a visitor) and each language (set with
the header's language switcher), a breadth-first crawl from the start pages follows every
same-site `<a href>`, `hx-get` and GET form (with its default values, then each choice of each
short select), de-duplicated and bounded (MAX_PAGES per role and language, MAX_PER_ROUTE
variants of a route; SKIP_PREFIXES says what is never fetched and why), and fails on:
- a 5xx or an exception (a template variable that does not resolve is one: the test settings
  make it raise, naming the template and line);
- a link that answers 4xx (a page offering a way that is closed to the one who sees it);
- markup in a `<title>`;
- in zh-hans, a `<title>`, `<h1>` or `<h2>` with no Chinese in it (proper names and codes
  excepted: UNTRANSLATED_OK and the seeded names);
- money printed unformatted in visible text (`525.000000 USD`, `3500.00 USD`).
New pages are covered because the crawl finds them. The assertion message lists every failure
(URL, role, language, what failed, the page linking to it); the printout (`-s` or `-rP`) gives
the pages visited per role and language and the known failures (KNOWN). CRAWLER_DUMP=<file>
writes every URL visited with its status.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import logging
import os
import re
import socket
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urldefrag, urlencode, urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.core.signals import request_finished
from django.db import close_old_connections, transaction
from django.template import Context, Engine
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone

from accounts import demo as accounts_demo
from accounts.models import Organization, User
from accounts.services import clinic_signup, investor_signup
from assets import demo as assets_demo
from assets import services as asset_services
from assets.models import AnchorStatus, Device
from assets.samples import pdf_upload, photo_upload
from chain import processor
from compliance.selectors import custodial_wallet
from telemetry.models import RevenuePeriod
from tests.fixtures.chain import _SESSION_DEPLOYMENTS, chain_ready_on
from tokens.market import services as market
from tokens.models import Distribution, Offering, OfferingStatus

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

# Known failures, while their fix is under way: (check, route, regex searched in the failure's
# detail) → cause. A failure matching an entry is reported but does not fail the test; an entry
# that matches no failure fails it ("stale"): remove each entry once its defect is fixed.
KNOWN: dict[tuple[str, str, str], str] = {}

# Words a zh-hans title or heading may show untranslated, and why. Besides these: the seeded
# proper names (people, clinics, devices, tokens, emails), numbers, and codes (a word in
# capitals of up to 5 letters, or with a digit: CT, USD, KYC, MED1, K183621).
UNTRANSLATED_OK = {
    "MedRWA": "the product's name (the API pages' title is “MedRWA API”)",
}

LANGUAGES = ["en", "zh-hans"]
MAX_PAGES = 150  # per role and language
MAX_PER_ROUTE = 8  # variants of one route (ids, filters, pages) per role and language
MAX_SELECT_OPTIONS = 12  # a GET form is also tried with each choice of a select this short
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # a larger download is requested, not read
# Not crawled, and why.
SKIP_PREFIXES = {
    "/static/": "static files, not pages",
    "/admin/": "Django's own admin site: its templates are Django's, not the product's pages",
    "/accounts/logout/": "would end the session (and is POST-only)",
    "/i18n/setlang/": "would switch the crawl's language",
}
SAME_SITE = {"", "testserver"}

CURRENCIES = r"(?:USD|EUR|GBP|CHF|SGD|AED|JPY|mUSD)"
# Amounts as a person must not read them, in visible text: more than two decimals, or four or
# more digits without a thousands separator, next to a currency code.
UNFORMATTED_MONEY = [
    re.compile(rf"(?<![\w.,])\d[\d,]*\.\d{{3,}}[ \u00a0]?{CURRENCIES}\b"),
    re.compile(rf"(?<![\w.,])\d{{4,}}(?:\.\d+)?[ \u00a0]?{CURRENCIES}\b"),
    re.compile(rf"\b{CURRENCIES}[ \u00a0]?\d[\d,]*\.\d{{3,}}(?![\w.,])"),
    re.compile(rf"\b{CURRENCIES}[ \u00a0]?\d{{4,}}(?:\.\d+)?(?![\w.,])"),
]
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")


# --- the demo, seeded as `make run` seeds it -----------------------------------------------

def _dead_rpc_url() -> str:
    with socket.socket() as s:  # a port nothing listens on: the chain is not up yet
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def demo(anvil, db, settings, tmp_path):
    settings.VAR_DIR = tmp_path  # the demo agent's spool goes under the test's own directory
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "OPTIONS": {
        **settings.TEMPLATES[0]["OPTIONS"], "string_if_invalid": settings.STRING_IF_INVALID}}]
    # `make run`: migrate, seed_demo (no chain yet), then the chain process deploys the shared
    # contracts and runs seed_demo again.
    settings.CHAIN_RPC_URL = _dead_rpc_url()
    call_command("seed_demo", stdout=io.StringIO())
    ct = Device.objects.get(serial_number=assets_demo.CT_SERIAL)
    first_anchor = (ct.anchor_status, ct.anchor_attempt)
    chain_ready_on(anvil, settings, _SESSION_DEPLOYMENTS)
    out = io.StringIO()
    call_command("seed_demo", stdout=out)

    users = {email: User.objects.get(email=email) for email, *_ in accounts_demo.DEMO_USERS}
    ct.refresh_from_db()
    assert first_anchor == (AnchorStatus.FAILED, 1), first_anchor
    assert ct.anchor_status == AnchorStatus.ANCHORED and ct.anchor_attempt >= 2, (ct.anchor_status, ct.anchor_error)

    offering = Offering.objects.get(status=OfferingStatus.LIVE)
    d = Distribution.objects.get()
    assert d.status == "distributed", (d.status, d.error, out.getvalue())
    assert any(line.get("kind") == "compute" for line in d.period.lines), "the demo month has no compute line"
    assert RevenuePeriod.objects.filter(device=ct).exists()

    # The market: the demo investor lists units, the second investor takes some of them.
    seller, buyer = users["investor@demo.medrwa.local"], users["investor2@demo.medrwa.local"]
    # A price of its own, not the offering's (which follows the appraisal, so the day): the
    # amounts shown for the fill are then the same every run.
    offer = market.offer_create(actor=seller, offering=offering, wallet=custodial_wallet(user=seller).address,
                                units=4, price_per_unit=Decimal("655.37"),
                                expires_at=timezone.now() + dt.timedelta(days=7))
    processor.drain(timeout=60)
    offer.refresh_from_db()
    assert offer.status == "open", offer.error
    market.take_create(actor=buyer, offer_id=offer.pk, wallet=custodial_wallet(user=buyer).address, units=1)
    processor.drain(timeout=60)
    offer.refresh_from_db()
    assert offer.units_remaining == 3, (offer.status, offer.error)

    # Work waiting for the appraiser (a submitted device) and the inspector (an appraised one).
    _device_waiting(users, "DEMO-US-0001", appraise=False)
    _device_waiting(users, "DEMO-DX-0001", appraise=True)
    # A certificate whose anchoring failed for good (no automatic retry): its page says so.
    failed = _device_waiting(users, "DEMO-DX-0002", appraise=True)
    asset_services.certification_complete(
        actor=users["inspector@demo.medrwa.local"], device=failed,
        items={key: {"passed": True, "notes": ""} for key, _ in asset_services.CHECKLIST},
        qa_calibration_date=timezone.localdate() - dt.timedelta(days=30))
    failed.refresh_from_db()
    asset_services.device_anchor_final(device_id=failed.pk, attempt=failed.anchor_attempt, confirmed=False,
                                       error="execution reverted: InvalidDeviceId()")
    failed.refresh_from_db()
    assert failed.anchor_status == AnchorStatus.FAILED and failed.anchor_next_retry_at is None, failed.anchor_error

    # Empty states: an investor and a clinic that have just signed up.
    fresh_investor = investor_signup(email="new.investor@example.org", password="crawler-pw-2026",
                                     full_name="Noa Newcomer")
    fresh_clinic = clinic_signup(email="new.clinic@example.org", password="crawler-pw-2026",
                                 full_name="Nils Newclinic", clinic_name="Harbor Imaging", country="US", city="Salem")

    roles = {email.split("@")[0]: u for email, u in users.items()}
    roles |= {"new.investor": fresh_investor, "new.clinic": fresh_clinic, "visitor": None}
    public = [f"/verify/distributions/{d.public_id}/", f"/verify/{ct.public_ref}/"]
    return {"roles": roles, "public": public, "names": _proper_names()}


def _device_waiting(users: dict, serial: str, *, appraise: bool) -> Device:
    admin = users["clinic.admin@demo.medrwa.local"]
    appraiser = users["appraiser@demo.medrwa.local"]
    device = asset_services.device_create(
        actor=admin, organization=Organization.objects.get(name=accounts_demo.CLINIC_ORG), data={
            "modality": "DX" if appraise else "US", "manufacturer": "Fujifilm", "model_name": "FDR Smart X",
            "serial_number": serial, "manufacture_date": dt.date(2022, 5, 1), "purchase_price": "180000.00",
            "purchase_currency": "USD", "declared_exams_per_day": "40"})
    asset_services.device_photo_add(actor=admin, device=device, upload=photo_upload("front.jpg"))
    asset_services.device_document_add(actor=admin, device=device, upload=pdf_upload("invoice.pdf", "Invoice"),
                                       kind="invoice")
    asset_services.device_submit(actor=admin, device=device)
    if appraise:
        appraisal = asset_services.appraisal_create(
            actor=appraiser, device=device, effective_date=timezone.localdate(), replacement_cost_new="210000",
            currency="USD", condition_factor="0.85", technical_fee_per_exam="60",
            operating_cost_per_year="500000", comparables=[], weights={"cost": "0.6", "income": "0.4"})
        asset_services.appraisal_sign(actor=appraiser, appraisal=appraisal)
    return device


def _proper_names() -> list[str]:
    """Names from the seeded data that read the same in every language."""
    names = set()
    for u in User.objects.all():
        names |= {u.full_name, u.email}
    names |= set(Organization.objects.values_list("name", flat=True))
    for dev in Device.objects.all():
        names |= {dev.manufacturer, dev.model_name, f"{dev.manufacturer} {dev.model_name}", dev.serial_number}
    for o in Offering.objects.all():
        names |= {o.token_name, o.token_symbol}
    return sorted((n for n in names if n), key=len, reverse=True)


# --- reading a page ------------------------------------------------------------------------

BLOCK = {"p", "div", "td", "th", "tr", "li", "ul", "ol", "table", "section", "article", "header", "footer",
         "h1", "h2", "h3", "h4", "h5", "h6", "br", "dt", "dd", "dl", "form", "label", "option", "nav",
         "main", "summary", "details", "figure", "figcaption", "caption", "small", "button", "hr"}
HIDDEN = {"script", "style", "code", "pre", "textarea", "template", "title"}
NO_VALUE_INPUTS = {"submit", "button", "image", "reset", "file"}


class Page(HTMLParser):
    """Links, hx-get targets, GET forms with their default values, h1/h2 texts and the
    visible text (without scripts, code, textareas and input values)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, bool]] = []  # (href, fetched by htmx)
        # GET forms: (action, default fields, [(select name, its options)])
        self.forms: list[tuple[str, list[tuple[str, str]], list[tuple[str, list[str]]]]] = []
        self.headings: list[tuple[str, str]] = []
        self._text: list[str] = []
        self._hidden = 0
        self._heading: list[list] = []
        self._form: dict | None = None
        self._select: dict | None = None
        self._option: list | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag in HIDDEN:
            self._hidden += 1
        if tag in BLOCK:
            self._text.append("\n")
        if tag in ("h1", "h2"):
            self._heading.append([tag, []])
        if tag == "a" and a.get("href"):
            self.links.append((a["href"], False))
        if a.get("hx-get"):
            self.links.append((a["hx-get"], True))
        if tag == "form":
            self._form = {"method": a.get("method", "get").lower(), "action": a.get("action", ""), "fields": [],
                          "selects": []}
        elif self._form is not None and a.get("name") and not a.get("disabled"):
            if tag == "input":
                kind = a.get("type", "text").lower()
                if kind in ("checkbox", "radio"):
                    if "checked" in a:
                        self._form["fields"].append((a["name"], a.get("value", "on")))
                elif kind not in NO_VALUE_INPUTS:
                    self._form["fields"].append((a["name"], a.get("value", "")))
            elif tag == "select":
                self._select = {"name": a["name"], "options": [], "selected": None}
            elif tag == "textarea":
                self._form["fields"].append((a["name"], ""))
        if tag == "option" and self._select is not None:
            self._option = [a.get("value"), [], "selected" in a]

    def handle_endtag(self, tag):
        if tag in HIDDEN and self._hidden:
            self._hidden -= 1
        if tag in BLOCK:
            self._text.append("\n")
        if tag in ("h1", "h2") and self._heading:
            name, parts = self._heading.pop()
            self.headings.append((name, " ".join("".join(parts).split())))
        if tag == "option" and self._option is not None and self._select is not None:
            value, text, selected = self._option
            value = value if value is not None else "".join(text).strip()
            self._select["options"].append(value)
            if selected and self._select["selected"] is None:
                self._select["selected"] = value
            self._option = None
        if tag == "select" and self._select is not None and self._form is not None:
            s = self._select
            value = s["selected"] if s["selected"] is not None else (s["options"][0] if s["options"] else None)
            if value is not None:
                self._form["fields"].append((s["name"], value))
            self._form["selects"].append((s["name"], s["options"]))
            self._select = None
        if tag == "form" and self._form is not None:
            if self._form["method"] == "get":
                self.forms.append((self._form["action"], self._form["fields"], self._form["selects"]))
            self._form = None

    def handle_data(self, data):
        if self._option is not None:
            self._option[1].append(data)
        for _, parts in self._heading:
            parts.append(data)
        if not self._hidden:
            self._text.append(data)

    @property
    def text(self) -> str:
        return "".join(self._text)


# --- the crawl -----------------------------------------------------------------------------

@dataclass
class Failure:
    role: str
    lang: str
    url: str
    check: str
    detail: str
    route: str = ""
    via: str = ""

    def line(self) -> str:
        via = f" (linked from {self.via})" if self.via else ""
        return f"[{self.check}] {self.url} · {self.role} · {self.lang}: {self.detail}{via}"


@dataclass
class Crawl:
    role: str
    lang: str
    pages: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    capped: list[str] = field(default_factory=list)
    visited: list[tuple[str, int]] = field(default_factory=list)


def _route(path: str) -> str:
    try:
        return "/" + resolve(path).route
    except Resolver404:
        return path


def _normalize(base: str, href: str) -> str | None:
    href = html.unescape(href.strip())
    if not href or href.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
        return None
    url = urldefrag(urljoin(base, href)).url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "") or parts.netloc not in SAME_SITE:
        return None
    if any(parts.path.startswith(p) for p in SKIP_PREFIXES):
        return None
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return parts.path + (f"?{query}" if query else "")


def _untranslated(text: str, names: list[str]) -> bool:
    if not text or CJK.search(text):
        return False
    rest = text
    for name in [*names, *UNTRANSLATED_OK]:
        rest = rest.replace(name, " ")
    words = re.findall(r"[^\W\d_][\w.'’-]*", rest)
    return any(not (re.fullmatch(r"[A-Z]{1,5}s?", w) or re.search(r"\d", w)) for w in words)


def _check_html(body: str, *, lang: str, names: list[str]) -> tuple[Page, list[tuple[str, str]]]:
    problems = []
    page = Page()
    page.feed(body)
    page.close()
    title = re.search(r"<title[^>]*>(.*?)</title>", body, re.S | re.I)
    if title:
        raw = html.unescape(title.group(1))
        if MARKUP.search(raw):
            problems.append(("title-markup", f"<title> contains markup: {' '.join(raw.split())[:120]!r}"))
        shown = " ".join(MARKUP.sub(" ", raw).split()).removesuffix("· MedRWA").strip()
        if lang != "en" and _untranslated(shown, names):
            problems.append(("untranslated", f"<title> {shown!r}"))
    if lang != "en":
        for tag, text in page.headings:
            if _untranslated(text, names):
                problems.append(("untranslated", f"<{tag}> {text!r}"))
    visible, seen = page.text, set()
    for pattern in UNFORMATTED_MONEY:
        for m in pattern.finditer(visible):
            if m.start() in seen:  # one finding per amount, whichever rule it breaks first
                continue
            seen.add(m.start())
            around = " ".join(visible[max(0, m.start() - 40):m.end() + 10].split())
            problems.append(("money", f"unformatted amount {m.group(0)!r} in {around!r}"))
    return page, problems


def crawl(client: Client, *, role: str, lang: str, start: list[str], names: list[str]) -> Crawl:
    result = Crawl(role, lang)
    began = time.monotonic()
    queue: deque[tuple[str, str, dict]] = deque((u, "", {}) for u in start)
    queue.append(("/no-such-page/", "", {"expect": 404}))
    seen: set[str] = set()
    per_route: Counter[str] = Counter()
    while queue:
        url, via, opts = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        path = urlsplit(url).path
        route = _route(path)
        if per_route[route] >= MAX_PER_ROUTE:
            continue
        if result.pages >= MAX_PAGES:
            result.capped.append(url)
            continue
        per_route[route] += 1
        result.pages += 1

        def fail(check, detail, url=url, route=route, via=via):
            result.failures.append(Failure(role, lang, url, check, detail, route, via))

        headers = {"HX-Request": "true"} if opts.get("hx") else {}
        try:
            with transaction.atomic():  # a failing view's database error must not end the crawl
                response = client.get(url, headers=headers)
        except Exception as exc:  # every exception is a finding
            name = type(exc).__name__
            check = "template-variable" if name == "InvalidTemplateVariableError" else "exception"
            fail(check, f"{name}: {' '.join(str(exc).split())[:300]}")
            continue
        status = response.status_code
        result.visited.append((url, status))
        if status >= 500:
            fail("5xx", f"HTTP {status}")
        elif status >= 400 and status != opts.get("expect"):
            fail("4xx-link", f"HTTP {status}")
        if 300 <= status < 400 and response.get("Location"):
            target = _normalize("http://testserver" + url, response["Location"])
            if target:
                queue.appendleft((target, url, {}))
            continue
        if response.streaming:  # a download: its status is what counts
            if int(response.get("Content-Length") or 0) > MAX_DOWNLOAD_BYTES:
                # Closed unread, as the test client closes a response: without closing the
                # database connection the test runs in.
                request_finished.disconnect(close_old_connections)
                try:
                    response.close()
                finally:
                    request_finished.connect(close_old_connections)
            else:
                for _ in response.streaming_content:  # read through: the client closes it at the end
                    pass
            continue
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        body = response.content.decode(response.charset or "utf-8", "replace")
        page, problems = _check_html(body, lang=lang, names=names)
        for check, detail in problems:
            fail(check, detail)
        base = "http://testserver" + url
        for href, hx in page.links:
            target = _normalize(base, href)
            if target and target not in seen:
                queue.append((target, url, {"hx": hx}))
        for action, fields, selects in page.forms:
            # As submitted with its defaults, then with each choice of each short select (a
            # status or kind filter; not a list of countries), within the route's budget.
            variants = [fields] + [[(k, option if k == name else v) for k, v in fields]
                                   for name, options in selects if len(options) <= MAX_SELECT_OPTIONS
                                   for option in options]
            target = _normalize(base, action or path)
            for values in variants if target else []:
                variant = _normalize(base, target.split("?")[0] + "?" + urlencode(values)) if values else target
                if variant and variant not in seen:
                    queue.append((variant, url, {}))
    result.seconds = time.monotonic() - began
    return result


def _known(f: Failure) -> tuple[str, str, str] | None:
    for key in KNOWN:
        check, route, pattern = key
        if check == f.check and route == f.route and re.search(pattern, f.detail):
            return key
    return None


def _compact(failures: list[Failure]) -> list[str]:
    """One line per route and finding: an example URL, who hit it (role/language), the page
    that links to it."""
    grouped: dict[tuple[str, str, str], list[Failure]] = {}
    for f in failures:
        grouped.setdefault((f.check, f.route, f.detail), []).append(f)
    lines = []
    for (check, _, detail), fs in sorted(grouped.items()):
        who = sorted({f"{f.role}/{f.lang}" for f in fs})
        urls = sorted({f.url for f in fs})
        more = f" (+{len(urls) - 1} more URLs)" if len(urls) > 1 else ""
        via = f" · linked from {fs[0].via}" if fs[0].via else ""
        lines.append(f"[{check}] {urls[0]}{more} · {', '.join(who)}: {detail}{via}")
    return lines


@pytest.fixture
def quiet_request_log():
    """Each error is in the test's own list; not also a traceback per page in the log."""
    log = logging.getLogger("django.request")
    level = log.level
    log.setLevel(logging.CRITICAL)
    yield
    log.setLevel(level)


def test_every_page_every_role_both_languages(demo, quiet_request_log):
    began = time.monotonic()
    crawls = []
    for n, (role, user) in enumerate(demo["roles"].items()):
        for lang in LANGUAGES:
            # Each crawl from its own address: the public pages' per-address budget is per visitor.
            client = Client(REMOTE_ADDR=f"10.0.{n}.{LANGUAGES.index(lang) + 1}")
            if user is not None:
                client.force_login(user)
            client.post("/i18n/setlang/", {"language": lang, "next": "/"})  # the header's switcher
            start = ["/", "/dashboard/", *demo["public"], "/api/docs/", "/api/redoc/"]
            crawls.append(crawl(client, role=role, lang=lang, start=start, names=demo["names"]))
    elapsed = time.monotonic() - began

    print(f"\ncrawled {sum(c.pages for c in crawls)} pages in {elapsed:.0f} s (role · language: pages, seconds)")
    for c in crawls:
        capped = f", capped ({len(c.capped)} left unvisited)" if c.capped else ""
        print(f"  {c.role:<14} {c.lang:<8} {c.pages:>4} pages {c.seconds:5.1f} s{capped}")
    if os.environ.get("CRAWLER_DUMP"):
        with open(os.environ["CRAWLER_DUMP"], "w") as fh:
            for c in crawls:
                fh.writelines(f"{c.role} {c.lang} {status} {url}\n" for url, status in c.visited)
    failures = [f for c in crawls for f in c.failures]
    matched = {k for f in failures if (k := _known(f))}
    stale = [k for k in KNOWN if k not in matched]
    known = _compact([f for f in failures if _known(f)])
    lines = _compact([f for f in failures if _known(f) is None])
    lines += [f"[stale KNOWN entry] {k}: no longer fails, remove it" for k in stale]
    if known:
        print(f"known failures (KNOWN, {len(KNOWN)} entries):", *known, sep="\n  ")
    if lines:
        print("failures:", *lines, sep="\n  ")
    assert not lines, f"{len(lines)} crawler failures:\n" + "\n".join(lines)
    assert all(c.pages > 5 for c in crawls), [(c.role, c.lang, c.pages) for c in crawls]


def test_a_template_variable_that_does_not_resolve_fails_the_render(settings):
    """What the crawler relies on (config/settings/test.py): a missing name, key or attribute
    raises when printed, with or without a filter; conditions and loops work as in production."""
    engine = Engine(string_if_invalid=settings.STRING_IF_INVALID, libraries={
        "medrwa": "core.templatetags.medrwa", "i18n": "django.templatetags.i18n"})

    def render(source, **context):
        return engine.from_string(source).render(Context(context))

    class Gone(Exception):
        silent_variable_failure = True  # like a missing reverse one-to-one (user.investor_profile)

    class Investor:
        @property
        def profile(self):
            raise Gone

    assert render("{% if missing %}x{% endif %}{% for i in missing %}{{ i }}{% endfor %}{{ n }}", n=1) == "1"
    assert render("{% if u.profile %}yes{% else %}no{% endif %}{% for x in u.profile %}x{% endfor %}",
                  u=Investor()) == "no"
    assert render("{{ u.profile|default:'none' }}", u=Investor()) == "none"
    for source, context, name in [("{{ missing }}", {}, "missing"),
                                  ("{% load medrwa %}{{ row.amount|money:'USD' }}", {"row": {}}, "row.amount"),
                                  ("{{ row.cpt_code|default:'—' }}", {"row": {"kind": "compute"}}, "row.cpt_code"),
                                  ("{% load i18n %}{% blocktranslate %}{{ years }} years{% endblocktranslate %}", {},
                                   "years")]:
        with pytest.raises(Exception, match=f"template variable '{re.escape(name)}' does not resolve") as exc:
            render(source, **context)
        assert type(exc.value).__name__ == "InvalidTemplateVariableError"
    with pytest.raises(Exception, match="failed silently"):
        render("{{ u.profile }}", u=Investor())


def test_the_checks_catch_what_a_newcomer_saw():
    """The page checks on the findings of issue 18, and not on what reads right."""
    body = ('<html><head><title>Fee schedule <p><a href="/telemetry/compute-tariffs/">Compute</a></p> · MedRWA'
            '</title></head><body><h1>Register a device</h1><h2>设备 CT · Northside Imaging Center</h2>'
            '<h2>MedRWA API</h2><table><tr><td>48551.310000 USD</td><td>3500.00 USD</td><td>3,500.00 USD</td>'
            '<td>522.375 USD</td><td>2026</td><td>USD</td></tr></table><script>let shown = "525.000000 USD";</script>'
            '<code>1000000 mUSD</code><input name="amount" value="9999.99 USD"></body></html>')
    _, problems = _check_html(body, lang="zh-hans", names=["Northside Imaging Center"])
    assert sorted(problems) == [
        ("money", "unformatted amount '3500.00 USD' in 'Center MedRWA API 48551.310000 USD 3500.00 USD 3,500.00'"),
        ("money", "unformatted amount '48551.310000 USD' in 'Northside Imaging Center MedRWA API 48551.310000 USD "
                  "3500.00'"),
        ("money", "unformatted amount '522.375 USD' in '.310000 USD 3500.00 USD 3,500.00 USD 522.375 USD 2026 US'"),
        ("title-markup", "<title> contains markup: 'Fee schedule <p><a href=\"/telemetry/compute-tariffs/\">"
                         "Compute</a></p> · MedRWA'"),
        ("untranslated", "<h1> 'Register a device'"),
        ("untranslated", "<title> 'Fee schedule Compute'"),
    ]
    assert _check_html(body, lang="en", names=[])[1] == [p for p in problems if p[0] in ("money", "title-markup")]
