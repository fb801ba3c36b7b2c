"""Distribution services without a chain node: the chain is replaced at its seam (chain.gateway
reads) so `_fund` freezes reports and queues outbox rows as it would on a live token.

Issue 15: a reversed clinic payment blocks a waiting statement for good (item 3); one deposit
of a token in flight at a time, whatever path funds it (item 4); the public report publishes no
per-day counts and no small CPT × payer cells, and commits to the detail that the clinic,
platform admins and holders can open (item 8)."""

import datetime as dt
import hashlib
import json
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse

from accounts.tests.factories import make_user
from chain.models import ChainTransaction
from core.models import AuditEvent
from core.permissions import Role
from core.tests.openapi import assert_matches_schema
from telemetry.models import RevenuePeriod
from tokens.distributions import services as distributions
from tokens.models import Distribution, DistributionStatus
from tokens.tests.factories import clinic_admin_of, make_investor, make_live_offering

pytestmark = pytest.mark.django_db
S = DistributionStatus
TREASURY = "0x" + "7" * 40


def _line(cpt: str, payer: str, count: int, fee: str = "100.00") -> dict:
    return {"kind": "procedure", "cpt_code": cpt, "payer": payer, "year": 2026, "count": count, "apportioned": 0,
            "fee": fee, "amount": str(Decimal(fee) * count), "currency": "USD", "tariff_year": 2026,
            "explanation": f"{count} × CPT {cpt} ({payer} 2026, {fee} USD)"}


# 40 + 7 + 3 + 1 procedures: the 3 and the 1 fall under the threshold (5) and hold 4 together, so
# the smallest published cell (7) joins them: a merged line of 11, no cell under 5 named.
LINES = [_line("70553", "medicare", 40), _line("74177", "aetna", 7), _line("70450", "cigna", 3),
         _line("71275", "humana", 1),
         {"kind": "compute", "year": 2026, "jobs": 12, "gpu_seconds": "36000", "gpu_hours": "10.0000",
          "price_per_gpu_hour": "2.50", "amount": "25.00", "currency": "USD", "tariff_year": 2026,
          "explanation": "12 compute jobs, 10.0000 GPU-hours × 2.5 USD/GPU-hour (2026)"}]
GROSS = sum(Decimal(ln["amount"]) for ln in LINES if ln["kind"] == "procedure")


def open_distribution(offering, *, month: int = 1, lines=None) -> Distribution:
    lines = LINES if lines is None else lines
    procedures = [ln for ln in lines if ln["kind"] == "procedure"]
    amount = sum(Decimal(ln["amount"]) for ln in procedures)
    period = RevenuePeriod.objects.create(
        device=offering.device, period_start=dt.date(2026, month, 1), period_end=dt.date(2026, month + 1, 1),
        procedures=sum(ln["count"] for ln in procedures), procedure_amount=amount, amount=amount, currency="USD",
        compute_jobs=12, compute_amount=Decimal("25.00"), lines=lines)
    with transaction.atomic():
        return distributions.on_period_closed(period)


