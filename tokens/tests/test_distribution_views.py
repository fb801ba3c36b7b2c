"""Revenue statement pages and their API twins: who sees which statement, who may act on it,
the API's error shape, and the list page's query count. No chain: the distribution is opened
by the real period-closed hook on a live offering; payment waits for the (unreachable) chain."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from accounts.tests.factories import make_user
from chain.models import ChainEvent, IndexedContract
from core.models import AuditEvent
from core.money import format_base_units, format_money, from_token_units, unit_price_text
from core.permissions import Role
from core.tests.openapi import assert_matches_schema
from telemetry.models import RevenuePeriod
from tokens.distributions import services as distributions
from tokens.models import Distribution, DistributionStatus, IncomeClaim
from tokens.tests.factories import clinic_admin_of, make_live_offering

pytestmark = pytest.mark.django_db
S = DistributionStatus


def open_distribution(offering, *, month: int = 1, gross: str = "10000.00") -> Distribution:
    start = dt.date(2026, month, 1)
    period = RevenuePeriod.objects.create(
        device=offering.device, period_start=start, period_end=dt.date(2026, month + 1, 1), procedures=40,
        procedure_amount=Decimal(gross), amount=Decimal(gross), currency="USD",
        lines=[{"kind": "procedure", "cpt": "70553", "count": 40, "amount": gross,
                "explanation": "40 × CPT 70553 at the period's fee"}])
    with transaction.atomic():
        return distributions.on_period_closed(period)


def index_mint(offering, units: int, wallet: str = "0x" + "ab" * 20) -> None:
    """Units investors hold, as the indexer records them (a confirmed Transfer from zero)."""
    contract, _ = IndexedContract.objects.get_or_create(chain_id=settings.CHAIN_ID, address=offering.token_address,
                                                        defaults={"contract_name": "SecurityToken"})
    n = ChainEvent.objects.filter(contract=contract).count()
    ChainEvent.objects.create(contract=contract, block_number=10 + n, tx_hash="0x" + f"{n + 1:064x}", log_index=0,
                              event="Transfer", args={"from": "0x" + "0" * 40, "to": wallet, "value": units})


@pytest.fixture
def offering(db):
    o = make_live_offering()
    index_mint(o, o.units)  # fully subscribed: investors hold every unit, so they are due the whole pool
    return o


@pytest.fixture
def dist(offering):
    return open_distribution(offering)


@pytest.fixture
def clinic(offering):
    return clinic_admin_of(offering.device)


def detail_url(d):
    return reverse("tokens:distribution-detail", args=[d.public_id])


def api(d, action=""):
    return f"/api/v1/tokens/distributions/{d.public_id}/" + (f"{action}/" if action else "")


def test_clinic_admin_sees_the_statement_with_usage_and_waterfall(client, clinic, dist):
    # 10,000 gross: fee 5 % = 500, reserve 5 % = 500, clinic 60 % = 6,000 → holders' pool 3,000, all of
    # it due: investors hold every unit; due 4,000.
    assert (dist.holders_amount, dist.investors_amount, dist.retained_amount, dist.amount_due) == (
        Decimal("3000.00"), Decimal("3000.00"), Decimal("0.00"), Decimal("4000.00"))
    client.force_login(clinic)
    listing = client.get(reverse("tokens:distribution-list")).content.decode()
    assert "Revenue statements" in listing and "2026-01" in listing and "4,000.00 USD" in listing
    page = client.get(detail_url(dist)).content.decode()
    assert "1000 of 1000 units held by investors" in page
    assert "40 × CPT 70553 at the period&#x27;s fee" in page
    assert "Platform fee 5.00% of gross" in page and "Clinic&#x27;s operating share 60.00% of gross" in page
    assert "3,000.00 USD" in page and "Awaiting the clinic&#x27;s confirmation" in page
    assert "Confirm statement" in page and "Dispute statement" in page
    assert "Pay " not in page  # not before it is confirmed


def test_a_partly_sold_offering_bills_only_the_investors_units(client, db):
    """k of N units earn k/N of the pool: with 10 of 1,000 units sold the clinic pays 1 % of the
    holders' pool (and fee and reserve) and keeps the rest, and the statement says so."""
    o = make_live_offering()
    index_mint(o, 10)
    d = open_distribution(o)
    assert (d.units_total, d.units_outstanding) == (1000, 10)
    assert (d.holders_amount, d.investors_amount, d.retained_amount, d.amount_due) == (
        Decimal("3000.00"), Decimal("30.00"), Decimal("2970.00"), Decimal("1030.00"))
    client.force_login(clinic_admin_of(o.device))
    page = client.get(detail_url(d)).content.decode()
    assert "10 of 1000 units held by investors" in page
    assert 'data-testid="investors-amount">30.00 USD' in page and 'data-testid="retained-amount">2,970.00 USD' in page
    assert "Unsold units&#x27; part (kept by the clinic)" in page  # the waterfall line, with its rule
    assert "990 of 1000 units were not held by investors when the statement was made" in page


