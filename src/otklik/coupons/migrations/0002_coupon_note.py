from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("coupons", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="coupon",
            name="note",
            field=models.CharField(
                blank=True,
                help_text="Whom the coupon was given to, for what licence.",
                max_length=255,
                verbose_name="note",
            ),
        ),
    ]
