"""Fill the tickets' copies of their process place (Ticket.process_state, Ticket.l1_outcome)."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def copy_places(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    TicketProcess = apps.get_model("workflow", "TicketProcess")
    place = TicketProcess.objects.filter(ticket_id=OuterRef("pk"))
    Ticket.objects.filter(pk__in=TicketProcess.objects.values("ticket_id")).update(
        process_state=Subquery(place.values("state")[:1]),
        l1_outcome=Subquery(place.values("l1_outcome")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0003_definition_keeps_order"),
        ("tickets", "0023_process_copies"),
    ]

    operations = [migrations.RunPython(copy_places, migrations.RunPython.noop)]