def test_another_clinics_statement_is_404_on_page_and_api(client, api_as, dist):
    stranger = make_user(Role.CLINIC_ADMIN)
    client.force_login(stranger)
    assert client.get(detail_url(dist)).status_code == 404
    assert client.post(reverse("tokens:distribution-confirm", args=[dist.public_id])).status_code == 404
    assert "2026-01" not in client.get(reverse("tokens:distribution-list")).content.decode()
    resp = api_as(stranger).post(api(dist, "confirm"))
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    assert api_as(stranger).get("/api/v1/tokens/distributions/").json()["count"] == 0
    dist.refresh_from_db()
    assert dist.status == S.AWAITING_CLINIC


def test_a_clinic_admin_reading_chinese_sees_the_statement_rules_and_notes_in_chinese(client, clinic, offering, dist):
    clinic.language = "zh-hans"
    clinic.save(update_fields=["language"])
    client.force_login(clinic)
    page = client.get(detail_url(dist)).content.decode()
    assert "平台费，占总收入的 5.00%" in page and "诊所运营分成，占总收入的 60.00%" in page
    assert "Platform fee 5.00% of gross" not in page
    empty = open_distribution(offering, month=2, gross="0.00")  # nothing earned: a fixed note, translated
    assert empty.status == S.NOTHING_DUE and empty.error == "No revenue to distribute for this period."
    assert "本期没有可分配的收入。" in client.get(detail_url(empty)).content.decode()


def test_an_investor_cannot_confirm(client, api_as, investor, dist):
    client.force_login(investor)
    assert client.post(reverse("tokens:distribution-confirm", args=[dist.public_id])).status_code == 403
    resp = api_as(investor).post(api(dist, "confirm"))
    assert resp.status_code == 403
    assert set(resp.json()["error"]) == {"code", "message", "details"}
    dist.refresh_from_db()
    assert dist.status == S.AWAITING_CLINIC and dist.confirmed_at is None


def test_clinic_staff_of_the_same_clinic_cannot_confirm(api_as, offering, dist):
    staff = make_user(Role.CLINIC_STAFF, organization=offering.device.organization)
    resp = api_as(staff).post(api(dist, "confirm"))
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "permission_denied"


def test_confirm_through_the_page_then_pay_button_appears(client, clinic, dist):
    client.force_login(clinic)
    resp = client.post(reverse("tokens:distribution-confirm", args=[dist.public_id]), follow=True)
    page = resp.content.decode()
    assert "Statement confirmed" in page and "Pay 4,000.00 USD by card" in page
    dist.refresh_from_db()
    assert dist.status == S.AWAITING_PAYMENT and dist.confirmed_by == clinic
    assert AuditEvent.objects.filter(action="tokens.distribution_confirm").exists()


