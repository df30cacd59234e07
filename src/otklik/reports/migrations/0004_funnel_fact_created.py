"""The funnel's summary rows carry their ticket's creation (indexed with the rows' columns).

The rows written before are dropped and the job's mark for moves goes back to the start, so the next run
of the job (or `otklik reports rebuild`) writes every row again with the creation.
"""

import django.utils.timezone
from django.db import migrations, models


def forget_funnel_rows(apps, schema_editor):
    apps.get_model("reports", "FunnelFact").objects.all().delete()
    apps.get_model("reports", "FactsProgress").objects.update(last_move_id=0)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_funnel_fact"),
        ("tickets", "0023_process_copies"),
    ]

    operations = [
        migrations.RunPython(forget_funnel_rows, migrations.RunPython.noop),
        migrations.AddField(
            model_name="funnelfact",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="funnelfact",
            index=models.Index(
                fields=["created_at"],
                include=("ticket", "mask", "first_at", "last_at", "last_tier", "own_l1", "own_l2", "own_l3"),
                name="funnel_fact_created",
            ),
        ),
    ]
