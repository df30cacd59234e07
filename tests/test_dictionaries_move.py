"""The dictionary entries moved from the tickets app to their own: an existing database keeps its rows and links.

The migrations run in a child process on a SQLite file of their own, so the test database is not touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from otklik.dictionaries.models import DictionaryEntry

# Run in the child: migrate to the state before the move, fill it as the old code did, migrate to the head.
SCRIPT = textwrap.dedent(
    """
    import json
    import django

    django.setup()
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    BEFORE = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("tickets", "0014_audit_trail"),
        ("sla", "0005_recompute_progress"),
        ("mail", "0002_mail_principal"),
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Entry = old.get_model("tickets", "DictionaryEntry")
    user = old.get_model("auth", "User").objects.create(username="author")
    category = Entry.objects.create(kind="category", name_ru="Склад", name_en="Warehouse", code="stock")
    critical = Entry.objects.create(kind="criticality", name_ru="Горит", name_en="On fire")
    from django.utils import timezone

    ticket = old.get_model("tickets", "Ticket").objects.create(
        title="Box lost", author=user, category=category, criticality=critical,
        created_at=timezone.now(), modified_at=timezone.now(),
    )
    level = old.get_model("sla", "SlaLevel").objects.create(name_ru="Золотой", name_en="Gold")
    level.categories.add(category)
    old.get_model("mail", "Mailbox").objects.create(code="in", name="In", protocol="imap", category=category)
    ContentType = old.get_model("contenttypes", "ContentType")
    content_type = ContentType.objects.create(app_label="tickets", model="dictionaryentry")
    permission = old.get_model("auth", "Permission").objects.create(
        content_type=content_type, codename="change_dictionaryentry", name="Can change dictionary entry"
    )
    group = old.get_model("auth", "Group").objects.create(name="editors")
    group.permissions.add(permission)
    user.groups.add(group)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from django.contrib.auth.models import User
    from django.contrib.contenttypes.models import ContentType
    from otklik.dictionaries.models import DictionaryEntry
    from otklik.mail.models import Mailbox
    from otklik.sla.models import SlaLevel
    from otklik.tickets.models import Ticket

    moved = Ticket.objects.get(pk=ticket.pk)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_key_check")
        broken = cursor.fetchall()
    print(json.dumps({
        "entries": sorted(DictionaryEntry.objects.values_list("code", "name_en")),
        "ticket": [moved.category.name_en, moved.criticality.name_en],
        "ticket_category_model": moved.category._meta.label,
        "sla": list(SlaLevel.objects.get().categories.values_list("code", flat=True)),
        "mailbox": Mailbox.objects.get().category.code,
        "content_types": sorted(
            ContentType.objects.filter(model="dictionaryentry").values_list("app_label", "pk")
        ),
        "old_content_type": content_type.pk,
        "perm": User.objects.get().has_perm("dictionaries.change_dictionaryentry"),
        "broken_foreign_keys": broken,
    }))
    """
)


def test_dictionaries_move_existing_database_keeps_rows_links_and_permissions(tmp_path):
    env = {
        **os.environ,
        "OTKLIK_DATA_DIR": str(tmp_path),
        "OTKLIK_DATABASE_URL": f"sqlite:///{tmp_path / 'old.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "otklik.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert ["stock", "Warehouse"] in result["entries"]
    assert result["ticket"] == ["Warehouse", "On fire"]
    assert result["ticket_category_model"] == "dictionaries.DictionaryEntry"
    assert result["sla"] == ["stock"]
    assert result["mailbox"] == "stock"
    # The old content type itself moved (same id): permissions and admin log entries stay attached to it.
    assert result["content_types"] == [["dictionaries", result["old_content_type"]]]
    assert result["perm"] is True
    assert result["broken_foreign_keys"] == []


def test_dictionaries_entry_model_keeps_its_table():
    assert DictionaryEntry._meta.db_table == "tickets_dictionaryentry"
    assert DictionaryEntry._meta.app_label == "dictionaries"