def test_dispute_needs_a_reason_and_the_admin_resolves_it(client, api_as, clinic, platform_admin, dist):
    resp = api_as(clinic).post(api(dist, "dispute"), {"reason": ""}, format="json")
    assert resp.status_code == 400
    body = resp.json()["error"]
    assert body["code"] == "validation_error" and "reason" in body["details"]
    client.force_login(clinic)
    page = client.post(reverse("tokens:distribution-dispute", args=[dist.public_id]), {"reason": "  "},
                       follow=True).content.decode()
    assert "Say what is wrong with the statement." in page
    resp = api_as(clinic).post(api(dist, "dispute"), {"reason": "We had 38 scans, not 40."}, format="json")
    assert resp.status_code == 200 and resp.json()["status"] == S.DISPUTED
    assert_matches_schema(resp, "/api/v1/tokens/distributions/{public_id}/dispute/", "post")

    # The clinic cannot resolve its own dispute; the platform admin can, with an explanation.
    assert api_as(clinic).post(api(dist, "resolve"), {"uphold": True, "resolution": "x"}).status_code == 403
    resp = api_as(platform_admin).post(api(dist, "resolve"), {"uphold": False, "resolution": ""}, format="json")
    assert resp.status_code == 400
    client.force_login(platform_admin)
    page = client.post(reverse("tokens:distribution-resolve", args=[dist.public_id]),
                       {"decision": "reject", "resolution": "Agent logs show 40 completed scans."},
                       follow=True).content.decode()
    assert "Dispute rejected" in page
    dist.refresh_from_db()
    assert dist.status == S.AWAITING_PAYMENT and dist.resolution == "Agent logs show 40 completed scans."


def test_bank_transfer_wrong_amount_is_refused_and_right_amount_waits_for_the_chain(
        client, api_as, clinic, platform_admin, dist, settings):
    settings.CHAIN_RPC_URL = "http://127.0.0.1:9"  # nothing listens: the deposit must wait, not crash
    settings.CHAIN_STABLECOIN_ADDRESS = "0x" + "5" * 40
    distributions.distribution_confirm(actor=clinic, distribution=dist)
    resp = api_as(platform_admin).post(api(dist, "bank-transfer"), {"reference": "BANK-1", "amount": "3999.99"},
                                       format="json")
    assert resp.status_code == 400
    assert resp.json()["error"] == {"code": "amount_mismatch", "message": "The amount due is 4000.00 USD.",
                                    "details": {"amount": ["Must be 4000.00."]}}
    dist.refresh_from_db()
    assert dist.paid_at is None and dist.recorded_at is None
    assert api_as(clinic).post(api(dist, "bank-transfer"), {"reference": "x", "amount": "4000"}).status_code == 403

    # Recorded by one admin: nothing is paid yet, and the page says a second admin must confirm.
    client.force_login(platform_admin)
    page = client.post(reverse("tokens:distribution-bank-transfer", args=[dist.public_id]),
                       {"reference": "BANK-2", "amount": "4000.00"}, follow=True).content.decode()
    dist.refresh_from_db()
    assert dist.status == S.AWAITING_PAYMENT and dist.paid_at is None
    assert dist.bank_reference == "BANK-2" and dist.recorded_by == platform_admin
    assert "A second platform admin must confirm it" in page
    assert "A second, different platform admin must confirm it before the statement is paid" in page
    assert platform_admin.email in page and "You recorded it" in page and "Confirm transfer" not in page
    # The same admin cannot confirm it, on the page or through the API.
    page = client.post(reverse("tokens:distribution-bank-transfer-confirm", args=[dist.public_id]),
                       follow=True).content.decode()
    assert "A second, different platform admin must confirm this bank transfer." in page
    resp = api_as(platform_admin).post(api(dist, "bank-transfer/confirm"))
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "four_eyes"
    dist.refresh_from_db()
    assert dist.paid_at is None and dist.status == S.AWAITING_PAYMENT
    # A second record while one waits is refused.
    resp = api_as(platform_admin).post(api(dist, "bank-transfer"), {"reference": "BANK-9", "amount": "4000.00"},
                                       format="json")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "bank_transfer_pending"
    listing = client.get(reverse("tokens:distribution-list")).content.decode()
    assert "1 bank transfer waits for a second platform admin's confirmation" in listing

    # A second admin confirms: paid, and the deposit waits for the (unreachable) chain.
    second = make_user(Role.PLATFORM_ADMIN)
    client.force_login(second)
    page = client.get(detail_url(dist)).content.decode()
    assert "Confirm transfer" in page and f"{platform_admin.email} recorded 4,000.00 USD, ref. BANK-2" in page
    page = client.post(reverse("tokens:distribution-bank-transfer-confirm", args=[dist.public_id]),
                       follow=True).content.decode()
    dist.refresh_from_db()
    assert dist.status == S.WAITING_FUNDS and dist.payment_reference == "BANK-2" and dist.payment_method == "bank"
    assert dist.recorded_by == platform_admin and dist.bank_confirmed_by == second
    assert "the deposit waits" in page and "unreachable" in page
    assert f"Recorded by {platform_admin.email}, confirmed by {second.email}." in page
    for action, actor in (("tokens.distribution_bank_transfer_recorded", platform_admin),
                          ("tokens.distribution_bank_transfer_confirmed", second),
                          ("tokens.distribution_paid", second)):
        assert AuditEvent.objects.filter(action=action, object_id=str(dist.pk), actor=actor).exists(), action
    listing = client.get(reverse("tokens:distribution-list")).content.decode()
    assert "1 paid distribution waits for treasury funds" in listing
    # Paid once: a second transfer is refused.
    resp = api_as(platform_admin).post(api(dist, "bank-transfer"), {"reference": "BANK-3", "amount": "4000.00"},
                                       format="json")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "already_paid"


