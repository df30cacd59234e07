"""Time the periodic SLA job on 100,000 tickets awaiting support (PostgreSQL).

    OTKLIK_DATABASE_URL=postgres://postgres@127.0.0.1:5432/otklik_bench_sla python -m bench.sla_job

Fills its own database (OTKLIK_DATABASE_URL, normally otklik_bench_sla made by run_all) with N open
tickets awaiting support on a Mon-Fri 10:00-19:00 SLA, each with a client message, then times one tick
of the job in three situations, each rolled back afterwards so the run can be repeated:

- idle: no reminder or deadline is due (the job's every minute on a normal day);
- reminders: every ticket's reminder is due at once;
- overdue: every ticket's deadline passed at once (after an outage): 100,000 flags, counters, log lines,
  history rows, timeline steps and domain events.

Prints `sla_job_<case>_<N> <milliseconds> ms` (issue 3: under 5 s for 100,000 tickets).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta

from bench.common import django_setup, figure, note

BATCH = 5000
BASE = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday, 10:00 in Moscow


def _populate(count: int) -> None:
    from django.contrib.auth.models import User
    from django.db import transaction

    from otklik.sla.models import SlaLevel, Timetable
    from otklik.tickets.models import Message, Ticket

    existing = Ticket.objects.filter(awaits_support=True, closed_at__isnull=True).count()
    if existing >= count:
        note(f"{existing} awaiting tickets already there")
        return
    timetable, _created = Timetable.objects.get_or_create(
        code="bench-msk",
        defaults={"name_ru": "Bench", "name_en": "Bench", "week": [[[36000, 68400]]] * 5 + [[], []]},
    )
    sla, _created = SlaLevel.objects.get_or_create(
        name_ru="Bench 6h",
        defaults={
            "name_en": "Bench 6h",
            "response_time": 6,
            "reminder_time": 60,
            "reminder_unit": "minutes",
            "timetable": timetable,
        },
    )
    client, _created = User.objects.get_or_create(username="bench-sla-client")
    rng = random.Random(3)
    started = time.perf_counter()
    for offset in range(existing, count, BATCH):
        size = min(BATCH, count - offset)
        with transaction.atomic():
            tickets = []
            for _i in range(size):
                created = BASE - timedelta(minutes=rng.randrange(0, 600))
                reminder = BASE + timedelta(minutes=rng.randrange(0, 30))
                tickets.append(
                    Ticket(
                        title="Bench ticket",
                        author=client,
                        created_by=client,
                        sla=sla,
                        created_at=created,
                        modified_at=created,
                        last_message_at=created,
                        last_message_by=client,
                        message_count=1,
                        awaits_support=True,
                        deadline_source_at=created,
                        deadline_source_reason="created",
                        reminder_at=reminder,
                        deadline_at=reminder + timedelta(hours=2),
                    )
                )
            Ticket.objects.bulk_create(tickets)
            Message.objects.bulk_create(
                Message(ticket=t, number=1, body="Help", author=client, created_at=t.created_at)
                for t in tickets
            )
    note(f"generated {count - existing} awaiting tickets in {time.perf_counter() - started:.0f} s")


def _timed_tick(now: datetime) -> tuple[float, object]:
    """Run one tick inside a transaction that is rolled back; return (seconds, report)."""
    from django.db import transaction

    from otklik.tickets.services.sla_tick import sla_tick

    with transaction.atomic():
        started = time.perf_counter()
        report = sla_tick(now)
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args(argv)
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    if not args.no_migrate:
        call_command("migrate", verbosity=0)
    _populate(args.count)
    cases = {
        "idle": BASE - timedelta(hours=1),
        "reminders": BASE + timedelta(hours=1),
        "overdue": BASE + timedelta(hours=3),
    }
    for name, now in cases.items():
        # Each case starts from clean tables: the previous case's rolled-back rows are dead tuples that
        # would otherwise be scanned and vacuumed in the middle of the next measurement.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE tickets_ticket, tickets_message, sla_slaevent, core_domainevent")
            cursor.execute("CHECKPOINT")
        elapsed, report = _timed_tick(now)
        note(f"{name}: {report}")
        figure(f"sla_job_{name}_{args.count // 1000}k", elapsed * 1000, "ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
