from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def user_welcome_send(self, user_id: int) -> None:
    """Send the welcome email once: the user row, not the task id, records that it went."""
    from accounts.models import User

    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first()
        if user is None or user.welcome_sent_at is not None:
            return
        send_mail(
            "Welcome to MedRWA",
            f"Hello {user.get_short_name()},\n\nYour MedRWA account is ready: {settings.SITE_URL}/dashboard/\n",
            settings.DEFAULT_FROM_EMAIL,
            [user.email],
        )
        user.welcome_sent_at = timezone.now()
        user.save(update_fields=["welcome_sent_at"])


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def clinic_invite_send(self, membership_id: int, new_account: bool) -> None:
    """Tell someone they joined a clinic; a new account gets a one-time link to set a password."""
    from django.contrib.auth.tokens import default_token_generator
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from accounts.models import Membership

    m = Membership.objects.select_related("user", "organization").filter(pk=membership_id).first()
    if m is None:
        return
    user = m.user
    if new_account:
        link = settings.SITE_URL.rstrip("/") + reverse("accounts:password-reset-confirm", kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        })
        body = (f"{m.organization.name} added you to its MedRWA team as {m.get_role_display()}.\n\n"
                f"Choose your password here (the link works once):\n{link}\n")
    else:
        body = (f"{m.organization.name} added you to its MedRWA team as {m.get_role_display()}.\n"
                f"Log in as usual: {settings.SITE_URL}/dashboard/\n")
    send_mail(f"You joined {m.organization.name} on MedRWA", body, settings.DEFAULT_FROM_EMAIL, [user.email])
