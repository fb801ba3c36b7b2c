from django.db import migrations, models


class Migration(migrations.Migration):
    """Outbox senders may be "wallet:<address>" (a custodial wallet's key from a key provider)."""

    dependencies = [
        ("chain", "0002_outbox_after"),
    ]

    operations = [
        migrations.AlterField(
            model_name="chaintransaction",
            name="sender",
            field=models.CharField(default="agent", max_length=60),
        ),
    ]
