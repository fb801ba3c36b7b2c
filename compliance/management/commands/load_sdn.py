"""`manage.py load_sdn PATH`: load the OFAC SDN list from its official files and re-screen cases."""

from django.core.management.base import BaseCommand, CommandError

from compliance import services


class Command(BaseCommand):
    help = ("Load the OFAC SDN list from its official files (SDN.xml, or sdn.csv with alt.csv/add.csv "
            "beside it; a folder holding them also works), replace the stored list, and re-screen "
            "open and approved KYC cases.")

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path, **options):
        try:
            load = services.sanctions_load(actor=None, path=path)
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Loaded {load.entry_count} SDN entries ({load.file_format}, sha256 {load.sha256[:12]}…)."))
