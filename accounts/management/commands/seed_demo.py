"""`manage.py seed_demo`: one demo user per role, then every app's demo seeder; prints the logins."""

from django.core.management.base import BaseCommand

from accounts import demo
from core.registry import SEEDERS


class Command(BaseCommand):
    help = "Create demo data (idempotent): one user per role, then each app's demo seeder."

    def handle(self, *args, **options):
        rows = demo.seed(self.stdout)
        for _, seeder in SEEDERS:
            seeder(self.stdout)
        self.stdout.write(self.style.SUCCESS("\nDemo logins (local demo only):"))
        width = max(len(r[0]) for r in rows)
        for role, email, password in rows:
            self.stdout.write(f"  {role:<{width}}  {email:<36}  {password}")
