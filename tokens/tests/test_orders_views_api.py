"""Investor pages and API for buying: what an investor sees, and who may see an order."""

import pytest
from django.urls import reverse

from compliance.models import KycCase
from core.money import to_minor_units
from tests.fixtures.payments import ready_investor as make_investor
from tokens import ledger
from tokens.models import Order, OrderStatus
from tokens.primary import services as orders
from tokens.tests.factories import make_live_offering

pytestmark = pytest.mark.django_db


@pytest.fixture
def offering(db):
    return make_live_offering()


def test_offerings_page_lists_live_offerings_for_investors(client, approved_investor, offering):
    draft = make_live_offering(token_symbol="DRAFT")
    draft.status = "draft"
    draft.save()
    client.force_login(approved_investor)
    page = client.get(reverse("tokens:invest-offerings")).content.decode()
    assert "Vida MRI Token (VIDA)" in page and "DRAFT" not in page
    assert "250.00 USD" in page and "400 of 400" in page and "30.00%" in page
    assert f"/verify/{offering.device.public_ref}/" in page
    assert 'href="/investments/"' in page  # nav for investors


def test_buy_page_shows_field_errors_and_eligibility_problems(client, approved_investor, offering):
    client.force_login(approved_investor)
    url = reverse("tokens:invest-buy", args=[offering.pk])
    resp = client.post(url, {"units": "0"})
    assert resp.status_code == 200 and "Ensure this value is greater than or equal to 1." in resp.content.decode()
    resp = client.post(url, {"units": "301"})
    assert "you can buy 300 more" in resp.content.decode()
    KycCase.objects.filter(profile__user=approved_investor).update(status=KycCase.Status.EXPIRED)
    page = client.get(url).content.decode()
    assert "renew your KYC" in page and "Reserve and pay" not in page


def test_buying_redirects_to_the_checkout(client, approved_investor, offering):
    client.force_login(approved_investor)
    resp = client.post(reverse("tokens:invest-buy", args=[offering.pk]), {"units": "5"})
    order = approved_investor.token_orders.get()
    assert resp.status_code == 302 and resp["Location"] == order.checkout_url
    assert order.checkout_url.startswith("/payments/simulator/cs_sim_")


def test_order_pages_are_private(client, approved_investor, offering):
    order = orders.order_create(actor=approved_investor, offering=offering, units=5)
    other = make_investor(status="none")
    client.force_login(other)
    assert client.get(reverse("tokens:order-detail", args=[order.public_id])).status_code == 404
    assert client.get(reverse("tokens:order-receipt", args=[order.public_id])).status_code == 404
    client.force_login(approved_investor)
    page = client.get(reverse("tokens:order-detail", args=[order.public_id])).content.decode()
    assert "Reserved, awaiting payment" in page and "1,250.00 USD" in page
    assert client.get(reverse("tokens:order-receipt", args=[order.public_id])).status_code == 404  # not yet
    mine = client.get(reverse("tokens:my-investments")).content.decode()
    assert "VIDA" in mine and "No tokens yet." in mine


def test_admin_sees_refunds_and_failed_orders(client, approved_investor, offering, platform_admin, stripe_event,
                                             post_webhook):
    order = orders.order_create(actor=approved_investor, offering=offering, units=5)
    post_webhook(stripe_event(session_id=order.checkout_session_id, client_reference_id=str(order.public_id),
                              amount_minor=1))
    client.force_login(platform_admin)
    page = client.get(reverse("tokens:order-admin") + "?status=refunding").content.decode()
    assert "does not match the order total" in page and "being refunded" in page
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.FAILED)
    page = client.get(reverse("tokens:order-admin") + "?status=failed").content.decode()
    assert "1 failed order needs attention" in page
    assert client.get(reverse("tokens:order-detail", args=[order.public_id])).status_code == 200


# ------------------------------------------------------------------------------------ API


def test_api_offerings_and_order_lifecycle(api_as, approved_investor, offering, stripe_event, post_webhook):
    api = api_as(approved_investor)
    (item,) = api.get("/api/v1/tokens/invest/offerings/").json()["results"]
    assert item["units_available"] == 400 and item["price_per_unit"] == "250.00"
    assert item["verify_url"] == f"/verify/{offering.device.public_ref}/"
    resp = api.post("/api/v1/tokens/orders/", {"offering_id": offering.pk, "units": 5}, HTTP_IDEMPOTENCY_KEY="k1")
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["status"] == "reserved" and body["total"] == "1250.00"
    assert body["checkout_url"].startswith("http://testserver/payments/simulator/")
    again = api.post("/api/v1/tokens/orders/", {"offering_id": offering.pk, "units": 5}, HTTP_IDEMPOTENCY_KEY="k1")
    assert again.json()["id"] == body["id"]
    post_webhook(stripe_event(session_id=body["checkout_session_id"], client_reference_id=body["id"],
                              amount_minor=to_minor_units(1250, "USD")))
    detail = api.get(f"/api/v1/tokens/orders/{body['id']}/").json()
    assert detail["status"] == OrderStatus.MINTING and detail["receipt_url"] is None
    assert api.get(f"/api/v1/tokens/orders/{body['id']}/receipt/").status_code == 404
    assert [o["id"] for o in api.get("/api/v1/tokens/orders/").json()["results"]] == [body["id"]]
    outsider = api_as(make_investor(status="none"))
    assert outsider.get(f"/api/v1/tokens/orders/{body['id']}/").json()["error"]["code"] == "not_found"


def test_api_errors_use_the_error_shape(api_as, offering, identity_registry_row, clinic_admin):
    resp = api_as(make_investor(status="submitted")).post("/api/v1/tokens/orders/",
                                                          {"offering_id": offering.pk, "units": 1})
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "not_eligible" and "under review" in resp.json()["error"]["message"]
    assert api_as(clinic_admin).post("/api/v1/tokens/orders/", {"offering_id": offering.pk, "units": 1}
                                     ).status_code == 403
    resp = api_as(make_investor()).post("/api/v1/tokens/orders/", {"offering_id": offering.pk, "units": 0})
    assert resp.status_code == 400 and "units" in resp.json()["error"]["details"]



def test_investor_offering_lists_take_constant_queries(client, api_as, approved_investor):
    """Units available come from one annotated query, not one sum per offering."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count_queries():
        with CaptureQueriesContext(connection) as web:
            assert client.get(reverse("tokens:invest-offerings")).status_code == 200
        with CaptureQueriesContext(connection) as api:
            assert api_as(approved_investor).get("/api/v1/tokens/invest/offerings/").status_code == 200
        return len(web), len(api)

    first = make_live_offering()
    orders.order_create(actor=approved_investor, offering=first, units=3, base_url="http://testserver/")
    client.force_login(approved_investor)
    few = count_queries()
    for _ in range(4):
        make_live_offering()
    assert count_queries() == few
    page = client.get(reverse("tokens:invest-offerings")).content.decode()
    assert "397 of 400" in page  # the annotated count still subtracts the reservation


def test_buy_page_states_the_reservation_the_order_gets(client, approved_investor, offering):
    """Regression (issue 18): the page promised 15 minutes while the order held the units 31."""
    client.force_login(approved_investor)
    page = client.get(reverse("tokens:invest-buy", args=[offering.pk])).content.decode()
    assert f"Units are reserved for {ledger.reservation_minutes()} minutes" in page and "15 minutes" not in page


def test_the_income_page_links_where_wallets_are_linked(client, approved_investor):
    client.force_login(approved_investor)
    page = client.get(reverse("tokens:income")).content.decode()
    assert f'href="{reverse("compliance:wallets")}"' in page
