"""Who may reach what, across every app: two clinics with certified devices, two investors with
KYC cases, and the platform roles. Each row is (actor, method, url, statuses allowed); a row for
an owner proves the URL is real, so a "404 for the stranger" cannot pass by accident.
API refusals must also carry the {"error": {"code", "message", "details"}} shape.

Uploads: a PHP script named .jpg, an SVG, and a PNG whose header claims a pixel count large
enough to be a decompression bomb are refused on every upload endpoint, web and API."""

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from web3 import Web3

from accounts.models import Membership
from accounts.tests.factories import make_user
from assets import services as asset_services
from assets.models import Appraisal, AppraisalStatus, DevicePhoto
from assets.samples import jpeg_bytes, png_header_only
from chain.models import ChainEvent, IndexedContract
from compliance.models import KycCase, KycDocument, Wallet, WalletChallenge
from compliance.tests.factories import make_case
from core.roles import Role
from notifications.models import Notification
from notifications.services import notify
from telemetry.ingest import ingest_batch
from telemetry.models import PlausibilityFlag, RevenuePeriod
from telemetry.services import credential_issue
from tests.fixtures.telemetry import procedure
from tokens.distributions import services as distributions
from tokens.models import (
    Distribution,
    DistributionStatus,
    IncomeClaim,
    MarketCardPurchase,
    MarketOffer,
    MarketTransfer,
    Offering,
    OfferingStatus,
    Order,
    OrderStatus,
)
from tokens.offerings import services as token_services
from tokens.tests.factories import offering_terms

pytestmark = pytest.mark.django_db

OK = {200}
DENIED = {403, 404}
ANON_WEB = {302}  # to the login page
ANON_API = {401, 403}

PHP = b"<?php system($_GET['c']); ?>\n"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)">'
       b"<script>alert(1)</script></svg>")


def _zip_bomb_like() -> bytes:
    # Highly compressible payload behind a zip header: not an image or PDF at all.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.bin", b"\0" * (4 * 1024 * 1024))
    return buf.getvalue()


BAD_UPLOADS = [
    ("shell.jpg", "image/jpeg", PHP),
    ("logo.svg", "image/svg+xml", SVG),
    ("huge.png", "image/png", png_header_only(60_000, 60_000)),
    ("bomb.jpg", "image/jpeg", _zip_bomb_like()),
]
BAD_DOCUMENTS = [
    ("invoice.pdf", "application/pdf", PHP),
    ("invoice.pdf", "application/pdf", SVG),
    ("invoice.pdf", "application/pdf", _zip_bomb_like()),
]


@pytest.fixture
def world(clinic_device_factory):
    w = {}
    w["device_a"], w["admin_a"] = clinic_device_factory("certified")
    w["device_b"], w["admin_b"] = clinic_device_factory("certified")
    org_a = w["admin_a"].memberships.first().organization
    w["staff_a"] = make_user(Role.CLINIC_STAFF, organization=org_a)
    w["draft_a"], _ = clinic_device_factory("draft", admin=w["admin_a"])
    w["photo_a"] = w["device_a"].photos.first()
    w["doc_a"] = w["device_a"].documents.first()
    w["photo_b"] = w["device_b"].photos.first()
    w["appraisal_a"] = Appraisal.objects.filter(device=w["device_a"]).first()
    w["appraisal_b"] = Appraisal.objects.filter(device=w["device_b"]).first()
    w["cert_a"] = w["device_a"].certifications.first()
    w["cred_a"] = credential_issue(actor=w["admin_a"], device=w["device_a"], label="matrix").credential
    ingest_batch(credential=w["cred_a"], events=[procedure(3)])  # a seq gap: one flag on device A
    w["flag_a"] = PlausibilityFlag.objects.get(event__device=w["device_a"])
    w["staff_membership_a"] = Membership.objects.get(user=w["staff_a"])

    w["case_1"] = make_case(status=KycCase.Status.SUBMITTED)
    w["investor_1"] = w["case_1"].profile.user
    w["case_2"] = make_case(status=KycCase.Status.SUBMITTED)
    w["investor_2"] = w["case_2"].profile.user
    w["kyc_doc_1"] = KycDocument.objects.filter(case=w["case_1"]).first()
    w["challenge_1"] = WalletChallenge.objects.create(
        user=w["investor_1"], address="0x" + "1" * 40, nonce="matrixnonce1",
        message="Sign in to MedRWA: matrixnonce1", expires_at=timezone.now() + dt.timedelta(minutes=10))

    # A draft appraisal on clinic B's submitted device: only the appraiser who wrote it may sign.
    w["appraiser_2"] = make_user(Role.APPRAISER)
    w["submitted_b"], _ = clinic_device_factory("submitted", admin=w["admin_b"])
    w["draft_appraisal_b"] = asset_services.appraisal_create(
        actor=w["appraiser_2"], device=w["submitted_b"], effective_date=timezone.localdate(),
        replacement_cost_new="1500000", currency="USD", condition_factor="0.9",
        comparables=[{"price": "600000", "adjustment_fraction": "-0.05", "description": "2020 go.Up"}],
        technical_fee_per_exam="245", operating_cost_per_year="900000",
        weights={"cost": "0.5", "market": "0.3", "income": "0.2"})

    w["officer"] = make_user(Role.COMPLIANCE_OFFICER)
    w["padmin"] = make_user(Role.PLATFORM_ADMIN)
    w["appraiser"] = make_user(Role.APPRAISER)
    w["inspector"] = make_user(Role.INSPECTOR)
    w["anon"] = None
    return w


def _live_offering(w, device, symbol: str) -> Offering:
    offering = token_services.offering_create(actor=w["padmin"], device=device,
                                              data=offering_terms(token_symbol=symbol))
    # No chain in this test: the deployment is written in as if it had been confirmed.
    address = "0x" + hashlib.sha256(symbol.encode()).hexdigest()[:40]
    Offering.objects.filter(pk=offering.pk).update(status=OfferingStatus.LIVE, chain_id=31337, token_address=address)
    offering.refresh_from_db()
    return offering


