"""Compliance's web pages: investor onboarding, profile, wallets, KYC and erasure; the officers'
queue, case detail, decisions, hits and export."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from compliance import onchain, selectors, services
from compliance.forms import (
    DecisionForm,
    DocumentUploadForm,
    ErasureForm,
    HitClearForm,
    InvestorProfileForm,
    QueueFilterForm,
    WalletAddressForm,
    WalletSignatureForm,
)
from compliance.models import KycCase, KycDocument, ScreeningHit, WalletChallenge
from core.errors import ApplicationError
from core.forms import add_application_error
from core.permissions import Role, role_required

investor_only = role_required(Role.INVESTOR)
officer_only = role_required(Role.COMPLIANCE_OFFICER)


NEXT_STEPS = {
    None: "Start by completing your investor profile.",
    "draft": "Upload your documents, then submit your KYC case for review.",
    "submitted": "Your case is waiting for a compliance officer. We will tell you when it is decided.",
    "in_review": "A compliance officer is reviewing your case.",
    "needs_more_info": "The officer asked for more information (see below). Upload what is asked, then resubmit.",
    "approved": "You are verified: any of your registered wallets may hold device tokens.",
    "rejected": "Your case was rejected (see the reason). Contact support if you believe this is wrong.",
    "expired": "Your KYC approval expired. Submit a new KYC case to keep investing.",
    "revoked": "Your approval was revoked (see the reason). You cannot invest at the moment.",
    "superseded": "This approval was replaced by a newer one.",
}


def _wallet_rows(profile, *, live: bool):
    rows = []
    for w in profile.wallets.all() if profile else []:
        outbox = onchain.wallet_outbox_rows(w)
        rows.append({"wallet": w, "outbox": outbox[0] if outbox else None,
                     "state": onchain.outbox_state_label(outbox[0] if outbox else None),
                     "pending": bool(outbox) and outbox[0].status not in ("confirmed", "failed"),
                     "verified": onchain.live_is_verified(w.address) if live and w.registered_on_chain else None})
    return rows


@investor_only
def onboarding(request):
    profile = selectors.investor_profile(user=request.user)
    case = selectors.current_case(user=request.user)
    status = case.status if case else (None if profile is None or not profile.is_complete else "draft")
    next_step = NEXT_STEPS.get(status, "")
    rows = _wallet_rows(profile, live=True)
    if status == "approved" and case.open_hits.exists():
        next_step = "Your account is on hold pending a compliance check. You cannot invest until it is resolved."
    elif status == "approved" and any(r["pending"] for r in rows):
        next_step = ("Your KYC is approved. Your wallets are being registered on chain; they can receive tokens "
                     "once they show as verified below.")
    return render(request, "compliance/onboarding.html", {
        "profile": profile, "case": case, "next_step": next_step,
        "wallet_rows": rows, "eligible": selectors.investor_is_eligible(user=request.user),
        "erasure_form": ErasureForm(), "retention_years": settings.RETENTION_YEARS_AFTER_RELATIONSHIP,
    })


@investor_only
def profile_edit(request):
    profile = selectors.investor_profile(user=request.user)
    initial = {f: getattr(profile, f) for f in services.PROFILE_FIELDS} if profile else {"intended_currency": "USD"}
    form = InvestorProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.investor_profile_save(actor=request.user, user=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, gettext("Profile saved. Next step: your wallets."))
            return redirect("compliance:wallets")
    return render(request, "compliance/profile.html", {"form": form})


@investor_only
def wallets(request):
    profile = selectors.investor_profile(user=request.user)
    if profile is None:
        messages.info(request, gettext("Complete your investor profile first."))
        return redirect("compliance:profile")
    form = WalletAddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            challenge = services.wallet_challenge_create(
                actor=request.user, address=form.cleaned_data["address"], domain=request.get_host(),
                uri=request.build_absolute_uri("/"))
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            return redirect("compliance:wallet-verify", nonce=challenge.nonce)
    return render(request, "compliance/wallets.html", {
        "form": form, "wallet_rows": _wallet_rows(profile, live=False)})


@investor_only
def wallet_verify(request, nonce: str):
    challenge = get_object_or_404(WalletChallenge, nonce=nonce, user=request.user)
    form = WalletSignatureForm(request.POST or None, initial={"message": challenge.message})
    if request.method == "POST" and form.is_valid():
        try:
            wallet = services.wallet_link(actor=request.user, message=form.cleaned_data["message"],
                                          signature=form.cleaned_data["signature"], domain=request.get_host())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, gettext('Wallet %(address)s is linked to your account.') %
                {"address": wallet.address})
            return redirect("compliance:wallets")
        challenge.refresh_from_db()
    spent = challenge.used_at is not None or challenge.expires_at <= timezone.now()
    return render(request, "compliance/wallet_verify.html", {"form": form, "challenge": challenge, "spent": spent})


@investor_only
def kyc(request):
    profile = selectors.investor_profile(user=request.user)
    if profile is None or not profile.is_complete:
        messages.info(request, gettext("Complete your investor profile first."))
        return redirect("compliance:profile")
    case = selectors.current_case(user=request.user)
    form = DocumentUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        try:
            if case is None or case.status not in services.OPEN_STATES:
                case = services.kyc_case_open(actor=request.user)
            if form.is_valid():
                services.kyc_document_upload(actor=request.user, case=case, kind=form.cleaned_data["kind"],
                                             uploaded_file=form.cleaned_data["file"])
                messages.success(request, gettext('%(dict)s uploaded.') % {"dict": dict(
                    KycDocument.Kind.choices)[form.cleaned_data['kind']]})
                return redirect("compliance:kyc")
        except ApplicationError as exc:
            add_application_error(form, exc)
    return render(request, "compliance/kyc.html", {
        "form": form, "case": case, "profile": profile,
        "editable": case is None or case.status in (KycCase.Status.DRAFT, KycCase.Status.NEEDS_MORE_INFO)
        or case.status in (KycCase.Status.REJECTED, KycCase.Status.EXPIRED, KycCase.Status.REVOKED),
    })


@investor_only
@require_POST
def kyc_submit(request):
    case = selectors.current_case(user=request.user)
    try:
        if case is None:
            raise ApplicationError("documents_missing", gettext("Upload your documents first."))
        services.kyc_case_submit(actor=request.user, case=case)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("compliance:kyc")
    messages.success(request, gettext("Your KYC case is submitted. A compliance officer will review it."))
    return redirect("compliance:onboarding")


@investor_only
@require_POST
def erasure(request):
    form = ErasureForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Tick the box to confirm the erasure request."))
        return redirect("compliance:onboarding")
    try:
        profile = services.erasure_request(actor=request.user, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Erasure requested. Your data is restricted now and will be deleted on "
                                  f"{profile.purge_after:%Y-%m-%d}, when our legal retention duty ends.")
    return redirect("compliance:onboarding")


@xframe_options_sameorigin
def document_view(request, pk: int):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    doc = selectors.document_get_for_user(user=request.user, document_id=pk)
    try:
        data = services.kyc_document_read(actor=request.user, document=doc)
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    resp = HttpResponse(data, content_type=doc.content_type)
    ext = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}[doc.content_type]
    resp["Content-Disposition"] = f'inline; filename="{doc.kind}-{doc.pk}.{ext}"'
    resp["Cache-Control"] = "private, no-store"
    return resp


# ------------------------------------------------------------------ officers

@officer_only
def queue(request):
    form = QueueFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    failing = selectors.profiles_with_registry_failures()
    cases = selectors.review_queue(**{k: v for k, v in filters.items() if v}, failing=failing)
    return render(request, "compliance/queue.html", {"form": form, "cases": cases[:200], "failing": failing})


@officer_only
def case_detail(request, pk: int):
    case = selectors.case_get_for_user(user=request.user, case_id=pk)
    return render(request, "compliance/case.html", {
        "case": case, "profile": case.profile, "documents": case.documents.all(), "hits": case.hits.all(),
        "decisions": case.decisions.all(), "factors": selectors.risk_factors(case),
        "decision_form": DecisionForm(), "hit_form": HitClearForm(),
        "own_case": case.profile.user_id == request.user.pk,
        "on_hold": case.status == KycCase.Status.APPROVED and case.open_hits.exists(),
        "wallet_rows": _wallet_rows(case.profile, live=False),
        "registry_failures": selectors.registry_failures(profile=case.profile),
    })


ACTIONS = {
    "start-review": (lambda actor, case, reason: services.kyc_case_start_review(actor=actor, case=case),
                     "Review started."),
    "approve": (lambda actor, case, reason: services.kyc_case_approve(actor=actor, case=case, reason=reason), None),
    "reject": (lambda actor, case, reason: services.kyc_case_reject(actor=actor, case=case, reason=reason),
               "Case rejected."),
    "request-info": (lambda actor, case, reason: services.kyc_case_request_info(actor=actor, case=case,
                                                                                reason=reason),
                     "More information requested from the investor."),
    "revoke": (lambda actor, case, reason: services.kyc_case_revoke(actor=actor, case=case, reason=reason),
               "Approval revoked; the wallets are being removed from the registry."),
    "resync": (lambda actor, case, reason: services.investor_registry_resync(actor=actor, profile=case.profile),
               "Registry writes queued again to match the investor's KYC state."),
}


@officer_only
@require_POST
def case_action(request, pk: int, action: str):
    case = selectors.case_get_for_user(user=request.user, case_id=pk)
    if action not in ACTIONS:
        return HttpResponse(status=404)
    fn, done = ACTIONS[action]
    form = DecisionForm(request.POST)
    reason = form.data.get("reason", "")
    try:
        case = fn(request.user, case, reason)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if action == "approve":
            done = ("Case approved; the investor's wallets are being registered on chain."
                    if case.status == KycCase.Status.APPROVED
                    else "First approval recorded. This high-risk case needs a second officer to approve.")
        messages.success(request, done)
    return redirect("compliance:case", pk=pk)


@officer_only
@require_POST
def hit_clear(request, pk: int):
    hit = get_object_or_404(ScreeningHit, pk=pk)
    form = HitClearForm(request.POST)
    try:
        services.screening_hit_clear(actor=request.user, hit=hit, reason=form.data.get("reason", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext('Hit on %(entry_name)s cleared.') % {"entry_name": hit.entry_name})
    return redirect("compliance:case", pk=hit.case_id)


@officer_only
def case_export(request, pk: int):
    case = selectors.case_get_for_user(user=request.user, case_id=pk)
    pdf = services.kyc_case_export_pdf(actor=request.user, case=case)
    resp = HttpResponse(pdf, content_type="application/pdf")
    resp["Content-Disposition"] = f'attachment; filename="kyc-case-{case.pk}.pdf"'
    return resp
