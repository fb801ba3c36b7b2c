"""The investor's market pages: the board with market data, selling (an offer), buying (taking
an offer), transfers to another investor, cancelling. Every action first shows the token's
own ERC-1404 answer read live (and, for a purchase, the stablecoin leg's pre-check) and asks
for a confirmation; custodial wallets are then signed for by the platform, self-custody
wallets sign in the browser (static/js/market.js against the API twins in tokens.market.api)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from compliance.selectors import investor_wallets
from core.errors import ApplicationError
from core.forms import message_application_error
from core.permissions import Role, role_required, user_has_role
from tokens.market import charts as market_charts
from tokens.market import payments as market_payments
from tokens.market import services as market
from tokens.market.payments import my_card_purchases
from tokens.models import Offering


def _wallets(user) -> list:

    return [w for w in investor_wallets(user=user) if w.registered_on_chain]


def _offering(value) -> Offering:
    offering = Offering.objects.filter(pk=value or 0).exclude(token_address="").first()
    if offering is None:
        raise Http404("No such token.")
    return offering


@role_required(Role.INVESTOR, Role.COMPLIANCE_OFFICER)
def market_page(request):

    ctx = {**market.market_overview(user=request.user), "my_card_purchases": my_card_purchases(user=request.user),
           "is_officer": user_has_role(request.user, Role.COMPLIANCE_OFFICER)}
    ctx["price_charts"] = market_charts.price_charts(offerings=[t["offering"] for t in ctx["tokens"]])
    return render(request, "tokens/market/market.html", ctx)


def _form(request) -> dict:
    p = request.POST if request.method == "POST" else request.GET
    return {k: (p.get(k) or "").strip() for k in ("offering", "wallet", "to", "units", "price_per_unit",
                                                   "expires_at", "confirm")}


@role_required(Role.INVESTOR)
def market_transfer(request):
    """Step 1: choose token, wallet, recipient and units. Step 2 (POST): the contract's answer.
    Step 3 (POST confirm, custodial): the platform signs; self-custody: the browser signs."""
    form = _form(request)
    ctx = {"form": form, "wallets": _wallets(request.user), "tokens": market.tradable_offerings(), "check": None}
    if request.method == "POST":
        try:
            offering = _offering(form["offering"])
            args = {"offering": offering, "wallet": form["wallet"], "to": form["to"], "units": form["units"]}
            if form["confirm"]:
                market.transfer_create(actor=request.user, **args)
                messages.success(request, gettext(
                    "Transfer sent; the platform signs with your custodial wallet and pays "
                                          "the gas."))
                return redirect("tokens:market")
            ctx["check"] = market.transfer_check(actor=request.user, **args)
            ctx["offering"] = offering
        except ApplicationError as exc:
            message_application_error(request, exc, shown_codes=("not_eligible",))
    return render(request, "tokens/market/transfer.html", ctx)


def _expiry(form) -> dt.datetime | None:
    if form["expires_at"]:
        value = parse_datetime(form["expires_at"])
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value, dt.UTC)
        return value
    return None


@role_required(Role.INVESTOR)
def market_sell(request):
    form = _form(request)
    if not form["expires_at"]:
        form["expires_at"] = (timezone.now() + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    ctx = {"form": form, "wallets": _wallets(request.user), "tokens": market.tradable_offerings(), "check": None}
    if request.method == "POST":
        try:
            offering = _offering(form["offering"])
            args = {"offering": offering, "wallet": form["wallet"], "units": form["units"],
                    "price_per_unit": form["price_per_unit"], "expires_at": _expiry(form)}
            if form["confirm"]:
                market.offer_create(actor=request.user, **args)
                messages.success(request, gettext("Offer sent to the board; it shows as open once confirmed on chain."))
                return redirect("tokens:market")
            ctx["check"] = market.offer_check(actor=request.user, **args)
            ctx["offering"] = offering
            ctx["income"] = market.income_note(offering=offering, wallet=ctx["check"]["wallet"])
        except ApplicationError as exc:
            message_application_error(request, exc, shown_codes=("not_eligible",))
    return render(request, "tokens/market/sell.html", ctx)


@role_required(Role.INVESTOR)
def market_take(request, offer_id):
    try:
        offer = market.offer_for_buyer(offer_id=offer_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("tokens:market")
    form = _form(request)
    ctx = {"offer": offer, "form": form, "wallets": _wallets(request.user), "check": None}
    if request.method == "POST":
        try:
            args = {"wallet": form["wallet"], "units": form["units"]}
            if form["confirm"]:
                market.take_create(actor=request.user, offer_id=offer.pk, **args)
                messages.success(request, gettext(
                    "Purchase sent: units and payment settle together in one transaction."))
                return redirect("tokens:market")
            ctx["check"] = market.take_check(actor=request.user, offer=offer, **args)
        except ApplicationError as exc:
            message_application_error(request, exc, shown_codes=("not_eligible",))
    return render(request, "tokens/market/take.html", ctx)


@role_required(Role.INVESTOR, Role.COMPLIANCE_OFFICER)
@require_POST
def market_offer_cancel(request, offer_id):
    offer = market.offer_get_for_seller(user=request.user, offer_id=offer_id)
    try:
        market.offer_cancel(actor=request.user, offer=offer, reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        message_application_error(request, exc, shown_codes=("not_eligible",))
    else:
        messages.success(request, gettext("Cancellation sent to the board."))
    return redirect("tokens:market")


@role_required(Role.INVESTOR)
def market_card(request, offer_id):
    """Pay by card: step 1 the units; step 2 (POST) the token's answer, the card amount and who
    pays the fee; step 3 (POST confirm) the units are held and the checkout opens."""

    try:
        offer = market.offer_for_buyer(offer_id=offer_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("tokens:market")
    form = _form(request)
    ctx = {"offer": offer, "form": form, "check": None}
    if request.method == "POST":
        try:
            if form["confirm"]:
                p = market_payments.card_purchase_create(actor=request.user, offer_id=offer.pk, units=form["units"],
                                                         base_url=request.build_absolute_uri("/"))
                return redirect(p.checkout_url)
            ctx["check"] = market_payments.card_check(actor=request.user, offer=offer, units=form["units"])
        except ApplicationError as exc:
            message_application_error(request, exc, shown_codes=("not_eligible",))
    return render(request, "tokens/market/card.html", ctx)


@role_required(Role.INVESTOR, Role.PLATFORM_ADMIN, Role.COMPLIANCE_OFFICER)
def market_card_detail(request, public_id):

    p = market_payments.card_purchase_get_for_user(user=request.user, public_id=public_id)
    return render(request, "tokens/market/card_detail.html", {
        "p": p, "paid": request.GET.get("paid"), "cancelled": request.GET.get("cancelled"),
        "is_officer": user_has_role(request.user, Role.COMPLIANCE_OFFICER)})


@role_required(Role.COMPLIANCE_OFFICER)
@require_POST
def market_card_dispute_resolve(request, public_id):

    p = market_payments.card_purchase_get_for_user(user=request.user, public_id=public_id)
    try:
        market_payments.card_dispute_resolve(actor=request.user, purchase=p, outcome=request.POST.get("outcome", ""),
                                             reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        message_application_error(request, exc)
    else:
        messages.success(request, gettext("Dispute decided; the token action was sent to the chain."))
    return redirect("tokens:market-card-detail", public_id=p.public_id)


@role_required(Role.INVESTOR)
@require_POST
def market_card_cancel(request, public_id):

    p = market_payments.card_purchase_get_for_user(user=request.user, public_id=public_id)
    try:
        market_payments.card_purchase_cancel(actor=request.user, purchase=p)
    except ApplicationError as exc:
        message_application_error(request, exc)
    else:
        messages.success(request, gettext("Purchase cancelled; the units are free again."))
    return redirect("tokens:market-card-detail", public_id=p.public_id)
