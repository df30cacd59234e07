"""Install the shipped three-tier process (F-30) with its roles, as version 1, for new tickets."""

import json
from pathlib import Path

from django.db import migrations
from django.utils import timezone

SHIPPED = Path(__file__).resolve().parent.parent / "shipped" / "three-tier.json"


def install(apps, schema_editor):
    db = schema_editor.connection.alias
    Role = apps.get_model("workflow", "Role")
    ProcessVersion = apps.get_model("workflow", "ProcessVersion")
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    for sort, (code, info) in enumerate(data.get("roles", {}).items()):
        Role.objects.using(db).get_or_create(
            code=code,
            defaults={
                "name": info["name"]["ru"],
                "name_en": info["name"]["en"],
                "instructions": info["instructions"]["ru"],
                "instructions_en": info["instructions"]["en"],
                "sort": (sort + 1) * 10,
            },
        )
    if not ProcessVersion.objects.using(db).filter(code=data["code"]).exists():
        ProcessVersion.objects.using(db).create(
            code=data["code"],
            version=1,
            definition=data,
            active=True,
            starts_new_tickets=not ProcessVersion.objects.using(db).filter(starts_new_tickets=True).exists(),
            created_at=timezone.now(),
        )


class Migration(migrations.Migration):
    dependencies = [("workflow", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
