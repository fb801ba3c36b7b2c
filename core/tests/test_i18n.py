"""Two languages (English, Simplified Chinese): the catalogue is complete, pages, API errors and
PDFs follow the chosen language, and a user's choice is saved."""

import ast
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loaders.app_directories import get_app_template_dirs
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation.template import templatize
from pypdf import PdfReader

from accounts.tests.factories import PASSWORD, make_user
from core.models import AuditEvent
from core.money import format_money
from core.permissions import Role

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
JS_PO = PO.with_name("djangojs.po")


def _po_entries(path: Path) -> list[dict]:
    """A small .po reader (msgid, msgstr, flags): enough for a catalogue gettext writes."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry, field = {"msgid": "", "msgstr": "", "flags": set()}, None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] |= {f.strip() for f in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif line.startswith(("msgid ", "msgstr ", "msgid_plural ", "msgstr[")):
                key, _, value = line.partition(" ")
                field = "msgstr" if key.startswith("msgstr") else key
                entry.setdefault(field, "")
                entry[field] += ast.literal_eval(value)
            elif line.startswith('"') and field:
                entry[field] += ast.literal_eval(line)
        if entry["msgid"]:
            entries.append(entry)
    return entries


def _template_msgids() -> dict[str, str]:
    """Every string the templates mark for translation, found the way makemessages finds them."""
    base_dir = Path(settings.BASE_DIR)
    project_app_dirs = [Path(d) for d in get_app_template_dirs("templates") if Path(d).is_relative_to(base_dir)
                        and not any(part.startswith(".venv") for part in Path(d).relative_to(base_dir).parts)]
    dirs = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]] + project_app_dirs
    found = {}
    call = re.compile(r"\b(?:n?p?gettext)\((u?(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"))")
    for base in dirs:
        for path in sorted(base.rglob("*")):
            if path.suffix not in {".html", ".txt"} or "node_modules" in path.parts:
                continue
            for literal in call.findall(templatize(path.read_text(encoding="utf-8"), origin=str(path))):
                found.setdefault(ast.literal_eval(literal.removeprefix("u")), str(path.relative_to(base.parent)))
    return found


@pytest.mark.parametrize(("po", "at_least"), [(PO, 500), (JS_PO, 15)], ids=["django", "djangojs"])
def test_every_catalogue_entry_has_a_chinese_translation(po, at_least):
    entries = _po_entries(po)
    assert len(entries) > at_least
    untranslated = [e["msgid"] for e in entries if not e["msgstr"].strip() or "fuzzy" in e["flags"]]
    assert untranslated == [], f"{len(untranslated)} msgids without a zh-hans translation: {untranslated[:10]}"
    # Plurals are real msgid_plural entries, not English "s" suffixes hidden in an HTML comment.
    workarounds = [e["msgid"] for e in entries if "<!--" in e["msgstr"]]
    assert workarounds == [], f"use {{% blocktranslate count %}}: {workarounds}"
    assert po.with_suffix(".mo").stat().st_mtime >= po.stat().st_mtime - 1, f"run compilemessages for {po.name}"


def test_every_template_string_is_translated_in_zh_hans():
    """Fails when someone marks a template string but does not add it to the catalogue (run
    makemessages, translate, compilemessages), or the compiled .mo is older than the .po."""
    catalogue = {e["msgid"]: e["msgstr"] for e in _po_entries(PO)}
    msgids = _template_msgids()
    assert len(msgids) > 300
    missing = {m: where for m, where in msgids.items() if not catalogue.get(m)}
    assert missing == {}, f"template strings missing from locale/zh_Hans django.po: {list(missing.items())[:10]}"
    plurals = {e["msgid"]: e["msgid_plural"] for e in _po_entries(PO) if "msgid_plural" in e}
    with translation.override("zh-hans"):
        stale = [m for m in msgids if catalogue[m] != m and (
            translation.ngettext(m, plurals[m], 2) if m in plurals else translation.gettext(m)) in (m, plurals.get(m))]
    assert stale == [], f"django.mo is older than django.po (run compilemessages): {stale[:10]}"
    assert MO.stat().st_size > 0


_TOKEN = re.compile(r"(\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}|<!--.*?-->|<[^>]*>)", re.S)
_NOT_WORDS = re.compile(r"\b(?:MedRWA|USD|UDI|UDI-DI|SHA-256|PDF|JSON|CSV|API|GPU|CPT|PET|MPPS|UID|ID)\b")


def _unmarked_text(source: str) -> list[str]:
    """Text nodes and labelling attributes (aria-label, title, alt, placeholder) with words that no
    {% translate %} / {% blocktranslate %} covers (script, style, pre, code and comments
    excepted): what a Chinese reader would see, or hear, in English."""
    found, skip, in_comment, in_block = [], [], False, False
    for tok in _TOKEN.split(source):
        if tok.startswith("{%"):
            name = tok[2:-2].split()[0] if tok[2:-2].split() else ""
            in_comment = {"comment": True, "endcomment": False}.get(name, in_comment)
            in_block = {"blocktranslate": True, "blocktrans": True, "endblocktranslate": False,
                        "endblocktrans": False}.get(name, in_block)
        elif tok.startswith("<") and not tok.startswith("<!--"):
            if not (skip or in_comment):  # what a screen reader says or a tooltip shows, too
                bare = re.sub(r"\{%\s*blocktrans(?:late)?\b.*?\{%\s*endblocktrans(?:late)?\s*%\}|\{%.*?%\}|\{\{.*?\}\}",
                              "", tok, flags=re.S)
                found += [a.group(0) for a in re.finditer(r'\b(?:aria-label|title|alt|placeholder)="([^"]*)"', bare)
                          if re.search(r"[A-Za-z]{2,}", _NOT_WORDS.sub("", a.group(1)))]
            m = re.match(r"<(/?)(script|style|pre|code)\b", tok, re.I)
            if m and m.group(1):
                skip = skip[:-1]
            elif m and not tok.endswith("/>"):
                skip.append(m.group(2))
        elif (not tok.startswith(("{{", "{#", "<!--")) and not (skip or in_comment or in_block)
              and re.search(r"[A-Za-z]{2,}", _NOT_WORDS.sub("", tok))):
            found.append(tok.strip())
    return found


def test_no_template_shows_unmarked_english_text():
    """A page is only as Chinese as its least-marked string: plain English text in a template fails."""
    offenders = {}
    for path in sorted((Path(settings.BASE_DIR) / "templates").rglob("*.html")):
        text = _unmarked_text(path.read_text(encoding="utf-8"))
        if text:
            offenders[str(path.relative_to(settings.BASE_DIR))] = text[:3]
    assert offenders == {}, f"wrap these in {{% translate %}} (then `make messages`): {offenders}"


def test_home_page_in_chinese_from_the_browser_language(client):
    resp = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5")
    html = resp.content.decode()
    assert resp.status_code == 200
    assert '<html lang="zh-Hans"' in html
    assert "医疗影像设备，共同拥有" in html
    assert "Medical imaging equipment, owned together" not in html
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode().count("Medical imaging equipment") == 1


@pytest.mark.django_db
def test_switcher_saves_the_users_language_and_pages_follow_it(client):
    user = make_user(Role.INVESTOR)
    client.force_login(user)
    resp = client.post(reverse("accounts:set-language"), {"language": "zh-hans", "next": "/dashboard/"})
    assert resp.status_code == 302 and resp["Location"] == "/dashboard/"
    user.refresh_from_db()
    assert user.language == "zh-hans"
    event = AuditEvent.objects.get(action="accounts.language_set")
    assert event.before == {"language": ""} and event.after == {"language": "zh-hans"}

    # Another browser (no cookie, English Accept-Language): the saved choice wins once signed in.
    other = client.__class__()
    other.force_login(user)
    page = other.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "控制台" in page and "退出登录" in page
    assert 'name="language"' in page and '<option value="zh-hans" lang="zh-Hans" selected>' in page


@pytest.mark.django_db
def test_switcher_refuses_an_unknown_language(client):
    user = make_user(Role.INVESTOR)
    client.force_login(user)
    client.post(reverse("accounts:set-language"), {"language": "xx", "next": "/dashboard/"})
    user.refresh_from_db()
    assert user.language == ""
    assert not AuditEvent.objects.filter(action="accounts.language_set").exists()


@pytest.mark.django_db
def test_login_activates_the_saved_language(client):
    user = make_user(Role.INVESTOR, language="zh-hans")
    resp = client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD}, follow=True)
    assert "控制台" in resp.content.decode()


@pytest.mark.django_db
def test_api_errors_follow_accept_language_and_keep_english_codes(api_client):
    resp = api_client.post("/api/v1/auth/token/", {"email": "nobody@example.com", "password": "x" * 12},
                           format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_credentials"
    assert resp.json()["error"]["message"] == "邮箱或密码错误。"

    resp = api_client.get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert resp.json()["error"]["code"] == "not_authenticated"
    assert re.search(r"[\u4e00-\u9fff]", resp.json()["error"]["message"])

    resp = api_client.get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en")
    assert resp.json()["error"]["message"] == "Authentication credentials were not provided."


@pytest.mark.django_db
def test_language_api_twin_saves_and_refuses_in_the_callers_language(api_client):
    user = make_user(Role.INVESTOR)
    api_client.force_authenticate(user)
    resp = api_client.post("/api/v1/me/language/", {"language": "klingon"}, format="json",
                           HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert resp.status_code == 400
    assert resp.json()["error"] == {"code": "invalid_language", "message": "请选择所提供的语言之一。",
                                    "details": {"language": ["请选择所提供的语言之一。"]}}
    resp = api_client.post("/api/v1/me/language/", {"language": "zh-hans"}, format="json")
    assert resp.status_code == 200 and resp.json() == {"language": "zh-hans"}
    user.refresh_from_db()
    assert user.language == "zh-hans"


def test_money_is_decimal_and_grouped_in_both_languages():
    assert format_money(Decimal("1250000.5"), "USD") == "1,250,000.50 USD"
    with translation.override("zh-hans"):
        assert format_money(Decimal("1250000.5"), "USD") == "1,250,000.50 USD"
        assert format_money("-1234567", "JPY") == "-1,234,567 JPY"
    with pytest.raises(TypeError):
        format_money(1.5, "USD")


def test_dates_use_the_locale_format():
    from django.template import Context, Template

    tpl = Template("{{ d|date }}")
    with translation.override("zh-hans"):
        assert tpl.render(Context({"d": dt.date(2026, 9, 5)})) == "2026年9月5日"
    with translation.override("en"):
        assert tpl.render(Context({"d": dt.date(2026, 9, 5)})) == "Sept. 5, 2026"


@pytest.mark.django_db
def test_receipt_pdf_is_written_in_the_investors_language():
    from tokens.models import Order
    from tokens.offerings import services
    from tokens.primary.services import receipt_pdf
    from tokens.tests.factories import make_certified_device, offering_terms

    admin = make_user(Role.PLATFORM_ADMIN)
    offering = services.offering_create(actor=admin, device=make_certified_device(), data=offering_terms())
    investor = make_user(Role.INVESTOR, language="zh-hans")
    order = Order.objects.create(
        investor=investor, offering=offering, units=5, unit_price=Decimal("250.00"), total=Decimal("1250.00"),
        currency="USD", wallet="0x" + "ab" * 20, reserved_until=timezone.now(), idempotency_key="i18n-receipt",
        completed_at=timezone.now())

    text = PdfReader(io.BytesIO(receipt_pdf(order=order, tx_hash="0x" + "cd" * 32, block_number=7))).pages[0]
    text = text.extract_text()
    for chinese in ("购买收据", "实付总额", "每份价格", "铸造交易", "购买 5 份 VIDA 的收据"):
        assert chinese in text
    assert "1,250.00 USD" in text

    investor.language = "en"
    investor.save(update_fields=["language"])
    english = PdfReader(io.BytesIO(receipt_pdf(order=order, tx_hash="0x" + "cd" * 32, block_number=7)))
    assert "Purchase receipt" in english.pages[0].extract_text()


def test_pdf_data_with_cjk_renders_even_in_english():
    from core.pdf import build_pdf, kv_table

    with translation.override("en"):
        pdf = build_pdf(title="Case file", story=[kv_table([("Legal name", "王小明")])])
    assert "王小明" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


@pytest.mark.parametrize(("lang", "one", "two"), [
    ("en", "1 device waiting for appraisal.", "2 devices waiting for appraisal."),
    ("zh-hans", "1 台设备等待评估。", "2 台设备等待评估。"),
])
def test_counted_phrases_use_the_languages_plural_forms(lang, one, two):
    from django.template import Context, Template

    tpl = Template("{% load i18n %}{% blocktranslate count waiting=n %}{{ waiting }} device waiting for appraisal."
                   "{% plural %}{{ waiting }} devices waiting for appraisal.{% endblocktranslate %}")
    with translation.override(lang):
        assert tpl.render(Context({"n": 1})) == one
        assert tpl.render(Context({"n": 2})) == two
    page = (Path(settings.BASE_DIR) / "templates/assets/panels/appraiser.html").read_text(encoding="utf-8")
    assert "{% blocktranslate count waiting=ctx.waiting %}" in page  # the panel uses that very entry


def _js_msgids() -> set[str]:
    """gettext("…") literals in static/js (adjacent "a" + "b" joined, as xgettext joins them)."""
    found = set()
    call = re.compile(r"""\bgettext\(\s*((?:"(?:[^"\\]|\\.)*"\s*\+?\s*)+)\)""")
    for path in sorted((Path(settings.BASE_DIR) / "static" / "js").glob("*.js")):
        for args in call.findall(path.read_text(encoding="utf-8")):
            found.add("".join(ast.literal_eval(s) for s in re.findall(r'"(?:[^"\\]|\\.)*"', args)))
    return found