def test_bank_transfer_confirm_and_reject_api_twins(api_as, clinic, platform_admin, dist, settings):
    settings.CHAIN_RPC_URL = "http://127.0.0.1:9"
    settings.CHAIN_STABLECOIN_ADDRESS = "0x" + "5" * 40
    distributions.distribution_confirm(actor=clinic, distribution=dist)
    second = make_user(Role.PLATFORM_ADMIN)
    resp = api_as(platform_admin).post(api(dist, "bank-transfer"), {"reference": "SEPA-1", "amount": "4000.00"},
                                       format="json")
    assert resp.status_code == 200
    assert_matches_schema(resp, "/api/v1/tokens/distributions/{public_id}/bank-transfer/", "post")
    bank = resp.json()["bank_transfer"]
    assert bank["pending"] is True and bank["reference"] == "SEPA-1" and bank["recorded_by"] == platform_admin.email
    assert resp.json()["paid_at"] is None
    # The clinic sees that a transfer is recorded, not which admin recorded it; it cannot confirm.
    seen = api_as(clinic).get(api(dist)).json()["bank_transfer"]
    assert seen["pending"] is True and seen["recorded_by"] is None
    assert api_as(clinic).post(api(dist, "bank-transfer/confirm")).status_code == 403
    # Discarded (a reason is required), then recorded again and confirmed by the second admin.
    resp = api_as(second).post(api(dist, "bank-transfer/reject"), {"reason": ""}, format="json")
    assert resp.status_code == 400
    resp = api_as(second).post(api(dist, "bank-transfer/reject"), {"reason": "Not on the statement"}, format="json")
    assert resp.status_code == 200 and resp.json()["bank_transfer"] is None
    assert_matches_schema(resp, "/api/v1/tokens/distributions/{public_id}/bank-transfer/reject/", "post")
    assert AuditEvent.objects.filter(action="tokens.distribution_bank_transfer_rejected", actor=second).exists()
    resp = api_as(second).post(api(dist, "bank-transfer/confirm"))
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "no_bank_transfer_pending"
    api_as(platform_admin).post(api(dist, "bank-transfer"), {"reference": "SEPA-2", "amount": "4000.00"},
                                format="json")
    resp = api_as(second).post(api(dist, "bank-transfer/confirm"))
    assert resp.status_code == 200
    assert_matches_schema(resp, "/api/v1/tokens/distributions/{public_id}/bank-transfer/confirm/", "post")
    data = resp.json()
    assert data["status"] == S.WAITING_FUNDS and data["payment_reference"] == "SEPA-2"
    assert data["bank_transfer"]["pending"] is False and data["bank_transfer"]["confirmed_by"] == second.email


