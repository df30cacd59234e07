"""Deadlines, reminders, overdue, pauses and auto-close (F-08, F-02), with the clock frozen.

The timetable is the regulation's: Mon–Fri 10:00–19:00 Moscow time with the 2025–2026 production
calendar. Reference facts used below: 2025-10-31 is a Friday; 2025-11-01 is a working Saturday that is
also a pre-holiday short day (10:00–18:00); 2025-11-02..04 are days off.
"""

import importlib
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps

from otklik.core import clock, events
from otklik.core.models import DomainEvent, DomainEventTicket
from otklik.sla.models import SlaEvent, SlaEventKind, SlaLevel, SourceReason, Timetable
from otklik.sla.services import timetable_apply_calendar
from otklik.tickets import services
from otklik.tickets.loglines import log_text_default
from otklik.tickets.models import Message, MessageKind, ModuleOptions, Ticket, TicketEvent
from otklik.tickets.services.sla_tick import OVERDUE_LOG, TickReport, sla_tick
from tests.helpers import fresh, msk

WORKDAY = [[36000, 68400]]  # 10:00-19:00


@pytest.fixture
def timetable(db):
    table = Timetable.objects.create(code="msk", name="Moscow", week=[WORKDAY] * 5 + [[], []])
    for year in (2025, 2026):
        timetable_apply_calendar(table, year)
    return table


@pytest.fixture
def sla(timetable, cast):
    level = SlaLevel.objects.create(
        name="Clients: standard",
        response_time=6,
        response_unit="hours",
        reminder_time=60,
        reminder_unit="minutes",
        timetable=timetable,
        priority=10,
    )
    level.groups.add(*cast.client.groups.all())
    return level


def timeline(ticket: Ticket) -> list[str]:
    return list(SlaEvent.objects.filter(ticket=ticket).order_by("at", "id").values_list("kind", flat=True))


def test_deadline_counts_working_hours_across_a_short_working_saturday(cast, make_ticket, sla):
    with clock.frozen(msk(2025, 10, 31, 17, 0)):
        ticket = fresh(make_ticket())
    assert ticket.sla == sla
    # Fri 17:00-19:00 is 2 h; Sat 1 Nov works 10:00-18:00 (short day): 4 more hours end at 14:00.
    assert ticket.deadline_at == msk(2025, 11, 1, 14, 0)
    assert ticket.reminder_at == msk(2025, 11, 1, 13, 0)
    assert ticket.deadline_source_at == msk(2025, 10, 31, 17, 0)
    assert ticket.deadline_source_reason == SourceReason.CREATED
    assert timeline(ticket) == [SlaEventKind.STARTED]


def test_budget_ending_with_the_working_day_gives_its_end(cast, make_ticket, sla):
    sla.response_time = 9
    sla.save()
    with clock.frozen(msk(2025, 10, 27, 10, 0)):  # a Monday
        ticket = fresh(make_ticket())
    assert ticket.deadline_at == msk(2025, 10, 27, 19, 0)


def test_ticket_filed_on_a_holiday_counts_from_the_next_opening(cast, make_ticket, sla):
    with clock.frozen(msk(2025, 11, 3, 12, 0)):  # a day off between the holidays
        ticket = fresh(make_ticket())
    assert ticket.deadline_at == msk(2025, 11, 5, 16, 0)