def _closed_month(offering, start: dt.date) -> Distribution:
    """A month closed the way telemetry closes it: the period-closed hook opens the statement."""
    period = RevenuePeriod.objects.create(
        device=offering.device, period_start=start, period_end=(start + dt.timedelta(days=32)).replace(day=1),
        procedures=40, procedure_amount=Decimal("10000.00"), amount=Decimal("10000.00"), currency="USD",
        lines=[{"kind": "procedure", "cpt_code": "74177", "payer": "default", "year": start.year, "count": 40,
                "apportioned": 0, "fee": "250.00", "amount": "10000.00", "currency": "USD",
                "tariff_year": start.year, "explanation": "40 × CPT 74177 (default, $250.00)"}])
    with transaction.atomic():
        return distributions.on_period_closed(period)


def add_token_objects(w) -> None:
    """Today's objects, each owned by one clinic or one investor: both clinics' monthly
    statements (clinic A's February distributed with its report frozen), investor 1's wallet
    holding clinic A's token at the deposit block, a claim, an open market offer, a transfer,
    an order, and a notification for each investor."""
    w["offering_a"] = _live_offering(w, w["device_a"], "MATA")
    w["offering_b"] = _live_offering(w, w["device_b"], "MATB")
    w["dist_a"] = _closed_month(w["offering_a"], dt.date(2026, 1, 1))
    w["dist_b"] = _closed_month(w["offering_b"], dt.date(2026, 1, 1))
    done = _closed_month(w["offering_a"], dt.date(2026, 2, 1))
    # Frozen and deposited as _fund and the deposit hook would leave it (40 units in supply).
    body = distributions.canonical_json(distributions.build_report(
        d=done, decimals=6, stablecoin="0x" + "d4" * 20, pps_before=0, magnitude=2**128))
    Distribution.objects.filter(pk=done.pk).update(
        status=DistributionStatus.DISTRIBUTED, report=body.decode(), deposit_block=10,
        report_sha256=hashlib.sha256(body).hexdigest(), stablecoin_decimals=6,
        amount_base_units=str(int(done.holders_amount * 10**6)), points_per_share_after="0")
    w["dist_done_a"] = done
    address = "0x" + "a1" * 20
    Wallet.objects.create(profile=w["case_1"].profile, address=address, kind=Wallet.Kind.CUSTODIAL,
                          registered_on_chain=True)
    token = IndexedContract.objects.create(chain_id=settings.CHAIN_ID, address=w["offering_a"].token_address,
                                           contract_name="SecurityToken")
    ChainEvent.objects.create(contract=token, block_number=5, tx_hash="0x" + "5" * 64, log_index=0, event="Transfer",
                              args={"from": "0x" + "0" * 40, "to": Web3.to_checksum_address(address), "value": 40})
    inv1 = w["investor_1"]
    w["claim_1"] = IncomeClaim.objects.create(investor=inv1, offering=w["offering_a"], kind=IncomeClaim.Kind.CLAIM,
                                              status=IncomeClaim.Status.CONFIRMED, wallet=address,
                                              amount_base_units="1500000")
    w["offer_1"] = MarketOffer.objects.create(
        offering=w["offering_a"], seller=inv1, seller_wallet=address, status="open", units=5, units_remaining=5,
        price_per_unit_base_units=260_000_000, expires_at=timezone.now() + dt.timedelta(days=30),
        board_address="0x" + "b2" * 20, board_offer_id=1)
    w["transfer_1"] = MarketTransfer.objects.create(
        kind=MarketTransfer.Kind.TRANSFER, status=MarketTransfer.Status.CONFIRMED, offering=w["offering_a"],
        actor=inv1, from_wallet=address, to_wallet="0x" + "c3" * 20, units=1)
    w["order_1"] = Order.objects.create(
        investor=inv1, offering=w["offering_a"], units=2, unit_price=Decimal("250.00"), total=Decimal("500.00"),
        currency="USD", status=OrderStatus.FAILED, wallet=address, idempotency_key="matrix:order:1",
        reserved_until=timezone.now(), error="mint failed")
    w["card_1"] = MarketCardPurchase.objects.create(
        buyer=inv1, offer=w["offer_1"], offering=w["offering_a"], wallet=address, units=1,
        price_per_unit_base_units=260_000_000, stablecoin_address="0x" + "d4" * 20, paid_base_units="260000000",
        fee_base_units="0", credit_base_units="260000000", amount=Decimal("260.00"),
        reserved_until=timezone.now() + dt.timedelta(minutes=30))
    for key in ("investor_1", "investor_2"):
        notify(recipient=w[key], category="income", event_key=f"matrix:{key}", title="Income", body="Hello.",
               email=False)
    w["notice_1"] = Notification.objects.get(recipient=inv1, event_key="matrix:investor_1")
    w["notice_2"] = Notification.objects.get(recipient=w["investor_2"], event_key="matrix:investor_2")