def test_api_detail_and_list_match_the_schema(api_as, clinic, platform_admin, offering, dist):
    open_distribution(offering, month=2)
    resp = api_as(clinic).get(api(dist))
    assert resp.status_code == 200
    assert_matches_schema(resp, "/api/v1/tokens/distributions/{public_id}/")
    data = resp.json()
    assert data["amount_due"] == "4000.00" and data["platform_amount"] == "1000.00"
    assert [line["line"] for line in data["lines"]] == ["gross", "platform_fee", "reserve", "clinic_share",
                                                        "holders", "retained", "investors"]
    resp = api_as(platform_admin).get("/api/v1/tokens/distributions/", {"status": "awaiting_clinic"})
    assert_matches_schema(resp, "/api/v1/tokens/distributions/")
    assert resp.json()["count"] == 2


def test_checkout_needs_a_confirmed_statement(api_as, clinic, dist):
    resp = api_as(clinic).post(api(dist, "checkout"), {}, format="json")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "not_payable"


def test_list_page_query_count_is_bounded(client, platform_admin, django_assert_max_num_queries):
    for _ in range(6):
        open_distribution(make_live_offering())
    client.force_login(platform_admin)
    with django_assert_max_num_queries(8):
        resp = client.get(reverse("tokens:distribution-list"))
    statements = resp.content.decode().split('data-testid="distributions"', 1)[1].split("</table>", 1)[0]
    assert statements.count("2026-01") == 6


def test_buy_page_shows_waterfall_terms_and_history_before_buying(client, approved_investor, offering, dist):
    client.force_login(approved_investor)
    page = client.get(reverse("tokens:invest-buy", args=[offering.pk])).content.decode()
    assert "Platform fee" in page and "Clinic's operating share" in page and "60.00%" in page
    assert "until it holds 10,000.00 USD" in page
    assert "Compute revenue (idle GPU time sold): not included" in page
    assert "2026-01" in page and "10,000.00 USD" in page and "3,000.00 USD" in page


def test_income_page_without_holdings_and_statements_are_private(client, api_as, approved_investor, dist):
    client.force_login(approved_investor)
    page = client.get(reverse("tokens:income")).content.decode()
    assert "No holdings yet" in page and 'href="/income/"' in page
    assert client.get(reverse("tokens:income-statement", args=[dist.public_id])).status_code == 404
    resp = api_as(approved_investor).get("/api/v1/tokens/income/")
    assert resp.status_code == 200 and resp.json()["holdings"] == []
    assert_matches_schema(resp, "/api/v1/tokens/income/")
    resp = api_as(approved_investor).post("/api/v1/tokens/income/claims/track/",
                                          {"offering_id": dist.offering_id, "wallet": "0x" + "1" * 40,
                                           "tx_hash": "0x12"}, format="json")
    assert resp.status_code == 404  # not one of the investor's wallets


def test_batch_claim_and_retry_are_for_platform_admins(client, api_as, clinic, offering, dist):
    resp = api_as(clinic).post(f"/api/v1/tokens/offerings/{offering.pk}/batch-claim/")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "permission_denied"
    assert api_as(clinic).post(api(dist, "retry")).status_code == 403
    client.force_login(clinic)
    assert client.post(reverse("tokens:distribution-batch-claim"), {"offering": offering.pk}).status_code == 403


def test_retry_refuses_a_deposit_that_did_not_fail(api_as, platform_admin, dist):
    resp = api_as(platform_admin).post(api(dist, "retry"))
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "not_failed"


