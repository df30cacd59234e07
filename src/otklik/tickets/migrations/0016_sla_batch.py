"""Give the SLA tick a batch id: the tickets' stamp, and the batches of events still waiting for handlers.

Events recorded before this migration were found again by their instant; those not yet handled get their
batch rows here from the same rows the old lookup read, so no reminder, overdue or auto-close mail is lost
across the upgrade.
"""

from django.db import migrations, models

_STEP_KINDS = {"ticket.reminder": "reminder", "ticket.overdue": "overdue"}


def _pending_batches_fill(apps, schema_editor):
    """Record the tickets of every pending SLA batch event from its timeline steps or history rows."""
    db = schema_editor.connection.alias
    DomainEvent = apps.get_model("core", "DomainEvent")
    DomainEventTicket = apps.get_model("core", "DomainEventTicket")
    SlaEvent = apps.get_model("sla", "SlaEvent")
    TicketEvent = apps.get_model("tickets", "TicketEvent")
    pending = DomainEvent.objects.using(db).filter(
        handled_at__isnull=True, ticket_id__isnull=True, name__in=[*_STEP_KINDS, "ticket.auto_closed"]
    )
    for event in pending.iterator():
        if event.name == "ticket.auto_closed":
            rows = TicketEvent.objects.using(db).filter(at=event.occurred_at, field="closed", via="system")
        else:
            rows = SlaEvent.objects.using(db).filter(at=event.occurred_at, kind=_STEP_KINDS[event.name])
        ticket_ids = set(rows.values_list("ticket_id", flat=True))
        DomainEventTicket.objects.using(db).bulk_create(
            [DomainEventTicket(event_id=event.pk, ticket_id=pk) for pk in sorted(ticket_ids)],
            batch_size=1000,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_event_batch"),
        ("sla", "0006_dictionaries_app"),
        ("tickets", "0015_move_dictionaries"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="sla_batch",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(_pending_batches_fill, migrations.RunPython.noop),
    ]