def _client(user) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def rows(w):
    a, b = w["device_a"].pk, w["device_b"].pk
    ph, dc, ap = w["photo_a"].pk, w["doc_a"].pk, w["appraisal_a"].pk
    cred, flag = w["cred_a"].pk, w["flag_a"].pk
    c1, c2, kd1 = w["case_1"].pk, w["case_2"].pk, w["kyc_doc_1"].pk
    sb, dap = w["submitted_b"].pk, w["draft_appraisal_b"].pk
    r = []

    # -- devices, web: owner reaches it; the other clinic, investors, anonymous do not ----------
    device_gets = [f"/devices/{a}/", f"/devices/{a}/photos/{ph}/", f"/devices/{a}/documents/{dc}/",
                   f"/devices/{a}/appraisals/{ap}/", f"/devices/{a}/appraisals/{ap}/report.pdf",
                   f"/telemetry/devices/{a}/"]
    for url in device_gets:
        r.append(("admin_a", "get", url, OK))
        r.append(("admin_b", "get", url, DENIED))
        r.append(("investor_1", "get", url, DENIED))
        r.append(("anon", "get", url, ANON_WEB))
    r += [
        ("admin_b", "get", f"/devices/{a}/edit/", DENIED),
        ("admin_b", "post", f"/devices/{a}/submit/", DENIED),
        ("admin_b", "post", f"/devices/{a}/retire/", DENIED),
        ("admin_b", "post", f"/devices/{a}/request-changes/", DENIED),
        ("admin_b", "post", f"/devices/{a}/photos/add/", DENIED),
        ("admin_b", "post", f"/devices/{a}/documents/add/", DENIED),
        ("admin_b", "get", f"/devices/{a}/appraise/", DENIED),
        ("admin_b", "get", f"/devices/{a}/inspect/", DENIED),
        ("admin_b", "post", f"/devices/{a}/appraisals/{ap}/sign/", DENIED),
        # Own device id, other clinic's child id: the child must be looked up under the device.
        ("admin_b", "get", f"/devices/{b}/photos/{ph}/", DENIED),
        ("admin_b", "get", f"/devices/{b}/appraisals/{ap}/", DENIED),
        ("admin_b", "get", f"/devices/{b}/appraisals/{ap}/report.pdf", DENIED),
        ("admin_b", "get", f"/devices/{b}/documents/{dc}/", DENIED),
        ("admin_b", "get", f"/telemetry/devices/{a}/credentials/", DENIED),
        ("admin_b", "post", f"/telemetry/devices/{a}/credentials/", DENIED),
        ("admin_b", "post", f"/telemetry/credentials/{cred}/revoke/", DENIED),
        ("admin_b", "post", f"/telemetry/devices/{a}/periods/close/", DENIED),
        ("admin_b", "post", f"/accounts/team/{w['staff_membership_a'].pk}/remove/", DENIED),
        ("staff_a", "post", f"/accounts/team/{w['staff_membership_a'].pk}/remove/", DENIED),
        ("staff_a", "get", f"/telemetry/devices/{a}/credentials/", DENIED),
        ("staff_a", "post", f"/telemetry/credentials/{cred}/revoke/", DENIED),
        # role-only pages
        ("admin_a", "get", "/appraisals/queue/", DENIED),
        ("admin_a", "get", "/inspections/queue/", DENIED),
        ("investor_1", "get", "/appraisals/queue/", DENIED),
        ("appraiser", "get", f"/devices/{a}/inspect/", DENIED),
        ("inspector", "get", f"/devices/{a}/appraise/", DENIED),
        ("admin_a", "get", "/telemetry/tariffs/", DENIED),
        ("admin_a", "post", f"/telemetry/flags/{flag}/clear/", DENIED),
        ("admin_a", "post", "/telemetry/periods/1/settle/", DENIED),
        ("investor_1", "get", "/audit/", DENIED),
        ("admin_a", "get", "/audit/", DENIED),
        ("padmin", "get", "/audit/", OK),
        # another appraiser's draft
        ("appraiser_2", "get", f"/devices/{sb}/appraisals/{dap}/", OK),
        ("appraiser", "post", f"/devices/{sb}/appraisals/{dap}/sign/", DENIED | {302}),
        ("appraiser", "post", f"/api/v1/devices/{sb}/appraisals/{dap}/sign/", DENIED),
        ("admin_b", "post", f"/api/v1/devices/{sb}/appraisals/{dap}/sign/", DENIED),
        ("appraiser", "post", f"/api/v1/devices/{sb}/appraisals/{ap}/sign/", DENIED),
    ]

    # -- KYC, web: an investor sees only their own; officers only review --------------------
    r += [
        ("investor_1", "get", f"/kyc/documents/{kd1}/", OK),
        ("investor_2", "get", f"/kyc/documents/{kd1}/", DENIED),
        ("admin_a", "get", f"/kyc/documents/{kd1}/", DENIED),
        ("padmin", "get", f"/kyc/documents/{kd1}/", DENIED),
        ("anon", "get", f"/kyc/documents/{kd1}/", ANON_WEB),
        ("officer", "get", f"/kyc/documents/{kd1}/", OK),
        ("officer", "get", f"/compliance/cases/{c1}/", OK),
        ("investor_1", "get", f"/compliance/cases/{c1}/", DENIED),
        ("investor_2", "get", f"/compliance/cases/{c1}/", DENIED),
        ("investor_1", "get", f"/compliance/cases/{c1}/export.pdf", DENIED),
        ("investor_1", "post", f"/compliance/cases/{c1}/approve/", DENIED),
        ("admin_a", "post", f"/compliance/cases/{c1}/approve/", DENIED),
        ("investor_1", "post", "/compliance/hits/1/clear/", DENIED),
        ("investor_1", "get", "/compliance/queue/", DENIED),
        ("admin_a", "get", "/compliance/queue/", DENIED),
        ("admin_a", "get", "/investor/kyc/", DENIED),
        ("admin_a", "get", "/investor/wallets/", DENIED),
    ]
    r += [("investor_2", "get", f"/investor/wallets/verify/{w['challenge_1'].nonce}/", DENIED),
          ("investor_1", "get", f"/investor/wallets/verify/{w['challenge_1'].nonce}/", OK)]

    # -- API ----------------------------------------------------------------------------------
    api_device = [("get", f"/api/v1/devices/{a}/"), ("patch", f"/api/v1/devices/{a}/"),
                  ("post", f"/api/v1/devices/{a}/submit/"), ("post", f"/api/v1/devices/{a}/retire/"),
                  ("post", f"/api/v1/devices/{a}/request-changes/"), ("post", f"/api/v1/devices/{a}/photos/"),
                  ("post", f"/api/v1/devices/{a}/documents/"), ("get", f"/api/v1/devices/{a}/appraisals/"),
                  ("post", f"/api/v1/devices/{a}/appraisals/"), ("post", f"/api/v1/devices/{a}/appraisals/{ap}/sign/"),
                  ("post", f"/api/v1/devices/{a}/certification/"), ("get", f"/api/v1/devices/{a}/depreciation/"),
                  ("get", f"/api/v1/telemetry/devices/{a}/usage/"), ("get", f"/api/v1/telemetry/devices/{a}/periods/"),
                  ("post", f"/api/v1/telemetry/devices/{a}/credentials/"),
                  ("post", f"/api/v1/telemetry/devices/{a}/periods/close/"),
                  ("post", f"/api/v1/telemetry/credentials/{cred}/revoke/"),
                  ("post", f"/api/v1/telemetry/flags/{flag}/clear/"),
                  ("post", f"/api/v1/devices/{b}/appraisals/{ap}/sign/")]
    for method, url in api_device:
        r.append(("admin_b", method, url, DENIED))
        r.append(("investor_1", method, url, DENIED))
        r.append(("anon", method, url, ANON_API))
    r += [
        ("admin_a", "get", f"/api/v1/devices/{a}/", OK),
        ("admin_a", "get", f"/api/v1/devices/{a}/depreciation/", OK),
        ("admin_a", "get", f"/api/v1/telemetry/devices/{a}/usage/", OK),
        ("staff_a", "post", f"/api/v1/telemetry/devices/{a}/credentials/", DENIED),
        ("staff_a", "post", f"/api/v1/telemetry/credentials/{cred}/revoke/", DENIED),
        ("admin_a", "post", f"/api/v1/devices/{a}/certification/", DENIED),
        ("appraiser", "post", f"/api/v1/devices/{a}/certification/", DENIED),
        ("inspector", "post", f"/api/v1/devices/{a}/appraisals/", DENIED),
        ("admin_a", "post", f"/api/v1/devices/{a}/appraisals/", DENIED),
        ("admin_a", "get", "/api/v1/devices/appraisal-queue/", DENIED),
        ("admin_a", "get", "/api/v1/devices/inspection-queue/", DENIED),
        ("admin_a", "get", "/api/v1/telemetry/tariffs/", DENIED),
        ("admin_a", "post", "/api/v1/telemetry/tariffs/", DENIED),
        ("admin_a", "post", f"/api/v1/telemetry/flags/{flag}/clear/", DENIED),
        ("admin_a", "post", "/api/v1/telemetry/periods/1/settle/", DENIED),
        ("admin_a", "get", "/api/v1/audit-events/", DENIED),
        ("investor_1", "get", "/api/v1/audit-events/", DENIED),
        ("padmin", "get", "/api/v1/audit-events/", OK),
        # KYC
        ("investor_1", "get", "/api/v1/compliance/kyc/", OK),
        ("admin_a", "get", "/api/v1/compliance/kyc/", DENIED),
        ("investor_1", "post", f"/api/v1/compliance/cases/{c1}/approve/", DENIED),
        ("investor_2", "post", f"/api/v1/compliance/cases/{c1}/approve/", DENIED),
        ("investor_2", "post", f"/api/v1/compliance/cases/{c1}/reject/", DENIED),
        ("investor_2", "post", f"/api/v1/compliance/cases/{c1}/request-info/", DENIED),
        ("admin_a", "post", f"/api/v1/compliance/cases/{c2}/approve/", DENIED),
        ("padmin", "post", f"/api/v1/compliance/cases/{c2}/approve/", DENIED),
        ("investor_1", "get", "/api/v1/compliance/queue/", DENIED),
        ("admin_a", "get", "/api/v1/compliance/queue/", DENIED),
        ("admin_a", "post", "/api/v1/compliance/wallets/challenge/", DENIED),
        ("officer", "get", "/api/v1/compliance/queue/", OK),
        # tokens (role gates only: objects there are owned by the tokens app's own tests)
        ("investor_1", "post", "/api/v1/tokens/offerings/", DENIED),
        ("admin_a", "post", "/api/v1/tokens/offerings/", DENIED),
        ("anon", "get", "/api/v1/tokens/offerings/", ANON_API),
        ("anon", "get", "/api/v1/me/", ANON_API),
    ]
    r += token_rows(w) + kyc_team_telemetry_rows(w)
    return r