def test_income_claim_for_unknown_token_is_a_validation_error(api_as, approved_investor):
    resp = api_as(approved_investor).post("/api/v1/tokens/income/claims/", {"offering_id": 999999,
                                                                            "wallet": "0x" + "1" * 40})
    assert resp.status_code == 400
    assert resp.json()["error"]["details"] == {"offering_id": ["No such token."]}


# ----------------------------------------------------------------------------- on anvil: a distributed month


@pytest.fixture
def world(chain_ready, platform_admin, drain_outbox):
    from tokens.tests import distribution_world as world_mod

    return world_mod.distributed_world(platform_admin=platform_admin, drain=drain_outbox)


@pytest.mark.chain
def test_income_page_api_claims_and_statements_on_a_distributed_month(client, api_as, world, drain_outbox):
    from tokens.tests import distribution_world as world_mod

    w, d = world
    owed = world_mod.withdrawable(w, "custodial")
    symbol, month = w.offering.token_symbol, w.period_start.strftime("%Y-%m")

    # The API twin: holdings with live accrued income and per-period rows, in the published shape.
    resp = api_as(w.custodial).get("/api/v1/tokens/income/")
    assert_matches_schema(resp, "/api/v1/tokens/income/")
    (h,) = resp.json()["holdings"]
    assert h["accrued_base_units"] == str(owed) and h["units"] == world_mod.UNITS["custodial"]
    assert h["periods"][0]["base_units"] == str(owed) and h["periods"][0]["period_start"] == str(w.period_start)
    assert resp.json()["summary"]["periods"] == 1

    client.force_login(w.custodial)
    page = client.get(reverse("tokens:income")).content.decode()
    claim_label = f"Claim {format_money(Decimal(h['accrued']), 'USD')}"  # 2 decimals on the page
    # Money as people read it: the accrued amount in USD, never its base units.
    assert format_base_units(owed, 6) in page and "base units" not in page
    assert month in page and claim_label in page
    # Units minted without a primary order have no price: no yield is made up for them.
    assert "no unit that earned income has a known price" in page
    assert h["yield_status"] == "no_price" and h["realised_yield_pct"] is None and h["cost_basis"] is None
    assert 'id="income-chart"' in page and 'data-testid="income-by-month"' in page

    # Custodial claim through the page; once confirmed there is nothing left to claim and no button asks.
    resp = client.post(reverse("tokens:income-claim"), {"offering": w.offering.pk, "wallet": w.wallets["custodial"]},
                       follow=True)
    assert "income sent" in resp.content.decode()
    world_mod._drain(drain_outbox)
    page = client.get(reverse("tokens:income")).content.decode()
    assert "Nothing to claim yet" in page and claim_label not in page
    claim = IncomeClaim.objects.get(investor=w.custodial, kind="claim")
    assert claim.status == "confirmed" and int(claim.amount_base_units) == owed
    resp = api_as(w.custodial).get(f"/api/v1/tokens/income/claims/{claim.pk}/")
    assert_matches_schema(resp, "/api/v1/tokens/income/claims/{claim_id}/")
    assert resp.json()["tx_hash"].startswith("0x")
    # Withdrawal of the claimed stablecoin to a linked self-custody wallet, through the page.
    from compliance.models import Wallet

    dest = "0x" + "ab" * 20
    Wallet.objects.create(profile=w.custodial.investor_profile, address=dest, kind=Wallet.Kind.SELF_CUSTODY)
    page = client.get(reverse("tokens:income")).content.decode()
    assert "The platform pays the gas." in page and dest in page
    resp = client.post(reverse("tokens:income-withdraw"), {"to_wallet": dest, "amount": "x"}, follow=True)
    assert "Enter an amount in USD" in resp.content.decode()
    # Amounts are typed in USD, never base units (typing 100 used to withdraw 0.0001 USD).
    held = from_token_units(owed, 6)
    resp = client.post(reverse("tokens:income-withdraw"), {"to_wallet": dest, "amount": str(held + 1)}, follow=True)
    assert f"Your custodial wallet holds {unit_price_text(held)} USD." in resp.content.decode()
    resp = client.post(reverse("tokens:income-withdraw"), {"to_wallet": dest, "amount": "0.0000001"}, follow=True)
    assert "Enter at most 6 decimal places." in resp.content.decode()
    resp = client.post(reverse("tokens:income-withdraw"), {"to_wallet": dest, "amount": f"{held:f}"}, follow=True)
    assert "Withdrawal queued" in resp.content.decode()
    world_mod._drain(drain_outbox)
    withdrawal = IncomeClaim.objects.get(investor=w.custodial, kind="withdraw")
    assert withdrawal.status == "confirmed" and int(withdrawal.amount_base_units) == owed
    # Someone else's claim is not disclosed.
    assert api_as(w.frozen).get(f"/api/v1/tokens/income/claims/{claim.pk}/").status_code == 404

    # Frozen: the service's refusal is shown, on the page and in the API.
    client.force_login(w.frozen)
    resp = client.post(reverse("tokens:income-claim"), {"offering": w.offering.pk, "wallet": w.wallets["frozen"]},
                       follow=True)
    assert "This wallet is frozen by a compliance officer" in resp.content.decode()
    resp = api_as(w.frozen).post("/api/v1/tokens/income/claims/", {"offering_id": w.offering.pk,
                                                                    "wallet": w.wallets["frozen"]}, format="json")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "wallet_frozen"

    # Self-custody: the prepared call for the browser wallet; a custodial wallet is refused.
    resp = api_as(w.self_custody).post("/api/v1/tokens/income/claims/prepare/",
                                       {"offering_id": w.offering.pk, "wallet": w.wallets["self_custody"]},
                                       format="json")
    assert resp.status_code == 200
    assert_matches_schema(resp, "/api/v1/tokens/income/claims/prepare/", "post")
    assert resp.json()["from"] == w.wallets["self_custody"] and resp.json()["to"] == w.offering.token_address
    resp = api_as(w.custodial).post("/api/v1/tokens/income/claims/prepare/",
                                    {"offering_id": w.offering.pk, "wallet": w.wallets["custodial"]}, format="json")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "custodial_wallet"

    # Statements: the holder's PDF; not for an investor who held nothing then.
    resp = api_as(w.custodial).get(f"/api/v1/tokens/income/statements/{d.public_id}/")
    assert resp.status_code == 200 and resp.content[:5] == b"%PDF-"
    outsider = make_user(Role.INVESTOR)
    assert api_as(outsider).get(f"/api/v1/tokens/income/statements/{d.public_id}/").status_code == 404
    resp = client.get(reverse("tokens:income-yearly-csv", args=[w.period_start.year]))
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    resp = api_as(w.custodial).get(f"/api/v1/tokens/income/summary/{w.period_start.year}/", {"kind": "csv"})
    assert resp.status_code == 200 and symbol in resp.content.decode()
    # The clinic's statement PDF and the distributed state on its page.
    client.force_login(w.clinic_admin)
    page = client.get(reverse("tokens:distribution-detail", args=[d.public_id])).content.decode()
    assert d.report_sha256 in page and d.deposit_tx.tx_hash in page and f"/verify/distributions/{d.public_id}/" in page
    resp = client.get(reverse("tokens:distribution-statement", args=[d.public_id]))
    assert resp.status_code == 200 and resp.content[:5] == b"%PDF-"


def test_offering_form_renders_the_waterfall_fields(client, platform_admin):
    client.force_login(platform_admin)
    page = client.get(reverse("tokens:offering-create")).content.decode()
    for label in ("Platform fee (% of gross)", "Maintenance reserve (% of gross)", "Reserve target",
                  "Clinic&#x27;s operating share (% of gross)", "Holders&#x27; share of gross revenue (%)",
                  "Include compute revenue (idle GPU time sold) in gross"):
        assert label in page, label
