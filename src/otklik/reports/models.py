"""The reports' summary tables: what a report needs from history, kept current by the periodic job.

Working time cannot be computed by the database (it needs the SLA's calendar: weekly hours, holidays, the
production calendar), so each support answer and each closing is measured once, in working seconds of the
ticket's SLA timetable, when `facts_refresh` first sees it; the reports then only group and average
integers. `facts_rebuild` computes every row again from the SLA timeline and the tickets, and the tests
prove both ways give the same rows.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ResponseFact(models.Model):
    """One support answer that stopped a running SLA clock (an "answered" step of the SLA timeline).

    `source_at` is the instant the clock counted from (creation, the client's reply, a reopen) and
    `deadline_at` the deadline in force when support answered (None when the SLA has no response time or
    the clock was paused). `first` marks the ticket's first answer.
    """

    event = models.OneToOneField("sla.SlaEvent", on_delete=models.CASCADE, primary_key=True, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    sla = models.ForeignKey(
        "sla.SlaLevel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first = models.BooleanField(default=False)
    source_at = models.DateTimeField()
    answered_at = models.DateTimeField()
    deadline_at = models.DateTimeField(null=True, blank=True)
    working_seconds = models.PositiveIntegerField()
    calendar_seconds = models.PositiveIntegerField()
    # None: no deadline to keep. Late answers carry the working seconds past the deadline.
    within = models.BooleanField(null=True)
    late_working_seconds = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("support answer (report)")
        verbose_name_plural = _("support answers (report)")
        indexes = [
            models.Index(fields=["answered_at"], name="response_fact_answered"),
            models.Index(fields=["ticket"], name="response_fact_ticket"),
        ]


class SolveFact(models.Model):
    """A closed ticket's time to solve: creation to its last closing, in working and calendar seconds.

    A ticket reopened after the row was written loses it at the job's next run, and its next closing
    writes a new one.
    """

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # The SLA whose timetable measured it (the ticket's when measured), as ResponseFact.sla.
    sla = models.ForeignKey(
        "sla.SlaLevel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField()
    working_seconds = models.PositiveIntegerField()
    calendar_seconds = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("solved ticket (report)")
        verbose_name_plural = _("solved tickets (report)")
        indexes = [models.Index(fields=["closed_at"], name="solve_fact_closed")]


class FunnelFact(models.Model):
    """What a ticket's process moves say, for the funnel: the history bits, the first and the last move,
    and the time spent in each tier between moves (the last move's tier and instant give the time since).

    Written by the job for every ticket with moves newer than its mark; the funnel reads the tickets moved
    after the mark from the moves themselves, so it is exact whatever the job's delay.
    """

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # The ticket's creation (it never changes): the funnel takes the period's rows by it from the index.
    created_at = models.DateTimeField()
    # Bits of `reports.funnel`: a tier reached by a move, the board approved, the board rejected.
    mask = models.PositiveSmallIntegerField()
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    # The tier the last move left the ticket in ("" none: a final state, or a state without a tier).
    last_tier = models.CharField(max_length=8, blank=True)
    # Time in each tier from a move to the next one (None: never there between two moves).
    own_l1 = models.DurationField(null=True, blank=True)
    own_l2 = models.DurationField(null=True, blank=True)
    own_l3 = models.DurationField(null=True, blank=True)

    class Meta:
        verbose_name = _("ticket in the process (report)")
        verbose_name_plural = _("tickets in the process (report)")
        # A period's rows from the index alone (PostgreSQL): a month at a million tickets reads ~140,000
        # entries instead of probing every row of the table against the period's tickets.
        indexes = [
            models.Index(
                fields=["created_at"],
                include=["ticket", "mask", "first_at", "last_at", "last_tier", "own_l1", "own_l2", "own_l3"],
                name="funnel_fact_created",
            )
        ]


class FactsProgress(models.Model):
    """How far the periodic job has read (one row): the SLA timeline's ids, the closings' times and the
    process moves' ids."""

    last_event_id = models.BigIntegerField(default=0)
    last_move_id = models.BigIntegerField(default=0)
    last_closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("report facts progress")
        verbose_name_plural = _("report facts progress")
