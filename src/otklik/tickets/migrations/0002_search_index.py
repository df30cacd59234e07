"""Full-text search over tickets: PostgreSQL tsvector columns with GIN indexes, or an SQLite FTS5 table.

The documents live in tickets_ticketsearchdocument (kept current by the services); this migration
adds the engine-specific index over it.
"""

from django.db import migrations

PG_FORWARD = [
    """ALTER TABLE tickets_ticketsearchdocument ADD COLUMN public_tsv tsvector GENERATED ALWAYS AS
       (to_tsvector('russian', public_text) || to_tsvector('english', public_text)) STORED""",
    """ALTER TABLE tickets_ticketsearchdocument ADD COLUMN staff_tsv tsvector GENERATED ALWAYS AS
       (to_tsvector('russian', staff_text) || to_tsvector('english', staff_text)) STORED""",
    "CREATE INDEX ticket_search_public_gin ON tickets_ticketsearchdocument USING GIN (public_tsv)",
    "CREATE INDEX ticket_search_staff_gin ON tickets_ticketsearchdocument USING GIN (staff_tsv)",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS ticket_search_public_gin",
    "DROP INDEX IF EXISTS ticket_search_staff_gin",
    "ALTER TABLE tickets_ticketsearchdocument DROP COLUMN IF EXISTS public_tsv",
    "ALTER TABLE tickets_ticketsearchdocument DROP COLUMN IF EXISTS staff_tsv",
]
SQLITE_FORWARD = [
    # External-content FTS5 table: the text lives once, in the document table.
    """CREATE VIRTUAL TABLE tickets_fts USING fts5(public_text, staff_text,
       content='tickets_ticketsearchdocument', content_rowid='ticket_id',
       tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER tickets_fts_ai AFTER INSERT ON tickets_ticketsearchdocument BEGIN
       INSERT INTO tickets_fts(rowid, public_text, staff_text) VALUES (new.ticket_id, new.public_text, new.staff_text);
       END""",
    """CREATE TRIGGER tickets_fts_ad AFTER DELETE ON tickets_ticketsearchdocument BEGIN
       INSERT INTO tickets_fts(tickets_fts, rowid, public_text, staff_text)
       VALUES ('delete', old.ticket_id, old.public_text, old.staff_text);
       END""",
    """CREATE TRIGGER tickets_fts_au AFTER UPDATE ON tickets_ticketsearchdocument BEGIN
       INSERT INTO tickets_fts(tickets_fts, rowid, public_text, staff_text)
       VALUES ('delete', old.ticket_id, old.public_text, old.staff_text);
       INSERT INTO tickets_fts(rowid, public_text, staff_text) VALUES (new.ticket_id, new.public_text, new.staff_text);
       END""",
    "INSERT INTO tickets_fts(tickets_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS tickets_fts_ai",
    "DROP TRIGGER IF EXISTS tickets_fts_ad",
    "DROP TRIGGER IF EXISTS tickets_fts_au",
    "DROP TABLE IF EXISTS tickets_fts",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        )
    ]
