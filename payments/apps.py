"""The payments app's wiring: refuses play-money payments on a real chain in every process."""

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        from django.conf import settings

        from payments import guard

        # Here rather than as a system check: checks do not run under gunicorn or a Celery
        # worker, can be silenced (SILENCED_SYSTEM_CHECKS) or skipped (--skip-checks), while
        # ready() runs in every process that starts Django, whatever settings module it names.
        guard.refuse_play_money_on_real_chain(settings)
