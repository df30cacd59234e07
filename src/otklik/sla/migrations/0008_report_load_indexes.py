"""An index of the SLA timeline's "overdue" steps by instant, for the load report's deadlines missed per day
(reports.load, issue 16); partial, so the other steps do not pay for it."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0007_sla_level_code"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="slaevent",
            index=models.Index(
                condition=models.Q(("kind", "overdue")),
                fields=["at"],
                include=("ticket",),
                name="sla_event_overdue_at",
            ),
        ),
    ]
