"""The tickets' indexes by closing and by creation carry what the load report reads (reports.load, issue 16):
the tickets closed in a period with their creation, messages and mark, the key of the tickets created in
a period, and in both the columns a viewer's scope tests (author, responsible, SLA). PostgreSQL then
answers from an index alone instead of reading tickets scattered over the whole table, and finds the
tickets in a staff member's sight in the narrower index rather than in the table.

They replace the plain indexes of the same columns (the one `db_index=True` made for `created_at` is
dropped by its name, which Django derives alike on every database): no index is added, so an update of a
ticket writes as many index entries as before. SQLite ignores INCLUDE and gets plain indexes again.
"""

from django.db import migrations, models

# The name Django gave `created_at`'s own index (db_index=True) on every database.
CREATED_AT_INDEX = "tickets_ticket_created_at_95bb8d8e"


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0019_report_load_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="ticket", name="ticket_closed"),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["closed_at"],
                include=("id", "created_at", "message_count", "mark", "author", "responsible", "sla"),
                name="ticket_closed",
            ),
        ),
        # The field loses its own index without SQLite rebuilding the table (an AlterField would).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="ticket",
                    name="created_at",
                    field=models.DateTimeField(verbose_name="created"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {CREATED_AT_INDEX}",
                    reverse_sql=f"CREATE INDEX {CREATED_AT_INDEX} ON tickets_ticket (created_at)",
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["created_at"], include=("id", "author", "responsible", "sla"), name="ticket_created"
            ),
        ),
    ]
