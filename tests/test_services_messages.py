"""Messages (F-03) and the derived state they drive (F-02, F-08 first paragraph), through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from otklik.core import clock
from otklik.core.errors import PermissionDenied, ValidationFailed
from otklik.dictionaries.models import DictionaryEntry
from otklik.tickets import services
from otklik.tickets.loglines import event_values
from otklik.tickets.models import Message, MessageKind, MessageRevision, TicketEvent
from otklik.tickets.policies import TicketPolicy
from tests.conftest import upload
from tests.helpers import fresh
from tests.samples import png_bytes

T0 = dt.datetime(2025, 3, 3, 7, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def entry(kind: str, code: str) -> DictionaryEntry:
    return DictionaryEntry.objects.get(kind=kind, code=code)


# -- running numbers ---------------------------------------------------------------------------
def test_message_post_numbers_run_consecutively_over_every_kind(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="More details"))
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="note", hidden=True)
    )
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="fyi", not_change_status=True)
    )
    services.ticket_update(
        actor=cast.staff, ticket=fresh(ticket), changes={"status": entry("status", "in_progress")}
    )
    services.message_post(actor=cast.staff, ticket=fresh(ticket), draft=services.MessageDraft(body="Answer"))
    rows = list(Message.objects.filter(ticket=ticket).order_by("pk").values_list("number", "kind"))
    assert [n for n, _k in rows] == list(range(1, len(rows) + 1))
    assert [k for _n, k in rows] == [
        MessageKind.PUBLIC,
        MessageKind.PUBLIC,
        MessageKind.HIDDEN,
        MessageKind.NO_STATUS,
        MessageKind.LOG,
        MessageKind.PUBLIC,
    ]


def test_message_delete_last_message_number_never_reused(cast, make_ticket):
    ticket = make_ticket()
    extra = services.message_post(
        actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Oops, wrong ticket")
    )
    deleted_number = extra.number
    services.message_delete(actor=cast.admin, message=extra)
    later = services.message_post(
        actor=cast.client, ticket=fresh(ticket), draft=services.MessageDraft(body="Real follow-up")
    )
    numbers = list(Message.objects.filter(ticket=ticket).values_list("number", flat=True))
    assert deleted_number not in numbers, "a deleted message's number was given to another message"
    assert later.number > deleted_number
    assert len(numbers) == len(set(numbers))


def test_message_post_separate_tickets_number_independently(cast, make_ticket):
    a, b = make_ticket(title="A"), make_ticket(title="B")
    ma = services.message_post(actor=cast.client, ticket=a, draft=services.MessageDraft(body="to A"))
    mb = services.message_post(actor=cast.client, ticket=b, draft=services.MessageDraft(body="to B"))
    assert ma.number == mb.number == 2  # 1 is the question


# -- time spent ----------------------------------------------------------------------------------
def test_message_post_minutes_sum_into_time_spent_including_hidden(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Looking", minutes=15)
    )
    services.message_post(
        actor=cast.staff,
        ticket=fresh(ticket),
        draft=services.MessageDraft(body="Checked logs", hidden=True, minutes=30),
    )
    services.message_post(
        actor=cast.admin, ticket=fresh(ticket), draft=services.MessageDraft(body="Fixed", minutes=7)
    )
    assert fresh(ticket).time_spent_minutes == 52


def test_message_post_client_with_minutes_permission_denied(cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises(PermissionDenied) as info:
        services.message_post(
            actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="I spent an hour", minutes=60)
        )
    assert "minutes" in info.value.errors
    assert fresh(ticket).time_spent_minutes == 0


@pytest.mark.parametrize("minutes", [-5, 100_001, "ten"])
def test_message_post_bad_minutes_validation_failed(cast, make_ticket, minutes):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as info:
        services.message_post(
            actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="x", minutes=minutes)
        )
    assert "minutes" in info.value.errors
    assert fresh(ticket).message_count == 1


@pytest.mark.parametrize("body", ["", "   \n  ", None])
def test_message_post_empty_body_validation_failed(cast, make_ticket, body):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as info:
        services.message_post(actor=cast.client, ticket=ticket, draft=services.MessageDraft(body=body))
    assert "body" in info.value.errors


def test_message_post_hidden_and_not_change_status_together_validation_failed(cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed):
        services.message_post(
            actor=cast.staff,
            ticket=ticket,
            draft=services.MessageDraft(body="x", hidden=True, not_change_status=True),
        )
    assert Message.objects.filter(ticket=ticket).count() == 1


def test_message_post_body_normalised_crlf_and_trimmed(cast, make_ticket):
    ticket = make_ticket()
    message = services.message_post(
        actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="  line 1\r\nline 2  \r\n")
    )
    assert message.body == "line 1\nline 2"


# -- on behalf of the client -------------------------------------------------------------------
def test_message_post_on_behalf_author_is_client_posted_by_staff_not_support(cast, make_ticket):
    with clock.frozen(T0) as c:
        ticket = make_ticket()
        c.advance(minutes=10)
        services.message_post(
            actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Which browser?")
        )
        assert fresh(ticket).awaits_support is False
        phoned_at = c.advance(minutes=30)
        message = services.message_post(
            actor=cast.staff,
            ticket=fresh(ticket),
            draft=services.MessageDraft(body="Client phoned: Firefox 128", on_behalf_of=cast.client),
        )
    assert message.author == cast.client and message.posted_by == cast.staff
    assert message.by_support is False and message.kind == MessageKind.PUBLIC
    ticket = fresh(ticket)
    assert ticket.awaits_support is True
    assert ticket.last_message_by == cast.client and ticket.last_message_by_support is False
    assert ticket.first_client_message_after_support_at == phoned_at
    assert ticket.deadline_source_at == phoned_at


def test_message_post_on_behalf_by_id_resolves_user(cast, make_ticket):
    ticket = make_ticket()
    message = services.message_post(
        actor=cast.admin,
        ticket=ticket,
        draft=services.MessageDraft(body="By phone", on_behalf_of=cast.client.pk),
    )
    assert message.author == cast.client and message.posted_by == cast.admin


@pytest.mark.parametrize("value", [987654, "abc"])
def test_message_post_on_behalf_unknown_user_validation_failed(cast, make_ticket, value):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as info:
        services.message_post(
            actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="x", on_behalf_of=value)
        )
    assert "on_behalf_of" in info.value.errors


def test_message_post_on_behalf_of_user_who_cannot_see_ticket_validation_failed(cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as info:
        services.message_post(
            actor=cast.staff,
            ticket=ticket,
            draft=services.MessageDraft(body="x", on_behalf_of=cast.other_client),
        )
    assert "on_behalf_of" in info.value.errors
    assert not Message.objects.filter(ticket=ticket, author=cast.other_client).exists()


def test_message_post_on_behalf_of_support_member_counts_as_support_answer(cast, make_ticket):
    ticket = make_ticket()
    message = services.message_post(
        actor=cast.admin,
        ticket=ticket,
        draft=services.MessageDraft(body="Answer dictated by the responsible", on_behalf_of=cast.staff),
    )
    assert message.author == cast.staff and message.posted_by == cast.admin
    assert message.by_support is True
    ticket = fresh(ticket)
    assert ticket.last_message_by_support is True and ticket.awaits_support is False


def test_message_post_own_message_has_no_posted_by(cast, make_ticket):
    ticket = make_ticket()
    message = services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Answer")
    )
    assert message.author == cast.staff and message.posted_by is None and message.by_support is True


# -- hidden and "do not change status" messages are not support's answers -------------------------
@pytest.mark.parametrize("option", ["hidden", "not_change_status"])
def test_message_post_staff_note_after_client_reply_leaves_waiting_state_unchanged(cast, make_ticket, option):
    with clock.frozen(T0) as c:
        ticket = make_ticket()
        c.advance(hours=1)
        services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Try again"))
        reply_at = c.advance(hours=1)
        services.message_post(
            actor=cast.client, ticket=fresh(ticket), draft=services.MessageDraft(body="Still broken")
        )
        before = fresh(ticket)
        c.advance(hours=1)
        services.message_post(
            actor=cast.staff, ticket=fresh(ticket), draft=services.MessageDraft(body="note", **{option: True})
        )
    after = fresh(ticket)
    assert after.awaits_support is True
    assert after.last_message_by_support is False
    assert after.last_message_by == cast.client
    assert after.last_message_at == reply_at
    assert after.first_client_message_after_support_at == reply_at
    assert after.deadline_source_at == before.deadline_source_at == reply_at


@pytest.mark.parametrize("option", ["hidden", "not_change_status"])
def test_message_post_staff_note_on_new_ticket_does_not_answer_it(cast, make_ticket, option):
    with clock.frozen(T0) as c:
        ticket = make_ticket()
        c.advance(minutes=5)
        services.message_post(
            actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="note", **{option: True})
        )
    ticket = fresh(ticket)
    assert ticket.awaits_support is True and ticket.last_message_by_support is False
    assert ticket.last_message_at == T0 and ticket.deadline_source_at == T0


def test_message_post_public_staff_answer_clears_waiting_and_deadline_source(cast, make_ticket):
    with clock.frozen(T0) as c:
        ticket = make_ticket()
        answered = c.advance(minutes=20)
        services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Done"))
    ticket = fresh(ticket)
    assert ticket.awaits_support is False and ticket.last_message_by_support is True
    assert ticket.last_message_at == answered and ticket.last_message_by == cast.staff
    assert ticket.deadline_source_at is None and ticket.first_client_message_after_support_at is None


def test_message_post_second_client_reply_keeps_first_reply_as_clock_source(cast, make_ticket):
    with clock.frozen(T0) as c:
        ticket = make_ticket()
        c.advance(minutes=20)
        services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Answer"))
        first = c.advance(minutes=20)
        services.message_post(actor=cast.client, ticket=fresh(ticket), draft=services.MessageDraft(body="No"))
        c.advance(minutes=20)
        services.message_post(
            actor=cast.client, ticket=fresh(ticket), draft=services.MessageDraft(body="Hello?")
        )
    ticket = fresh(ticket)
    assert ticket.first_client_message_after_support_at == first
    assert ticket.deadline_source_at == first


def test_message_count_counts_public_and_no_status_not_hidden_or_log(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="note", hidden=True)
    )
    services.message_post(
        actor=cast.staff,
        ticket=fresh(ticket),
        draft=services.MessageDraft(body="fyi", not_change_status=True),
    )
    services.message_post(actor=cast.staff, ticket=fresh(ticket), draft=services.MessageDraft(body="answer"))
    services.ticket_update(actor=cast.staff, ticket=fresh(ticket), changes={"title": "Renamed"})
    assert fresh(ticket).message_count == 3
    client_kinds = [m.kind for m in TicketPolicy(cast.client).messages(ticket)]
    assert client_kinds.count(MessageKind.NO_STATUS) == 1 and MessageKind.HIDDEN not in client_kinds


# -- edit (admins only, history kept) -----------------------------------------------------------
def test_message_edit_admin_keeps_previous_text_in_revision(cast, make_ticket):
    ticket = make_ticket(message="Version 1")
    first = ticket.messages.get(number=1)
    with clock.frozen(T0) as c:
        services.message_edit(actor=cast.admin, message=first, body="Version 2")
        c.advance(minutes=1)
        services.message_edit(actor=cast.admin, message=Message.objects.get(pk=first.pk), body="Version 3")
    first.refresh_from_db()
    assert first.body == "Version 3"
    assert first.edited_by == cast.admin and first.edited_at == T0 + dt.timedelta(minutes=1)
    revisions = list(
        MessageRevision.objects.filter(message=first).values_list("body", "edited_by", "edited_at")
    )
    assert revisions == [
        ("Version 1", cast.admin.pk, T0),
        ("Version 2", cast.admin.pk, T0 + dt.timedelta(minutes=1)),
    ]


def test_message_edit_same_text_writes_no_revision_and_no_event(cast, make_ticket):
    ticket = make_ticket(message="Same")
    first = ticket.messages.get(number=1)
    events = TicketEvent.objects.filter(ticket=ticket).count()
    services.message_edit(actor=cast.admin, message=first, body="  Same  ")
    assert not MessageRevision.objects.exists()
    assert TicketEvent.objects.filter(ticket=ticket).count() == events


def test_message_edit_records_staff_only_event_and_log_line(cast, make_ticket):
    ticket = make_ticket()
    first = ticket.messages.get(number=1)
    services.message_edit(actor=cast.admin, message=first, body="Corrected text")
    event = TicketEvent.objects.get(ticket=ticket, field="message_edited")
    assert event.actor == cast.admin and event.new == "#1" and event.staff_only is True
    assert event.message.kind == MessageKind.LOG and "#1" in event.message.body


@pytest.mark.parametrize("who", ["staff", "client"])
def test_message_edit_non_admin_permission_denied(cast, make_ticket, who):
    ticket = make_ticket(message="Original")
    first = ticket.messages.get(number=1)
    with pytest.raises(PermissionDenied):
        services.message_edit(actor=getattr(cast, who), message=first, body="Changed")
    first.refresh_from_db()
    assert first.body == "Original" and not MessageRevision.objects.exists()


def test_message_edit_log_line_refused_even_for_admin(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"title": "Renamed"})
    log = ticket.messages.get(kind=MessageKind.LOG)
    with pytest.raises(PermissionDenied):
        services.message_edit(actor=cast.admin, message=log, body="history rewritten")


def test_message_edit_empty_body_validation_failed(cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises(ValidationFailed) as info:
        services.message_edit(actor=cast.admin, message=ticket.messages.get(number=1), body="  ")
    assert "body" in info.value.errors


# -- delete (admins only, derived state recomputed) -----------------------------------------------
@pytest.fixture
def conversation(cast, make_ticket):
    """T0 question, T0+1h staff answer (10 min), T0+2h client reply, T0+3h staff answer (5 min)."""
    with clock.frozen(T0) as c:
        ticket = make_ticket()
        c.advance(hours=1)
        a1 = services.message_post(
            actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Answer one", minutes=10)
        )
        c.advance(hours=1)
        r1 = services.message_post(
            actor=cast.client, ticket=fresh(ticket), draft=services.MessageDraft(body="Reply one")
        )
        c.advance(hours=1)
        a2 = services.message_post(
            actor=cast.staff, ticket=fresh(ticket), draft=services.MessageDraft(body="Answer two", minutes=5)
        )
    t = fresh(ticket)
    assert (t.message_count, t.time_spent_minutes, t.awaits_support) == (4, 15, False)
    return ticket, a1, r1, a2


def test_message_delete_last_support_answer_ticket_awaits_support_again(cast, conversation):
    ticket, _a1, r1, a2 = conversation
    with clock.frozen(T0 + dt.timedelta(hours=5)):
        services.message_delete(actor=cast.admin, message=a2)
    t = fresh(ticket)
    assert t.awaits_support is True
    assert t.last_message_by_support is False and t.last_message_by == cast.client
    assert t.last_message_at == r1.created_at
    assert t.first_client_message_after_support_at == r1.created_at
    assert t.deadline_source_at == r1.created_at
    assert t.message_count == 3 and t.time_spent_minutes == 10


def test_message_delete_client_reply_ticket_answered_again(cast, conversation):
    ticket, _a1, r1, a2 = conversation
    services.message_delete(actor=cast.admin, message=a2)
    services.message_delete(actor=cast.admin, message=Message.objects.get(pk=r1.pk))
    t = fresh(ticket)
    assert t.awaits_support is False and t.last_message_by_support is True
    assert t.first_client_message_after_support_at is None and t.deadline_source_at is None
    assert t.message_count == 2 and t.time_spent_minutes == 10


def test_message_delete_only_support_answer_clock_back_to_creation(cast, conversation):
    ticket, a1, _r1, a2 = conversation
    services.message_delete(actor=cast.admin, message=a2)
    services.message_delete(actor=cast.admin, message=Message.objects.get(pk=a1.pk))
    t = fresh(ticket)
    assert t.awaits_support is True and t.first_client_message_after_support_at is None
    assert t.deadline_source_at == t.created_at == T0
    assert t.time_spent_minutes == 0 and t.message_count == 2


def test_message_delete_records_staff_only_event(cast, conversation):
    ticket, _a1, _r1, a2 = conversation
    services.message_delete(actor=cast.admin, message=a2)
    event = TicketEvent.objects.get(ticket=ticket, field="message_deleted")
    assert event.actor == cast.admin and event.old == f"#{a2.number}" and event.staff_only is True
    assert not Message.objects.filter(pk=a2.pk).exists()


@pytest.mark.parametrize("who", ["staff", "client"])
def test_message_delete_non_admin_permission_denied(cast, conversation, who):
    ticket, _a1, _r1, a2 = conversation
    with pytest.raises(PermissionDenied):
        services.message_delete(actor=getattr(cast, who), message=a2)
    assert Message.objects.filter(pk=a2.pk).exists()


def test_message_delete_with_file_removes_file_after_commit(
    cast, make_ticket, django_capture_on_commit_callbacks
):
    ticket = make_ticket()
    message = services.message_post(
        actor=cast.client,
        ticket=ticket,
        draft=services.MessageDraft(body="Screenshot", files=[upload("shot.png", png_bytes())]),
    )
    attachment = message.attachments.get()
    storage, name = attachment.file.storage, attachment.file.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        services.message_delete(actor=cast.admin, message=message)
    assert not storage.exists(name)
    assert not ticket.attachments.exists()


# -- close and reopen ---------------------------------------------------------------------------
def test_ticket_reopen_restarts_clock_from_now(cast, make_ticket):
    with clock.frozen(T0) as c:
        ticket = make_ticket()
        c.advance(hours=1)
        services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Solved"))
        closed_at = c.advance(hours=1)
        services.ticket_close(actor=cast.client, ticket=fresh(ticket))
        t = fresh(ticket)
        assert t.closed_at == closed_at and t.awaits_support is False
        reopened = c.advance(days=2)
        services.ticket_reopen(actor=cast.client, ticket=fresh(ticket))
    t = fresh(ticket)
    assert t.closed_at is None and t.auto_closed is False
    assert t.reopened_at == reopened and t.deadline_source_at == reopened
    assert t.awaits_support is True and t.is_overdue is False


def test_ticket_reopen_then_hidden_note_keeps_client_waiting(cast, make_ticket):
    with clock.frozen(T0) as c:
        ticket = make_ticket()
        c.advance(hours=1)
        services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Solved"))
        c.advance(hours=1)
        services.ticket_close(actor=cast.staff, ticket=fresh(ticket))
        reopened = c.advance(hours=1)
        services.ticket_reopen(actor=cast.client, ticket=fresh(ticket))
        c.advance(hours=1)
        services.message_post(
            actor=cast.staff, ticket=fresh(ticket), draft=services.MessageDraft(body="looking", hidden=True)
        )
        t = fresh(ticket)
        assert t.awaits_support is True and t.deadline_source_at == reopened
        c.advance(hours=1)
        services.message_post(
            actor=cast.staff, ticket=fresh(ticket), draft=services.MessageDraft(body="Fixed for real")
        )
    t = fresh(ticket)
    assert t.awaits_support is False and t.deadline_source_at is None


def test_ticket_reopen_open_ticket_is_noop(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_reopen(actor=cast.client, ticket=ticket)
    t = fresh(ticket)
    assert t.reopened_at is None and not t.events.filter(field="closed").exists()


def test_ticket_close_and_reopen_logged_as_events(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_close(actor=cast.client, ticket=ticket)
    services.ticket_reopen(actor=cast.staff, ticket=fresh(ticket))
    events = list(
        TicketEvent.objects.filter(ticket=ticket, field="closed").values_list("actor", "staff_only")
    )
    assert events == [(cast.client.pk, False), (cast.staff.pk, False)]
    with translation.override("en"):
        services.ticket_close(actor=cast.staff, ticket=fresh(ticket))
    last = TicketEvent.objects.filter(ticket=ticket, field="closed").last()
    # The event's text is in the site's language whoever made the change; readers get the log data.
    assert (last.old, last.new) == ("нет", "да")
    with translation.override("en"):
        assert event_values(last, last.message.data) == ("no", "yes")


# -- change history: every change is an event, one log message per save -------------------------
def test_ticket_update_several_fields_events_with_actor_old_new_and_one_log_message(cast, make_ticket):
    ticket = make_ticket(title="Old title")
    with translation.override("en"):
        services.ticket_update(
            actor=cast.staff,
            ticket=ticket,
            changes={
                "title": "New title",
                "category": entry("category", "payment"),
                "status": entry("status", "in_progress"),
                "difficulty": entry("difficulty", "hard"),
            },
        )
    events = {e.field: e for e in TicketEvent.objects.filter(ticket=ticket).exclude(field="created")}
    assert set(events) == {"title", "category", "status", "difficulty"}
    assert (events["title"].old, events["title"].new) == ("Old title", "New title")
    with translation.override("en"):
        shown = {f: event_values(e, e.message.data) for f, e in events.items()}
    assert shown["category"] == ("Errors", "Order payment")
    assert shown["status"] == ("Accepted for consideration", "Being solved")
    assert shown["difficulty"] == ("—", "Hard")
    # The events keep the text in the site's language (Russian) for older readers.
    assert events["category"].new == entry("category", "payment").name_ru
    assert all(e.actor == cast.staff for e in events.values())
    assert {f for f, e in events.items() if e.staff_only} == {"difficulty"}
    logs = {e.message_id for e in events.values()}
    assert len(logs) == 1
    log = Message.objects.get(pk=logs.pop())
    assert log.kind == MessageKind.LOG and len(log.body.splitlines()) == 4
    assert "Old title" in log.body and "New title" in log.body
    assert log not in TicketPolicy(cast.client).messages(ticket)


def test_ticket_update_unchanged_values_write_no_event_and_no_log(cast, make_ticket):
    ticket = make_ticket(title="Same")
    before_events = TicketEvent.objects.filter(ticket=ticket).count()
    before_messages = Message.objects.filter(ticket=ticket).count()
    services.ticket_update(
        actor=cast.staff, ticket=ticket, changes={"title": "Same", "category": fresh(ticket).category}
    )
    assert TicketEvent.objects.filter(ticket=ticket).count() == before_events
    assert Message.objects.filter(ticket=ticket).count() == before_messages


def test_ticket_update_mark_by_author_logged_visible_to_author(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Answer"))
    services.ticket_update(
        actor=cast.client, ticket=fresh(ticket), changes={"mark": entry("mark", "incomplete")}
    )
    assert fresh(ticket).mark.code == "incomplete"
    event = TicketEvent.objects.get(ticket=ticket, field="mark")
    assert event.actor == cast.client and event.staff_only is False


def test_ticket_update_modified_by_and_at_follow_the_change(cast, make_ticket):
    ticket = make_ticket()
    at = T0 + dt.timedelta(days=1)
    with clock.frozen(at):
        services.ticket_update(actor=cast.staff, ticket=ticket, changes={"is_postponed": True})
    t = fresh(ticket)
    assert t.modified_by == cast.staff and t.modified_at == at and t.is_postponed is True


def test_ticket_update_unknown_field_refused(cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises((PermissionDenied, ValidationFailed)):
        services.ticket_update(actor=cast.admin, ticket=ticket, changes={"closed_at": T0})
    assert fresh(ticket).closed_at is None


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("title", ""),
        ("title", "x" * 256),
        ("category", 999999),
        ("status", "abc"),
        ("expected_date", "31.01.2030"),
        ("auto_close_days", -1),
        ("criticality", "__status__"),
    ],
)
def test_ticket_update_bad_value_validation_failed_keyed_by_field(cast, make_ticket, field_name, value):
    ticket = make_ticket()
    if value == "__status__":
        value = entry("status", "solved")  # an entry of the wrong dictionary
    with pytest.raises(ValidationFailed) as info:
        services.ticket_update(actor=cast.admin, ticket=ticket, changes={field_name: value})
    assert field_name in info.value.errors
    assert not TicketEvent.objects.filter(ticket=ticket).exclude(field="created").exists()


def test_ticket_update_inactive_dictionary_entry_validation_failed(cast, make_ticket):
    ticket = make_ticket()
    payment = entry("category", "payment")
    DictionaryEntry.objects.filter(pk=payment.pk).update(active=False)
    with pytest.raises(ValidationFailed):
        services.ticket_update(actor=cast.staff, ticket=ticket, changes={"category": payment.pk})
