import secrets

from django.db import migrations, models

import assets.models


def fill_public_refs(apps, schema_editor):
    # Existing devices get their own random reference (a callable default would give every
    # existing row the same value, which the unique constraint refuses).
    Device = apps.get_model("assets", "Device")
    for pk in Device.objects.filter(public_ref__isnull=True).values_list("pk", flat=True):
        Device.objects.filter(pk=pk).update(public_ref=secrets.token_urlsafe(16))


class Migration(migrations.Migration):

    dependencies = [
        ("assets", "0002_review_files_appraisal_certification"),
    ]

    operations = [
        migrations.AddField(
            model_name="device",
            name="public_ref",
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.RunPython(fill_public_refs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="device",
            name="public_ref",
            field=models.CharField(default=assets.models.new_public_ref, editable=False, max_length=32,
                                   unique=True),
        ),
        migrations.AddField(
            model_name="device",
            name="chain_anchor_id",
            field=models.CharField(blank=True, max_length=66),
        ),
        migrations.AddField(
            model_name="device",
            name="anchor_status",
            field=models.CharField(blank=True, choices=[("", "Not anchored"), ("pending", "Anchoring"),
                                                        ("anchored", "Anchored"), ("failed", "Anchoring failed")],
                                   default="", max_length=10),
        ),
        migrations.AddField(
            model_name="device",
            name="anchor_attempt",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="device",
            name="anchor_certificate_sha256",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="device",
            name="anchor_appraisal_sha256",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="device",
            name="anchor_tx_hash",
            field=models.CharField(blank=True, max_length=66),
        ),
        migrations.AddField(
            model_name="device",
            name="anchor_block_number",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="device",
            name="anchor_error",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="device",
            name="anchored_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
