"""Suggestions match titles only: on PostgreSQL a generated tsvector of both titles with its own GIN index.

A word common in texts (every article about payments says "payment") would otherwise make the suggestion
query rank thousands of articles while a client types; titles are short and specific. SQLite's FTS5 table
already has the title as a column of its own.
"""

from django.db import migrations

_TITLE = "coalesce(title_ru, '') || ' ' || coalesce(title_en, '')"

PG_FORWARD = [
    f"""ALTER TABLE kb_article ADD COLUMN title_tsv tsvector GENERATED ALWAYS AS (
       to_tsvector('russian', {_TITLE}) || to_tsvector('english', {_TITLE})) STORED""",
    "CREATE INDEX kb_article_title_gin ON kb_article USING GIN (title_tsv)",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS kb_article_title_gin",
    "ALTER TABLE kb_article DROP COLUMN IF EXISTS title_tsv",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("kb", "0002_search_index")]

    operations = [migrations.RunPython(_run({"postgresql": PG_FORWARD}), _run({"postgresql": PG_BACKWARD}))]
