"""Telling each person when a device waits on them: appraisers when it is submitted, inspectors
when it is appraised, the clinic when changes are requested, when it is appraised, certified or
fails its inspection (a stale QA test said as such). One notice per event and person (the event
key), in the recipient's language (the texts are lazy: notify() renders them for each recipient),
emailed where their preferences say so. Called inside the service's transaction: a rolled-back
change tells nobody."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from assets.models import Appraisal, Certification, Device
from core.money import format_money
from core.roles import CLINIC_ROLES, Role
from notifications.models import Category
from notifications.services import notify, notify_organization, staff_members

CATEGORY = Category.DEVICE_REVIEWS

# Money and dates are formatted when the notice is rendered, in the recipient's language.
_money = lazy(format_money, str)


def _date(value: dt.date) -> str:
    return value.isoformat()


def _url(device: Device) -> str:
    return reverse("assets:device-detail", args=[device.pk])


def _stamp(value: dt.datetime | None) -> str:
    return value.strftime("%Y%m%dT%H%M%S%f") if value else "0"


def _tell_clinic(device: Device, *, event_key: str, title, body) -> int:
    # Admins and staff: either may edit, resubmit and follow the device.
    return notify_organization(organization_id=device.organization_id, category=CATEGORY, event_key=event_key,
                               title=title, body=body, url=_url(device), roles=sorted(CLINIC_ROLES))


def _tell_reviewers(device: Device, *, role: str, event_key: str, title, body, url: str,
                    exclude_user_ids=()) -> int:
    """Every appraiser (or inspector) who may act on this device: none of the owning clinic's
    members, and not whoever the separation of duties rules out."""
    people = (staff_members(roles=[role]).exclude(memberships__organization_id=device.organization_id)
              .exclude(pk__in=[pk for pk in exclude_user_ids if pk]))
    return sum(notify(recipient=u, category=CATEGORY, event_key=event_key, title=title, body=body, url=url)
               is not None for u in people)


def device_submitted(device: Device) -> int:
    return _tell_reviewers(
        device, role=Role.APPRAISER, event_key=f"assets.device:{device.pk}:submitted:{_stamp(device.submitted_at)}",
        title=format_lazy(gettext_lazy("{device} waits for appraisal"), device=device),
        body=format_lazy(gettext_lazy("{clinic} submitted this device for appraisal. Value it with the cost, "
                                      "market and income approaches and sign the appraisal; an inspector "
                                      "certifies it next."), clinic=device.organization.name),
        url=reverse("assets:appraise", args=[device.pk]))


def changes_requested(device: Device, *, reason: str) -> int:
    return _tell_clinic(
        device, event_key=f"assets.device:{device.pk}:changes_requested:{_stamp(device.updated_at)}",
        title=format_lazy(gettext_lazy("Changes requested for {device}"), device=device),
        body=format_lazy(gettext_lazy("A reviewer asked for changes: {reason}\nEdit the device (add files if "
                                      "asked) and submit it again for appraisal."), reason=reason))


def appraised(appraisal: Appraisal, *, newly_appraised: bool) -> int:
    """The clinic hears of every signed appraisal; inspectors only when the device starts
    waiting for its inspection (a re-appraisal of a device already waiting tells them nothing new)."""
    device = appraisal.device
    value = _money(appraisal.reconciled_value, appraisal.currency)
    told = _tell_clinic(
        device, event_key=f"assets.appraisal:{appraisal.pk}:signed",
        title=format_lazy(gettext_lazy("{device} was appraised"), device=device),
        body=format_lazy(gettext_lazy("The signed appraisal values it at {value} (effective {date}); the report "
                                      "is on the device's page. An inspector inspects and certifies it next."),
                         value=value, date=_date(appraisal.effective_date)))
    if newly_appraised:
        told += _tell_reviewers(
            device, role=Role.INSPECTOR, event_key=f"assets.appraisal:{appraisal.pk}:inspect",
            title=format_lazy(gettext_lazy("{device} waits for inspection"), device=device),
            body=format_lazy(gettext_lazy("It was appraised at {value}. Inspect it and record the checklist to "
                                          "certify it."), value=value),
            url=reverse("assets:inspect", args=[device.pk]), exclude_user_ids=[appraisal.appraiser_id])
    return told


def inspected(cert: Certification, *, qa_months: int, qa_stale: bool) -> int:
    """Certified, or failed (with the findings); a failure caused by the QA test's date says
    that a new QA test is what the clinic needs to arrange."""
    device = cert.device
    key = f"assets.certification:{cert.public_id}"
    if cert.passed:
        return _tell_clinic(
            device, event_key=f"{key}:certified",
            title=format_lazy(gettext_lazy("{device} is certified"), device=device),
            body=gettext_lazy("The inspection passed and the certificate is issued, with a public verification "
                              "page; its hashes are being anchored on chain. An offering can now be prepared for "
                              "the device."))
    # Item labels are stored in English (assets.services.CHECKLIST) and shown translated.
    parts = [format_lazy("{label}: {notes}", label=gettext_lazy(i["label"]), notes=i["notes"])
             for i in cert.checklist if not i["passed"]]
    findings = format_lazy("; ".join(["{}"] * len(parts)), *parts)
    if qa_stale:
        last = cert.qa_calibration_date
        return _tell_clinic(
            device, event_key=f"{key}:failed",
            title=format_lazy(gettext_lazy("{device} needs a new QA test"), device=device),
            body=format_lazy(
                gettext_lazy("The inspection failed because the last QA / calibration test ({date}) is older than "
                             "the {months} months the rule allows. Have the device tested, add the QA report to "
                             "the device and submit it again; it is then appraised and inspected again.\n"
                             "Findings: {findings}"),
                date=_date(last) if last else "—", months=qa_months, findings=findings))
    return _tell_clinic(
        device, event_key=f"{key}:failed",
        title=format_lazy(gettext_lazy("{device} failed its inspection"), device=device),
        body=format_lazy(gettext_lazy("The inspector found: {findings}\nFix these and submit the device again; it "
                                      "is then appraised and inspected again."), findings=findings))
