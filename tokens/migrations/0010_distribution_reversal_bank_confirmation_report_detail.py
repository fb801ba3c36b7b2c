# Issue 15: a reversed clinic card payment is a durable flag; bank transfers need a second
# admin's confirmation; the detailed usage behind a public report; one deposit in flight per token.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tokens', '0009_market_card_cancelled'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='distribution',
            name='bank_amount',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=16, null=True),
        ),
        migrations.AddField(
            model_name='distribution',
            name='bank_confirmed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='distribution',
            name='bank_confirmed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='distribution',
            name='bank_reference',
            field=models.CharField(blank=True, max_length=120),
        ),
        migrations.AddField(
            model_name='distribution',
            name='payment_reversal',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='distribution',
            name='payment_reversed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='distribution',
            name='recorded_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='distribution',
            name='report_detail',
            field=models.TextField(blank=True),
        ),
        migrations.AddConstraint(
            model_name='distribution',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'depositing')), fields=('offering',), name='tokens_distribution_one_deposit_in_flight'),
        ),
    ]
