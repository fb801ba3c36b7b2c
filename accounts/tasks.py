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
