"""Index auth_user's e-mail the way a case-insensitive lookup (email__iexact) reads it.

Mail intake looks every sender up by address; without this each message scans the whole user table.
PostgreSQL compares UPPER(email::text); SQLite's LIKE uses an index only with the NOCASE collation.
"""

from django.db import migrations

INDEX = "otklik_user_email_ci"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS {INDEX} ON auth_user (UPPER("email"::text))')
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS {INDEX} ON auth_user ("email" COLLATE NOCASE)')


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_access_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create, drop)]