def token_rows(w):
    """Distributions, statements, income, market, orders, compliance parameters, notifications."""
    da, db, done = w["dist_a"].public_id, w["dist_b"].public_id, w["dist_done_a"].public_id
    oa = w["offering_a"].pk
    claim, offer, transfer, order = w["claim_1"].pk, w["offer_1"].pk, w["transfer_1"].pk, w["order_1"].public_id
    n1, n2 = w["notice_1"].pk, w["notice_2"].pk
    year = dt.date(2026, 2, 1).year
    r = []

    # -- clinic statements: the clinic's admins and platform admins; nobody else -----------
    dist_web = [("get", f"/distributions/{da}/"), ("get", f"/distributions/{da}/status/"),
                ("get", f"/distributions/{da}/statement.pdf"), ("post", f"/distributions/{da}/confirm/"),
                ("post", f"/distributions/{da}/dispute/"), ("post", f"/distributions/{da}/pay/")]
    dist_api = [("get", f"/api/v1/tokens/distributions/{da}/"),
                ("get", f"/api/v1/tokens/distributions/{da}/statement/"),
                ("post", f"/api/v1/tokens/distributions/{da}/confirm/"),
                ("post", f"/api/v1/tokens/distributions/{da}/dispute/"),
                ("post", f"/api/v1/tokens/distributions/{da}/checkout/")]
    for method, url in dist_web + dist_api:
        api = url.startswith("/api/")
        r.append(("admin_b", method, url, DENIED))
        r.append(("staff_a", method, url, DENIED))
        r.append(("investor_1", method, url, DENIED))
        r.append(("officer", method, url, DENIED))
        r.append(("anon", method, url, ANON_API if api else ANON_WEB))
    r += [
        ("admin_a", "get", f"/distributions/{da}/", OK),
        ("admin_a", "get", f"/distributions/{da}/statement.pdf", OK),
        ("admin_a", "get", f"/api/v1/tokens/distributions/{da}/", OK),
        ("admin_a", "get", f"/api/v1/tokens/distributions/{da}/statement/", OK),
        ("admin_b", "get", f"/api/v1/tokens/distributions/{db}/", OK),
        ("padmin", "get", f"/api/v1/tokens/distributions/{da}/statement/", OK),
        ("admin_a", "get", "/distributions/", OK),
        ("investor_1", "get", "/distributions/", DENIED),
        ("investor_1", "get", "/api/v1/tokens/distributions/", DENIED),
        ("anon", "get", "/api/v1/tokens/distributions/", ANON_API),
    ]
    # platform admin's desk: resolve, bank transfer, retry, batch claim
    for url in [f"/distributions/{da}/resolve/", f"/distributions/{da}/bank-transfer/",
                f"/distributions/{da}/retry/", "/distributions/batch-claim/",
                f"/api/v1/tokens/distributions/{da}/resolve/", f"/api/v1/tokens/distributions/{da}/bank-transfer/",
                f"/api/v1/tokens/distributions/{da}/retry/", f"/api/v1/tokens/offerings/{oa}/batch-claim/"]:
        api = url.startswith("/api/")
        r += [("admin_a", "post", url, DENIED), ("investor_1", "post", url, DENIED),
              ("officer", "post", url, DENIED), ("anon", "post", url, ANON_API if api else ANON_WEB)]

    # -- investors' income: own claims and statements only ---------------------------------
    income_own = [("get", f"/api/v1/tokens/income/claims/{claim}/"),
                  ("get", f"/income/statements/{done}.pdf"),
                  ("get", f"/api/v1/tokens/income/statements/{done}/")]
    for method, url in income_own:
        r.append(("investor_1", method, url, OK))
        r.append(("investor_2", method, url, DENIED))
        r.append(("admin_a", method, url, DENIED))
        r.append(("anon", method, url, ANON_API if url.startswith("/api/") else ANON_WEB))
    r += [
        # A statement exists only for a distributed month: an open one is no statement at all.
        ("investor_1", "get", f"/api/v1/tokens/income/statements/{da}/", DENIED),
        ("padmin", "get", f"/api/v1/tokens/income/claims/{claim}/", OK),
        # The yearly summary is always the caller's own: no id to swap, only roles to check.
        ("investor_2", "get", f"/income/summary/{year}.pdf", OK),
        ("investor_2", "get", f"/api/v1/tokens/income/summary/{year}/", OK),
        ("admin_a", "get", f"/income/summary/{year}.pdf", DENIED),
        ("admin_a", "get", f"/income/summary/{year}.csv", DENIED),
        ("admin_a", "get", f"/api/v1/tokens/income/summary/{year}/", DENIED),
        ("anon", "get", f"/income/summary/{year}.csv", ANON_WEB),
        ("anon", "get", f"/api/v1/tokens/income/summary/{year}/", ANON_API),
        ("admin_a", "get", "/income/", DENIED),
        ("admin_a", "get", "/api/v1/tokens/income/", DENIED),
        ("admin_a", "post", "/api/v1/tokens/income/claims/", DENIED),
        ("admin_a", "post", "/api/v1/tokens/income/withdrawals/", DENIED),
        ("anon", "get", "/income/", ANON_WEB),
        ("anon", "post", "/api/v1/tokens/income/claims/", ANON_API),
    ]

    # -- market: another investor's offer and transfer are not there ------------------------
    offer_own = [("get", f"/api/v1/tokens/market/offers/{offer}/"),
                 ("post", f"/api/v1/tokens/market/offers/{offer}/cancel/"),
                 ("post", f"/api/v1/tokens/market/offers/{offer}/cancel/prepare/"),
                 ("post", f"/api/v1/tokens/market/offers/{offer}/cancel/track/"),
                 ("post", f"/market/offers/{offer}/cancel/"),
                 ("get", f"/api/v1/tokens/market/transfers/{transfer}/")]
    for method, url in offer_own:
        r.append(("investor_2", method, url, DENIED))
        r.append(("admin_a", method, url, DENIED))
        r.append(("padmin", method, url, DENIED) if "offers" in url else ("padmin", method, url, OK))
        r.append(("anon", method, url, ANON_API if url.startswith("/api/") else ANON_WEB))
    card = w["card_1"].public_id
    for url in (f"/api/v1/tokens/market/card-purchases/{card}/", f"/market/card/{card}/"):
        api = url.startswith("/api/")
        r += [("investor_1", "get", url, OK), ("investor_2", "get", url, DENIED), ("admin_a", "get", url, DENIED),
              ("anon", "get", url, ANON_API if api else ANON_WEB)]
    for url in (f"/api/v1/tokens/market/card-purchases/{card}/dispute/resolve/", f"/market/card/{card}/dispute/"):
        api = url.startswith("/api/")  # compliance officers decide chargebacks: not the buyer, not an admin
        r += [("investor_1", "post", url, DENIED), ("padmin", "post", url, DENIED), ("admin_a", "post", url, DENIED),
              ("anon", "post", url, ANON_API if api else ANON_WEB)]
    r.append(("officer", "get", f"/market/card/{card}/", OK))
    for url in (f"/api/v1/tokens/market/card-purchases/{card}/cancel/", f"/market/card/{card}/cancel/"):
        api = url.startswith("/api/")  # only the buyer cancels: another investor or an admin is refused
        r += [("investor_2", "post", url, DENIED), ("admin_a", "post", url, DENIED), ("padmin", "post", url, DENIED),
              ("anon", "post", url, ANON_API if api else ANON_WEB)]
    r += [
        ("investor_1", "get", f"/api/v1/tokens/market/offers/{offer}/", OK),
        ("investor_1", "get", f"/api/v1/tokens/market/transfers/{transfer}/", OK),
        ("officer", "get", f"/api/v1/tokens/market/offers/{offer}/", OK),
        ("admin_a", "get", "/market/", DENIED),
        ("admin_a", "get", "/api/v1/tokens/market/", DENIED),
        ("admin_a", "post", f"/api/v1/tokens/market/offers/{offer}/take/", DENIED),
        ("anon", "get", "/market/", ANON_WEB),
        ("anon", "get", "/api/v1/tokens/market/", ANON_API),
        ("anon", "post", f"/api/v1/tokens/market/offers/{offer}/take/", ANON_API),
    ]

    # -- orders: the investor's own; administration for platform admins --------------------
    for method, url in [("get", f"/investments/orders/{order}/"), ("get", f"/api/v1/tokens/orders/{order}/"),
                        ("post", f"/api/v1/tokens/orders/{order}/cancel/"),
                        ("get", f"/investments/orders/{order}/receipt.pdf")]:
        r.append(("investor_2", method, url, DENIED))
        r.append(("anon", method, url, ANON_API if url.startswith("/api/") else ANON_WEB))
    r += [("investor_1", "get", f"/api/v1/tokens/orders/{order}/", OK),
          ("investor_2", "get", f"/investments/orders/{order}/status/", DENIED),
          ("investor_2", "post", f"/investments/orders/{order}/cancel/", DENIED)]
    order_admin = [("get", "/orders/"), ("get", "/orders/reconciliation/"), ("post", f"/orders/{order}/refund/"),
                   ("get", "/api/v1/tokens/admin/orders/"), ("get", "/api/v1/tokens/admin/reconciliation/"),
                   ("post", f"/api/v1/tokens/admin/orders/{order}/refund/")]
    for method, url in order_admin:
        api = url.startswith("/api/")
        r += [("investor_1", method, url, DENIED), ("admin_a", method, url, DENIED),
              ("officer", method, url, DENIED), ("anon", method, url, ANON_API if api else ANON_WEB)]
    r += [("padmin", "get", "/orders/", OK), ("padmin", "get", "/api/v1/tokens/admin/orders/", OK),
          ("investor_1", "post", f"/orders/{order}/dispute/", DENIED),
          ("padmin", "post", f"/api/v1/tokens/orders/{order}/dispute/resolve/", DENIED),
          ("investor_1", "post", f"/api/v1/tokens/orders/{order}/dispute/resolve/", DENIED)]

    # -- compliance parameters: compliance officers only ------------------------------------
    for method, url in [("get", f"/token-actions/{oa}/compliance/"), ("post", f"/token-actions/{oa}/compliance/"),
                        ("get", f"/api/v1/tokens/offerings/{oa}/compliance/"),
                        ("post", f"/api/v1/tokens/offerings/{oa}/compliance/")]:
        api = url.startswith("/api/")
        r += [("padmin", method, url, DENIED), ("admin_a", method, url, DENIED),
              ("investor_1", method, url, DENIED), ("anon", method, url, ANON_API if api else ANON_WEB)]
    r.append(("officer", "get", f"/token-actions/{oa}/compliance/", OK))

    # -- notifications: each user's own ------------------------------------------------------
    r += [
        ("investor_2", "post", f"/api/v1/notifications/{n1}/read/", DENIED),
        ("investor_2", "post", f"/notifications/{n1}/read/", DENIED),
        ("padmin", "post", f"/api/v1/notifications/{n1}/read/", DENIED),
        ("investor_1", "post", f"/api/v1/notifications/{n2}/read/", DENIED),
        ("investor_1", "post", f"/api/v1/notifications/{n1}/read/", OK),
        ("anon", "post", f"/api/v1/notifications/{n1}/read/", ANON_API),
        ("anon", "post", f"/notifications/{n1}/read/", ANON_WEB),
        ("anon", "get", "/notifications/", ANON_WEB),
        ("anon", "get", "/api/v1/notifications/", ANON_API),
        ("anon", "get", "/api/v1/notifications/unread-count/", ANON_API),
        ("anon", "put", "/api/v1/notifications/preferences/", ANON_API),
        ("anon", "post", "/api/v1/notifications/read-all/", ANON_API),
    ]

    # -- public proof of a distribution: no login, and only once its report is frozen --------
    r += [
        ("anon", "get", f"/verify/distributions/{done}/", OK),
        ("anon", "get", f"/verify/distributions/{done}/report.json", OK),
        ("anon", "get", f"/api/v1/public/distributions/{done}/", OK),
        ("anon", "get", f"/verify/distributions/{da}/report.json", {404}),
    ]
    return r


