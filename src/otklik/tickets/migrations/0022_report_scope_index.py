"""A staff member's open tickets, by responsible and closing, also carry the ticket's key, author and SLA: every
column a viewer's scope tests (`TicketPolicy.visible`, a report's SLA and staff group). The load report
(reports.load, issue 16) narrows a period's rows to `ticket IN (the tickets in scope)`, one hash of those
tickets; PostgreSQL now reads them from this index alone (about 45 MB at a million tickets) instead of the
table (476 MB) or the wider indexes by creation and closing that other reports widened.

It replaces the index of the same name and keys: no index is added, so an update writes as many index entries
as before. SQLite ignores INCLUDE and gets the same plain index again.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0021_report_funnel_deflection_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="ticket", name="ticket_responsible_open"),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["responsible", "closed_at"],
                include=("id", "author", "sla"),
                name="ticket_responsible_open",
            ),
        ),
    ]
