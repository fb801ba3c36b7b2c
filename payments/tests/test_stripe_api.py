"""The Stripe boundary with a real key: what goes over the wire (through stripe-python's
own request code, with a fake HTTP client as its documentation suggests)."""

import json
import urllib.parse

import pytest
import stripe

from payments import stripe_api


class FakeHTTPClient(stripe.HTTPClient):
    name = "fake"

    def __init__(self):
        super().__init__()
        self.calls = []

    def request(self, method, url, headers, post_data=None):
        self.calls.append((method, url, headers, post_data))
        body = {"id": "cs_test_123", "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/cs_test_123"}
        return json.dumps(body), 200, {"request-id": "req_1"}


@pytest.fixture
def fake_stripe(settings, monkeypatch):
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.PAYMENTS_SIMULATOR = False
    fake = FakeHTTPClient()
    monkeypatch.setattr(stripe, "default_http_client", fake)
    return fake


def test_checkout_session_is_created_in_minor_units_with_the_idempotency_key(fake_stripe):
    session = stripe_api.create_checkout_session(
        client_reference_id="order-1", idempotency_key="order:1:checkout", line_item_name="5 × VIDA",
        amount_minor=125000, currency="USD", success_url="https://x.test/ok", cancel_url="https://x.test/no",
        metadata={"order": "order-1", "units": 5})
    assert session == {"id": "cs_test_123", "url": "https://checkout.stripe.com/c/pay/cs_test_123"}
    ((method, url, headers, post_data),) = fake_stripe.calls
    assert method == "post" and url.endswith("/v1/checkout/sessions")
    assert headers["Idempotency-Key"] == "order:1:checkout"
    assert headers["Authorization"] == "Bearer sk_test_fake"
    form = dict(urllib.parse.parse_qsl(post_data.decode() if isinstance(post_data, bytes) else post_data))
    assert form["mode"] == "payment" and form["client_reference_id"] == "order-1"
    assert form["line_items[0][price_data][unit_amount]"] == "125000"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["metadata[units]"] == "5"


def test_rejects_non_integer_amounts(fake_stripe):
    with pytest.raises(ValueError):
        stripe_api.create_checkout_session(client_reference_id="o", idempotency_key="k", line_item_name="x",
                                           amount_minor=12.5, currency="USD", success_url="u", cancel_url="u")
    assert fake_stripe.calls == []
