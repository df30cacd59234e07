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


class PeriodicJob(models.Model):
    """The lease of one periodic job: while it is held, no other consumer runs that job (issue 19).

    A lease rather than a lock: a consumer killed in the middle of a job cannot keep it from running
    for longer than the lease.
    """

    name = models.CharField(max_length=60, primary_key=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # "host:pid/token" of the run holding the lease; only that run may end it early.
    holder = models.CharField(max_length=120, blank=True)

    def __str__(self) -> str:
        return self.name


class PeriodicRun(models.Model):
    """One run of a periodic job for one scheduled minute: at most one per job and minute (issue 19).

    Every consumer's scheduler queues each periodic job every minute; the first copy to insert this row
    runs, the others find it and do nothing. Rows older than a week are pruned as new ones come.
    """

    job = models.CharField(max_length=60)
    slot = models.DateTimeField()
    runner = models.CharField(max_length=120)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="periodic_run_once_per_slot")]

    def __str__(self) -> str:
        return f"{self.job} {self.slot:%Y-%m-%d %H:%M}"
