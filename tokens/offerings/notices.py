"""Telling each person when an offering waits on them: the clinic's administrators when their
consent is needed (a new offering, changed terms); platform admins when the clinic consented or
the pricing exception the deployment waited on was accepted (the deployment is theirs), and when
a deployment failed; a compliance officer other than the price's author when the pricing needs an
exception accepted; the other compliance officers when an agent action waits for their
confirmation. One notice per event and person (the event key), in the recipient's language (the
texts are lazy: notify() renders them for each recipient; times in their own zone), emailed where
their preferences say so. Called inside the service's transaction: a rolled-back change tells
nobody."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from core.money import format_money
from core.permissions import Role
from core.timefmt import local
from notifications.models import Category
from notifications.services import notify, notify_organization, staff_members
from tokens.models import AgentAction, Offering

CATEGORY = Category.OFFERINGS

# Money is formatted when the notice is rendered, in the recipient's language.
_money = lazy(format_money, str)


def _stamp(value: dt.datetime | None) -> str:
    return value.strftime("%Y%m%dT%H%M%S%f") if value else "0"


def _url(offering: Offering) -> str:
    return reverse("tokens:offering-detail", args=[offering.pk])


def _tell(people, *, category: str = CATEGORY, event_key: str, title, body, url: str) -> int:
    return sum(notify(recipient=u, category=category, event_key=event_key, title=title, body=body, url=url)
               is not None for u in people)


def consent_needed(offering: Offering, *, terms_changed: bool = False) -> int:
    """The device's clinic administrators: the platform proposes (new) terms; nothing is deployed
    until one of them consents."""
    device = offering.device
    values = {"device": device, "units": offering.units, "symbol": offering.token_symbol,
              "name": offering.token_name, "price": _money(offering.price_per_unit, offering.currency),
              "share": f"{offering.revenue_share_pct}%"}  # the sign in the value: "{share}% of" reads as %-format
    if terms_changed:
        title = format_lazy(gettext_lazy("The offering's terms for {device} changed: consent again"), **values)
        body = format_lazy(gettext_lazy(
            "The platform changed the terms of {name} ({symbol}): {units} units at {price} each, {share} of gross "
            "revenue to holders. Your earlier consent no longer applies; read the new terms and consent if your "
            "clinic agrees. Nothing is deployed until then."), **values)
    else:
        title = format_lazy(gettext_lazy("Your consent is needed to tokenize {device}"), **values)
        body = format_lazy(gettext_lazy(
            "The platform proposes {name} ({symbol}): {units} units at {price} each, {share} of gross revenue to "
            "holders. Read the terms on the offering page and consent if your clinic agrees. Nothing is deployed "
            "until then."), **values)
    return notify_organization(
        organization_id=device.organization_id, category=CATEGORY, title=title, body=body, url=_url(offering),
        event_key=f"tokens.offering:{offering.pk}:consent_needed:{_stamp(offering.updated_at)}",
        roles=[Role.CLINIC_ADMIN])


def consent_given(offering: Offering, *, pricing_exception: bool) -> int:
    """Platform admins deploy once the clinic consented; with the pricing outside the bands, a
    second person (not whoever set the price) must accept the exception first, and hears of it."""
    device = offering.device
    values = {"clinic": device.organization.name, "device": device, "symbol": offering.token_symbol}
    title = format_lazy(gettext_lazy("{clinic} consented: deploy {symbol}"), **values)
    if pricing_exception:
        body = format_lazy(gettext_lazy(
            "{clinic} consented to tokenizing {device}. Its pricing is outside the platform's bands: a platform "
            "admin or compliance officer other than the one who set the price must accept the exception before "
            "the token can be deployed from the offering page."), **values)
    else:
        body = format_lazy(gettext_lazy(
            "{clinic} consented to tokenizing {device}. The token can now be deployed from the offering page."),
            **values)
    key = f"tokens.offering:{offering.pk}:consented:{_stamp(offering.consent_at)}"
    told = _tell(staff_members(roles=[Role.PLATFORM_ADMIN]), event_key=key, title=title, body=body,
                 url=_url(offering))
    if pricing_exception:
        # Whoever set the price may not accept it: they are told above (if an admin), not asked.
        acceptors = staff_members(roles=[Role.COMPLIANCE_OFFICER]).exclude(
            pk__in=[pk for pk in (offering.pricing_set_by_id, offering.created_by_id) if pk])
        told += _tell(
            acceptors, event_key=f"{key}:pricing",
            title=format_lazy(gettext_lazy("{symbol}: a pricing exception waits for your review"), **values),
            body=format_lazy(gettext_lazy(
                "{clinic} consented to tokenizing {device}, whose pricing is outside the platform's bands. Review "
                "the figures on the offering page and accept the exception in writing if it is justified; the "
                "token cannot be deployed before."), **values),
            url=_url(offering))
    return told


def pricing_accepted(offering: Offering, *, by) -> int:
    """Platform admins: the clinic had consented and the deployment waited on the pricing
    exception, which a second person has now accepted."""
    values = {"symbol": offering.token_symbol, "device": offering.device, "person": by.email}
    return _tell(
        staff_members(roles=[Role.PLATFORM_ADMIN]),
        event_key=f"tokens.offering:{offering.pk}:pricing_accepted:{_stamp(offering.pricing_accepted_at)}",
        title=format_lazy(gettext_lazy("Pricing of {symbol} accepted: deploy it"), **values),
        body=format_lazy(gettext_lazy(
            "{person} accepted the pricing exception of {device} in writing, and the clinic has consented. The "
            "token can now be deployed from the offering page."), **values),
        url=_url(offering))


def deploy_failed(offering: Offering) -> int:
    """Platform admins: the deployment (or the anchoring after it) failed; they deploy again."""
    values = {"symbol": offering.token_symbol, "device": offering.device, "error": offering.error[:300]}
    return _tell(
        staff_members(roles=[Role.PLATFORM_ADMIN]),
        event_key=f"tokens.offering:{offering.pk}:failed:{offering.deploy_attempt}",
        title=format_lazy(gettext_lazy("Deploying {symbol} failed"), **values),
        body=format_lazy(gettext_lazy(
            "The token of {device} was not deployed: {error}\nFix the cause and deploy again from the offering "
            "page."), **values),
        url=_url(offering))


def confirmation_needed(action: AgentAction, *, confirm_by: dt.datetime) -> int:
    """Every compliance officer but the requester: a held forced transfer or recovery waits for a
    second officer, who must confirm or reject it before it expires."""
    offering = action.offering
    url = reverse("tokens:agent-actions", args=[offering.pk])
    told = 0
    for officer in staff_members(roles=[Role.COMPLIANCE_OFFICER]).exclude(pk=action.actor_id):
        values = {"kind": action.get_kind_display(), "symbol": offering.token_symbol,
                  "units": action.units if action.units is not None else "?", "requester": action.actor.email,
                  "reason": action.reason, "deadline": local(confirm_by, officer)}
        told += notify(
            recipient=officer, category=Category.KYC, event_key=f"tokens.agent_action:{action.pk}:confirm",
            title=format_lazy(gettext_lazy("{kind} on {symbol} waits for your confirmation"), **values),
            body=format_lazy(gettext_lazy(
                "{requester} requested “{kind}” for {units} units of {symbol} (reason: {reason}). A "
                "second compliance officer must confirm or reject it by {deadline}; after that it expires and "
                "nothing is sent."), **values),
            url=url) is not None
    return told
