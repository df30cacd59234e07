"""Two ticket indexes carry what the funnel and deflection reports read (reports.funnel, reports.deflection,
issue 16), so PostgreSQL answers from the indexes alone instead of fetching tickets scattered over the table:

- the index by creation also holds the category, the closing and the type of a ticket (the deflection
  report's tickets per category, the funnel's closed and type counts);
- a client's index by modification also holds the creation: the deflection rule "not answered when the
  same user filed a ticket within two hours after a suggested article" probes the author's entries alone.

Both replace indexes of the same names and keys: no index is added, so a ticket's update writes as many
index entries as before. SQLite ignores INCLUDE and gets the same plain indexes again.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0020_report_ticket_covering_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="ticket", name="ticket_created"),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["created_at"],
                include=("id", "author", "responsible", "sla", "category", "closed_at", "ticket_type"),
                name="ticket_created",
            ),
        ),
        migrations.RemoveIndex(model_name="ticket", name="ticket_author_modified"),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["author", "-modified_at"], include=("created_at",), name="ticket_author_modified"
            ),
        ),
    ]
