import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="DomainEventTicket",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "event", "ticket_id", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("ticket_id", models.BigIntegerField()),
                (
                    "event",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="batch",
                        to="core.domainevent",
                    ),
                ),
            ],
        ),
    ]