def test_reminder_then_overdue_marked_once_with_log_history_timeline_and_events(cast, make_ticket, sla):
    with clock.frozen(msk(2025, 10, 31, 17, 0)):
        ticket = make_ticket()
    assert sla_tick(msk(2025, 11, 1, 12, 59)).reminders == 0
    report = sla_tick(msk(2025, 11, 1, 13, 0))
    assert (report.reminders, report.overdue) == (1, 0)
    ticket = fresh(ticket)
    assert ticket.reminder_sent and not ticket.is_overdue
    assert sla_tick(msk(2025, 11, 1, 13, 30)).reminders == 0  # not twice

    report = sla_tick(msk(2025, 11, 1, 14, 0))
    assert report.overdue == 1
    ticket = fresh(ticket)
    assert ticket.is_overdue and ticket.overdue_count == 1 and ticket.overdue_at == msk(2025, 11, 1, 14, 0)
    log = Message.objects.filter(ticket=ticket, kind=MessageKind.LOG).order_by("-number").first()
    assert log.created_at == msk(2025, 11, 1, 14, 0) and log.body
    assert log.number == Message.objects.filter(ticket=ticket).count()
    assert log.data == OVERDUE_LOG and log.body == log_text_default(OVERDUE_LOG)  # body: the site's language
    assert timeline(ticket) == [SlaEventKind.STARTED, SlaEventKind.REMINDER, SlaEventKind.OVERDUE]
    recorded = [(e.name, events.batch_ticket_ids(e)) for e in DomainEvent.objects.order_by("id")]
    assert recorded == [(events.TICKET_REMINDER, [ticket.pk]), (events.TICKET_OVERDUE, [ticket.pk])]

    assert sla_tick(msk(2025, 11, 1, 15, 0)).overdue == 0
    assert fresh(ticket).overdue_count == 1


def test_the_tick_finds_its_batch_by_id_not_by_the_instant(cast, make_ticket, sla):
    """A ticket marked at the very same instant by someone else is not part of the tick's batch."""
    with clock.frozen(msk(2025, 10, 31, 17, 0)):
        due = make_ticket()
        bystander = make_ticket(title="Marked elsewhere")
    with clock.frozen(msk(2025, 11, 5, 9, 0)):  # deadline 16:00, reminder 15:00
        reminded = make_ticket(title="Reminder due")
        reminded_elsewhere = make_ticket(title="Reminded elsewhere")
    tick_at = msk(2025, 11, 5, 15, 0)
    # Another writer already flagged these at the very instant the tick will use.
    Ticket.objects.filter(pk=bystander.pk).update(is_overdue=True, overdue_at=tick_at)
    Ticket.objects.filter(pk=reminded_elsewhere.pk).update(reminder_sent=True, reminder_sent_at=tick_at)

    report = sla_tick(tick_at)
    assert (report.reminders, report.overdue) == (1, 1)
    overdue = DomainEvent.objects.get(name=events.TICKET_OVERDUE)
    assert events.batch_ticket_ids(overdue) == [due.pk]
    assert overdue.payload["count"] == 1
    assert events.batch_ticket_ids(DomainEvent.objects.get(name=events.TICKET_REMINDER)) == [reminded.pk]
    assert not Message.objects.filter(ticket=bystander, kind=MessageKind.LOG).exists()
    assert SlaEventKind.OVERDUE not in timeline(bystander)
    assert SlaEventKind.REMINDER not in timeline(reminded_elsewhere)


def test_a_batch_keeps_its_tickets_after_later_ticks_mark_them_again(cast, make_ticket, sla):
    """Notifications may run long after the tick: a reminder batch still lists its ticket once the same
    ticket went overdue in a later tick."""
    with clock.frozen(msk(2025, 10, 31, 17, 0)):
        ticket = make_ticket()
    sla_tick(msk(2025, 11, 1, 13, 0))
    sla_tick(msk(2025, 11, 1, 14, 0))
    reminder = DomainEvent.objects.get(name=events.TICKET_REMINDER)
    overdue = DomainEvent.objects.get(name=events.TICKET_OVERDUE)
    assert events.batch_ticket_ids(reminder) == events.batch_ticket_ids(overdue) == [ticket.pk]


def test_a_tick_with_nothing_to_do_records_no_event(cast, make_ticket, sla):
    with clock.frozen(msk(2025, 10, 31, 17, 0)):
        make_ticket()
    assert sla_tick(msk(2025, 10, 31, 17, 30)) == TickReport()
    assert not DomainEvent.objects.exists()