def kyc_team_telemetry_rows(w):
    """KYC API twins, the clinic team API, and telemetry's payer mix, compute tariffs, adjustments."""
    a = w["device_a"].pk
    c1, kd1 = w["case_1"].pk, w["kyc_doc_1"].pk
    m = w["staff_membership_a"].pk
    org_a = w["device_a"].organization_id
    period = RevenuePeriod.objects.filter(device=w["device_a"]).order_by("pk").first().pk
    r = [
        ("investor_2", "get", f"/api/v1/compliance/documents/{kd1}/", DENIED),
        ("admin_a", "get", f"/api/v1/compliance/documents/{kd1}/", DENIED),
        ("padmin", "get", f"/api/v1/compliance/documents/{kd1}/", DENIED),
        ("anon", "get", f"/api/v1/compliance/documents/{kd1}/", ANON_API),
        ("investor_1", "get", f"/api/v1/compliance/documents/{kd1}/", OK),
        ("officer", "get", f"/api/v1/compliance/documents/{kd1}/", OK),
        ("officer", "get", f"/api/v1/compliance/cases/{c1}/", OK),
        ("anon", "get", "/api/v1/compliance/case/", ANON_API),
        ("anon", "get", "/api/v1/compliance/profile/", ANON_API),
    ]
    for verb in ("", "export/", "start-review/", "revoke/", "resync/"):
        method = "get" if verb in ("", "export/") else "post"
        url = f"/api/v1/compliance/cases/{c1}/{verb}"
        r += [("investor_1", method, url, DENIED), ("investor_2", method, url, DENIED),
              ("admin_a", method, url, DENIED), ("anon", method, url, ANON_API)]
    r += [
        ("admin_b", "post", f"/api/v1/accounts/team/{m}/remove/", DENIED),
        ("staff_a", "post", f"/api/v1/accounts/team/{m}/remove/", DENIED),
        ("anon", "post", f"/api/v1/accounts/team/{m}/remove/", ANON_API),
        ("admin_b", "get", f"/api/v1/accounts/team/?clinic={org_a}", DENIED),
        ("admin_a", "get", f"/api/v1/accounts/team/?clinic={org_a}", OK),
        ("staff_a", "get", "/api/v1/accounts/team/", DENIED),
        ("investor_1", "get", "/api/v1/accounts/team/", DENIED),
        ("anon", "get", "/api/v1/accounts/team/", ANON_API),
    ]
    for method, url in [("get", f"/telemetry/devices/{a}/payer-mix/"), ("post", f"/telemetry/devices/{a}/payer-mix/"),
                        ("get", f"/api/v1/telemetry/devices/{a}/payer-mix/"),
                        ("put", f"/api/v1/telemetry/devices/{a}/payer-mix/")]:
        api = url.startswith("/api/")
        r += [("admin_b", method, url, DENIED), ("investor_1", method, url, DENIED),
              ("anon", method, url, ANON_API if api else ANON_WEB)]
    r += [("admin_a", "get", f"/api/v1/telemetry/devices/{a}/payer-mix/", OK),
          # Setting the mix is the platform admin's, even on the clinic's own device.
          ("admin_a", "put", f"/api/v1/telemetry/devices/{a}/payer-mix/", DENIED)]
    for method, url in [("get", "/telemetry/compute-tariffs/"), ("post", "/telemetry/compute-tariffs/"),
                        ("get", "/api/v1/telemetry/compute-tariffs/"), ("post", "/api/v1/telemetry/compute-tariffs/"),
                        ("post", f"/telemetry/periods/{period}/adjust/"),
                        ("post", f"/api/v1/telemetry/periods/{period}/adjust/")]:
        api = url.startswith("/api/")
        r += [("admin_a", method, url, DENIED), ("admin_b", method, url, DENIED),
              ("investor_1", method, url, DENIED), ("anon", method, url, ANON_API if api else ANON_WEB)]
    r.append(("padmin", "get", "/api/v1/telemetry/compute-tariffs/", OK))
    return r


