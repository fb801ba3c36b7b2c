"""Re-encrypt every encrypted value under the newest FIELD_ENCRYPTION_KEYS key (the first).

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run this command, then remove the old keys. Values already under the newest key are skipped,
so an interrupted run can simply be repeated."""

from django.apps import apps
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core import crypto
from core.services import audit


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field and file under the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be re-encrypted; change nothing.")

    def handle(self, *args, dry_run=False, **options):
        totals, failures = {}, []
        for label, field, kind in crypto.ENCRYPTED_FIELDS:
            model = apps.get_model(label)
            done = 0
            for pk in model.objects.exclude(**{field: ""}).values_list("pk", flat=True).iterator():
                try:
                    done += self._rotate(model, pk, field, kind, dry_run=dry_run)
                except ValueError as exc:
                    failures.append(f"{label} #{pk}.{field}: {exc}")
            totals[f"{label}.{field}"] = done
            self.stdout.write(f"{label}.{field}: {done} {'to re-encrypt' if dry_run else 're-encrypted'}")
        if not dry_run:
            audit(actor=None, action="core.encryption_keys_rotated",
                  after={"reencrypted": totals, "failures": len(failures)})
        if failures:
            raise CommandError("Could not decrypt with any configured key:\n" + "\n".join(failures))

    @staticmethod
    def _rotate(model, pk, field, kind, *, dry_run: bool) -> int:
        with transaction.atomic():
            row = model.objects.select_for_update().get(pk=pk)
            if kind == "text":
                token = getattr(row, field).encode()
                if crypto.is_current(token):
                    return 0
                new = crypto.rotate_bytes(token)
                if not dry_run:
                    model.objects.filter(pk=pk).update(**{field: new.decode()})
                return 1
            f = getattr(row, field)
            with f.storage.open(f.name, "rb") as fh:
                token = fh.read()
            if crypto.is_current(token):
                return 0
            new = crypto.rotate_bytes(token)
            if not dry_run:
                # Write the new copy first, point the row at it, and only then remove the old
                # one: a crash in between leaves a readable document (KYC files must be kept).
                old = f.name
                saved = f.storage.save(old, ContentFile(new))  # a fresh name: the old file still exists
                model.objects.filter(pk=pk).update(**{field: saved})
                transaction.on_commit(lambda: f.storage.delete(old))
            return 1