def test_the_upgrade_keeps_the_tickets_of_batches_still_waiting_for_their_mail(cast, make_ticket, sla):
    """Events recorded before batches existed were found by their instant; pending ones keep their tickets."""
    with clock.frozen(msk(2025, 10, 31, 17, 0)):
        ticket = make_ticket()
    tick_at = msk(2025, 11, 5, 12, 0)
    sla_tick(tick_at)
    overdue = DomainEvent.objects.get(name=events.TICKET_OVERDUE)
    DomainEventTicket.objects.all().delete()  # as the tick left it before this release
    handled = events.publish(events.TICKET_OVERDUE, occurred_at=tick_at)
    DomainEvent.objects.filter(pk=handled.pk).update(handled_at=tick_at)

    migration = importlib.import_module("otklik.tickets.migrations.0016_sla_batch")
    migration._pending_batches_fill(django_apps, SimpleNamespace(connection=SimpleNamespace(alias="default")))

    assert events.batch_ticket_ids(overdue) == [ticket.pk]
    assert events.batch_ticket_ids(handled) == []  # mailed already


def test_reminder_skipped_when_the_deadline_passed_in_the_same_tick(cast, make_ticket, sla):
    with clock.frozen(msk(2025, 10, 31, 17, 0)):
        ticket = make_ticket()
    report = sla_tick(msk(2025, 11, 5, 12, 0))
    assert (report.reminders, report.overdue) == (0, 1)
    assert not fresh(ticket).reminder_sent


def test_overdue_deadline_does_not_move_on_client_reply_and_support_answer_clears(cast, make_ticket, sla):
    with clock.frozen(msk(2025, 10, 31, 17, 0)) as moment:
        ticket = make_ticket()
        sla_tick(msk(2025, 11, 1, 14, 0))
        moment.advance(days=1)
        services.message_post(
            actor=cast.client, ticket=fresh(ticket), draft=services.MessageDraft(body="Hello?")
        )
        assert fresh(ticket).deadline_at == msk(2025, 11, 1, 14, 0)
        moment.advance(hours=1)
        services.message_post(
            actor=cast.staff,
            ticket=fresh(ticket),
            draft=services.MessageDraft(body="Sorry, on it", hidden=True),
        )
        assert fresh(ticket).is_overdue  # a hidden note is not an answer
        services.message_post(
            actor=cast.staff, ticket=fresh(ticket), draft=services.MessageDraft(body="Fixed.")
        )
    ticket = fresh(ticket)
    assert not ticket.is_overdue and not ticket.reminder_sent and not ticket.awaits_support
    assert ticket.overdue_count == 1
    assert ticket.deadline_at is None and ticket.deadline_source_at is None
    assert timeline(ticket)[-1] == SlaEventKind.ANSWERED


def test_client_reply_after_answer_restarts_the_clock_from_the_reply(cast, make_ticket, sla):
    with clock.frozen(msk(2025, 10, 27, 10, 0)) as moment:
        ticket = make_ticket()
        moment.advance(hours=1)
        services.message_post(
            actor=cast.staff, ticket=fresh(ticket), draft=services.MessageDraft(body="Try again")
        )
        moment.advance(hours=7)  # Monday 18:00
        services.message_post(
            actor=cast.client, ticket=fresh(ticket), draft=services.MessageDraft(body="Still broken")
        )
    ticket = fresh(ticket)
    assert ticket.deadline_source_at == msk(2025, 10, 27, 18, 0)
    assert ticket.deadline_source_reason == SourceReason.CLIENT_REPLY
    assert ticket.deadline_at == msk(2025, 10, 28, 15, 0)  # 1 h on Monday + 5 h on Tuesday
    assert timeline(ticket) == [SlaEventKind.STARTED, SlaEventKind.ANSWERED, SlaEventKind.RESTARTED]


