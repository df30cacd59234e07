"""Domain events: facts the system records for later consumers (notifications, reports)."""

from django.db import models


class DomainEvent(models.Model):
    """Something that happened to a ticket, written in the same transaction as the change.

    Set-based jobs write many at once (INSERT ... SELECT). `otklik.core.events.dispatch` hands pending
    events to the subscribers of their name and marks them handled.
    """

    name = models.CharField(max_length=40)
    ticket_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    payload = models.JSONField(default=dict, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], condition=models.Q(handled_at__isnull=True), name="event_pending"),
            models.Index(fields=["ticket_id", "name"], name="event_ticket_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.ticket_id} {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class DomainEventTicket(models.Model):
    """One ticket a set-based job's event is about: the event's batch, kept for handlers that run later.

    A job that marks thousands of tickets records one event and one such row per ticket (INSERT ...
    SELECT), so a handler running minutes later still finds exactly those tickets, whatever the job or
    anyone else wrote to them since.
    """

    # The composite key is the only index: it serves lookups by event, and a batch after an outage
    # writes 100,000 rows, every index costing an entry per row.
    pk = models.CompositePrimaryKey("event", "ticket_id")
    event = models.ForeignKey(DomainEvent, on_delete=models.CASCADE, related_name="batch", db_index=False)
    ticket_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.event_id}: #{self.ticket_id}"