def _call(client, method, url):
    if method == "get":
        return client.get(url)
    # Empty JSON bodies: a permission check must come before input validation.
    return getattr(client, method)(url, data="{}", content_type="application/json") if url.startswith("/api/") \
        else getattr(client, method)(url, data={})


def _error_shape_ok(response) -> bool:
    try:
        err = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return set(err) == {"code", "message", "details"} and isinstance(err["code"], str)


def test_nobody_reaches_what_is_not_theirs(world):
    add_token_objects(world)
    table = rows(world)
    clients = {}
    problems = []
    for actor, method, url, expected in table:
        try:
            resolve(url.split("?")[0])
        except Resolver404:
            problems.append(f"{url}: no such URL (matrix out of date)")
            continue
        client = clients.setdefault(actor, _client(world[actor]))
        resp = _call(client, method, url)
        if resp.status_code not in expected:
            problems.append(f"{actor:<10} {method.upper():<5} {url} -> {resp.status_code}, expected {sorted(expected)}")
        elif url.startswith("/api/") and resp.status_code >= 400 and not _error_shape_ok(resp):
            problems.append(f"{actor:<10} {method.upper():<5} {url} -> {resp.status_code} without the error shape")
        if actor == "anon" and resp.status_code == 302:
            assert "/accounts/login/" in resp["Location"], url
    assert len(table) >= 150
    assert not problems, f"{len(problems)} of {len(table)} rows wrong:\n" + "\n".join(problems)
    # The web sign view answers a refused signature with a redirect and a message: still unsigned.
    world["draft_appraisal_b"].refresh_from_db()
    assert world["draft_appraisal_b"].status == AppraisalStatus.DRAFT


