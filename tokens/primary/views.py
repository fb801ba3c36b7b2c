"""The primary sale's pages: offerings on sale, buying, my investments, orders and their receipts,
order administration."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.forms import add_application_error
from core.permissions import Role, role_required, user_has_role
from tokens import costs, economics, ledger
from tokens.models import OrderStatus
from tokens.primary import selectors
from tokens.primary import services as orders
from tokens.primary.forms import BuyForm


def _offering_card(offering) -> dict:

    return {"offering": offering, "available": ledger.units_available(offering),
            "offered": ledger.units_offered(offering)}


@role_required(Role.INVESTOR)
def invest_offerings(request):

    return render(request, "tokens/invest_offerings.html", {
        "cards": [_offering_card(o) for o in selectors.offerings_for_investors()],
        "problem": orders.eligibility_problem(user=request.user)})


@role_required(Role.INVESTOR)
def invest_buy(request, pk):

    offering = selectors.offering_for_investor(offering_id=pk)
    form = BuyForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            order = orders.order_create(actor=request.user, offering=offering, units=form.cleaned_data["units"],
                                        wallet=form.cleaned_data["wallet"], base_url=request.build_absolute_uri("/"))
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            return redirect(order.checkout_url)
    pricing = economics.offering_pricing(offering)
    return render(request, "tokens/invest_buy.html", {
        **_offering_card(offering), "form": form, "problem": orders.eligibility_problem(user=request.user),
        "reservation_minutes": ledger.reservation_minutes(),  # the checkout lives as long
        "pricing": pricing, "acceptance": economics.acceptance(offering, pricing)})


@role_required(Role.INVESTOR)
def my_investments(request):
    # Per holding: what the units cost and the income they realised on it (tokens.costs).
    perf = costs.holding_performance(ledger.investor_holdings(user=request.user, live=False))
    by_key = {p.key: p for p in perf}
    holdings = [{**h, "performance": by_key.get((h["offering"].pk, h["wallet"].lower()))}
                for h in ledger.unit_holdings(user=request.user)]
    return render(request, "tokens/my_investments.html", {
        "orders": selectors.order_list_for_user(user=request.user), "holdings": holdings,
        "realised": costs.portfolio_yield(perf), "cost_basis": costs.total_cost_basis(perf)})


def _order_context(request, order):
    return {"order": order, "is_owner": order.investor_id == request.user.pk,
            "can_refund": user_has_role(request.user, Role.PLATFORM_ADMIN),
            "is_officer": user_has_role(request.user, Role.COMPLIANCE_OFFICER),
            "polling": order.status in ("paid", "minting", "refunding")}


@login_required
def order_detail(request, order_id):
    order = selectors.order_get_for_user(user=request.user, order_id=order_id)
    return render(request, "tokens/order_detail.html", {
        **_order_context(request, order), "just_paid": "paid" in request.GET,
        "just_cancelled": "cancelled" in request.GET})


@login_required
def order_status(request, order_id):
    """htmx fragment polled while the payment is being turned into tokens."""
    order = selectors.order_get_for_user(user=request.user, order_id=order_id)
    return render(request, "tokens/_order_status.html", _order_context(request, order))


@login_required
@require_POST
def order_cancel(request, order_id):

    order = selectors.order_get_for_user(user=request.user, order_id=order_id)
    try:
        orders.order_cancel(actor=request.user, order=order)
    except ApplicationError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Reservation cancelled; the units are available to others again."))
    return redirect("tokens:order-detail", order_id=order_id)


@login_required
def order_receipt(request, order_id):

    order = selectors.order_get_for_user(user=request.user, order_id=order_id)
    if not order.receipt_pdf:
        raise Http404("No receipt yet.")
    return receipt_response(order, reader=request.user, issued=request.GET.get("issued") == "1")


def receipt_response(order, *, reader, issued: bool):
    """The receipt rendered for the reader (their time zone and language), or with `issued` the
    copy issued at the mint, byte for byte (the one whose SHA-256 the order records)."""
    if issued:
        resp = FileResponse(order.receipt_pdf.open("rb"), content_type="application/pdf")
    else:
        resp = HttpResponse(orders.receipt_for_reader(order=order, reader=reader), content_type="application/pdf")
    resp["Content-Disposition"] = f'attachment; filename="receipt-{order.public_id}.pdf"'
    resp["Cache-Control"] = "private, no-store"
    return resp


@role_required(Role.PLATFORM_ADMIN)
def order_admin(request):

    status = request.GET.get("status", "")
    return render(request, "tokens/order_admin.html", {
        "orders": selectors.orders_for_admin(status=status if status in OrderStatus.values else "")[:200],
        "statuses": OrderStatus.choices, "status": status,
        "failed_count": selectors.orders_for_admin(status=OrderStatus.FAILED).count(),
        "disputed_count": selectors.orders_for_admin(status=OrderStatus.DISPUTED).count()})
