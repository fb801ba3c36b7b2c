"""A month of revenue reaches the holders, on a real anvil: simulated usage → close → the
clinic confirms and pays through the simulator's signed webhook → report frozen, hashed and
deposited once → custodial, self-custody and frozen holders accrue exactly their share."""

import hashlib
import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from django.db import transaction
from eth_account import Account

from chain import gateway
from chain.models import ChainEvent, ChainTransaction
from core.errors import ApplicationError
from core.models import AuditEvent
from tests.fixtures.core import subprocess_database_url
from tokens import ledger
from tokens.distributions import income
from tokens.distributions import services as distributions
from tokens.models import Distribution, IncomeClaim
from tokens.tests import distribution_world as world_mod

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


@pytest.fixture
def world(chain_ready, platform_admin, drain_outbox):
    return world_mod.distributed_world(platform_admin=platform_admin, drain=drain_outbox)


def test_a_paid_month_is_deposited_once_and_holders_accrue_their_exact_share(world):
    w, d = world
    token = w.offering.token_address
    report = json.loads(d.report)
    assert hashlib.sha256(d.report.encode()).hexdigest() == d.report_sha256
    pool = int(d.amount_base_units)  # the deposit passes the pool of all N units
    assert pool == int(d.holders_amount * 10 ** d.stablecoin_decimals) > 0
    # The gross is what usage earned, split by the offering's terms, to the cent.
    assert d.gross == d.platform_fee + d.reserve + d.clinic_share + d.holders_amount
    # Investors hold 180 of the offering's N units: the clinic pays for those, keeps the rest's part.
    n, held = w.offering.units, sum(world_mod.UNITS.values())
    assert (d.units_total, d.units_outstanding, d.units_at_deposit) == (n, held, held) and held < n
    assert d.investors_amount == (d.holders_amount * held / n).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert d.retained_amount == d.holders_amount - d.investors_amount > 0
    assert d.amount_due == d.gross - d.clinic_share - d.retained_amount and d.paid_amount == d.amount_due
    # The public report: totals and cells of at least min_cell procedures, and the hash of the
    # detailed usage (every day, every cell) that the clinic and holders can open.
    assert "usage" not in report and report["revenue"]["procedures"] == d.period.procedures
    detail = json.loads(d.report_detail)
    assert detail["usage"]["daily"] and detail["revenue_lines"] == d.period.lines
    assert report["detail"]["sha256"] == hashlib.sha256(d.report_detail.encode()).hexdigest()
    # One deposit, carrying the report hash.
    events = ChainEvent.objects.filter(contract__address__iexact=token, event="RevenueDistributed")
    assert events.count() == 1
    assert events.get().args["reportHash"].lower() == "0x" + d.report_sha256
    pulled = int(events.get().args["amount"])
    assert int(events.get().args["pool"]) == pool and pulled == int(d.deposited_base_units)
    # What the token pulled is what the outstanding units earn, never the pool: at most the billed part.
    assert pulled <= int(d.investors_amount * 10 ** d.stablecoin_decimals) + 1
    # Every holder, frozen included, accrued units × Δpps / MAGNITUDE = units / N of the pool (within a
    # base unit); with dust, it adds up to what was pulled exactly.
    ent = ledger.distribution_entitlements(d)
    mag, delta = ent["magnitude"], ent["delta"]
    assert delta == pool * mag // n
    assert ent["supply"] == held
    for role, units in world_mod.UNITS.items():
        assert ent["holders"][w.wallets[role].lower()]["units"] == units
        assert world_mod.withdrawable(w, role) == units * delta // mag
        assert abs(Fraction(units * delta, mag) - Fraction(units * pool, n)) < 1
    dust = int(d.dust_magnified_after)
    assert sum(h["magnified"] for h in ent["holders"].values()) + dust == pulled * mag
    assert int(report["accumulator"]["points_per_share_before"]) == 0
    assert d.period.status == "settled"
    assert AuditEvent.objects.filter(action="tokens.distribution_distributed", object_id=str(d.pk)).exists()

    # Everyone who must act or would want to know is told once: the clinic that its month
    # awaits confirmation, each holder that income is claimable — even if the hook runs again.
    from notifications.models import Notification

    assert Notification.objects.filter(recipient=w.clinic_admin).count() >= 1
    for investor in (w.custodial, w.self_custody, w.frozen):
        assert Notification.objects.filter(recipient=investor, category="income").count() == 1
    with transaction.atomic():
        d.status = "depositing"
        d.save(update_fields=["status"])
        distributions.on_deposit_final(d.deposit_tx)
    for investor in (w.custodial, w.self_custody, w.frozen):
        assert Notification.objects.filter(recipient=investor, category="income").count() == 1