def test_sla_counting_from_creation_ignores_the_reply(cast, make_ticket, sla):
    sla.deadline_from_creation = True
    sla.save()
    with clock.frozen(msk(2025, 10, 27, 10, 0)) as moment:
        ticket = make_ticket()
        moment.advance(hours=1)
        services.message_post(
            actor=cast.staff, ticket=fresh(ticket), draft=services.MessageDraft(body="Try again")
        )
        moment.advance(hours=2)
        services.message_post(
            actor=cast.client, ticket=fresh(ticket), draft=services.MessageDraft(body="Still broken")
        )
    ticket = fresh(ticket)
    assert ticket.awaits_support and ticket.deadline_source_at == msk(2025, 10, 27, 10, 0)
    assert ticket.deadline_at == msk(2025, 10, 27, 16, 0)


def test_do_not_change_status_message_keeps_the_clock(cast, make_ticket, sla):
    with clock.frozen(msk(2025, 10, 27, 10, 0)) as moment:
        ticket = make_ticket()
        moment.advance(hours=1)
        services.message_post(
            actor=cast.staff,
            ticket=fresh(ticket),
            draft=services.MessageDraft(body="Noted", not_change_status=True),
        )
    ticket = fresh(ticket)
    assert ticket.awaits_support and ticket.deadline_at == msk(2025, 10, 27, 16, 0)


def test_reopen_restarts_the_clock_from_now(cast, make_ticket, sla):
    with clock.frozen(msk(2025, 10, 27, 10, 0)) as moment:
        ticket = make_ticket()
        moment.advance(hours=1)
        services.message_post(
            actor=cast.staff, ticket=fresh(ticket), draft=services.MessageDraft(body="Done")
        )
        services.ticket_close(actor=cast.staff, ticket=fresh(ticket))
        moment.advance(days=1)  # Tuesday 11:00
        services.ticket_reopen(actor=cast.client, ticket=fresh(ticket))
    ticket = fresh(ticket)
    assert ticket.deadline_source_reason == SourceReason.REOPENED
    assert ticket.deadline_at == msk(2025, 10, 28, 17, 0)


def test_sla_change_to_a_shorter_time_restarts_and_to_a_longer_one_keeps_the_source(cast, make_ticket, sla):
    vip = SlaLevel.objects.create(name="VIP", response_time=2, response_unit="hours", timetable=sla.timetable)
    slow = SlaLevel.objects.create(
        name="Slow", response_time=24, response_unit="hours", timetable=sla.timetable
    )
    with clock.frozen(msk(2025, 10, 27, 10, 0)) as moment:
        ticket = make_ticket()
        moment.advance(hours=3)
        services.ticket_update(actor=cast.staff, ticket=fresh(ticket), changes={"sla": vip.pk})
        ticket = fresh(ticket)
        assert ticket.deadline_source_at == msk(2025, 10, 27, 13, 0)
        assert ticket.deadline_source_reason == SourceReason.SLA_CHANGED
        assert ticket.deadline_at == msk(2025, 10, 27, 15, 0)
        moment.advance(minutes=30)
        services.ticket_update(actor=cast.staff, ticket=ticket, changes={"sla": slow.pk})
        # The source stays: 24 working hours from Monday 13:00 are 6 + 9 + 9, ending Wednesday 19:00.
        ticket = fresh(ticket)
        assert ticket.deadline_source_at == msk(2025, 10, 27, 13, 0)
        assert ticket.deadline_at == msk(2025, 10, 29, 19, 0)
        # A hidden note later does not undo the restart.
        services.message_post(
            actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="note", hidden=True)
        )
    assert fresh(ticket).deadline_source_at == msk(2025, 10, 27, 13, 0)
    assert SlaEventKind.SLA_CHANGED in timeline(ticket)


