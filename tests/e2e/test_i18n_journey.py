"""An approved investor switches the site to Chinese with the header's language switcher, buys
5 units (Offerings → buy page → simulator checkout → tokens minted), and every page and the
receipt PDF are in Chinese; the choice is saved on the account."""

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from accounts.tests.factories import PASSWORD
from chain import processor
from tokens.offerings import services
from tokens.tests.factories import (
    accept_pricing,
    clinic_admin_of,
    make_certified_device,
    make_investor,
    offering_terms,
)

pytestmark = [pytest.mark.e2e, pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def test_investor_switches_to_chinese_buys_and_gets_a_chinese_receipt(
        transactional_db, chain_ready, page, login, platform_admin):
    device = make_certified_device()
    offering = services.offering_create(actor=platform_admin, device=device,
                                        data=offering_terms(allowed_countries=[826, 276]))
    services.offering_record_consent(actor=clinic_admin_of(device), offering=offering)
    accept_pricing(offering)
    services.offering_deploy(actor=platform_admin, offering=offering)
    investor = make_investor()
    processor.drain(timeout=60)

    login(investor.email, PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Language").select_option("zh-hans")
    page.get_by_role("button", name="Change language").click()

    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    investor.refresh_from_db()
    assert investor.language == "zh-hans"

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="发行项目").click()
    expect(page.get_by_role("heading", name="发行项目", exact=True)).to_be_visible()
    expect(page.get_by_test_id("units-available")).to_have_text("400 / 400")
    page.get_by_role("button", name="购买 VIDA").click()

    expect(page.get_by_role("heading", name="购买 Vida MRI Token（VIDA）")).to_be_visible()
    page.get_by_label("份数").fill("0")
    page.get_by_role("button", name="保留并付款").click()
    expect(page.get_by_text(re.compile("大于或等于"))).to_be_visible()  # Django's own message, in Chinese
    page.get_by_label("份数").fill("5")
    page.get_by_role("button", name="保留并付款").click()

    expect(page.get_by_role("heading", name="结账")).to_be_visible()
    expect(page.get_by_test_id("checkout-amount")).to_have_text("1,250.00 USD")
    page.get_by_role("button", name="支付 1,250.00 USD").click()
    expect(page.get_by_test_id("order-status")).to_have_text("正在铸造代币")

    processor.drain(timeout=60)
    expect(page.get_by_test_id("order-status")).to_have_text("已完成", timeout=15_000)
    with page.expect_download() as download:
        page.get_by_role("button", name="下载收据（PDF）").click()
    with open(download.value.path(), "rb") as fh:
        text = PdfReader(io.BytesIO(fh.read())).pages[0].extract_text()
    for chinese in ("购买收据", "订单", "投资者", "实付总额", "铸造交易", "购买 5 份 VIDA 的收据"):
        assert chinese in text, chinese
    assert "1,250.00 USD" in text and "Purchase receipt" not in text

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的投资").click()
    expect(page.get_by_role("heading", name="我的投资")).to_be_visible()
    expect(page.get_by_test_id("orders").get_by_text("已完成")).to_be_visible()

    # The order's notices, in the app and by email, are in the language the investor chose.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name=re.compile("^通知")).click()
    expect(page.get_by_text("已收到您订单的付款")).to_be_visible()
    expect(page.get_by_text("您的份额已发行")).to_be_visible()
    expect(page.get_by_role("button", name="打开：您的份额已发行")).to_be_visible()
    from django.core import mail

    from notifications import services as notices
    from notifications.models import EmailDelivery

    for delivery in EmailDelivery.objects.filter(notification__recipient=investor):
        notices.email_delivery_send(delivery_id=delivery.pk)  # what the Celery worker does
    sent = {m.subject: m.body for m in mail.outbox if investor.email in m.to}
    assert {"[MedRWA] 已收到您订单的付款", "[MedRWA] 您的份额已发行"} <= set(sent), sorted(sent)
    assert "您的份额正在链上发行" in sent["[MedRWA] 已收到您订单的付款"]
    assert "We received your payment" not in "".join(sent.values())
