"""Periodic jobs run once per scheduled minute however many consumers queue them (issue 19).

Every consumer's scheduler queues every periodic job each minute; the copies carry their minute (slot)
and only the copy that claims the slot runs. Here the copies of two consumers' schedulers are made with
Huey's own `read_periodic`, exactly as the consumers make them, and run in the order a shared queue would.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from huey.contrib.djhuey import HUEY
from huey.exceptions import RetryTask

from otklik import schedule
from otklik.core import clock
from otklik.core.models import PeriodicJob, PeriodicRun
from otklik.core.periodic import Claim, periodic_slot_claim, periodic_slot_finish

MINUTE = datetime(2026, 3, 2, 9, 41, tzinfo=UTC)  # a Monday: the every-5-minutes jobs are not due
BODIES = {
    "otklik-sla-tick": "sla_tick",
    "otklik-outbox-sweep": "outbox_sweep",
    "otklik-mail-poll": "mailboxes_poll_all",
    "otklik-report-facts": "facts_refresh",
}


@pytest.fixture
def bodies(monkeypatch) -> dict[str, int]:
    """Replace the every-minute jobs' bodies with counters; return the counts by job."""
    counts = dict.fromkeys(BODIES, 0)

    class Nothing:
        """A report of nothing done: every figure the job logs is zero."""

        def __getattr__(self, name: str) -> int:
            return 0

    def counter(job: str):
        def body(*args, **kwargs):
            counts[job] += 1
            return Nothing()

        return body

    for job, name in BODIES.items():
        monkeypatch.setattr(schedule, name, counter(job))
    return counts


def _copies(minute: datetime, *seconds: int) -> list:
    """Return the periodic task copies the schedulers of consumers checking at `seconds` would queue."""
    naive = minute.replace(tzinfo=None)  # Huey's scheduler works in naive UTC
    return [task for s in seconds for task in HUEY.read_periodic(naive.replace(second=s))]


def _run(copy) -> object:
    """Run a queued copy's function as the consumer would (without Huey closing the test's connection)."""
    job = next(job for job in schedule.SCHEDULE if job.task.task_class is type(copy))
    return job.task.call_local(*copy.args, **copy.kwargs)


def test_copies_carry_the_minute_their_scheduler_queued_them_for():
    copies = _copies(MINUTE, 3, 57)
    assert len(copies) == 2 * 4  # four every-minute jobs, queued by two consumers
    assert {copy.kwargs[schedule.SLOT_KWARG] for copy in copies} == {"2026-03-02T09:41:00+00:00"}
    assert all(copy.args == () for copy in copies)


@pytest.mark.django_db
def test_two_consumers_copies_run_each_job_once_per_minute(bodies):
    with clock.frozen(MINUTE + timedelta(seconds=58)) as moved:
        for copy in _copies(MINUTE, 3, 57):
            _run(copy)
        assert bodies == dict.fromkeys(BODIES, 1)
        moved.advance(minutes=1)
        # The next minute: both consumers again, and a late copy of the minute before.
        for copy in _copies(MINUTE + timedelta(minutes=1), 3, 57) + _copies(MINUTE, 30):
            _run(copy)
    assert bodies == dict.fromkeys(BODIES, 2)
    runs = PeriodicRun.objects.filter(job__in=BODIES)
    assert runs.count() == 2 * len(BODIES)
    assert {(run.slot, run.finished_at is not None) for run in runs} == {
        (MINUTE, True),
        (MINUTE + timedelta(minutes=1), True),
    }
    assert not PeriodicJob.objects.filter(lease_until__isnull=False).exists()  # every lease given back


@pytest.mark.django_db
def test_a_job_called_without_a_slot_runs_every_time_and_claims_nothing(bodies):
    schedule.sla_tick_task.call_local()
    schedule.sla_tick_task.call_local()
    assert bodies["otklik-sla-tick"] == 2
    assert not PeriodicRun.objects.exists()


@pytest.mark.django_db
def test_a_job_still_running_makes_the_next_minutes_copy_retry_then_give_up(bodies):
    slot = MINUTE.isoformat()
    with clock.frozen(MINUTE + timedelta(seconds=10)) as moved:
        state, held = periodic_slot_claim(
            job="otklik-sla-tick", slot=MINUTE - timedelta(minutes=1), lease=timedelta(minutes=5)
        )
        assert state is Claim.RUN and held is not None
        with pytest.raises(RetryTask):  # the earlier minute's run holds the job: try again shortly
            schedule.sla_tick_task.call_local(slot=slot)
        moved.advance(minutes=2)
        assert schedule.sla_tick_task.call_local(slot=slot) is None  # too late: the next minute covers it
        assert bodies["otklik-sla-tick"] == 0
        periodic_slot_finish(held)
        schedule.sla_tick_task.call_local(slot=(MINUTE + timedelta(minutes=2)).isoformat())
    assert bodies["otklik-sla-tick"] == 1


@pytest.mark.django_db
def test_a_killed_consumers_lease_ends_and_another_consumer_takes_the_job_over(bodies):
    with clock.frozen(MINUTE) as moved:
        # A consumer claimed the minute and was killed: nobody finishes its run.
        periodic_slot_claim(job="otklik-outbox-sweep", slot=MINUTE, lease=schedule.DEFAULT_LEASE)
        moved.advance(minutes=1)
        with pytest.raises(RetryTask):
            schedule.outbox_sweep_task.call_local(slot=(MINUTE + timedelta(minutes=1)).isoformat())
        moved.advance(seconds=schedule.DEFAULT_LEASE.total_seconds())
        schedule.outbox_sweep_task.call_local(slot=(MINUTE + timedelta(minutes=6)).isoformat())
    assert bodies["otklik-outbox-sweep"] == 1
    assert PeriodicRun.objects.get(job="otklik-outbox-sweep", slot=MINUTE).finished_at is None  # the dead run


@pytest.mark.django_db(transaction=True)
def test_copies_racing_in_threads_claim_a_slot_exactly_once():
    racers = 8
    start = threading.Barrier(racers)
    outcomes: list = [None] * racers

    def claim(index: int) -> None:
        try:
            start.wait(timeout=30)
            outcomes[index] = periodic_slot_claim(job="otklik-race", slot=MINUTE, lease=timedelta(minutes=5))[
                0
            ]
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count(Claim.RUN) == 1, outcomes
    assert all(outcome in (Claim.DONE, Claim.BUSY) for outcome in outcomes if outcome is not Claim.RUN), (
        outcomes
    )
    assert PeriodicRun.objects.filter(job="otklik-race").count() == 1
