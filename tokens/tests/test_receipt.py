"""The order receipt reads in the reader's own time zone (issue 18): a download is rendered for
whoever reads it, while the copy issued at the mint (whose SHA-256 the order records) stays as
it was."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from pypdf import PdfReader

from accounts.tests.factories import PASSWORD, make_user
from chain.models import ChainTransaction
from core.pdf import sha256_hex
from core.roles import Role
from tokens.models import Order, OrderStatus
from tokens.primary import services as orders
from tokens.tests.factories import make_live_offering

pytestmark = pytest.mark.django_db
MINTED_AT = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)


def _text(data: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def completed_order(monkeypatch):
    investor = make_user(Role.INVESTOR)
    row = ChainTransaction.objects.create(idempotency_key="receipt-test:mint", kind="tokens.mint",
                                          contract_name="SecurityToken", function="mint", args=[],
                                          status=ChainTransaction.Status.CONFIRMED, tx_hash="0x" + "cd" * 32,
                                          block_number=77)
    order = Order.objects.create(
        investor=investor, offering=make_live_offering(), units=4, unit_price=Decimal("250.00"),
        total=Decimal("1000.00"), currency="USD", wallet="0x" + "ab" * 20, reserved_until=timezone.now(),
        idempotency_key="receipt-test", status=OrderStatus.MINTING, mint_tx=row)
    monkeypatch.setattr(timezone, "now", lambda: MINTED_AT)
    order = orders.order_mint_final(order=order, row=row)
    monkeypatch.undo()
    assert order.status == OrderStatus.COMPLETED and order.receipt_pdf
    return order


def test_the_receipt_is_dated_in_the_time_zone_the_reader_uses_now(client, completed_order):
    investor = completed_order.investor
    issued = completed_order.receipt_pdf.read()
    assert "2026-03-01 23:30 UTC" in _text(issued)  # issued while the investor's zone was UTC

    investor.time_zone = "Asia/Shanghai"
    investor.save(update_fields=["time_zone"])
    client.login(email=investor.email, password=PASSWORD)
    url = f"/investments/orders/{completed_order.public_id}/receipt.pdf"
    r = client.get(url)
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    text = _text(r.content)
    assert "2026-03-02 07:30 CST" in text and "UTC" not in text.split("Date", 1)[1][:30]
    assert "0x" + "cd" * 32 in "".join(text.split()) and "1,000.00 USD" in text  # the figures as issued

    # The copy issued at the mint, byte for byte: its SHA-256 is the one the order page shows.
    r = client.get(url + "?issued=1")
    body = b"".join(r.streaming_content)
    assert sha256_hex(body) == completed_order.receipt_sha256
    page = client.get(f"/investments/orders/{completed_order.public_id}/").content.decode()
    assert completed_order.receipt_sha256 in page and f"{url}?issued=1" in page


def test_the_api_receipt_is_rendered_for_the_caller_too(api_as, completed_order):
    investor = completed_order.investor
    investor.time_zone = "America/New_York"
    investor.save(update_fields=["time_zone"])
    api = api_as(investor)
    r = api.get(f"/api/v1/tokens/orders/{completed_order.public_id}/receipt/")
    assert r.status_code == 200 and "2026-03-01 18:30 EST" in _text(r.content)
    r = api.get(f"/api/v1/tokens/orders/{completed_order.public_id}/receipt/?issued=1")
    assert sha256_hex(b"".join(r.streaming_content)) == completed_order.receipt_sha256