def test_javascript_strings_are_served_in_chinese(client):
    """static/js strings come from Django's JavaScript catalogue: a new gettext() in a script fails
    here until it is in djangojs.po (make messages) and translated."""
    catalogue = {e["msgid"]: e["msgstr"] for e in _po_entries(JS_PO)}
    msgids = _js_msgids()
    assert {"Preparing the claim…", "Income (%(currency)s)", "Value (%(currency)s)"} <= msgids
    assert sorted(m for m in msgids if not catalogue.get(m)) == []

    zh = client.get(reverse("core:jsi18n"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "\\u6b63\\u5728\\u51c6\\u5907\\u9886\\u53d6" in zh or "正在准备领取" in zh  # 正在准备领取…
    en = client.get(reverse("core:jsi18n"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "globals.gettext" in en and "正在准备领取" not in en and "\\u6b63\\u5728" not in en


@pytest.mark.django_db
def test_pages_with_scripts_load_the_catalogue_before_them(client, identity_registry_row):
    from tokens.tests.factories import make_investor

    user = make_investor()
    client.force_login(user)
    html = client.get(reverse("tokens:income")).content.decode()
    assert html.index(reverse("core:jsi18n")) < html.index("js/wallet.js")


def _pdf_text(data: bytes) -> str:
    # Table cells wrap and extract unevenly: compare without whitespace.
    return "".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


@pytest.mark.django_db
def test_statements_are_written_in_the_investors_language():
    from tokens.distributions import statements
    from tokens.tests.test_statements import World, investor_with_wallets

    world = World()
    investor, (wallet,) = investor_with_wallets()
    world.mint(wallet, 40)
    world.mint("0x" + "12" * 20, 60)
    d = world.distribute(month=dt.date(2026, 3, 1), gross=Decimal("10000.00"))

    investor.language = "zh-hans"
    investor.save(update_fields=["language"])
    with translation.override("en"):  # a worker's default: the investor's saved choice wins
        text = _pdf_text(statements.investor_statement_pdf(d, user=investor))
    for chinese in ("投资者收益对账单", "2026年3月", "存入区块时持有的份数40", "占设备的份额（每期收益池）4.0000%",
                    "领取状态可领取", "收益分配瀑布", "总收入", "本年迄今收益", "预扣税款"):
        assert chinese in text, chinese
    assert "Investor income statement" not in text and "Units held" not in text
    summary = _pdf_text(statements.yearly_summary_pdf(user=investor, year=2026))
    assert "2026年度收益汇总" in summary and "合计" in summary

    with translation.override("zh-hans"):  # the clinic's request, in Chinese
        clinic = _pdf_text(statements.clinic_statement_pdf(d))
    for chinese in ("诊所收入对账单", "持有人收益池（全部份数）3,000.00USD", "诊所应付金额1,300.00USD", "银行转账",
                    "平台费", "付款与存入"):
        assert chinese in clinic, chinese
    assert "Amount due from the clinic" not in clinic

    investor.language = "en"
    investor.save(update_fields=["language"])
    assert "Investorincomestatement" in _pdf_text(statements.investor_statement_pdf(d, user=investor))


@pytest.mark.django_db
def test_appraisal_report_and_certificate_in_chinese(clinic_device_factory):
    from assets import selectors
    from assets.pdfs import appraisal_report_pdf, certificate_pdf

    device, _admin = clinic_device_factory("certified")
    appraisal = selectors.device_signed_appraisal(device=device)
    cert = selectors.device_current_certification(device=device)
    with translation.override("zh-hans"):
        report = _pdf_text(appraisal_report_pdf(appraisal))
        certificate = _pdf_text(certificate_pdf(cert))
    for chinese in ("评估报告", "委托方", "成本法", "市场法", "收益法", "调和价值", "评估师", "指示价值"):
        assert chinese in report, chinese
    assert "Cost approach" not in report and f"{appraisal.reconciled_value:,}USD" in report
    for chinese in ("检验证书", "证书编号", "通过——已认证", "检查清单", "设备身份与UDI和序列号一致", "验证本证书"):
        assert chinese in certificate, chinese
    assert str(cert.public_id) in certificate and "Checklist" not in certificate
    # The stored checklist keeps its English labels: only the rendering is translated.
    assert cert.checklist[0]["label"] == "Identity matches UDI and serial number"


@pytest.mark.django_db
def test_kyc_case_file_follows_the_officers_language(client, investor, identity_registry_row):
    from compliance.models import KycCase
    from compliance.tests.factories import make_case

    officer = make_user(Role.COMPLIANCE_OFFICER, language="zh-hans")
    case = make_case(investor, status=KycCase.Status.APPROVED, officer=officer)
    client.force_login(officer)
    resp = client.get(reverse("compliance:case-export", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 200
    text = _pdf_text(resp.content)
    for chinese in (f"KYC案例档案#{case.pk}", "法定姓名", "制裁筛查", "没有可能的匹配", "决定", "文件",
                    "政治公众人物否"):
        assert chinese in text, chinese
    assert "Sanctions screening" not in text


# Names xgettext extracts in Django's makemessages (its Python defaults and Django's keywords).
_EXTRACTED = {"gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy",
              "npgettext", "npgettext_lazy", "_"}


def test_translation_functions_keep_names_makemessages_extracts():
    """`gettext_lazy as _lazy` compiles and runs, but makemessages never sees its strings, so they
    stay English in every language (order notices did, until this test)."""
    root = Path(settings.BASE_DIR)
    bad = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if rel.parts[0].startswith((".venv", "node_modules", "build", "var")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
                bad += [f"{rel}: {a.name} as {a.asname}" for a in node.names
                        if a.asname and "gettext" in a.name and a.asname not in _EXTRACTED]
    assert bad == []