def test_lists_show_only_what_is_yours(world):
    a_id, flag_id = world["device_a"].pk, world["flag_a"].pk
    b = _client(world["admin_b"])
    assert a_id not in [d["id"] for d in b.get("/api/v1/devices/").json()["results"]]
    assert flag_id not in [f["id"] for f in b.get("/api/v1/telemetry/flags/").json()["results"]]
    assert a_id in [d["id"] for d in _client(world["admin_a"]).get("/api/v1/devices/").json()["results"]]
    assert flag_id in [f["id"] for f in _client(world["admin_a"]).get("/api/v1/telemetry/flags/").json()["results"]]
    page = b.get("/devices/").content.decode()
    assert world["device_a"].serial_number not in page and world["device_b"].serial_number in page
    queue = _client(world["officer"]).get("/api/v1/compliance/queue/").json()
    assert {world["case_1"].pk, world["case_2"].pk} <= {c["id"] for c in queue}


# Pages anyone may open (sign-in and sign-up, public proofs, schema docs, health, signed webhooks
# and the HMAC telemetry ingest, which refuse by their own signatures).
PUBLIC = re.compile(r"^/($|accounts/(login|logout|password-reset|reset|signup)|api/(docs|redoc|schema)/"
                    r"|api/v1/auth/|api/v1/public/|api/v1/devices/verify/|verify/|healthz|i18n/|jsi18n/"
                    r"|payments/webhooks/|payments/simulator/|api/v1/telemetry/batches)")


