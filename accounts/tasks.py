"""Celery tasks for account emails: the welcome email (sent once) and the clinic team invitation."""

from celery import shared_task
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext

from accounts.models import Membership, User


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def user_welcome_send(self, user_id: int) -> None:
    """Send the welcome email once: the user row, not the task id, records that it went."""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first()
        if user is None or user.welcome_sent_at is not None:
            return
        # In the language the user chose (the worker has no request to take it from).
        with translation.override(user.language or settings.LANGUAGE_CODE):
            send_mail(
                gettext("Welcome to MedRWA"),
                gettext("Hello %(name)s,\n\nYour MedRWA account is ready: %(url)s\n") % {
                    "name": user.get_short_name(), "url": f"{settings.SITE_URL}/dashboard/"},
                settings.DEFAULT_FROM_EMAIL,
                [user.email],
            )
        user.welcome_sent_at = timezone.now()
        user.save(update_fields=["welcome_sent_at"])


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def clinic_invite_send(self, membership_id: int, new_account: bool) -> None:
    """Tell someone they joined a clinic; a new account gets a one-time link to set a password."""
    m = Membership.objects.select_related("user", "organization").filter(pk=membership_id).first()
    if m is None:
        return
    user = m.user
    with translation.override(user.language or settings.LANGUAGE_CODE):
        _send_invite(m, user, new_account)


def _send_invite(m, user, new_account: bool) -> None:
    names = {"clinic": m.organization.name, "role": m.get_role_display()}
    if new_account:
        link = settings.SITE_URL.rstrip("/") + reverse("accounts:password-reset-confirm", kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        })
        body = gettext("%(clinic)s added you to its MedRWA team as %(role)s.\n\n"
                       "Choose your password here (the link works once):\n%(link)s\n") % {**names, "link": link}
    else:
        body = gettext("%(clinic)s added you to its MedRWA team as %(role)s.\n"
                       "Log in as usual: %(url)s\n") % {**names, "url": f"{settings.SITE_URL}/dashboard/"}
    send_mail(gettext("You joined %(clinic)s on MedRWA") % names, body, settings.DEFAULT_FROM_EMAIL, [user.email])
