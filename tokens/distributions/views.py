"""Clinic revenue statements and the platform admin's distribution desk (web pages). The API
twins are in tokens.distributions.api; both call tokens.distributions.services / tokens.distributions.income."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.forms import message_application_error
from core.permissions import Role, role_required, user_clinic_ids, user_has_role
from tokens.distributions import charts, income, statements
from tokens.distributions import selectors as sel
from tokens.distributions import services as distributions
from tokens.models import DistributionStatus, Offering

S = DistributionStatus
VIEWER_ROLES = (Role.PLATFORM_ADMIN, Role.CLINIC_ADMIN)


def pdf_response(body: bytes, filename: str) -> HttpResponse:
    resp = HttpResponse(body, content_type="application/pdf")
    resp["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp["Cache-Control"] = "private, no-store"
    return resp


@role_required(*VIEWER_ROLES)
def distribution_list(request):
    status = request.GET.get("status", "")
    is_admin = sel.can_see_all(request.user)
    alerts = sel.admin_alerts() if is_admin else {}
    return render(request, "tokens/distributions/list.html", {
        "distributions": sel.distributions_for_user(user=request.user, status=status)[:sel.LIST_LIMIT],
        "statuses": S.choices, "status": status if status in S.values else "", "is_admin": is_admin,
        "waiting_funds": alerts.get("waiting_funds", 0), "bank_to_confirm": alerts.get("bank_to_confirm", 0),
        "payment_reversed": alerts.get("payment_reversed", 0),
        "batch_offerings": sel.batch_claim_offerings() if is_admin else [],
        "revenue_charts": charts.revenue_charts(distributions=sel.distributions_for_user(user=request.user)),
    })


def _detail_context(request, d) -> dict:
    user = request.user
    is_clinic_admin = d.offering.device.organization_id in user_clinic_ids(user, roles={Role.CLINIC_ADMIN})
    is_admin = user_has_role(user, Role.PLATFORM_ADMIN)
    bank_pending = distributions.bank_transfer_pending(d) and d.paid_at is None
    return {
        "d": d, "usage": sel.usage_lines(d), "lines": sel.waterfall_lines(d),
        "is_clinic_admin": is_clinic_admin, "is_admin": is_admin,
        "can_confirm": is_clinic_admin and d.status == S.AWAITING_CLINIC,
        "can_dispute": is_clinic_admin and d.status == S.AWAITING_CLINIC,
        "can_pay": is_clinic_admin and d.status == S.AWAITING_PAYMENT and d.paid_at is None,
        "can_resolve": is_admin and d.status == S.DISPUTED,
        "can_record_bank": is_admin and d.status == S.AWAITING_PAYMENT and d.paid_at is None and not bank_pending,
        # Four-eyes: whoever recorded the transfer sees that a second admin must confirm it.
        "bank_pending": bank_pending,
        "can_confirm_bank": is_admin and bank_pending and d.recorded_by_id != user.pk,
        "can_reject_bank": is_admin and bank_pending,
        "can_retry": is_admin and d.status == S.FAILED and d.payment_reversed_at is None,
        "can_open_detail": sel.detail_visible_to(user, d),
        "verify_url": reverse("tokens_public:distribution-verify", args=[d.public_id]) if d.report_sha256 else "",
        # A checkout opened: the webhook may land any moment; a deposit: the chain confirms it.
        "polling": (d.status == S.DEPOSITING or (d.status == S.WAITING_FUNDS and d.payment_reversed_at is None))
        or (d.status == S.AWAITING_PAYMENT and bool(d.payment_session_id)),
        "just_paid": "paid" in request.GET,
    }


@role_required(*VIEWER_ROLES)
def distribution_detail(request, public_id):
    d = sel.distribution_get_for_user(user=request.user, public_id=public_id)
    return render(request, "tokens/distributions/detail.html", _detail_context(request, d))


@role_required(*VIEWER_ROLES)
def distribution_status(request, public_id):
    """htmx fragment: payment and deposit state, polled while the deposit is on its way."""
    d = sel.distribution_get_for_user(user=request.user, public_id=public_id)
    return render(request, "tokens/distributions/_state.html", _detail_context(request, d))


def _back(public_id):
    return redirect("tokens:distribution-detail", public_id=public_id)


@role_required(*VIEWER_ROLES)
@require_POST
def distribution_confirm(request, public_id):
    d = sel.distribution_get_for_user(user=request.user, public_id=public_id)
    try:
        distributions.distribution_confirm(actor=request.user, distribution=d)
    except ApplicationError as exc:
        message_application_error(request, exc)
    else:
        messages.success(request, gettext("Statement confirmed. Pay the amount due to distribute it to the holders."))
    return _back(public_id)


@role_required(*VIEWER_ROLES)
@require_POST
def distribution_dispute(request, public_id):
    d = sel.distribution_get_for_user(user=request.user, public_id=public_id)
    try:
        distributions.distribution_dispute(actor=request.user, distribution=d, reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        message_application_error(request, exc)
    else:
        messages.success(request, gettext("Dispute sent to the platform. You will see its decision on this page."))
    return _back(public_id)


@role_required(*VIEWER_ROLES)
@require_POST
def distribution_checkout(request, public_id):
    d = sel.distribution_get_for_user(user=request.user, public_id=public_id)
    here = request.build_absolute_uri(reverse("tokens:distribution-detail", args=[d.public_id]))
    try:
        payment = distributions.distribution_checkout(actor=request.user, distribution=d,
                                                      success_url=f"{here}?paid=1", cancel_url=here)
    except ApplicationError as exc:
        message_application_error(request, exc)
        return _back(public_id)
    return redirect(payment.checkout_url)


@role_required(Role.PLATFORM_ADMIN)
@require_POST
def distribution_resolve(request, public_id):
    d = sel.distribution_get_for_user(user=request.user, public_id=public_id)
    decision = request.POST.get("decision", "")
    if decision not in ("uphold", "reject"):
        messages.error(request, gettext("Choose whether to uphold or reject the dispute."))
        return _back(public_id)
    try:
        distributions.distribution_resolve(actor=request.user, distribution=d, uphold=decision == "uphold",
                                           resolution=request.POST.get("resolution", ""))
    except ApplicationError as exc:
        message_application_error(request, exc)
    else:
        messages.success(request, gettext("Dispute upheld: the statement is withdrawn.") if decision == "uphold"
                         else gettext("Dispute rejected: the statement stands and is payable."))
    return _back(public_id)


def parse_amount(raw: str) -> Decimal | None:
    try:
        value = Decimal((raw or "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


@role_required(Role.PLATFORM_ADMIN)
@require_POST
def distribution_bank_transfer(request, public_id):
    d = sel.distribution_get_for_user(user=request.user, public_id=public_id)
    amount = parse_amount(request.POST.get("amount", ""))
    if amount is None:
        messages.error(request, gettext("Enter the amount received, e.g. 1234.56."))
        return _back(public_id)
    try:
        distributions.distribution_record_bank_transfer(actor=request.user, distribution=d,
                                                        reference=request.POST.get("reference", ""), amount=amount)
    except ApplicationError as exc:
        message_application_error(request, exc)
    else:
        messages.success(request, gettext(
            "Bank transfer recorded. A second platform admin must confirm it before the deposit goes out."))
    return _back(public_id)


@role_required(Role.PLATFORM_ADMIN)
@require_POST
def distribution_bank_transfer_confirm(request, public_id):
    d = sel.distribution_get_for_user(user=request.user, public_id=public_id)
    try:
        d = distributions.distribution_confirm_bank_transfer(actor=request.user, distribution=d)
    except ApplicationError as exc:
        message_application_error(request, exc)
    else:
        if d.status == S.WAITING_FUNDS:
            messages.warning(request, gettext('Payment recorded; the deposit waits: %(error)s') %
                             {"error": gettext(d.error)})
        else:
            messages.success(request, gettext("Bank transfer recorded; the deposit is on its way to the chain."))
    return _back(public_id)


@role_required(Role.PLATFORM_ADMIN)
@require_POST
def distribution_bank_transfer_reject(request, public_id):
    d = sel.distribution_get_for_user(user=request.user, public_id=public_id)
    try:
        distributions.distribution_reject_bank_transfer(actor=request.user, distribution=d,
                                                        reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        message_application_error(request, exc)
    else:
        messages.success(request, gettext("The recorded bank transfer was discarded; nothing was paid."))
    return _back(public_id)


@role_required(Role.PLATFORM_ADMIN, Role.CLINIC_ADMIN, Role.INVESTOR)
def distribution_report_detail(request, public_id):
    """The detailed usage behind a public report (its SHA-256 is in the report): the exact bytes."""
    d = sel.distribution_detail_get_for_user(user=request.user, public_id=public_id)
    resp = HttpResponse(d.report_detail.encode(), content_type="application/json")
    resp["Content-Disposition"] = f'attachment; filename="distribution-{d.public_id}-detail.json"'
    resp["Cache-Control"] = "private, no-store"
    return resp


@role_required(Role.PLATFORM_ADMIN)
@require_POST
def distribution_retry(request, public_id):
    d = sel.distribution_get_for_user(user=request.user, public_id=public_id)
    try:
        d = distributions.distribution_retry(actor=request.user, distribution=d)
    except ApplicationError as exc:
        message_application_error(request, exc)
    else:
        if d.status == S.WAITING_FUNDS:
            messages.warning(request, gettext('Retry queued, but the deposit waits: %(error)s') % {"error": d.error})
        else:
            messages.success(request, gettext("Deposit queued again."))
    return _back(public_id)


@role_required(*VIEWER_ROLES)
def distribution_statement_pdf(request, public_id):
    d = sel.distribution_get_for_user(user=request.user, public_id=public_id)
    body = statements.clinic_statement_pdf(d)
    return pdf_response(body, f"statement-{d.offering.token_symbol}-{d.period.period_start:%Y-%m}.pdf")


@role_required(Role.PLATFORM_ADMIN)
@require_POST
def offering_batch_claim(request):

    offering = Offering.objects.filter(pk=request.POST.get("offering") or 0).first()
    if offering is None or not offering.token_address:
        messages.error(request, gettext("Choose a live token."))
        return redirect("tokens:distribution-list")
    try:
        claims = income.income_claim_batch(actor=request.user, offering=offering)
    except ApplicationError as exc:
        message_application_error(request, exc)
    else:
        messages.success(request, gettext('Batch claim queued for %(token_symbol)s: %(len)s transaction%(s__if_len)s.')
            % {"token_symbol": offering.token_symbol, "len": len(claims), "s__if_len": 's' if len(claims) != 1 else ''})
    return redirect("tokens:distribution-list")
