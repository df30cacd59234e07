"""Keep a process definition as text, so its states keep the order written (jsonb re-sorts keys).

A version stored before this on PostgreSQL has lost its order; one equal to the shipped three-tier
process gets the file's order back. Another definition keeps the order jsonb left: save it again to
set the order.
"""

import json
from pathlib import Path

from django.db import migrations

import otklik.core.fields

SHIPPED = Path(__file__).resolve().parent.parent / "shipped" / "three-tier.json"


def shipped_order_restore(apps, schema_editor):
    ProcessVersion = apps.get_model("workflow", "ProcessVersion")
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    for version in ProcessVersion.objects.using(schema_editor.connection.alias).filter(code=data["code"]):
        if version.definition == data and json.dumps(version.definition) != json.dumps(data):
            version.definition = data
            version.save(update_fields=["definition"])


class Migration(migrations.Migration):
    dependencies = [("workflow", "0002_three_tier")]

    operations = [
        migrations.AlterField(
            model_name="processversion",
            name="definition",
            field=otklik.core.fields.OrderedJSONField(verbose_name="definition"),
        ),
        migrations.RunPython(shipped_order_restore, migrations.RunPython.noop),
    ]
