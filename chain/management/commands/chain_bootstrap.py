"""`manage.py chain_bootstrap`: deploy the shared contracts (idempotent) on a reachable node."""

from django.core.management.base import BaseCommand, CommandError

from chain import gateway
from chain.bootstrap import bootstrap
from core.errors import ApplicationError


class Command(BaseCommand):
    help = "Deploy the shared contracts (idempotent) and grant the agent role to the agent key."

    def handle(self, *args, **options):
        if not gateway.is_available():
            raise CommandError("The chain node at CHAIN_RPC_URL is not reachable (start it with `make chain`).")
        try:
            bootstrap(stdout=self.stdout)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
