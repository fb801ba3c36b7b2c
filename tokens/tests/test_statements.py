"""Distribution statements (PDF text extracted with pypdf, CSV), the public proof page and
its API twin, and the stand-alone verify script's copy of the waterfall. The distributed
world here is built in the database (a deposit's rows and indexed Transfer events, as the
indexer writes them); the chain itself is exercised in tests/flows/test_verify_distribution_script.py."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import importlib.util
import io
import json
import pathlib
import secrets
import sys
from decimal import Decimal

import pytest
from django.conf import settings
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from accounts.tests.factories import make_user
from chain import gateway
from chain.models import ChainEvent, ChainTransaction, IndexedContract
from compliance.models import Wallet
from core.permissions import Role
from tokens import waterfall
from tokens.distributions import statements
from tokens.distributions.services import canonical_json
from tokens.models import Distribution, DistributionStatus
from tokens.tests.factories import make_live_offering

pytestmark = pytest.mark.django_db

MAG = 2 ** 40
ZERO = "0x" + "0" * 40
ROOT = pathlib.Path(__file__).resolve().parents[2]


def _addr() -> str:
    return gateway.to_checksum("0x" + secrets.token_hex(20))


def _tx() -> str:
    return "0x" + secrets.token_hex(32)


class World:
    """A live offering with indexed Transfer events and distributed deposits, in the DB."""

    def __init__(self, offering=None, *, decimals: int = 6):
        self.offering = offering or make_live_offering()
        self.offering.token_address = gateway.to_checksum(self.offering.token_address)
        self.offering.save(update_fields=["token_address"])
        self.contract = IndexedContract.objects.create(chain_id=settings.CHAIN_ID, address=self.offering.token_address,
                                                       contract_name="SecurityToken")
        self.decimals = decimals
        self.block = 10
        self.pps = 0
        self.dust = 0
        self.admin = make_user(Role.PLATFORM_ADMIN)

    def next_block(self) -> int:
        self.block += 1
        return self.block

    def transfer(self, frm: str, to: str, units: int) -> None:
        ChainEvent.objects.create(contract=self.contract, block_number=self.next_block(), tx_hash=_tx(), log_index=0,
                                  event="Transfer", args={"from": frm, "to": to, "value": units})

    def mint(self, wallet: str, units: int) -> None:
        self.transfer(ZERO, wallet, units)

    def claim(self, wallet: str, amount: int) -> ChainEvent:
        return ChainEvent.objects.create(contract=self.contract, block_number=self.next_block(), tx_hash=_tx(),
                                         log_index=0, event="IncomeClaimed",
                                         args={"holder": wallet, "by": wallet, "amount": amount})

    def supply(self) -> int:
        from tokens.ledger import balances_at

        return sum(balances_at(self.offering).values())

    def distribute(self, *, month: dt.date, gross: Decimal, lines: list | None = None) -> Distribution:
        from telemetry.models import RevenuePeriod

        o = self.offering
        end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        period = RevenuePeriod.objects.create(
            device=o.device, period_start=month, period_end=end, procedures=12, procedure_amount=gross, amount=gross,
            currency="USD", lines=lines if lines is not None else [
                {"kind": "procedure", "cpt_code": "70551", "payer": "medicare", "year": month.year, "count": 12,
                 "amount": str(gross), "explanation": f"12 × CPT 70551 (medicare {month.year}, {gross / 12:.2f})"}])
        terms = waterfall.Terms.of(o)
        supply = self.supply()
        w = waterfall.compute(gross=gross, terms=terms, units_total=o.units, units_outstanding=supply)
        base = int(w.holders_amount.scaleb(self.decimals))
        # The token's rule: each unit earns pool / N; it pulls what the outstanding units earn.
        delta = base * MAG // o.units
        pulled = -(-delta * supply // MAG)
        dust = pulled * MAG - delta * supply
        block = self.next_block()
        report = {"schema": "medrwa.distribution-report/3", "gross": str(w.gross), "currency": "USD",
                  "pool_base_units": str(base), "chain_id": settings.CHAIN_ID,
                  "units": {"total": o.units, "outstanding_at_statement": supply},
                  "period": {"start": month.isoformat(), "end": end.isoformat(), "kind": "regular", "adjusts": None},
                  "device": {"modality": "MR", "manufacturer": "Siemens", "model": "Magnetom Vida", "clinic": "C"},
                  "usage": {"daily": [{"day": month.isoformat(), "procedures_completed": 12,
                                       "procedures_discontinued": 0, "gpu_hours": "1.500",
                                       "compute_gpu_hours": "0.000", "online_hours": "10"}]},
                  "revenue": {"lines": period.lines, "merged": None, "procedures": 12, "min_cell": 5},
                  "detail": {"schema": "medrwa.distribution-detail/1", "sha256": "0" * 64},
                  "terms": terms.as_json(),
                  "waterfall": {**w.frozen(terms, Decimal(0)), "lines": w.lines(terms, "USD", Decimal(0)),
                                "holders_amount": str(w.holders_amount),
                                "investors_amount": str(w.investors_amount),
                                "retained_amount": str(w.retained_amount)},
                  "token": {"address": o.token_address, "symbol": o.token_symbol},
                  "stablecoin": {"address": _addr(), "decimals": self.decimals},
                  "accumulator": {"magnitude": str(MAG), "points_per_share_before": str(self.pps)}}
        body = canonical_json(report)
        self.pps += delta
        self.dust += dust
        tx = ChainTransaction.objects.create(
            idempotency_key=f"t-deposit:{secrets.token_hex(6)}", kind="tokens.distribution_deposit",
            contract_name="SecurityToken", function="distributeRevenue", to_address=o.token_address,
            status="confirmed", tx_hash=_tx(), block_number=block)
        return Distribution.objects.create(
            offering=o, period=period, status=DistributionStatus.DISTRIBUTED, currency="USD", gross=w.gross,
            platform_fee=w.platform_fee, reserve=w.reserve, clinic_share=w.clinic_share,
            holders_amount=w.holders_amount, amount_due=w.amount_due, units_total=o.units,
            units_outstanding=supply, investors_amount=w.investors_amount, retained_amount=w.retained_amount,
            deposited_base_units=str(pulled), units_at_deposit=supply,
            waterfall={**w.frozen(terms, Decimal(0)), "lines": w.lines(terms, "USD", Decimal(0))},
            confirm_deadline=timezone.now(), payment_method="bank", payment_reference="WIRE-42",
            paid_amount=w.amount_due, paid_at=timezone.now(), stablecoin_address=report["stablecoin"]["address"],
            stablecoin_decimals=self.decimals, amount_base_units=base, report=body.decode(),
            report_sha256=hashlib.sha256(body).hexdigest(), report_frozen_at=timezone.now(), deposit_tx=tx,
            deposit_block=block, points_per_share_after=self.pps, dust_magnified_after=self.dust,
            distributed_at=timezone.now())


def investor_with_wallets(n_self_custody: int = 0):
    from compliance.tests.factories import make_profile

    profile = make_profile()
    wallets = [profile.wallets.get(kind=Wallet.Kind.CUSTODIAL).address]
    for _ in range(n_self_custody):
        wallets.append(Wallet.objects.create(profile=profile, address=_addr(), kind=Wallet.Kind.SELF_CUSTODY).address)
    return profile.user, [gateway.to_checksum(w) for w in wallets]


class PdfText(str):
    """Extracted PDF text; `in` ignores whitespace (table cells wrap and extract unevenly)."""

    def __contains__(self, needle: str) -> bool:
        return "".join(needle.split()) in "".join(self.split())


def pdf_text(data: bytes) -> PdfText:
    return PdfText("".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


@pytest.fixture
def world():
    return World()


# --------------------------------------------------------------------------- investor statement


def test_investor_statement_shows_each_wallets_units_share_and_chain_amount(world):
    investor, (custodial, own) = investor_with_wallets(1)
    other = _addr()
    world.mint(custodial, 30)
    world.mint(own, 7)
    world.mint(other, 63)  # supply 100
    d = world.distribute(month=dt.date(2026, 1, 1), gross=Decimal("12345.67"))
    # Holders take the rounding remainder: 12,345.67 − 617.28 − 617.28 − 7,407.40; split by the accumulator.
    assert d.holders_amount == Decimal("3703.71")
    delta = int(d.points_per_share_after)
    expected = {custodial: 30 * delta // MAG, own: 7 * delta // MAG}
    # 30 of the device's 1,000 units earn 3 % of the pool, though investors hold only 100 units.
    assert expected[custodial] == 111111300  # 3 % of 3,703.71 to the base unit

    text = pdf_text(statements.investor_statement_pdf(d, user=investor))
    for wallet, share in ((custodial, "3.0000%"), (own, "0.7000%")):
        assert wallet in text and share in text
        assert f"(exactly {Decimal(expected[wallet]).scaleb(-6).normalize():,f} USD)" in text
    assert "Units held at the deposit block30" in text and "Units held at the deposit block7" in text
    assert "12,345.67 USD" in text and "3,703.71 USD" in text  # gross and holders' line of the period
    # The custodial wallet: its amount to the base unit, and its pro-rata share of the holders' line.
    assert "111.11 USD (exactly 111.1113 USD)" in text
    assert "1000 (100 held by investors at the deposit block)" in text
    for value in (d.deposit_tx.tx_hash, str(d.deposit_block), d.report_sha256, statements.verify_url(d)):
        assert value in text, value
    assert "Tax withheld0.00 USD" in text
    assert "claimable" in text
    ytd = Decimal(expected[custodial] + expected[own]).scaleb(-6)
    assert f"2026 through 2026-01{ytd.quantize(Decimal('0.01')):,} USD (exactly {ytd.normalize():,f} USD)" in text


def test_statement_is_404_for_an_investor_who_held_nothing(world):
    holder, (wallet,) = investor_with_wallets()
    world.mint(wallet, 10)
    d = world.distribute(month=dt.date(2026, 1, 1), gross=Decimal("1000.00"))
    late, (late_wallet,) = investor_with_wallets()
    world.mint(late_wallet, 5)  # bought after the deposit: nothing from this period
    with pytest.raises(Http404):
        statements.investor_statement_pdf(d, user=late)
    stranger = make_user(Role.INVESTOR)  # no profile, no wallets
    with pytest.raises(Http404):
        statements.investor_statement_pdf(d, user=stranger)
    d.status = DistributionStatus.DEPOSITING
    d.save(update_fields=["status"])
    with pytest.raises(Http404):
        statements.investor_statement_pdf(d, user=holder)


def test_claim_status_is_first_in_first_out_over_cumulative_claims(world):
    investor, (wallet,) = investor_with_wallets()
    world.mint(wallet, 50)
    world.mint(_addr(), 50)
    jan = world.distribute(month=dt.date(2026, 1, 1), gross=Decimal("1000.00"))
    feb = world.distribute(month=dt.date(2026, 2, 1), gross=Decimal("2000.00"))
    jan_base = 50 * int(jan.points_per_share_after) // MAG
    claim = world.claim(wallet, jan_base)  # covers January only
    text_jan = pdf_text(statements.investor_statement_pdf(jan, user=investor))
    text_feb = pdf_text(statements.investor_statement_pdf(feb, user=investor))
    assert "claimed, claim transaction " + claim.tx_hash in text_jan
    assert "Claim statusclaimable" in text_feb
    later = world.claim(wallet, 10 ** 12)
    assert "claimed, claim transaction " + later.tx_hash in pdf_text(
        statements.investor_statement_pdf(feb, user=investor))


def test_units_moved_between_periods_follow_the_deposit_block(world):
    investor, (wallet,) = investor_with_wallets()
    other = _addr()
    world.mint(wallet, 40)
    world.mint(other, 60)
    jan = world.distribute(month=dt.date(2026, 1, 1), gross=Decimal("1000.00"))
    world.transfer(other, wallet, 20)  # e.g. a forced transfer to this investor
    feb = world.distribute(month=dt.date(2026, 2, 1), gross=Decimal("1000.00"))
    lines = {s.distribution.pk: s for s in statements.year_lines(user=investor, year=2026)}
    assert (lines[jan.pk].units, lines[feb.pk].units) == (40, 60)
    assert lines[feb.pk].base_units == 60 * (int(feb.points_per_share_after) - int(jan.points_per_share_after)) // MAG


# --------------------------------------------------------------------------- yearly summary


def test_yearly_summary_csv_and_pdf_list_every_period_with_totals(world):
    investor, (custodial, own) = investor_with_wallets(1)
    world.mint(custodial, 25)
    world.mint(own, 25)
    world.mint(_addr(), 50)
    dec = world.distribute(month=dt.date(2025, 12, 1), gross=Decimal("999.99"))
    jan = world.distribute(month=dt.date(2026, 1, 1), gross=Decimal("1500.00"))
    feb = world.distribute(month=dt.date(2026, 2, 1), gross=Decimal("2500.50"))
    second = World(make_live_offering(token_symbol="SCAN"))  # a second token the investor holds
    second.mint(custodial, 1)
    second.mint(_addr(), 2)
    mar = second.distribute(month=dt.date(2026, 3, 1), gross=Decimal("300.00"))

    rows = list(csv.DictReader(io.StringIO(statements.yearly_summary_csv(user=investor, year=2026))))
    detail = [r for r in rows if r["row"] == "period"]
    assert {(r["period_start"], r["wallet"]) for r in detail} == {
        ("2026-01-01", custodial), ("2026-01-01", own), ("2026-02-01", custodial), ("2026-02-01", own),
        ("2026-03-01", custodial)}
    prev = {jan.pk: int(dec.points_per_share_after), feb.pk: int(jan.points_per_share_after), mar.pk: 0}
    by_tx = {d.deposit_tx.tx_hash: d for d in (jan, feb, mar)}
    for r in detail:
        d = by_tx[r["deposit_tx"]]
        expected = int(r["units"]) * (int(d.points_per_share_after) - prev[d.pk]) // MAG
        assert int(r["base_units"]) == expected
        assert Decimal(r["amount"]) == Decimal(expected).scaleb(-6)
        assert r["report_sha256"] == d.report_sha256 and int(r["deposit_block"]) == d.deposit_block
        assert r["tax_withheld"] == "0"
    totals = {r["token"]: r for r in rows if r["row"] == "total"}
    assert set(totals) == {"VIDA", "SCAN"}
    for symbol, total in totals.items():
        mine = [r for r in detail if r["token"] == symbol]
        assert total["token_address"] == mine[0]["token_address"]
        assert Decimal(total["amount"]) == sum(Decimal(r["amount"]) for r in mine)
        assert int(total["base_units"]) == sum(int(r["base_units"]) for r in mine)
    # December 2025 belongs to 2025 only.
    rows_2025 = [r for r in csv.DictReader(io.StringIO(statements.yearly_summary_csv(user=investor, year=2025)))
                 if r["row"] == "period"]
    assert [r["period_start"] for r in rows_2025] == ["2025-12-01", "2025-12-01"]

    text = pdf_text(statements.yearly_summary_pdf(user=investor, year=2026))
    assert "Yearly income summary 2026" in text
    for total in totals.values():  # to the cent, and the exact amount beside it when finer
        amount = Decimal(total["amount"])
        assert f"{amount.quantize(Decimal('0.01')):,} USD" in text
        assert amount == amount.quantize(Decimal("0.01")) or f"(exactly {amount.normalize():,f} USD)" in text
    assert "Periods3" in text
    for d in (jan, feb, mar):
        assert d.deposit_tx.tx_hash in text


def test_yearly_summary_table_reads_one_row_per_line_on_a_landscape_page(world):
    investor, (wallet,) = investor_with_wallets()
    world.mint(wallet, 25)
    world.mint(_addr(), 75)
    jan = world.distribute(month=dt.date(2026, 1, 1), gross=Decimal("1500.00"))
    page = PdfReader(io.BytesIO(statements.yearly_summary_pdf(user=investor, year=2026))).pages[0]
    assert page.mediabox.width > page.mediabox.height  # landscape: the table has room
    lines = [line.strip() for line in page.extract_text().splitlines()]
    # Each heading, address and hash on one line: the table was crushed one letter per line.
    for whole in ("Token", "Period", "Wallet", "Units", "Amount", "Deposit transaction", wallet,
                  jan.deposit_tx.tx_hash, "2026-01", "Token contract"):
        assert whole in lines, whole
    assert "Base units" not in lines  # machine-readable base units are the CSV's


def test_yearly_summary_of_a_year_without_income_is_empty():
    investor, _ = investor_with_wallets()
    assert statements.yearly_summary_csv(user=investor, year=2026).strip() == ",".join(statements.CSV_HEADER)
    assert "No distributions this year" in pdf_text(statements.yearly_summary_pdf(user=investor, year=2026))


# --------------------------------------------------------------------------- clinic statement


def test_clinic_statement_shows_usage_waterfall_amounts_due_payment_and_deposit(world):
    world.mint(_addr(), 10)
    d = world.distribute(month=dt.date(2026, 1, 1), gross=Decimal("10000.00"))
    text = pdf_text(statements.clinic_statement_pdf(d))
    assert "12 × CPT 70551 (medicare 2026, 833.33)" in text  # the usage line and how it was priced
    assert "Platform fee 5" in text and "Clinic's operating share 60" in text
    # Terms 5 / 5 / 60 / 30: a holders' pool of 3,000 for 1,000 units of which investors hold 10: they
    # are due 30.00, the clinic keeps 2,970.00 for its unsold units, 6,000 as its operating share, and
    # pays fee + reserve 1,000 + 30 = 1,030.
    assert "Holders' pool (all units)3,000.00 USD" in text
    assert "Due to holders (units investors hold)30.00 USD (10 of 1000 units)" in text
    assert "Kept by the clinic (units not sold)2,970.00 USD (990 of 1000 units)" in text
    assert "Due to the platform (fee and reserve)1,000.00 USD" in text
    assert "Amount due from the clinic1,030.00 USD" in text
    assert "Kept by the clinic (operating share)6,000.00 USD" in text
    assert "Distributed to holders" in text and "WIRE-42" in text and "Bank transfer" in text
    assert "Deposited to holders30.00 USD" in text
    for value in (d.deposit_tx.tx_hash, str(d.deposit_block), d.report_sha256, statements.verify_url(d)):
        assert value in text, value


def test_statement_rules_follow_the_readers_language_and_the_record_stays_english(world, client):
    from django.utils import translation

    world.mint(_addr(), 10)
    d = world.distribute(month=dt.date(2026, 1, 1), gross=Decimal("10000.00"))
    with translation.override("zh-hans"):
        text = pdf_text(statements.clinic_statement_pdf(d))
    assert "平台费，占总收入的 5" in text and "持有人分成，占总收入的 30" in text and "；承担舍入余数" in text
    assert "Platform fee 5" not in text
    # The hashed report keeps the English rule it was frozen with.
    lines = {ln["line"]: ln["explanation"] for ln in json.loads(d.report)["waterfall"]["lines"]}
    assert lines["platform_fee"].startswith("Platform fee 5") and lines["holders"].endswith("rounding remainder")
    page = client.get(reverse("tokens_public:distribution-verify", args=[d.public_id]),
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "平台费，占总收入的 5" in page


def test_clinic_statement_before_payment_says_so(world):
    world.mint(_addr(), 10)
    d = world.distribute(month=dt.date(2026, 1, 1), gross=Decimal("500.00"))
    Distribution.objects.filter(pk=d.pk).update(
        status=DistributionStatus.AWAITING_PAYMENT, payment_method="", payment_reference="", paid_amount=None,
        paid_at=None, deposit_tx=None, deposit_block=None, report="", report_sha256="")
    d.refresh_from_db()
    text = pdf_text(statements.clinic_statement_pdf(d))
    assert "Awaiting the clinic's payment" in text and "not paid yet" in text
    assert "not sent yet" in text and "report not frozen yet" in text


# --------------------------------------------------------------------------- verify script's waterfall


def _script():
    spec = importlib.util.spec_from_file_location("verify_distribution", ROOT / "scripts" / "verify_distribution.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses resolve annotations through the module
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(("gross", "fee", "reserve", "target", "clinic", "held", "units", "outstanding"), [
    ("12345.67", "5", "5", "10000", "60", "0", 1000, 10),
    ("0.03", "5", "5", "10000", "60", "0", 1000, 1000),  # every line rounds
    ("99999.99", "2.5", "7.25", "1000", "40.25", "990", 7, 3),  # the reserve reaches its target mid-period
    ("5000.00", "5", "5", "1000", "60", "1000", 400, 0),  # target already reached; nothing sold yet
    ("-1234.56", "5", "5", "10000", "60", "500", 1000, 383),  # a downward correction
    ("-1234.56", "5", "5", "10000", "60", "20", 3, 1),  # gives back no more reserve than is held
    ("10.005", "33.33", "0", "0", "33.33", "0", 1, 1),  # gross itself rounds half up
    ("1", "0", "0", "0", "0", "0", 3, 2),
])
def test_verify_script_waterfall_equals_the_apps(gross, fee, reserve, target, clinic, held, units, outstanding):
    D = Decimal
    holders = D(100) - D(fee) - D(reserve) - D(clinic)
    terms = waterfall.Terms(platform_fee_pct=D(fee), reserve_pct=D(reserve), reserve_target=D(target),
                            clinic_share_pct=D(clinic), holders_share_pct=holders)
    app = waterfall.compute(gross=D(gross), terms=terms, reserve_balance=D(held), units_total=units,
                            units_outstanding=outstanding)
    script = _script().waterfall(gross=D(gross), platform_fee_pct=D(fee), reserve_pct=D(reserve),
                                 reserve_target=D(target), clinic_share_pct=D(clinic), reserve_balance=D(held),
                                 units_total=units, units_outstanding=outstanding)
    fields = ("gross", "platform_fee", "reserve", "reserve_to_holders", "clinic_share", "holders_amount",
              "investors_amount", "retained_amount", "amount_due")
    assert [getattr(script, f) for f in fields] == [getattr(app, f) for f in fields]
    # The clinic pays what is not its own: gross less its share and the unsold units' part.
    assert app.investors_amount + app.retained_amount == app.holders_amount
    assert app.amount_due == app.platform_fee + app.reserve + app.investors_amount
    assert _script().terms_hash(terms.as_json(), units=units, currency="USD") == waterfall.terms_hash(
        terms, units=units, currency="USD")


def test_verify_script_checks_a_reports_waterfall_lines(world):
    world.mint(_addr(), 3)
    d = world.distribute(month=dt.date(2026, 1, 1), gross=Decimal("777.77"))
    mod = _script()
    report = json.loads(d.report)
    report["waterfall"].update({k: str(getattr(d, k)) for k in ("platform_fee", "reserve", "clinic_share",
                                                                 "investors_amount", "retained_amount",
                                                                 "amount_due")})
    checks = mod.Checks()
    mod.check_waterfall(checks, report, 6)
    assert checks.ok(), checks.failures()
    report["waterfall"]["lines"][1]["amount"] = "-38.88"  # the fee line off by a cent
    checks = mod.Checks()
    mod.check_waterfall(checks, report, 6)
    assert checks.failures() == ["waterfall line platform_fee: expected -38.89, found -38.88"]
    # A gross below what its revenue lines add up to.
    report["waterfall"]["lines"][1]["amount"] = "-38.89"
    report["revenue"] = {"lines": [{"kind": "procedure", "count": 12, "amount": "777.78"}], "merged": None}
    checks = mod.Checks()
    mod.check_waterfall(checks, report, 6)
    assert checks.failures() == ["gross = Σ priced revenue lines: expected 777.77, found 777.78"]


# --------------------------------------------------------------------------- public proof page


def test_public_page_renders_the_report_and_serves_its_exact_bytes_logged_out(client, world, settings):
    settings.CHAIN_RPC_URL = "http://127.0.0.1:9"  # nothing listens: the live check must say so
    world.mint(_addr(), 10)
    d = world.distribute(month=dt.date(2026, 1, 1), gross=Decimal("10000.00"))
    resp = client.get(reverse("tokens_public:distribution-verify", args=[d.public_id]))
    assert resp.status_code == 200 and resp["Cache-Control"] == "no-store"
    page = resp.content.decode()
    for value in (d.report_sha256, d.deposit_tx.tx_hash, str(d.deposit_block), "10,000.00 USD", "3,000.00 USD",
                  "30.00 USD", "2,970.00 USD", "10 of 1000 units held by investors", "Magnetom Vida", "1.500"):
        assert value in page, value
    assert "Chain unreachable" in page and "Verified" not in page
    report_url = reverse("tokens_public:distribution-report", args=[d.public_id])
    assert f'href="{report_url}"' in page
    resp = client.get(report_url)
    assert resp.status_code == 200 and resp["Content-Type"] == "application/json"
    assert hashlib.sha256(resp.content).hexdigest() == d.report_sha256
    assert json.loads(resp.content)["pool_base_units"] == "3000000000"


def test_public_page_of_a_distribution_not_deposited_yet(client, world):
    world.mint(_addr(), 10)
    d = world.distribute(month=dt.date(2026, 1, 1), gross=Decimal("100.00"))
    Distribution.objects.filter(pk=d.pk).update(status=DistributionStatus.AWAITING_CLINIC, deposit_tx=None,
                                                deposit_block=None, report="", report_sha256="")
    page = client.get(reverse("tokens_public:distribution-verify", args=[d.public_id])).content.decode()
    assert "Not deposited yet" in page and "Verified" not in page
    assert client.get(reverse("tokens_public:distribution-report", args=[d.public_id])).status_code == 404
    api = client.get(reverse("tokens_public:api-public-distribution", args=[d.public_id])).json()
    assert api["onchain"]["state"] == "not_deposited" and api["report"] is None and api["report_url"] is None


def test_public_page_and_api_are_404_for_unknown_ids(client):
    import uuid

    unknown = uuid.uuid4()
    assert client.get(reverse("tokens_public:distribution-verify", args=[unknown])).status_code == 404
    resp = client.get(reverse("tokens_public:api-public-distribution", args=[unknown]))
    assert resp.status_code == 404


def test_public_api_twin_is_anonymous_and_in_the_schema(client, world, settings):
    settings.CHAIN_RPC_URL = "http://127.0.0.1:9"
    world.mint(_addr(), 10)
    d = world.distribute(month=dt.date(2026, 1, 1), gross=Decimal("10000.00"))
    resp = client.get(f"/api/v1/public/distributions/{d.public_id}/")
    assert resp.status_code == 200
    body = resp.json()
    assert body["report_sha256"] == d.report_sha256 and body["report"] == json.loads(d.report)
    assert body["deposit_tx_hash"] == d.deposit_tx.tx_hash and body["deposit_block"] == d.deposit_block
    assert body["onchain"]["state"] == "unavailable" and body["onchain"]["match"] is None
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert "get" in schema["paths"]["/api/v1/public/distributions/{public_id}/"]


def test_public_page_is_throttled_per_address(client, world, settings):
    from django.core.cache import cache

    cache.clear()
    settings.TOKENS_VERIFY_RATE_PER_MINUTE = 3
    settings.CHAIN_RPC_URL = "http://127.0.0.1:9"
    world.mint(_addr(), 10)
    d = world.distribute(month=dt.date(2026, 1, 1), gross=Decimal("100.00"))
    url = reverse("tokens_public:distribution-report", args=[d.public_id])
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    resp = client.get(url)
    assert resp.status_code == 429 and resp["Retry-After"] == "60"
    api = client.get(reverse("tokens_public:api-public-distribution", args=[d.public_id]))
    assert api.status_code == 429 and api.json()["error"]["code"] == "throttled"
    other = client.get(url, REMOTE_ADDR="10.0.0.2")
    assert other.status_code == 200
    cache.clear()