def _routes(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def test_anonymous_reaches_only_the_public_pages(world):
    """Every route in the URLconf, now and as routes are added, asked anonymously with ids that
    exist: a login redirect (web) or 401/403 (API), except the public pages."""
    add_token_objects(world)
    ids = {"public_id": str(world["dist_done_a"].public_id), "order_id": str(world["order_1"].public_id),
           "offer_id": str(world["offer_1"].pk), "device_id": str(world["device_a"].pk)}
    by_type = {"int": "1", "uuid": str(world["order_1"].public_id)}

    def fill(m):
        return ids.get(m.group(2)) or by_type.get(m.group(1), "x")

    client = Client()
    problems, checked = [], 0
    for route in _routes(get_resolver().url_patterns):
        if route.startswith(("admin/", "^")):
            continue
        url = "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)
        if PUBLIC.match(url):
            continue
        for method in ("get", "post"):
            checked += 1
            resp = _call(client, method, url)
            if url.startswith("/api/"):
                if resp.status_code not in ANON_API | {405}:
                    problems.append(f"{method.upper()} {url} -> {resp.status_code}")
            elif resp.status_code not in {302, 405} or (
                    resp.status_code == 302 and "/accounts/login/" not in resp["Location"]):
                problems.append(f"{method.upper()} {url} -> {resp.status_code} {resp.get('Location', '')}")
    assert checked > 300
    assert not problems, f"{len(problems)} of {checked} anonymous calls not refused:\n" + "\n".join(problems)


def test_nobody_acts_with_another_investors_wallet(world):
    """Every income and market call that names a wallet, made by an approved (eligible) investor
    with investor 1's: refused as not their wallet, with the error shape, and nothing recorded."""
    add_token_objects(world)
    # Investor 2 approved (no chain here to record it on: the approval is written in), with a wallet.
    KycCase.objects.filter(pk=world["case_2"].pk).update(
        status=KycCase.Status.APPROVED, approved_at=timezone.now(), expires_at=timezone.now() + dt.timedelta(days=90))
    Wallet.objects.create(profile=world["case_2"].profile, address="0x" + "a2" * 20, kind=Wallet.Kind.CUSTODIAL,
                          registered_on_chain=True)
    other = world["investor_2"]
    wallet, oa = world["claim_1"].wallet, world["offering_a"].pk
    offer = world["offer_1"].pk
    tx = "0x" + "e" * 64
    holding = {"offering_id": oa, "wallet": wallet}
    listing = {**holding, "units": 1, "price_per_unit": "2.5",
               "expires_at": (timezone.now() + dt.timedelta(days=2)).isoformat()}
    sending = {**holding, "to": other.email, "units": 1}
    calls = [("/api/v1/tokens/income/claims/", holding), ("/api/v1/tokens/income/claims/prepare/", holding),
             ("/api/v1/tokens/income/claims/track/", {**holding, "tx_hash": tx}),
             ("/api/v1/tokens/market/transfers/", sending), ("/api/v1/tokens/market/transfers/check/", sending),
             ("/api/v1/tokens/market/transfers/prepare/", sending),
             ("/api/v1/tokens/market/transfers/track/", {**sending, "tx_hash": tx}),
             ("/api/v1/tokens/market/offers/", listing), ("/api/v1/tokens/market/offers/check/", listing),
             ("/api/v1/tokens/market/offers/prepare/", listing),
             ("/api/v1/tokens/market/offers/track/", {**listing, "tx_hash": tx})]
    calls += [(f"/api/v1/tokens/market/offers/{offer}/take/{step}", {"wallet": wallet, "units": 1, "tx_hash": tx})
              for step in ("", "check/", "prepare/", "track/")]
    c = _client(other)
    before = (IncomeClaim.objects.count(), MarketOffer.objects.count(), MarketTransfer.objects.count())
    problems = []
    for url, body in calls:
        resp = c.post(url, data=json.dumps(body), content_type="application/json")
        # income: the wallet is not found among theirs (404); market: "not one of your wallets" (400).
        refused = (resp.status_code, _error_shape_ok(resp) and resp.json()["error"]["code"])
        if refused not in {(404, "not_found"), (400, "unknown_wallet")}:
            problems.append(f"POST {url} -> {resp.status_code} {resp.content[:200]!r}")
    assert not problems, "\n".join(problems)
    assert (IncomeClaim.objects.count(), MarketOffer.objects.count(), MarketTransfer.objects.count()) == before


def test_todays_lists_show_only_what_is_yours(world):
    add_token_objects(world)
    b = _client(world["admin_b"])
    ids = {d["id"] for d in b.get("/api/v1/tokens/distributions/").json()["results"]}
    assert str(world["dist_b"].public_id) in ids and str(world["dist_a"].public_id) not in ids
    assert world["offering_a"].token_symbol not in b.get("/distributions/").content.decode()
    i2 = _client(world["investor_2"])
    notices = [n["id"] for n in i2.get("/api/v1/notifications/").json()["results"]]
    assert world["notice_2"].pk in notices and world["notice_1"].pk not in notices
    market = i2.get("/api/v1/tokens/market/").json()
    assert market["my_offers"] == [] and market["my_transfers"] == []
    mine = _client(world["investor_1"]).get("/api/v1/tokens/market/").json()
    assert [o["id"] for o in mine["my_offers"]] == [world["offer_1"].pk]
    # Board rows are anonymised: another investor sees the offer, never who or which wallet.
    assert world["offer_1"].seller_wallet.lower() not in json.dumps(market).lower()


@pytest.mark.parametrize(("name", "ctype", "data"), BAD_UPLOADS, ids=[u[0] for u in BAD_UPLOADS])
def test_hostile_photos_are_refused_web_and_api(world, name, ctype, data):
    draft = world["draft_a"]
    before = DevicePhoto.objects.filter(device=draft).count()
    c = _client(world["admin_a"])
    r = c.post(f"/api/v1/devices/{draft.pk}/photos/", {"image": SimpleUploadedFile(name, data, content_type=ctype)})
    assert r.status_code == 400, r.content[:300]
    assert _error_shape_ok(r)
    r = c.post(f"/devices/{draft.pk}/photos/add/", {"image": SimpleUploadedFile(name, data, content_type=ctype)})
    assert r.status_code == 400
    assert DevicePhoto.objects.filter(device=draft).count() == before
    # A real photo still goes through (the endpoint is not simply closed).
    ok = c.post(f"/api/v1/devices/{draft.pk}/photos/",
                {"image": SimpleUploadedFile("ok.jpg", jpeg_bytes(), content_type="image/jpeg")})
    assert ok.status_code == 201


@pytest.mark.parametrize(("name", "ctype", "data"), BAD_DOCUMENTS + BAD_UPLOADS,
                         ids=[f"doc-{i}" for i in range(len(BAD_DOCUMENTS + BAD_UPLOADS))])
def test_hostile_documents_are_refused_web_and_api(world, name, ctype, data):
    draft = world["draft_a"]
    before = draft.documents.count()
    c = _client(world["admin_a"])
    r = c.post(f"/api/v1/devices/{draft.pk}/documents/",
               {"kind": "invoice", "file": SimpleUploadedFile(name, data, content_type=ctype)})
    assert r.status_code == 400, r.content[:300]
    assert _error_shape_ok(r)
    r = c.post(f"/devices/{draft.pk}/documents/add/",
               {"kind": "invoice", "file": SimpleUploadedFile(name, data, content_type=ctype)})
    assert r.status_code == 400
    assert draft.documents.count() == before


@pytest.mark.parametrize(("name", "ctype", "data"), [
    ("passport.jpg", "image/jpeg", PHP), ("passport.svg", "image/svg+xml", SVG),
    ("passport.pdf", "application/pdf", _zip_bomb_like()),
], ids=["php-as-jpg", "svg", "zip"])
def test_hostile_kyc_documents_are_refused(name, ctype, data):
    case = make_case(status=KycCase.Status.DRAFT)
    user = case.profile.user
    before = KycDocument.objects.filter(case=case).count()
    r = _client(user).post("/investor/kyc/", {"kind": "identity",
                                              "file": SimpleUploadedFile(name, data, content_type=ctype)})
    assert r.status_code in {200, 400}
    assert KycDocument.objects.filter(case=case).count() == before
    assert "PDF, PNG or JPEG" in r.content.decode()


def test_kyc_png_is_served_as_png_with_no_sniffing(world):
    # A PNG whose header claims a bomb-sized canvas is stored without decoding; it is served
    # back only to its owner and officers, typed and not sniffable into HTML.
    case = make_case(status=KycCase.Status.DRAFT)
    user = case.profile.user
    r = _client(user).post("/investor/kyc/", {"kind": "identity", "file": SimpleUploadedFile(
        "scan.png", png_header_only(60_000, 60_000), content_type="image/png")})
    assert r.status_code in {200, 302}
    doc = KycDocument.objects.filter(case=case, original_name="scan.png").first()
    if doc is None:
        return  # refused outright is also fine
    served = _client(user).get(f"/kyc/documents/{doc.pk}/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served.get("X-Content-Type-Options") == "nosniff"
    assert _client(world["investor_2"]).get(f"/kyc/documents/{doc.pk}/").status_code == 404
