"""A support member's signature, added under their public replies when they ask for it."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_address_confirmation"),
    ]

    operations = [
        migrations.AddField(
            model_name="profile",
            name="signature",
            field=models.TextField(blank=True, default="", max_length=1000, verbose_name="signature"),
        ),
    ]
