"""F-08: open tickets' deadlines follow SLA configuration changes, computed again in the background.

A change of an SLA's response time, its timetable or an exception (of the timetable or chosen on the
SLA) queues one job after commit; the job moves every open ticket's deadline, set-based, leaves closed
and overdue tickets alone, and writes a "recomputed" step with the reason on each ticket's timeline.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from huey.contrib.djhuey import HUEY

from otklik.core import clock
from otklik.sla.models import (
    CalendarException,
    DeadlineRecompute,
    ExceptionKind,
    RecomputeReason,
    SlaEvent,
    SlaEventKind,
    SlaLevel,
    Timetable,
)
from otklik.tickets import services
from otklik.tickets.models import Ticket
from otklik.tickets.services.recompute import deadlines_recompute
from otklik.tickets.services.sla_tick import sla_tick
from tests.conftest import logged_in
from tests.helpers import MSK, fresh, msk

pytestmark = pytest.mark.django_db
WORKDAY = [[36000, 68400]]  # 10:00-19:00
MONDAY = datetime(2026, 3, 2, 17, 0, tzinfo=MSK)  # a Monday without holidays around it


@pytest.fixture
def timetable(db):
    return Timetable.objects.create(code="msk", name="Moscow", week=[WORKDAY] * 5 + [[], []])


@pytest.fixture
def sla(timetable, cast):
    level = SlaLevel.objects.create(
        name="Standard", response_time=6, response_unit="hours", timetable=timetable, is_default=True
    )
    return level


def run_jobs() -> int:
    """Run what the change queued, as the Huey consumer would; return how many tasks ran.

    call_local runs the task's function without Huey's connection handling, which would close the test's
    connection (its transaction) on PostgreSQL.
    """
    from otklik.tickets.tasks import deadlines_recompute_task

    ran = 0
    while (task := HUEY.dequeue()) is not None:
        assert task.name.endswith("deadlines_recompute_task"), task.name
        deadlines_recompute_task.call_local(*task.args, **task.kwargs)
        ran += 1
    return ran


def recomputed(ticket: Ticket) -> list[tuple[str, str]]:
    return list(
        SlaEvent.objects.filter(ticket=ticket, kind=SlaEventKind.RECOMPUTED).values_list(
            "reason", "deadline_at"
        )
    )


def test_sla_response_time_change_moves_open_tickets_not_closed_ones(
    cast, make_ticket, sla, django_capture_on_commit_callbacks
):
    with clock.frozen(MONDAY):
        first, second, closed = (make_ticket(title=f"T{i}") for i in range(3))
        services.ticket_close(actor=cast.staff, ticket=closed)
        answered = make_ticket(title="Answered")
        services.message_post(actor=cast.staff, ticket=answered, draft=services.MessageDraft(body="Done."))
        # Mon 17:00-19:00 is 2 h, then Tue 10:00: 6 h end at Tue 14:00.
        assert fresh(first).deadline_at == msk(2026, 3, 3, 14, 0)
        with django_capture_on_commit_callbacks(execute=True):
            sla.response_time = 9
            sla.save()
        assert fresh(first).deadline_at == msk(2026, 3, 3, 14, 0)  # not yet: the job runs in the background
        assert run_jobs() == 1
    for ticket in (first, second):
        assert fresh(ticket).deadline_at == msk(2026, 3, 3, 17, 0)
        assert recomputed(ticket) == [(RecomputeReason.SLA_TIMES, msk(2026, 3, 3, 17, 0))]
    for ticket in (closed, answered):
        assert fresh(ticket).deadline_at is None and recomputed(ticket) == []
    job = DeadlineRecompute.objects.get()
    assert (job.total, job.done, job.changed, job.finished_at is not None) == (2, 2, 2, True)


def test_holiday_exception_added_to_timetable_moves_deadlines(
    cast, make_ticket, sla, timetable, django_capture_on_commit_callbacks
):
    with clock.frozen(MONDAY):
        ticket = make_ticket()
        with django_capture_on_commit_callbacks(execute=True):
            CalendarException.objects.create(
                name="Holiday", kind=ExceptionKind.HOLIDAY, timetable=timetable,
                first_day=date(2026, 3, 3), last_day=date(2026, 3, 3),
            )  # fmt: skip
        run_jobs()
    assert fresh(ticket).deadline_at == msk(2026, 3, 4, 14, 0)  # Tuesday is off: Wednesday 14:00
    assert recomputed(ticket) == [(RecomputeReason.EXCEPTION, msk(2026, 3, 4, 14, 0))]


def test_exception_chosen_on_the_sla_moves_deadlines(
    cast, make_ticket, sla, django_capture_on_commit_callbacks
):
    with clock.frozen(MONDAY):
        ticket = make_ticket()
        extra = CalendarException.objects.create(
            name="Company day",
            kind=ExceptionKind.HOLIDAY,
            first_day=date(2026, 3, 3),
            last_day=date(2026, 3, 3),
        )
        with django_capture_on_commit_callbacks(execute=True):
            sla.exceptions.add(extra)
        run_jobs()
    assert fresh(ticket).deadline_at == msk(2026, 3, 4, 14, 0)
    assert recomputed(ticket) == [(RecomputeReason.SLA_EXCEPTIONS, msk(2026, 3, 4, 14, 0))]


def test_timetable_week_change_moves_deadlines(
    cast, make_ticket, sla, timetable, django_capture_on_commit_callbacks
):
    with clock.frozen(MONDAY):
        ticket = make_ticket()
        with django_capture_on_commit_callbacks(execute=True):
            timetable.week = [[[32400, 68400]]] * 5 + [[], []]  # 09:00-19:00
            timetable.save()
        run_jobs()
    assert fresh(ticket).deadline_at == msk(2026, 3, 3, 13, 0)
    assert recomputed(ticket) == [(RecomputeReason.TIMETABLE, msk(2026, 3, 3, 13, 0))]


def test_overdue_ticket_keeps_its_deadline(cast, make_ticket, sla, django_capture_on_commit_callbacks):
    with clock.frozen(MONDAY) as mover:
        late = make_ticket(title="Late")
        mover.advance(days=1, hours=-2)  # Tue 15:00: past the 14:00 deadline
        sla_tick()
        assert fresh(late).is_overdue
        waiting = make_ticket(title="New")  # counted from Tue 15:00
        with django_capture_on_commit_callbacks(execute=True):
            sla.response_time = 9
            sla.save()
        run_jobs()
    assert fresh(late).deadline_at == msk(2026, 3, 3, 14, 0) and recomputed(late) == []
    # 9 h from Tue 15:00: 4 h on Tuesday, 5 h on Wednesday.
    assert fresh(waiting).deadline_at == msk(2026, 3, 4, 15, 0)


def test_rolled_back_change_queues_nothing(cast, make_ticket, sla, django_capture_on_commit_callbacks):
    from django.db import transaction

    make_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            sla.response_time = 1
            sla.save()
            raise RuntimeError("the admin's save failed")
    assert run_jobs() == 0


def test_many_changes_in_one_save_make_one_job(
    cast, make_ticket, sla, timetable, django_capture_on_commit_callbacks
):
    from django.db import transaction

    make_ticket()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        sla.response_time = 8
        sla.save()
        for day in (3, 4, 5):
            CalendarException.objects.create(
                name="Off", kind=ExceptionKind.HOLIDAY, timetable=timetable,
                first_day=date(2026, 3, day), last_day=date(2026, 3, day),
            )  # fmt: skip
    assert DeadlineRecompute.objects.count() == 1
    assert run_jobs() == 1


def test_job_is_idempotent(cast, make_ticket, sla, django_capture_on_commit_callbacks):
    with clock.frozen(MONDAY):
        ticket = make_ticket()
        with django_capture_on_commit_callbacks(execute=True):
            sla.response_time = 9
            sla.save()
        job = DeadlineRecompute.objects.get()
        assert deadlines_recompute(job_id=job.pk) == 1
        assert deadlines_recompute(job_id=job.pk) == 0
        DeadlineRecompute.objects.filter(pk=job.pk).update(finished_at=None)  # as if the worker died
        assert deadlines_recompute(job_id=job.pk) == 0
    assert len(recomputed(ticket)) == 1


def _job_queries(cast, sla, count: int, batch_size: int) -> int:
    """Make `count` open tickets, change the SLA, and count the queries of the job."""
    Ticket.objects.all().delete()
    DeadlineRecompute.objects.all().delete()
    with clock.frozen(MONDAY):
        for i in range(count):
            services.ticket_create(
                actor=cast.client, draft=services.TicketDraft(title=f"T{i}", message="Help")
            )
    SlaLevel.objects.filter(pk=sla.pk).update(response_time=F_plus_one(sla))
    level = SlaLevel.objects.get(pk=sla.pk)
    job = DeadlineRecompute.objects.create(
        reason=RecomputeReason.SLA_TIMES, sla_ids=[level.pk], created_at=MONDAY
    )
    with clock.frozen(MONDAY), CaptureQueriesContext(connection) as captured:
        assert deadlines_recompute(job_id=job.pk, batch_size=batch_size) == count
    return len(captured)


def F_plus_one(sla):
    from django.db.models import F

    return F("response_time") + 1


def test_recompute_queries_do_not_grow_with_tickets_per_batch(cast, sla):
    small = _job_queries(cast, sla, 5, batch_size=100)
    large = _job_queries(cast, sla, 60, batch_size=100)
    assert large == small
    # Batches of 25, 25 and 10 cost two batches' statements more than one batch of 60.
    batched = _job_queries(cast, sla, 60, batch_size=25)
    extra = batched - large
    assert extra % 2 == 0 and 0 < extra // 2 <= 6


def test_sla_admin_page_shows_progress_line_polled_by_htmx(cast, sla):
    job = DeadlineRecompute.objects.create(
        reason=RecomputeReason.SLA_TIMES,
        sla_ids=[sla.pk],
        total=5000,
        done=1200,
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    client = logged_in(cast.admin)
    page = client.get(reverse("admin:sla_slalevel_change", args=[sla.pk])).content.decode()
    assert "Recomputing deadlines: 1200 of 5000 tickets" in page
    progress_url = reverse("admin:sla_recompute_progress")
    assert f'hx-get="{progress_url}"' in page
    timetable_page = client.get(
        reverse("admin:sla_timetable_change", args=[sla.timetable_id])
    ).content.decode()
    assert "Recomputing deadlines: 1200 of 5000 tickets" in timetable_page
    line = client.get(progress_url)
    assert line.status_code == 200 and "1200 of 5000" in line.content.decode()
    DeadlineRecompute.objects.filter(pk=job.pk).update(done=5000, finished_at=clock.now())
    done = client.get(progress_url)
    # 286 tells htmx to stop polling; the line is gone.
    assert done.status_code == 286 and "Recomputing" not in done.content.decode()


def test_progress_line_refused_to_non_admins(cast):
    response = logged_in(cast.staff).get(reverse("admin:sla_recompute_progress"))
    assert response.status_code in (302, 403)


def test_staff_ticket_page_shows_recomputed_step_with_reason(
    cast, make_ticket, sla, django_capture_on_commit_callbacks
):
    with clock.frozen(MONDAY):
        ticket = make_ticket()
        with django_capture_on_commit_callbacks(execute=True):
            sla.response_time = 9
            sla.save()
        run_jobs()
    html = logged_in(cast.staff).get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    assert "deadline recomputed: the SLA&#x27;s response or reminder time changed" in html


def test_deadline_recompute_sweep_runs_jobs_left_unfinished(cast, make_ticket, sla):
    from otklik.schedule import deadlines_recompute_sweep_task

    with clock.frozen(MONDAY) as mover:
        ticket = make_ticket()
        SlaLevel.objects.filter(pk=sla.pk).update(response_time=9)
        DeadlineRecompute.objects.create(
            reason=RecomputeReason.SLA_TIMES, sla_ids=[sla.pk], created_at=MONDAY
        )
        mover.advance(minutes=10)
        deadlines_recompute_sweep_task.call_local()
    assert fresh(ticket).deadline_at == msk(2026, 3, 3, 17, 0)


def test_recompute_after_timedelta_unchanged_source(cast, make_ticket, sla):
    """The source instant stays: only the deadline moves."""
    with clock.frozen(MONDAY):
        ticket = make_ticket()
    source = fresh(ticket).deadline_source_at
    SlaLevel.objects.filter(pk=sla.pk).update(response_time=7)
    job = DeadlineRecompute.objects.create(
        reason=RecomputeReason.SLA_TIMES, sla_ids=[sla.pk], created_at=MONDAY
    )
    with clock.frozen(MONDAY + timedelta(minutes=5)):
        deadlines_recompute(job_id=job.pk)
    assert fresh(ticket).deadline_source_at == source
    assert fresh(ticket).deadline_at == msk(2026, 3, 3, 15, 0)


def test_admin_save_of_sla_response_time_queues_one_job_after_commit(
    cast, make_ticket, sla, django_capture_on_commit_callbacks
):
    with clock.frozen(MONDAY):
        ticket = make_ticket()
    client = logged_in(cast.admin)
    url = reverse("admin:sla_slalevel_change", args=[sla.pk])
    form = client.get(url).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if isinstance(value, list | tuple | set) or hasattr(value, "all"):
            data[name] = [getattr(v, "pk", v) for v in (value.all() if hasattr(value, "all") else value)]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = getattr(value, "pk", value)
    data["response_time"] = 9
    with clock.frozen(MONDAY), django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert DeadlineRecompute.objects.count() == 1
    with clock.frozen(MONDAY):
        assert run_jobs() == 1
    assert fresh(ticket).deadline_at == msk(2026, 3, 3, 17, 0)