def stub_chain(monkeypatch) -> dict:
    """The gateway answering as a live token would: 100 units, nothing distributed yet, a funded
    treasury. Returns the state it reads (tests change it)."""
    from chain import gateway

    state = {"decimals": 6, "totalSupply": 100, "pointsPerShare": 0, "MAGNITUDE": 2**128, "balanceOf": 10**15,
             # What the token would pull for a pool: the 100 outstanding of the offering's 1,000 units.
             "previewDistribution": lambda pool: (-(-pool * 100 // 1000), pool * 2**128 // 1000)}

    def call(contract, address, function, *args, **kw):
        value = state[function]
        return value(*args) if callable(value) else value

    monkeypatch.setattr(gateway, "call", call)
    monkeypatch.setattr(gateway, "address_of", lambda name: TREASURY)
    return state


@pytest.fixture
def chain(monkeypatch, settings):
    """A live token on a real (non-mock) stablecoin, as the gateway would read it (stub_chain)."""
    settings.CHAIN_STABLECOIN_ADDRESS = "0x" + "5" * 40
    return stub_chain(monkeypatch)


@pytest.fixture
def offering(db):
    return make_live_offering()


@pytest.fixture
def clinic(offering):
    return clinic_admin_of(offering.device)


@pytest.fixture
def second_admin(db):
    return make_user(Role.PLATFORM_ADMIN)


def pay_by_bank(d: Distribution, first, second) -> Distribution:
    distributions.distribution_record_bank_transfer(actor=first, distribution=d, reference=f"SEPA-{d.pk}",
                                                    amount=d.amount_due)
    return distributions.distribution_confirm_bank_transfer(actor=second, distribution=d)


def deposit_rows(d: Distribution):
    return ChainTransaction.objects.filter(idempotency_key__startswith=d.key, function="distributeRevenue")


# ----------------------------------------------------------------------------- item 3: reversed payment


def test_a_refunded_clinic_payment_blocks_a_waiting_statement_and_its_note_stays(
        client, offering, clinic, platform_admin, settings, monkeypatch):
    """Regression (issue 15, item 3): the card payment is received while the chain is down (the
    statement waits); the clinic's payment is then refunded. Before, the note lived in `error`
    (rewritten by the next wait) and the periodic retry funded the statement anyway."""
    from payments import stripe_api
    from payments.models import Payment
    from payments.services import deliver_signed, simulator_pay

    settings.CHAIN_RPC_URL = "http://127.0.0.1:9"  # nothing listens: the payment lands, the deposit waits
    settings.CHAIN_STABLECOIN_ADDRESS = "0x" + "5" * 40
    d = open_distribution(offering)
    distributions.distribution_confirm(actor=clinic, distribution=d)
    payment = distributions.distribution_checkout(actor=clinic, distribution=d, success_url="http://t/ok",
                                                  cancel_url="http://t/no")
    simulator_pay(actor=clinic, payment=Payment.objects.get(pk=payment.pk))
    d.refresh_from_db()
    assert d.status == S.WAITING_FUNDS and d.paid_at is not None and "unreachable" in d.error
    payment.refresh_from_db()
    deliver_signed(stripe_api.charge_refunded_event(
        payment_intent=payment.payment_intent, client_reference_id=f"distribution:{d.public_id}",
        amount_minor=int(d.amount_due * 100), amount_refunded_minor=int(d.amount_due * 100), currency="USD",
        refund_ids=["re_sim_1"]))
    d.refresh_from_db()
    assert d.payment_reversed_at is not None and "card payment refunded" in d.payment_reversal
    note = d.payment_reversal
    assert AuditEvent.objects.filter(action="tokens.distribution_payment_reversed", object_id=str(d.pk)).exists()

    # The periodic retry runs while the node is still down, then once it is back: never funded.
    assert distributions.distributions_fund_waiting() == 0
    stub_chain(monkeypatch)
    assert distributions.distributions_fund_waiting() == 0
    d.refresh_from_db()
    assert d.status == S.WAITING_FUNDS and not d.report and not deposit_rows(d).exists()
    assert d.payment_reversal == note
    # A chargeback after the refund is audited; the first note stays.
    deliver_signed(stripe_api.dispute_created_event(
        payment_intent=payment.payment_intent, client_reference_id=f"distribution:{d.public_id}",
        amount_minor=int(d.amount_due * 100), currency="USD"))
    d.refresh_from_db()
    assert d.payment_reversal == note
    assert AuditEvent.objects.filter(action="tokens.distribution_payment_reversed", object_id=str(d.pk)).count() == 2
    # No path funds it: the service refuses by name.
    with pytest.raises(distributions.ApplicationError) as err, transaction.atomic():
        distributions._fund(actor=None, d=distributions._lock(d))
    assert err.value.code == "payment_reversed"

    # The statement says so, to the clinic and to the platform admin; the admin's list counts it.
    for user in (clinic, platform_admin):
        client.force_login(user)
        page = client.get(reverse("tokens:distribution-detail", args=[d.public_id])).content.decode()
        assert "The clinic&#x27;s card payment was refunded or charged back" in page or \
            "The clinic's card payment was refunded or charged back" in page
        assert "This statement is not deposited; a platform admin must recover the amount from the clinic." in page
        assert note in page
    import io

    from pypdf import PdfReader

    from tokens.distributions import statements

    text = "".join(pg.extract_text() for pg in PdfReader(io.BytesIO(statements.clinic_statement_pdf(d))).pages)
    assert "Payment reversed" in text and "card payment refunded" in text
    listing = client.get(reverse("tokens:distribution-list")).content.decode()
    assert "card payment was refunded or charged back: recover the amount from the clinic" in listing
    assert "paid distribution waits for treasury funds" not in listing


def test_a_failed_deposit_whose_payment_was_reversed_cannot_be_retried(offering, clinic, platform_admin,
                                                                      second_admin, chain):
    d = open_distribution(offering)
    distributions.distribution_confirm(actor=clinic, distribution=d)
    d = pay_by_bank(d, platform_admin, second_admin)
    assert d.status == S.DEPOSITING
    Distribution.objects.filter(pk=d.pk).update(status=S.FAILED, payment_reversed_at=dt.datetime.now(dt.UTC),
                                                payment_reversal="chargeback opened (charge.dispute.created, evt)")
    with pytest.raises(distributions.ApplicationError) as err:
        distributions.distribution_retry(actor=platform_admin, distribution=d)
    assert err.value.code == "payment_reversed"
    d.refresh_from_db()
    assert d.status == S.FAILED and d.deposit_attempt == 0


# ----------------------------------------------------------------------------- item 4: one deposit per token


def test_two_funding_paths_of_one_token_queue_one_deposit_at_a_time(offering, clinic, platform_admin,
                                                                    second_admin, chain):
    first, second = open_distribution(offering, month=1), open_distribution(offering, month=2)
    for d in (first, second):
        distributions.distribution_confirm(actor=clinic, distribution=d)
    first = pay_by_bank(first, platform_admin, second_admin)
    assert first.status == S.DEPOSITING and deposit_rows(first).count() == 1
    second = pay_by_bank(second, platform_admin, second_admin)
    assert second.status == S.WAITING_FUNDS and "previous deposit of this token" in second.error
    assert distributions.distributions_fund_waiting() == 0
    assert not deposit_rows(second).exists()


def test_a_deposit_queued_concurrently_by_another_path_makes_this_one_wait(
        offering, clinic, platform_admin, second_admin, chain, monkeypatch):
    """Regression (issue 15, item 4): path A (say the webhook of the first statement) queues its
    deposit and commits after path B (the periodic retry of the second) looked for a deposit in
    flight and found none. Before, both were queued; now B waits (on PostgreSQL the offering
    lock makes B look only after A commits; the unique constraint holds everywhere)."""
    first, second = open_distribution(offering, month=1), open_distribution(offering, month=2)
    for d in (first, second):
        distributions.distribution_confirm(actor=clinic, distribution=d)
    real = distributions.build_report

    def racing(**kw):  # A commits between B's check and B's queueing
        Distribution.objects.filter(pk=first.pk).update(status=S.DEPOSITING)
        return real(**kw)

    monkeypatch.setattr(distributions, "build_report", racing)
    second = pay_by_bank(second, platform_admin, second_admin)
    assert second.status == S.WAITING_FUNDS and "previous deposit of this token" in second.error
    assert not ChainTransaction.objects.filter(idempotency_key__startswith=second.key).exists()
    assert Distribution.objects.filter(offering=offering, status=S.DEPOSITING).count() == 1


def test_the_report_states_no_supply_so_mints_before_mining_cannot_falsify_it(offering, clinic, platform_admin,
                                                                              second_admin, chain):
    d = open_distribution(offering)
    distributions.distribution_confirm(actor=clinic, distribution=d)
    d = pay_by_bank(d, platform_admin, second_admin)
    acc = json.loads(d.report)["accumulator"]
    assert acc == {"magnitude": str(2**128), "points_per_share_before": "0"}


# ----------------------------------------------------------------------------- item 8: public report privacy


def test_public_lines_merge_small_cells_until_the_merged_line_is_not_small():
    lines, merged = distributions.public_revenue_lines(LINES, k=5, currency="USD")
    assert [ln.get("cpt_code") for ln in lines] == ["70553", None]  # the 40-cell and the compute line
    assert merged == {"kind": "procedure", "merged_cells": 3, "count": 11, "unpriced": 0, "amount": "1100.00",
                      "currency": "USD"}
    assert distributions.public_revenue_lines(LINES[:1], k=5, currency="USD") == (LINES[:1], None)
    # Everything small: all merged. An adjustment's negative differences count by size.
    lines, merged = distributions.public_revenue_lines([_line("1", "a", 2), _line("2", "b", -6)], k=5,
                                                       currency="USD")
    assert [ln["cpt_code"] for ln in lines] == [] and merged["count"] == -4 and merged["merged_cells"] == 2


def _frozen(offering, clinic, first, second) -> Distribution:
    d = open_distribution(offering)
    distributions.distribution_confirm(actor=clinic, distribution=d)
    return pay_by_bank(d, first, second)


def test_the_public_report_has_no_per_day_counts_and_no_small_cell(client, offering, clinic, platform_admin,
                                                                   second_admin, chain, settings):
    d = _frozen(offering, clinic, platform_admin, second_admin)
    report = json.loads(d.report)
    assert report["schema"] == "medrwa.distribution-report/3"
    assert "usage" not in report and '"daily"' not in d.report and "procedures_completed" not in d.report
    for line in report["revenue"]["lines"]:
        if line["kind"] == "procedure":
            assert abs(line["count"]) >= 5
    assert report["revenue"]["merged"]["count"] >= 5 and report["revenue"]["min_cell"] == 5
    for cpt in ("74177", "70450", "71275", "aetna", "cigna", "humana"):
        assert cpt not in d.report, cpt
    assert report["gross"] == str(GROSS)
    # The detail holds every cell and every day; the public report commits to it by hash.
    detail = json.loads(d.report_detail)
    assert report["detail"]["sha256"] == hashlib.sha256(d.report_detail.encode()).hexdigest()
    assert detail["revenue_lines"] == LINES and len(detail["usage"]["daily"]) == 31 and len(detail["salt"]) == 32

    # What anyone sees: the public page, the report download and the public API.
    for url in (reverse("tokens_public:distribution-verify", args=[d.public_id]),
                reverse("tokens_public:distribution-report", args=[d.public_id]),
                reverse("tokens_public:api-public-distribution", args=[d.public_id])):
        body = client.get(url).content.decode()
        assert "74177" not in body and "humana" not in body and "procedures_completed" not in body, url
    page = client.get(reverse("tokens_public:distribution-verify", args=[d.public_id])).content.decode()
    assert 'data-testid="daily-usage"' not in page and 'data-testid="detail-lines"' not in page
    assert "11 procedures of 3 smaller CPT × payer cells, merged without their codes" in page
    assert report["detail"]["sha256"] in page and "CPT × payer cells of fewer than 5 procedures are merged" in page
    assert client.get(reverse("tokens:distribution-report-detail", args=[d.public_id])).status_code == 302

    # A higher threshold is a setting: the next report merges more.
    settings.DISTRIBUTION_REPORT_MIN_CELL = 50
    assert distributions.public_revenue_lines(LINES, k=distributions.min_cell(), currency="USD")[1]["count"] == 51


def test_the_clinic_admins_and_holders_open_the_detail_others_do_not(client, api_as, offering, clinic,
                                                                     platform_admin, second_admin, chain, settings,
                                                                     identity_registry_row):
    from web3 import Web3

    from chain.models import ChainEvent, IndexedContract
    from compliance.models import Wallet

    d = _frozen(offering, clinic, platform_admin, second_admin)
    holder, outsider = make_investor(), make_investor()
    wallet = "0x" + "a7" * 20
    Wallet.objects.create(profile=holder.investor_profile, address=wallet, kind=Wallet.Kind.SELF_CUSTODY,
                          registered_on_chain=True)
    token = IndexedContract.objects.create(chain_id=settings.CHAIN_ID, address=offering.token_address,
                                           contract_name="SecurityToken")
    ChainEvent.objects.create(contract=token, block_number=5, tx_hash="0x" + "5" * 64, log_index=0, event="Transfer",
                              args={"from": "0x" + "0" * 40, "to": Web3.to_checksum_address(wallet), "value": 40})
    Distribution.objects.filter(pk=d.pk).update(status=S.DISTRIBUTED, deposit_block=10)
    url = reverse("tokens:distribution-report-detail", args=[d.public_id])
    api = reverse("api-token-distribution-report-detail", args=[d.public_id])
    for user in (clinic, platform_admin, holder):
        client.force_login(user)
        resp = client.get(url)
        assert resp.status_code == 200 and resp.content == d.report_detail.encode(), user
        assert api_as(user).get(api).content == d.report_detail.encode()
        page = client.get(reverse("tokens_public:distribution-verify", args=[d.public_id])).content.decode()
        assert 'data-testid="daily-usage"' in page and "74177" in page and "humana" in page
        assert 'data-testid="detail-download"' in page
    # The clinic's statement page links it; its API names it.
    client.force_login(clinic)
    assert url in client.get(reverse("tokens:distribution-detail", args=[d.public_id])).content.decode()
    resp = api_as(clinic).get(reverse("api-token-distribution-detail", args=[d.public_id]))
    assert_matches_schema(resp, "/api/v1/tokens/distributions/{public_id}/")
    assert resp.json()["report_detail_url"] == api
    # An investor who held nothing, another clinic: not disclosed.
    stranger = make_user(Role.CLINIC_ADMIN)
    for user in (outsider, stranger):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert api_as(user).get(api).status_code == 404
        page = client.get(reverse("tokens_public:distribution-verify", args=[d.public_id])).content.decode()
        assert "humana" not in page and 'data-testid="daily-usage"' not in page