def test_postponed_does_not_stop_the_clock_by_default(cast, make_ticket, sla):
    with clock.frozen(msk(2025, 10, 27, 10, 0)):
        ticket = make_ticket()
        services.ticket_update(actor=cast.staff, ticket=fresh(ticket), changes={"is_postponed": True})
    assert fresh(ticket).deadline_at == msk(2025, 10, 27, 16, 0)


def test_postponed_pauses_the_clock_when_the_option_is_on(cast, make_ticket, sla):
    ModuleOptions.objects.update_or_create(pk=1, defaults={"postponed_pauses_sla": True})
    with clock.frozen(msk(2025, 10, 27, 10, 0)) as moment:
        ticket = make_ticket()
        moment.advance(hours=1)
        services.ticket_update(actor=cast.staff, ticket=fresh(ticket), changes={"is_postponed": True})
        assert fresh(ticket).deadline_at is None
        assert sla_tick(msk(2025, 10, 29, 10, 0)).overdue == 0  # paused: never overdue
        moment.advance(days=1, hours=2)  # Tuesday 13:00: paused 11 working hours (Mon 11-19, Tue 10-13)
        services.ticket_update(actor=cast.staff, ticket=fresh(ticket), changes={"is_postponed": False})
    ticket = fresh(ticket)
    assert ticket.sla_paused_seconds == 11 * 3600
    # 1 h ran on Monday before the pause; 5 h remain from Tuesday 13:00 -> Tuesday 18:00.
    assert ticket.deadline_at == msk(2025, 10, 28, 18, 0)
    assert timeline(ticket)[-2:] == [SlaEventKind.PAUSED, SlaEventKind.RESUMED]


def test_auto_close_after_the_days_of_silence(cast, make_ticket, sla):
    with clock.frozen(msk(2025, 10, 27, 10, 0)) as moment:
        quiet = make_ticket()
        never = make_ticket(title="Never")
        short = make_ticket(title="Short")
        waiting = make_ticket(title="Waiting")
        services.ticket_update(actor=cast.staff, ticket=fresh(never), changes={"auto_close_days": 0})
        services.ticket_update(actor=cast.staff, ticket=fresh(short), changes={"auto_close_days": 2})
        moment.advance(hours=1)
        for ticket in (quiet, never, short):
            services.message_post(
                actor=cast.staff, ticket=fresh(ticket), draft=services.MessageDraft(body="Done?")
            )
    answered = msk(2025, 10, 27, 11, 0)
    assert sla_tick(answered + timedelta(days=2)).auto_closed == 0  # exactly 2 days: not more than
    assert sla_tick(answered + timedelta(days=2, seconds=1)).auto_closed == 1
    assert fresh(short).auto_closed and fresh(short).closed_at is not None
    assert sla_tick(answered + timedelta(days=7, seconds=1)).auto_closed == 1
    assert fresh(quiet).auto_closed
    assert fresh(never).closed_at is None and fresh(waiting).closed_at is None
    event = TicketEvent.objects.get(ticket=quiet, field="closed")
    assert event.message.kind == MessageKind.LOG and event.message.created_at == event.at
    closings = DomainEvent.objects.filter(name=events.TICKET_AUTO_CLOSED).order_by("id")
    assert [events.batch_ticket_ids(e) for e in closings] == [[short.pk], [quiet.pk]]


def test_auto_close_zero_days_in_the_module_means_never(cast, make_ticket, sla):
    ModuleOptions.objects.update_or_create(pk=1, defaults={"auto_close_days": 0})
    with clock.frozen(msk(2025, 10, 27, 10, 0)):
        ticket = make_ticket()
        services.message_post(
            actor=cast.staff, ticket=fresh(ticket), draft=services.MessageDraft(body="Done?")
        )
    assert sla_tick(msk(2026, 10, 27, 10, 0)).auto_closed == 0
    assert fresh(ticket).closed_at is None