def test_claims_custodial_self_custody_and_frozen(world, drain_outbox, chain_ready):
    w, d = world
    token, stable = w.offering.token_address, d.stablecoin_address
    owed = {role: world_mod.withdrawable(w, role) for role in world_mod.UNITS}

    # Custodial: the platform claims for the holder; the stablecoin lands in their own wallet.
    claim = income.income_claim(actor=w.custodial, offering=w.offering, wallet=w.wallets["custodial"])
    world_mod._drain(drain_outbox)
    claim.refresh_from_db()
    assert claim.status == "confirmed" and int(claim.amount_base_units) == owed["custodial"]
    assert int(gateway.call("MockStablecoin", stable, "balanceOf", w.wallets["custodial"])) == owed["custodial"]
    with pytest.raises(ApplicationError) as err:  # never asked to claim 0
        income.income_claim(actor=w.custodial, offering=w.offering, wallet=w.wallets["custodial"])
    assert err.value.code == "nothing_to_claim"

    # Self-custody: the page's prepared call, signed by the holder's own key.
    tx = income.income_claim_prepare(actor=w.self_custody, offering=w.offering, wallet=w.wallets["self_custody"])
    web3 = gateway.w3()
    signed = Account.from_key(w.self_custody_key).sign_transaction({
        "to": tx["to"], "data": tx["data"], "from": tx["from"], "chainId": int(tx["chainId"], 16), "gas": 200_000,
        "nonce": web3.eth.get_transaction_count(tx["from"]), "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9})
    tx_hash = "0x" + bytes(web3.eth.send_raw_transaction(signed.raw_transaction)).hex()
    web3.eth.wait_for_transaction_receipt(tx_hash)
    claim = income.income_claim_track(actor=w.self_custody, offering=w.offering, wallet=w.wallets["self_custody"],
                                      tx_hash=tx_hash)
    assert claim.status == "confirmed" and int(claim.amount_base_units) == owed["self_custody"]
    # Someone else's hash cannot be passed off as this investor's claim.
    with pytest.raises(ApplicationError):
        income.income_claim_track(actor=w.custodial, offering=w.offering, wallet=w.wallets["custodial"],
                                  tx_hash=tx_hash)

    # Frozen: the income stays theirs on chain; no claim while frozen.
    with pytest.raises(ApplicationError) as err:
        income.income_claim(actor=w.frozen, offering=w.offering, wallet=w.wallets["frozen"])
    assert err.value.code == "wallet_frozen"
    assert world_mod.withdrawable(w, "frozen") == owed["frozen"] > 0

    # Withdrawal: custodial → linked self-custody wallet, gas paid by the platform.
    from compliance.models import Wallet

    dest = Account.create().address
    Wallet.objects.create(profile=w.custodial.investor_profile, address=dest, kind=Wallet.Kind.SELF_CUSTODY)
    assert web3.eth.get_balance(w.wallets["custodial"]) == 0  # custodial wallets never hold ETH
    out = income.income_withdraw(actor=w.custodial, to_wallet=dest)
    with pytest.raises(ApplicationError) as err:  # a double click signs no second permit
        income.income_withdraw(actor=w.custodial, to_wallet=dest)
    assert err.value.code == "withdrawal_pending"
    world_mod._drain(drain_outbox)
    out.refresh_from_db()
    assert out.status == "confirmed"
    assert int(gateway.call("MockStablecoin", stable, "balanceOf", dest)) == owed["custodial"]
    assert int(gateway.call("MockStablecoin", stable, "balanceOf", w.wallets["custodial"])) == 0
    assert IncomeClaim.objects.filter(kind="withdraw", status="confirmed").count() == 1

    # The holdings page data: every wallet of the investor, read from chain.
    (h,) = ledger.investor_holdings(user=w.self_custody)
    assert h.units == world_mod.UNITS["self_custody"] and h.accrued == 0 and h.claimed == owed["self_custody"]
    assert h.periods[0]["base_units"] == owed["self_custody"]
    assert token


def test_batch_claim_pays_each_custodial_holder_only_to_their_own_wallet(world, drain_outbox, platform_admin):
    w, d = world
    owed = world_mod.withdrawable(w, "custodial")
    claims = income.income_claim_batch(actor=platform_admin, offering=w.offering)
    world_mod._drain(drain_outbox)
    claims[0].refresh_from_db()
    assert claims[0].status == "confirmed"
    assert int(gateway.call("MockStablecoin", d.stablecoin_address, "balanceOf", w.wallets["custodial"])) == owed
    assert world_mod.withdrawable(w, "custodial") == 0


def test_a_second_payment_for_the_same_period_is_never_distributed_twice(world, drain_outbox, platform_admin):
    w, d = world
    with pytest.raises(ApplicationError) as err:
        distributions.distribution_record_bank_transfer(actor=platform_admin, distribution=d, reference="BANK-1",
                                                        amount=d.amount_due)
    assert err.value.code == "already_paid"
    world_mod._drain(drain_outbox)
    assert ChainEvent.objects.filter(contract__address__iexact=w.offering.token_address,
                                     event="RevenueDistributed").count() == 1


DIE_AFTER_BROADCAST = """
import os, django
django.setup()
from chain import processor
send = processor._broadcast
def die(row, web3):
    send(row, web3)
    os._exit(137)  # the worker is killed after sending, before recording anything
processor._broadcast = die
processor.process_one(int(os.environ["ROW"]))
"""


@pytest.mark.django_db(transaction=True)
def test_worker_killed_between_approval_and_deposit_deposits_once(transactional_db, chain_ready, platform_admin,
                                                                  drain_outbox, settings):
    w = world_mod.build_holders(platform_admin=platform_admin, drain=drain_outbox)
    world_mod.simulate_month(w)
    d = world_mod.close_and_pay(w, drain=lambda ids=None, timeout=30: [], pay=True)  # nothing sent yet
    assert d.status == "depositing"
    deposit = d.deposit_tx
    fund_rows = ChainTransaction.objects.filter(kind="tokens.distribution_fund", idempotency_key__startswith=d.key)
    drain_outbox(ids=list(fund_rows.values_list("pk", flat=True)))  # mint + approve confirmed
    assert all(r.status == "confirmed" for r in fund_rows)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": subprocess_database_url(),
           "CHAIN_RPC_URL": settings.CHAIN_RPC_URL, "ROW": str(deposit.pk)}
    proc = subprocess.run([sys.executable, "-c", DIE_AFTER_BROADCAST], env=env, cwd=settings.BASE_DIR,
                          capture_output=True, timeout=120)
    assert proc.returncode == 137, proc.stderr.decode()[-2000:]
    deposit.refresh_from_db()
    assert deposit.status in ("pending", "submitted") and deposit.raw_tx  # signed and sent, never recorded
    # The worker restarts: the sweep finishes the row from what it persisted.
    drain_outbox()
    d.refresh_from_db()
    deposit.refresh_from_db()
    assert d.status == "distributed" and deposit.status == "confirmed"
    from chain.services import index_address

    index_address(w.offering.token_address)
    logs = gateway.get_logs(address=w.offering.token_address, from_block=0, to_block=gateway.w3().eth.block_number,
                            contract_name="SecurityToken")
    assert [lg["event"] for lg in logs].count("RevenueDistributed") == 1
    assert Distribution.objects.filter(period=d.period).count() == 1
    assert Decimal(d.paid_amount) == d.amount_due


def test_a_card_payment_after_a_bank_transfer_is_refunded_not_distributed(chain_ready, platform_admin,
                                                                         drain_outbox):
    from payments.models import Payment, Refund
    from payments.services import simulator_pay

    w = world_mod.build_holders(platform_admin=platform_admin, drain=drain_outbox)
    world_mod.simulate_month(w)
    d = world_mod.close_and_pay(w, drain=drain_outbox, pay=False)
    payment = distributions.distribution_checkout(actor=w.clinic_admin, distribution=d, success_url="http://t/ok",
                                                  cancel_url="http://t/no")
    distributions.distribution_record_bank_transfer(actor=platform_admin, distribution=d, reference="SEPA-77",
                                                    amount=d.amount_due)
    from accounts.tests.factories import make_user
    from core.permissions import Role

    distributions.distribution_confirm_bank_transfer(actor=make_user(Role.PLATFORM_ADMIN), distribution=d)
    simulator_pay(actor=w.clinic_admin, payment=Payment.objects.get(pk=payment.pk))  # the clinic paid twice
    world_mod._drain(drain_outbox)
    d.refresh_from_db()
    assert d.status == "distributed" and d.payment_method == "bank" and d.payment_reference == "SEPA-77"
    refund = Refund.objects.get(payment_id=payment.pk)
    assert refund.amount == d.amount_due and "already paid" in refund.reason
    assert ChainEvent.objects.filter(contract__address__iexact=w.offering.token_address,
                                     event="RevenueDistributed").count() == 1


def test_an_upheld_dispute_is_rebilled_whole_by_the_corrected_month(chain_ready, platform_admin, drain_outbox):
    from telemetry.models import Tariff
    from telemetry.services import revenue_period_adjust, tariff_set

    w = world_mod.build_holders(platform_admin=platform_admin, drain=drain_outbox)
    world_mod.simulate_month(w)
    d = world_mod.close_and_pay(w, drain=drain_outbox, pay=False)
    # The clinic disputes (before confirming, in this variant); the admin upholds: a fee was wrong.
    Distribution.objects.filter(pk=d.pk).update(status="awaiting_clinic")
    d = distributions.distribution_dispute(actor=w.clinic_admin, distribution=d, reason="MRI fee was lowered")
    d = distributions.distribution_resolve(actor=platform_admin, distribution=d, uphold=True,
                                           resolution="Correct: the 2026 schedule was updated")
    assert d.status == "withdrawn"
    line = next(ln for ln in d.period.lines if ln.get("amount"))
    tariff = Tariff.objects.get(cpt_code=line["cpt_code"], payer=line["payer"], year=line["year"])
    tariff_set(actor=platform_admin, cpt_code=tariff.cpt_code, payer=tariff.payer, year=tariff.year,
               technical_fee=tariff.technical_fee - Decimal("10.00"), currency=tariff.currency)
    adj = revenue_period_adjust(actor=platform_admin, period=d.period, reason="fee corrected after dispute")
    d2 = Distribution.objects.get(period=adj)
    delta = adj.procedure_amount + adj.compute_amount
    assert delta < 0
    # Nothing was billed for the withdrawn statement: the corrected month is billed whole.
    assert d2.gross == d.gross + delta and d2.status == "awaiting_clinic"
    assert any(ln["line"] == "correction" for ln in d2.waterfall["lines"])


def test_a_chargeback_of_a_paid_statement_is_flagged_for_an_admin(world):
    from payments import stripe_api
    from payments.models import Payment
    from payments.services import deliver_signed

    _, d = world
    payment = Payment.objects.get(session_id=d.payment_session_id)
    deliver_signed(stripe_api.dispute_created_event(
        payment_intent=payment.payment_intent, client_reference_id=f"distribution:{d.public_id}",
        amount_minor=int(d.amount_due * 100), currency=d.currency))
    d.refresh_from_db()
    assert d.status == "distributed" and "chargeback" in d.payment_reversal and d.payment_reversed_at
    assert AuditEvent.objects.filter(action="tokens.distribution_payment_reversed", object_id=str(d.pk)).exists()
