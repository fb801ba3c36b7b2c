"""Offerings' pages: offerings, their consent and deployment, officers' token actions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.forms import add_application_error
from core.permissions import Role, role_required, user_clinic_ids, user_has_role
from tokens import economics, ledger
from tokens.models import AgentActionState, OfferingStatus
from tokens.offerings import agent_confirmations, selectors, services
from tokens.offerings.forms import AgentActionForm, ConsentForm, OfferingForm, OfferingTermsForm, PricingAcceptForm


@role_required(Role.PLATFORM_ADMIN, Role.CLINIC_ADMIN, Role.COMPLIANCE_OFFICER)
def offering_list(request):
    return render(request, "tokens/offering_list.html", {
        "offerings": selectors.offering_list_for_user(user=request.user),
        "can_create": user_has_role(request.user, Role.PLATFORM_ADMIN),
        "ready": selectors.devices_ready_to_tokenize().count(),
    })


def _preview(device, data: dict) -> economics.PricingCheck | None:
    """The pricing figures of terms not saved yet (the form's "Check the price")."""
    try:
        return economics.pricing_check(device=device, pricing=economics.Pricing.from_data(data))
    except (ArithmeticError, ValueError, TypeError):
        return None


@role_required(Role.PLATFORM_ADMIN)
def offering_create(request):
    form = OfferingForm(request.POST or None, initial={"currency": "USD"})
    pricing = None
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        device = data.pop("device")
        pricing = _preview(device, data)
        if "preview" not in request.POST:
            try:
                offering = services.offering_create(actor=request.user, device=device, data=data)
            except ApplicationError as exc:
                add_application_error(form, exc)
            else:
                messages.success(request, gettext("Offering created. The clinic's administrator must now consent."))
                return redirect("tokens:offering-detail", pk=offering.pk)
    return render(request, "tokens/offering_form.html", {"form": form, "pricing": pricing})


@role_required(Role.PLATFORM_ADMIN)
def offering_edit(request, pk):
    """Change the price, units or terms before deployment: the clinic consents again and an
    accepted pricing exception is cleared."""
    offering = selectors.offering_get_for_user(user=request.user, offering_id=pk)
    initial = {k: getattr(offering, k) for k in services.OFFERING_FIELDS}
    initial["allowed_countries"] = ", ".join(str(c) for c in offering.allowed_countries)
    form = OfferingTermsForm(request.POST or None, initial=initial)
    pricing = economics.offering_pricing(offering)
    if request.method == "POST" and form.is_valid():
        pricing = _preview(offering.device, dict(form.cleaned_data))
        if "preview" not in request.POST:
            try:
                services.offering_update_terms(actor=request.user, offering=offering, data=dict(form.cleaned_data))
            except ApplicationError as exc:
                add_application_error(form, exc)
            else:
                messages.success(request, gettext("Terms changed. The clinic's administrator must consent again."))
                return redirect("tokens:offering-detail", pk=offering.pk)
    return render(request, "tokens/offering_form.html", {"form": form, "pricing": pricing, "offering": offering})


def _detail_context(request, offering):
    user = request.user
    return {
        "offering": offering,
        "table": ledger.cap_table(offering=offering),
        "events": selectors.token_events(offering=offering),
        "contracts": selectors.shared_contracts(offering=offering),
        "transactions": selectors.offering_transactions(offering=offering),
        "can_deploy": user_has_role(user, Role.PLATFORM_ADMIN) and offering.consent_at is not None
        and offering.status in ("consented", "failed"),
        "can_consent": offering.status == "draft"
        and offering.device.organization_id in user_clinic_ids(user, roles={Role.CLINIC_ADMIN}),
        "is_officer": user_has_role(user, Role.COMPLIANCE_OFFICER),
        "consent_form": ConsentForm(),
    }


def _pricing_context(request, offering) -> dict:
    user = request.user
    pricing = economics.offering_pricing(offering)
    accepted = economics.acceptance(offering, pricing)
    open_terms = offering.status in (OfferingStatus.DRAFT, OfferingStatus.CONSENTED, OfferingStatus.FAILED)
    return {
        "pricing": pricing, "acceptance": accepted,
        "pricing_blocks": not pricing.in_band and not (accepted and accepted["covers"]),
        "can_accept_pricing": open_terms and not pricing.in_band and not (accepted and accepted["covers"])
        and user_has_role(user, *services.PRICING_ACCEPTOR_ROLES)
        and user.pk not in (offering.pricing_author_id, offering.created_by_id),
        "is_pricing_author": user.pk in (offering.pricing_author_id, offering.created_by_id),
        "can_edit": open_terms and user_has_role(user, Role.PLATFORM_ADMIN),
        "accept_form": PricingAcceptForm(),
    }


@login_required
def offering_detail(request, pk):
    offering = selectors.offering_get_for_user(user=request.user, offering_id=pk)
    return render(request, "tokens/offering_detail.html", {
        **_detail_context(request, offering), **_pricing_context(request, offering)})


@role_required(*services.PRICING_ACCEPTOR_ROLES)
@require_POST
def offering_accept_pricing(request, pk):
    """A second person accepts pricing outside the bands, with a written reason."""
    offering = selectors.offering_get_for_user(user=request.user, offering_id=pk)
    form = PricingAcceptForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Say why this pricing is acceptable."))
        return redirect("tokens:offering-detail", pk=pk)
    try:
        services.offering_accept_pricing(actor=request.user, offering=offering, reason=form.cleaned_data["reason"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Pricing exception accepted. The token can be deployed."))
    return redirect("tokens:offering-detail", pk=pk)


@login_required
def offering_status(request, pk):
    """htmx fragment: token state and outbox transactions, polled while something is pending."""
    offering = selectors.offering_get_for_user(user=request.user, offering_id=pk)
    return render(request, "tokens/_offering_status.html", _detail_context(request, offering))


@login_required
@require_POST
def offering_consent(request, pk):
    offering = selectors.offering_get_for_user(user=request.user, offering_id=pk)
    form = ConsentForm(request.POST)
    form.is_valid()
    try:
        services.offering_record_consent(actor=request.user, offering=offering,
                                         statement=form.cleaned_data.get("statement", ""))
    except ApplicationError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Consent recorded."))
    return redirect("tokens:offering-detail", pk=pk)


@role_required(Role.PLATFORM_ADMIN)
@require_POST
def offering_deploy(request, pk):
    offering = selectors.offering_get_for_user(user=request.user, offering_id=pk)
    try:
        services.offering_deploy(actor=request.user, offering=offering)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Deployment queued. The page updates as the transaction confirms."))
    return redirect("tokens:offering-detail", pk=pk)


@role_required(Role.COMPLIANCE_OFFICER)
def agent_home(request):
    return render(request, "tokens/agent_home.html", {"offerings": selectors.live_offerings()})


@role_required(Role.COMPLIANCE_OFFICER)
def agent_actions(request, pk):
    offering = selectors.offering_get_for_user(user=request.user, offering_id=pk)
    form = AgentActionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            action = services.agent_action_request(
                actor=request.user, offering=offering, kind=d["kind"], reason=d["reason"],
                wallet=d["wallet"].strip(), to_wallet=d["to_wallet"].strip(), amount=d["amount"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, gettext("Action submitted to the chain.") if action.chain_tx_id else
                             gettext("%(units)s units: a second compliance officer must confirm this action before "
                                     "it is sent.") % {"units": action.units if action.units is not None
                                                       else gettext("Unknown number of")})
            return redirect("tokens:agent-actions", pk=pk)
    actions = _with_deadlines(selectors.offering_agent_actions(offering=offering), request.user)
    return render(request, "tokens/agent_actions.html", {
        "offering": offering, "form": form, "actions": actions, "polling": _polling(actions),
        "table": ledger.cap_table(offering=offering)})


def _polling(actions) -> bool:
    return any(a.chain_tx is not None and not a.chain_tx.is_final for a in actions)


def _with_deadlines(actions, user):
    """Held actions show until when a second officer may confirm them (then they expire), and
    only to an officer who may confirm them (never the requester) a Confirm button."""

    for a in actions:
        if a.state == AgentActionState.AWAITING_CONFIRMATION:
            a.confirm_by, a.expired = agent_confirmations.confirm_by(a), agent_confirmations.is_expired(a)
            a.requested_by_me = a.actor_id == user.pk
    return actions


@role_required(Role.COMPLIANCE_OFFICER)
@require_POST
def agent_action_decide(request, action_id, decision):
    """A second officer confirms (sends) or rejects a forced transfer / recovery on hold."""

    action = selectors.agent_action_get(action_id=action_id)
    reason = request.POST.get("reason", "")
    try:
        if decision == "confirm":
            agent_confirmations.agent_action_confirm(actor=request.user, action=action, reason=reason)
            messages.success(request, gettext("Action confirmed and submitted to the chain."))
        elif decision == "reject":
            agent_confirmations.agent_action_reject(actor=request.user, action=action, reason=reason)
            messages.success(request, gettext("Action rejected; nothing was sent."))
        else:
            raise PermissionDenied
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("tokens:agent-actions", pk=action.offering_id)


@role_required(Role.COMPLIANCE_OFFICER)
def agent_actions_status(request, pk):
    offering = selectors.offering_get_for_user(user=request.user, offering_id=pk)
    actions = _with_deadlines(selectors.offering_agent_actions(offering=offering), request.user)
    return render(request, "tokens/_agent_actions_table.html", {
        "offering": offering, "actions": actions, "polling": _polling(actions)})


# --------------------------------------------------------------------- investors