def test_events_reach_their_subscribers_once(cast, make_ticket, sla):
    seen = []
    unsubscribe = events.subscribe(
        events.TICKET_OVERDUE, lambda e: seen.append((events.batch_ticket_ids(e), e.payload["notify"]))
    )
    try:
        with clock.frozen(msk(2025, 10, 31, 17, 0)):
            ticket = make_ticket()
        sla_tick(msk(2025, 11, 5, 12, 0))
        events.dispatch()
        events.dispatch()
    finally:
        unsubscribe()
    assert seen == [([ticket.pk], True)]
    assert not DomainEvent.objects.filter(handled_at__isnull=True).exists()


def test_a_failing_subscriber_leaves_its_event_pending(cast, make_ticket, sla):
    def boom(event):
        raise RuntimeError("mail server down")

    unsubscribe = events.subscribe(events.TICKET_OVERDUE, boom)
    try:
        with clock.frozen(msk(2025, 10, 31, 17, 0)):
            make_ticket()
        sla_tick(msk(2025, 11, 5, 12, 0))
        assert events.dispatch() == 0
    finally:
        unsubscribe()
    assert events.dispatch() == 1


def test_tick_query_count_does_not_grow_with_the_tickets(
    cast, make_ticket, sla, django_assert_max_num_queries
):
    def run(count: int, day: int) -> None:
        with clock.frozen(msk(2025, 10, day, 10, 0)):
            for _ in range(count):
                make_ticket()
        with django_assert_max_num_queries(20):
            report = sla_tick(msk(2025, 10, day + 1, 17, 30))
        assert report.overdue == count

    run(2, 20)
    run(25, 22)


def test_staff_page_shows_the_sla_timeline_in_the_users_zone_and_clients_do_not_see_it(
    client, cast, make_ticket, sla
):
    from django.urls import reverse

    with clock.frozen(msk(2025, 10, 31, 17, 0)):
        ticket = make_ticket()
    sla_tick(msk(2025, 11, 1, 14, 0))
    cast.staff.profile.time_zone = "Asia/Yekaterinburg"  # two hours ahead of Moscow
    cast.staff.profile.save()
    client.force_login(cast.staff)
    page = client.get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    assert 'id="sla"' in page
    assert "01.11.2025 16:00:00" in page  # overdue since 14:00 Moscow time, shown in Yekaterinburg time
    assert "31.10.2025 19:00:00" in page  # counted from

    client.force_login(cast.client)
    page = client.get(reverse("tickets:client_detail", args=[ticket.pk])).content.decode()
    assert 'id="sla"' not in page and "01.11.2025 14:00:00" not in page


def test_the_consumer_runs_the_sla_tick_every_minute(cast, make_ticket, sla):
    from huey.contrib.djhuey import HUEY

    from otklik.schedule import sla_tick_task

    periodic = {task.name for task in HUEY._registry.periodic_tasks}
    assert sla_tick_task.task_class.__name__ in {name.rsplit(".", 1)[-1] for name in periodic}
    task = sla_tick_task.s()
    assert all(task.validate_datetime(datetime(2025, 11, 1, 9, m)) for m in range(0, 60, 7))
    with clock.frozen(msk(2025, 10, 31, 17, 0)):
        ticket = make_ticket()
    with clock.frozen(msk(2025, 11, 5, 12, 0)):
        sla_tick_task.call_local()
    assert fresh(ticket).is_overdue


def test_a_timetable_without_working_time_leaves_the_ticket_without_a_deadline(cast, make_ticket, sla):
    closed = Timetable.objects.create(code="closed", name="Closed", week=[[]] * 7)
    sla.timetable = closed
    sla.save()
    with clock.frozen(msk(2025, 10, 27, 10, 0)):
        ticket = fresh(make_ticket())
    assert ticket.awaits_support and ticket.deadline_at is None and ticket.reminder_at is None
    assert sla_tick(msk(2026, 10, 27, 10, 0)).overdue == 0
