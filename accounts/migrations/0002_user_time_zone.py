from django.db import migrations, models

import core.timefmt


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="time_zone",
            field=models.CharField(default="UTC", max_length=64, validators=[core.timefmt.validate_time_zone]),
        ),
    ]
