"""Full-text search over articles: a PostgreSQL tsvector column with a GIN index, or an SQLite FTS5 table.

PostgreSQL: a generated column over both languages' titles (weight A) and texts (weight B), each through
the russian and the english configurations, so it can never be stale. SQLite: an FTS5 table of Snowball
stems (otklik.core.search), rowid = the article's id, written by the article services in their transaction.
"""

from django.db import migrations

_TITLE = "coalesce(title_ru, '') || ' ' || coalesce(title_en, '')"
_BODY = "coalesce(body_ru, '') || ' ' || coalesce(body_en, '')"

PG_FORWARD = [
    f"""ALTER TABLE kb_article ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
       setweight(to_tsvector('russian', {_TITLE}) || to_tsvector('english', {_TITLE}), 'A')
       || setweight(to_tsvector('russian', {_BODY}) || to_tsvector('english', {_BODY}), 'B')) STORED""",
    "CREATE INDEX kb_article_search_gin ON kb_article USING GIN (search_tsv)",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS kb_article_search_gin",
    "ALTER TABLE kb_article DROP COLUMN IF EXISTS search_tsv",
]
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE kb_article_fts USING fts5(title, body, tokenize='unicode61 remove_diacritics 2')",
]
SQLITE_BACKWARD = ["DROP TABLE IF EXISTS kb_article_fts"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("kb", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        )
    ]
