"""Write SLA timeline steps for a set of tickets in one statement (the SLA tick, the deadline recompute)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import CharField, DateTimeField, QuerySet, Value

from otklik.core.bulk import insert_from_select
from otklik.sla.models import SlaEvent
from otklik.sla.selectors import SLA_NAME_COLUMNS, sla_names_of_ticket

_COLUMNS = ["ticket", "at", "kind", "reason", "source_at", "deadline_at", "reminder_at", *SLA_NAME_COLUMNS]


def timeline_steps_insert(tickets: QuerySet, *, kind: str, now: datetime, reason: str = "") -> int:
    """Record one timeline step of `kind` at `now` for each of `tickets` with its current deadlines.

    One INSERT ... SELECT whatever the number of tickets; return how many steps were written.
    """
    rows = tickets.values_list(
        "pk", Value(now, output_field=DateTimeField()), Value(kind, output_field=CharField()),
        Value(reason, output_field=CharField()), "deadline_source_at", "deadline_at", "reminder_at",
        *sla_names_of_ticket(),
    )  # fmt: skip
    return insert_from_select(SlaEvent, _COLUMNS, rows)
