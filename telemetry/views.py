"""Telemetry pages: device health and usage, credentials, flags, tariffs, payer mix, closing,
settling and adjusting revenue periods."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from assets.models import DeviceStatus
from core.errors import ApplicationError
from core.permissions import CLINIC_ROLES, Role, role_required, user_has_role
from telemetry import selectors, services
from telemetry.forms import (
    ComputeTariffForm,
    CredentialIssueForm,
    CredentialRevokeForm,
    FlagClearForm,
    PayerMixForm,
    RevenuePeriodAdjustForm,
    RevenuePeriodCloseForm,
    TariffForm,
)

VIEW_ROLES = (*CLINIC_ROLES, Role.PLATFORM_ADMIN)


@role_required(*VIEW_ROLES)
def health(request):
    is_admin = user_has_role(request.user, Role.PLATFORM_ADMIN)
    return render(request, "telemetry/health.html", {
        "rows": selectors.health_rows(user=request.user),
        "flags": selectors.flags_for_user(user=request.user, open_only=True)[:100],
        "is_admin": is_admin,
        "clear_form": FlagClearForm() if is_admin else None,
    })


@role_required(*VIEW_ROLES)
def device_detail(request, device_id: int):
    device = selectors.device_get_for_user(user=request.user, device_id=device_id)
    is_admin = user_has_role(request.user, Role.PLATFORM_ADMIN)
    return render(request, "telemetry/device.html", {
        "device": device,
        "chart": selectors.utilization_chart(device=device, days=30),
        "procedures": selectors.recent_procedures(device=device, limit=25),
        "flags": selectors.flags_for_user(user=request.user, device=device)[:50],
        "periods": selectors.device_revenue_periods(device=device)[:18],
        "payer_mix": selectors.payer_mix(device=device),
        "device_tokenized": device.status == DeviceStatus.TOKENIZED,
        "can_manage_keys": user_has_role(request.user, Role.CLINIC_ADMIN, organization=device.organization_id),
        "is_admin": is_admin,
        "clear_form": FlagClearForm() if is_admin else None,
        "today": timezone.now().date(),
    })


@role_required(Role.CLINIC_ADMIN, Role.PLATFORM_ADMIN)
def credentials(request, device_id: int):
    device = selectors.device_get_for_user(user=request.user, device_id=device_id)
    if not user_has_role(request.user, Role.CLINIC_ADMIN, organization=device.organization_id):
        raise PermissionDenied("Only the clinic's admin manages device credentials.")
    form = CredentialIssueForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.credential_issue(actor=request.user, device=device, label=form.cleaned_data["label"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            form = CredentialIssueForm()
    # The secret is rendered in this response only (never redirected to, never stored).
    return render(request, "telemetry/credentials.html", {
        "device": device, "form": form, "issued": issued,
        "credentials": selectors.device_credentials(device=device), "revoke_form": CredentialRevokeForm(),
    })


@require_POST
@role_required(Role.CLINIC_ADMIN, Role.PLATFORM_ADMIN)
def credential_revoke(request, credential_id: int):
    cred = selectors.credential_get_for_user(user=request.user, credential_id=credential_id)
    form = CredentialRevokeForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError("invalid", gettext("The reason is too long."))
        services.credential_revoke(actor=request.user, credential=cred, reason=form.cleaned_data["reason"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext('Key %(key_id)s revoked.') % {"key_id": cred.key_id})
    return redirect("telemetry:credentials", device_id=cred.device_id)


@role_required(Role.PLATFORM_ADMIN)
def flag_clear(request, flag_id: int):
    flag = selectors.flag_get_for_user(user=request.user, flag_id=flag_id)
    form = FlagClearForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.flag_clear(actor=request.user, flag=flag, reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, gettext('Flag cleared: %(get_code_display)s.') %
                {"get_code_display": flag.get_code_display()})
            nxt = request.POST.get("next", "")
            # Only our own pages: never an open redirect.
            return redirect(nxt if nxt.startswith("/telemetry/") else "telemetry:health")
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    return render(request, "telemetry/flag_clear.html", {"flag": flag, "form": form, "next": nxt})


@role_required(Role.PLATFORM_ADMIN)
def tariffs(request):
    form = TariffForm(request.POST or None, initial={"year": timezone.now().year})
    if request.method == "POST" and form.is_valid():
        try:
            tariff = services.tariff_set(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, gettext('Fee saved: %(tariff)s.') % {"tariff": tariff})
            return redirect("telemetry:tariffs")
    return render(request, "telemetry/tariffs.html", {"form": form, "tariffs": selectors.tariff_list()})


@role_required(Role.PLATFORM_ADMIN)
def compute_tariffs(request):
    form = ComputeTariffForm(request.POST or None, initial={"year": timezone.now().year})
    if request.method == "POST" and form.is_valid():
        try:
            tariff = services.compute_tariff_set(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, gettext('Compute price saved: %(tariff)s.') % {"tariff": tariff})
            return redirect("telemetry:compute-tariffs")
    return render(request, "telemetry/compute_tariffs.html", {"form": form,
                                                              "compute_tariffs": selectors.compute_tariff_list()})


@role_required(Role.PLATFORM_ADMIN)
def payer_mix(request, device_id: int):
    device = selectors.device_get_for_user(user=request.user, device_id=device_id)
    mix = selectors.payer_mix(device=device)
    initial = "\n".join(f"{payer}: {share}" for payer, share in mix)
    form = PayerMixForm(request.POST or None, initial={"shares": initial})
    if request.method == "POST" and form.is_valid():
        try:
            services.payer_mix_set(actor=request.user, device=device, shares=form.cleaned_data["shares"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, gettext("Payer mix saved."))
            return redirect("telemetry:device", device_id=device.pk)
    return render(request, "telemetry/payer_mix.html", {"device": device, "mix": mix, "form": form})


@require_POST
@role_required(Role.PLATFORM_ADMIN)
def revenue_period_close(request, device_id: int):
    device = selectors.device_get_for_user(user=request.user, device_id=device_id)
    form = RevenuePeriodCloseForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError("invalid", gettext("Which month to close is missing."))
        period = services.revenue_period_close(actor=request.user, device=device,
                                               period_start=form.cleaned_data["period_start"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{period.period_start:%Y-%m} closed: {period.amount} {period.currency}.")
    return redirect("telemetry:device", device_id=device.pk)


@require_POST
@role_required(Role.PLATFORM_ADMIN)
def revenue_period_settle(request, period_id: int):
    period = selectors.revenue_period_get_for_user(user=request.user, period_id=period_id)
    try:
        period = services.revenue_period_settle(actor=request.user, period=period)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{period.period_start:%Y-%m} settled: {period.amount} {period.currency}.")
    return redirect("telemetry:device", device_id=period.device_id)


@require_POST
@role_required(Role.PLATFORM_ADMIN)
def revenue_period_adjust(request, period_id: int):
    period = selectors.revenue_period_get_for_user(user=request.user, period_id=period_id)
    form = RevenuePeriodAdjustForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError("reason_required", gettext("Say why the period is adjusted."))
        adjustment = services.revenue_period_adjust(actor=request.user, period=period,
                                                    reason=form.cleaned_data["reason"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{adjustment.period_start:%Y-%m} adjusted by {adjustment.amount} "
                                  f"{adjustment.currency}.")
    return redirect("telemetry:device", device_id=period.device_id)
