"""F-11: who gets which mail, one test per row of the table and per rule of the seed.

Every test asserts the exact recipients (To, Cc, Bcc) of the outbox rows a real service call wrote.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import translation

from otklik.accounts.models import SupportGroup
from otklik.accounts.services import support_group_add_member
from otklik.core import clock, events
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.notifications import catalog as c
from otklik.notifications.models import OutboxMessage
from otklik.notifications.recipients import (
    Audience,
    Person,
    mailings_for_activity,
    mailings_for_overdue,
    mailings_for_reminder,
    split_by_language,
)
from otklik.notifications.services import coupon_used_notify
from otklik.tickets import services
from otklik.tickets.models import ModuleOptions, Ticket
from otklik.tickets.services import module_options_ensure
from otklik.tickets.services.sla_tick import sla_tick
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
SECRET = "internal note: the client owes us money"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def mail(ticket: Ticket | None = None, event: str | None = None) -> list[OutboxMessage]:
    qs = OutboxMessage.objects.order_by("id")
    if ticket is not None:
        qs = qs.filter(ticket_id=ticket.pk)
    if event is not None:
        qs = qs.filter(event=event)
    return list(qs)


def who(ticket: Ticket, event: str) -> tuple[set[str], set[str], set[str]]:
    """Return the (to, cc, bcc) addresses of the ticket's mail of `event`, merged over language splits."""
    to, cc, bcc = set(), set(), set()
    for row in mail(ticket, event):
        to.update(row.to)
        cc.update(row.cc)
        bcc.update(row.bcc)
    return to, cc, bcc


def events_of(ticket: Ticket) -> list[str]:
    return [row.event for row in mail(ticket)]


def after(ticket: Ticket):
    """Forget the mail so far; return a function listing the events written since."""
    first = OutboxMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def since() -> list[OutboxMessage]:
        return list(OutboxMessage.objects.filter(ticket_id=ticket.pk, id__gt=first).order_by("id"))

    return since


def addr(user) -> str:
    return user.email


# -- row 1 and 2: a new ticket -----------------------------------------------------------------
def test_new_ticket_without_responsible_mails_author_and_all_admins(cast, make_ticket):
    admin2 = make_user("admin2", "admin")
    ticket = make_ticket()
    assert ticket.responsible is None
    assert who(ticket, c.NEW_FOR_AUTHOR) == ({addr(cast.client)}, set(), set())
    assert who(ticket, c.NEW_FOR_SUPPORT) == ({addr(cast.admin), addr(admin2)}, set(), set())
    assert sorted(events_of(ticket)) == sorted([c.NEW_FOR_AUTHOR, c.NEW_FOR_SUPPORT])


def test_new_ticket_with_responsible_mails_responsible_and_bccs_admins(cast, make_ticket):
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(default_responsible=cast.staff)
    ticket = make_ticket()
    assert ticket.responsible == cast.staff
    assert who(ticket, c.NEW_FOR_SUPPORT) == ({addr(cast.staff)}, set(), {addr(cast.admin)})


def test_new_ticket_bcc_admins_option_off_leaves_admins_out(cast, make_ticket):
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(
        default_responsible=cast.staff, bcc_admins=False
    )
    ticket = make_ticket()
    assert who(ticket, c.NEW_FOR_SUPPORT) == ({addr(cast.staff)}, set(), set())


def test_new_ticket_client_colleague_with_new_flag_is_copied(cast, make_ticket):
    company = SupportGroup.objects.get(name="Romashka LLC")
    support_group_add_member(group=company, user=cast.colleague, mail_new=True)
    ticket = make_ticket()
    assert who(ticket, c.NEW_FOR_AUTHOR) == ({addr(cast.client)}, {addr(cast.colleague)}, set())


def test_new_ticket_client_colleague_without_flag_or_view_right_is_not_copied(cast, make_ticket):
    company = SupportGroup.objects.get(name="Romashka LLC")
    support_group_add_member(group=company, user=cast.colleague, can_view=False, mail_new=True)
    ticket = make_ticket()
    assert who(ticket, c.NEW_FOR_AUTHOR) == ({addr(cast.client)}, set(), set())


def test_new_ticket_staff_colleague_with_new_flag_is_copied(cast, make_ticket):
    team = SupportGroup.objects.create(name="L1", kind=SupportGroup.Kind.STAFF)
    support_group_add_member(group=team, user=cast.staff)
    support_group_add_member(group=team, user=cast.staff2, mail_new=True)
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(default_responsible=cast.staff)
    ticket = make_ticket()
    assert who(ticket, c.NEW_FOR_SUPPORT) == ({addr(cast.staff)}, {addr(cast.staff2)}, {addr(cast.admin)})


def test_new_ticket_filed_by_staff_for_client_mails_client_not_the_filing_staff(cast):
    ticket = services.ticket_create(
        actor=cast.staff,
        draft=services.TicketDraft(title="Phoned in", message="Call from the client"),
        staff=services.StaffFields(author=cast.client, responsible=cast.staff),
    )
    assert who(ticket, c.NEW_FOR_AUTHOR) == ({addr(cast.client)}, set(), set())
    # The filing staff member is the responsible: nobody tells them what they just did; admins get the copy.
    assert who(ticket, c.NEW_FOR_SUPPORT) == ({addr(cast.admin)}, set(), set())


def test_new_ticket_hidden_first_message_sends_no_author_mail(cast):
    ticket = services.ticket_create(
        actor=cast.staff,
        draft=services.TicketDraft(title="Internal", message=SECRET),
        staff=services.StaffFields(author=cast.client, hidden=True),
    )
    assert who(ticket, c.NEW_FOR_AUTHOR) == (set(), set(), set())
    assert SECRET in mail(ticket, c.NEW_FOR_SUPPORT)[0].body_text


def test_new_ticket_do_not_notify_author_sends_no_author_mail(cast):
    ticket = services.ticket_create(
        actor=cast.staff,
        draft=services.TicketDraft(title="Quiet", message="x", notify_author=False),
        staff=services.StaffFields(author=cast.client),
    )
    assert events_of(ticket) == [c.NEW_FOR_SUPPORT]


# -- row 3: changed by support (for author) ----------------------------------------------------
def _entry(kind: str, name: str) -> DictionaryEntry:
    return DictionaryEntry.objects.create(kind=kind, name_ru=name, name_en=name)


VISIBLE_CHANGES = {
    "title": lambda cast: {"title": "A new title"},
    "category": lambda cast: {"category": _entry(DictionaryKind.CATEGORY, "Billing").pk},
    "criticality": lambda cast: {"criticality": _entry(DictionaryKind.CRITICALITY, "High").pk},
    "status": lambda cast: {"status": _entry(DictionaryKind.STATUS, "In progress").pk},
    "responsible": lambda cast: {"responsible": cast.staff2.pk},
    "is_postponed": lambda cast: {"is_postponed": True},
}


@pytest.mark.parametrize("field", sorted(VISIBLE_CHANGES))
def test_change_by_support_visible_field_mails_author(cast, make_ticket, field):
    ticket = make_ticket(responsible=None)
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff.pk})
    since = after(ticket)
    services.ticket_update(actor=cast.staff, ticket=ticket, changes=VISIBLE_CHANGES[field](cast))
    author_mail = [m for m in since() if m.event == c.CHANGED_BY_SUPPORT_FOR_AUTHOR]
    assert [(m.to, m.cc, m.bcc) for m in author_mail] == [([addr(cast.client)], [], [])]


def test_change_by_support_sla_mails_author(cast, make_ticket):
    from otklik.sla.models import SlaLevel

    other = SlaLevel.objects.create(name="Gold", response_time=1, response_unit="hours")
    ticket = make_ticket()
    since = after(ticket)
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"sla": other.pk})
    assert [m.event for m in since() if m.to == [addr(cast.client)]] == [c.CHANGED_BY_SUPPORT_FOR_AUTHOR]


@pytest.mark.parametrize("action", ["public_message", "close", "reopen", "no_status_message"])
def test_change_by_support_message_or_close_mails_author(cast, make_ticket, action):
    ticket = make_ticket()
    if action == "reopen":
        services.ticket_close(actor=cast.staff, ticket=ticket)
    since = after(ticket)
    if action == "public_message":
        services.message_post(
            actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Try again, please.")
        )
    elif action == "no_status_message":
        services.message_post(
            actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="FYI", not_change_status=True)
        )
    elif action == "close":
        services.ticket_close(actor=cast.staff, ticket=ticket)
    else:
        services.ticket_reopen(actor=cast.staff, ticket=ticket)
    author_mail = [m for m in since() if m.event == c.CHANGED_BY_SUPPORT_FOR_AUTHOR]
    assert [(m.to, m.cc, m.bcc) for m in author_mail] == [([addr(cast.client)], [], [])]


def _author_mail_text(since, client) -> str:
    rows = [m for m in since() if m.event == c.CHANGED_BY_SUPPORT_FOR_AUTHOR and m.to == [addr(client)]]
    assert len(rows) == 1
    return rows[0].body_text


def test_close_by_support_mail_asks_the_author_for_a_rating_with_a_link(cast, make_ticket):
    cast.client.profile.language = "en"
    cast.client.profile.save()
    ticket = make_ticket()
    since = after(ticket)
    services.ticket_close(actor=cast.staff, ticket=ticket)
    text = _author_mail_text(since, cast.client)
    assert "Please rate our answer" in text
    assert f"/tickets/{ticket.pk}/#rate" in text


def test_solved_status_mail_asks_for_a_rating_in_the_authors_language(cast, make_ticket):
    ticket = make_ticket()
    solved = DictionaryEntry.objects.get(kind=DictionaryKind.STATUS, code="solved")
    cast.client.profile.language = "ru"
    cast.client.profile.save()
    since = after(ticket)
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"status": solved.pk})
    assert "оцените наш ответ" in _author_mail_text(since, cast.client)


def test_open_or_rated_ticket_mail_does_not_ask_for_a_rating(cast, make_ticket):
    ticket = make_ticket()
    since = after(ticket)
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Try again."))
    assert "#rate" not in _author_mail_text(since, cast.client)
    mark = DictionaryEntry.objects.filter(kind=DictionaryKind.MARK).first()
    Ticket.objects.filter(pk=ticket.pk).update(mark=mark)
    ticket.refresh_from_db()
    since = after(ticket)
    services.ticket_close(actor=cast.staff, ticket=ticket)
    assert "#rate" not in _author_mail_text(since, cast.client)


def test_change_by_support_client_colleague_with_update_flag_is_copied(cast, make_ticket):
    company = SupportGroup.objects.get(name="Romashka LLC")
    support_group_add_member(group=company, user=cast.colleague, mail_update=True)
    ticket = make_ticket()
    since = after(ticket)
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Fixed."))
    author_mail = [m for m in since() if m.event == c.CHANGED_BY_SUPPORT_FOR_AUTHOR]
    assert [(m.to, m.cc) for m in author_mail] == [([addr(cast.client)], [addr(cast.colleague)])]


@pytest.mark.parametrize(
    "changes",
    [{"difficulty": "difficulty"}, {"admin_comment": "VIP, be nice"}, {"auto_close_days": 3}],
    ids=["difficulty", "admin_comment", "auto_close_days"],
)
def test_change_by_support_staff_only_field_mails_support_only(cast, make_ticket, changes):
    if "difficulty" in changes:
        changes = {"difficulty": _entry(DictionaryKind.DIFFICULTY, "Hard").pk}
    ticket = make_ticket(responsible=None)
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff.pk})
    since = after(ticket)
    services.ticket_update(actor=cast.admin, ticket=ticket, changes=changes)
    assert [(m.event, m.to, m.bcc) for m in since()] == [(c.CHANGED_FOR_SUPPORT, [addr(cast.staff)], [])]


# -- row 4: changed by author (copy for author) -------------------------------------------------
def test_change_by_author_message_mails_author_copy_and_responsible(cast, make_ticket):
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(default_responsible=cast.staff)
    ticket = make_ticket()
    since = after(ticket)
    services.message_post(actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Still broken."))
    got = {(m.event, tuple(m.to), tuple(m.cc), tuple(m.bcc)) for m in since()}
    assert got == {
        (c.CHANGED_BY_AUTHOR_FOR_AUTHOR, (addr(cast.client),), (), ()),
        (c.CHANGED_FOR_SUPPORT, (addr(cast.staff),), (), (addr(cast.admin),)),
    }


def test_change_by_author_close_mails_author_copy(cast, make_ticket):
    ticket = make_ticket()
    since = after(ticket)
    services.ticket_close(actor=cast.client, ticket=ticket)
    assert [m.to for m in since() if m.event == c.CHANGED_BY_AUTHOR_FOR_AUTHOR] == [[addr(cast.client)]]


def test_change_by_author_mark_mails_author_copy_and_support(cast, make_ticket):
    ticket = make_ticket()
    # The author rates only once support has answered (issue 17).
    ticket = services.message_post(
        actor=cast.admin, ticket=ticket, draft=services.MessageDraft(body="Fixed, please check.")
    ).ticket
    since = after(ticket)
    services.ticket_update(
        actor=cast.client,
        ticket=Ticket.objects.get(pk=ticket.pk),
        changes={"mark": _entry(DictionaryKind.MARK, "Good").pk},
    )
    got = {(m.event, tuple(m.to)) for m in since()}
    assert got == {
        (c.CHANGED_BY_AUTHOR_FOR_AUTHOR, (addr(cast.client),)),
        (c.CHANGED_FOR_SUPPORT, (addr(cast.admin),)),
    }


def test_change_by_client_colleague_mails_author_copy_not_colleague(cast, make_ticket):
    ticket = make_ticket()
    since = after(ticket)
    services.message_post(
        actor=cast.colleague, ticket=ticket, draft=services.MessageDraft(body="Same for me.")
    )
    author_mail = [m for m in since() if m.event == c.CHANGED_BY_AUTHOR_FOR_AUTHOR]
    assert [m.to for m in author_mail] == [[addr(cast.client)]]


# -- row 5: changed (for support) ---------------------------------------------------------------
def test_change_for_support_without_responsible_mails_all_admins(cast, make_ticket):
    ticket = make_ticket()
    since = after(ticket)
    services.message_post(actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Hello?"))
    assert [(m.to, m.bcc) for m in since() if m.event == c.CHANGED_FOR_SUPPORT] == [([addr(cast.admin)], [])]


def test_change_for_support_staff_colleague_with_update_flag_is_copied(cast, make_ticket):
    team = SupportGroup.objects.create(name="L2", kind=SupportGroup.Kind.STAFF)
    support_group_add_member(group=team, user=cast.staff)
    support_group_add_member(group=team, user=cast.staff2, mail_update=True)
    ticket = make_ticket(responsible=None)
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff.pk})
    since = after(ticket)
    services.message_post(actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="More details."))
    support = [m for m in since() if m.event == c.CHANGED_FOR_SUPPORT]
    assert [(m.to, m.cc, m.bcc) for m in support] == [
        ([addr(cast.staff)], [addr(cast.staff2)], [addr(cast.admin)])
    ]


# -- the seed's rules ---------------------------------------------------------------------------
def test_seed_change_by_responsible_notifies_author_not_responsible(cast, make_ticket):
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(
        default_responsible=cast.staff, bcc_admins=False
    )
    ticket = make_ticket()
    since = after(ticket)
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Done."))
    assert {(m.event, tuple(m.to)) for m in since()} == {
        (c.CHANGED_BY_SUPPORT_FOR_AUTHOR, (addr(cast.client),))
    }


def test_seed_change_by_author_notifies_responsible_or_admins(cast, make_ticket):
    ticket = make_ticket()
    since = after(ticket)
    high = _entry(DictionaryKind.CRITICALITY, "High").pk
    services.ticket_update(actor=cast.client, ticket=ticket, changes={"criticality": high})
    assert [m.to for m in since() if m.event == c.CHANGED_FOR_SUPPORT] == [[addr(cast.admin)]]
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff.pk})
    since = after(ticket)
    low = _entry(DictionaryKind.CRITICALITY, "Low").pk
    services.ticket_update(actor=cast.client, ticket=ticket, changes={"criticality": low})
    assert [m.to for m in since() if m.event == c.CHANGED_FOR_SUPPORT] == [[addr(cast.staff)]]


def test_seed_new_responsible_notifies_author_and_new_responsible(cast, make_ticket):
    ticket = make_ticket()
    since = after(ticket)
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff2.pk})
    got = {(m.event, tuple(m.to)) for m in since()}
    assert got == {
        (c.CHANGED_BY_SUPPORT_FOR_AUTHOR, (addr(cast.client),)),
        (c.CHANGED_FOR_SUPPORT, (addr(cast.staff2),)),
    }


def test_seed_hide_message_do_not_notify_author_sends_support_only(cast, make_ticket):
    ticket = make_ticket(responsible=None)
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff2.pk})
    since = after(ticket)
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body=SECRET, hidden=True)
    )
    rows = since()
    assert [(m.event, m.to) for m in rows] == [(c.CHANGED_FOR_SUPPORT, [addr(cast.staff2)])]
    assert SECRET in rows[0].body_text


def test_seed_do_not_notify_author_checkbox_suppresses_author_mail(cast, make_ticket):
    ticket = make_ticket()
    since = after(ticket)
    services.message_post(
        actor=cast.staff,
        ticket=ticket,
        draft=services.MessageDraft(body="Visible, but quiet.", notify_author=False),
    )
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"title": "Renamed"}, notify_author=False)
    services.ticket_close(actor=cast.staff, ticket=ticket, notify_author=False)
    assert {m.event for m in since()} == {c.CHANGED_FOR_SUPPORT}


def test_hidden_message_content_never_reaches_an_author_mail(cast, make_ticket):
    """Whatever follows a hidden message, no author mail carries its text."""
    ticket = make_ticket()
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body=SECRET, hidden=True)
    )
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Public answer."))
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"title": "Renamed"})
    services.message_post(actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Thanks"))
    services.ticket_close(actor=cast.staff, ticket=ticket)
    author_mail = [m for m in mail(ticket) if m.event in c.AUTHOR_EVENTS]
    assert len(author_mail) >= 4
    for row in author_mail:
        assert SECRET not in row.body_text and SECRET not in row.body_html and SECRET not in row.subject
    assert any(SECRET in m.body_text for m in mail(ticket, c.CHANGED_FOR_SUPPORT))


def test_nobody_is_mailed_about_a_change_made_by_themselves_alone(cast, make_ticket):
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(
        default_responsible=cast.admin, bcc_admins=True
    )
    ticket = make_ticket()
    since = after(ticket)
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"admin_comment": "note"})
    assert since() == []


# -- rows 6-8: reminder, overdue, coupon --------------------------------------------------------
def _due(ticket: Ticket, *, reminder: bool) -> None:
    now = clock.now()
    Ticket.objects.filter(pk=ticket.pk).update(
        reminder_at=now - timedelta(minutes=1) if reminder else None,
        deadline_at=now + timedelta(hours=1) if reminder else now - timedelta(minutes=1),
        reminder_sent=False,
        is_overdue=False,
    )


def test_reminder_mails_responsible(cast, make_ticket):
    ticket = make_ticket(responsible=None)
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff.pk})
    since = after(ticket)
    _due(ticket, reminder=True)
    assert sla_tick().reminders == 1
    events.dispatch()
    assert [(m.event, m.to, m.cc) for m in since()] == [(c.REMINDER, [addr(cast.staff)], [])]
    assert since()[0].subject.startswith(f"[TID#{ticket.pk}] Пора отвечать!")  # staff's language is ru


def test_reminder_without_responsible_mails_admins(cast, make_ticket):
    ticket = make_ticket()
    since = after(ticket)
    _due(ticket, reminder=True)
    sla_tick()
    events.dispatch()
    assert [(m.event, m.to) for m in since()] == [(c.REMINDER, [addr(cast.admin)])]


def test_overdue_mails_responsible_and_admins(cast, make_ticket):
    ticket = make_ticket(responsible=None)
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff.pk})
    since = after(ticket)
    _due(ticket, reminder=False)
    assert sla_tick().overdue == 1
    events.dispatch()
    assert [(m.event, m.to, m.cc) for m in since()] == [(c.OVERDUE, [addr(cast.staff)], [addr(cast.admin)])]


def test_overdue_option_off_sends_nothing(cast, make_ticket):
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(notify_overdue=False)
    ticket = make_ticket()
    since = after(ticket)
    _due(ticket, reminder=False)
    sla_tick()
    events.dispatch()
    assert since() == []


def test_auto_close_mails_author_and_support(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Does it work now?")
    )
    since = after(ticket)
    Ticket.objects.filter(pk=ticket.pk).update(last_message_at=clock.now() - timedelta(days=30))
    assert sla_tick().auto_closed == 1
    events.dispatch()
    got = {(m.event, tuple(m.to)) for m in since()}
    assert got == {
        (c.CHANGED_BY_SUPPORT_FOR_AUTHOR, (addr(cast.client),)),
        (c.CHANGED_FOR_SUPPORT, (addr(cast.admin),)),
    }


def test_coupon_used_mails_admins(cast, make_ticket):
    admin2 = make_user("admin2", "admin")
    ticket = make_ticket()
    since = after(ticket)
    coupon_used_notify(ticket=ticket, coupon="VIP-0001", actor=cast.client)
    rows = since()
    assert [(m.event, set(m.to)) for m in rows] == [(c.COUPON_USED, {addr(cast.admin), addr(admin2)})]
    assert "VIP-0001" in rows[0].subject


# -- language, subject, threading ---------------------------------------------------------------
def test_mail_is_written_in_each_recipients_language(cast):
    english = make_user("english", "client", language="en")
    ticket = services.ticket_create(
        actor=english, draft=services.TicketDraft(title="Printer", message="It jams.")
    )
    (author_mail,) = mail(ticket, c.NEW_FOR_AUTHOR)
    (support_mail,) = mail(ticket, c.NEW_FOR_SUPPORT)
    assert author_mail.language == "en" and "Your ticket is accepted" in author_mail.subject
    assert support_mail.language == "ru" and "Новое обращение" in support_mail.subject


def test_mail_subject_starts_with_ticket_marker_and_threads(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Answer"))
    rows = mail(ticket)
    assert rows and all(m.subject.startswith(f"[TID#{ticket.pk}] ") for m in rows)
    assert len({m.message_id for m in rows}) == len(rows)
    assert {m.references for m in rows} == {f"<otklik.ticket.{ticket.pk}@otklik.localhost>"}
    assert all(m.message_id.endswith("@otklik.localhost>") for m in rows)


def test_rollback_of_the_change_leaves_no_mail(cast, make_ticket):
    from django.db import transaction

    before = OutboxMessage.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        make_ticket()
        assert OutboxMessage.objects.count() > before
        raise RuntimeError("the change fails after its mail was written")
    assert OutboxMessage.objects.count() == before


# -- the pure rules -----------------------------------------------------------------------------
A = Person("author@x", "Author", "en", 1)
R = Person("resp@x", "Resp", "ru", 2)
ADM = Person("adm@x", "Adm", "ru", 3)
ADM_EN = Person("adm2@x", "Adm2", "en", 4)


def test_mailings_responsible_who_is_admin_gets_one_copy():
    audience = Audience(author=A, responsible=ADM, admins=(ADM, ADM_EN))
    (author, support) = mailings_for_activity(
        audience, actor_id=1, by_support=False, created=False, author_visible=True, notify_author=True
    )
    assert support.to == (ADM,) and support.bcc == (ADM_EN,)


def test_mailings_author_without_address_gets_nothing():
    audience = Audience(author=Person("", "Anon", "ru", 9), admins=(ADM,))
    got = mailings_for_activity(
        audience, actor_id=None, by_support=True, created=True, author_visible=True, notify_author=True
    )
    assert [m.event for m in got] == [c.NEW_FOR_SUPPORT]


def test_split_by_language_makes_one_mail_per_language_and_promotes_copies():
    (mailing,) = mailings_for_overdue(Audience(responsible=R, admins=(ADM, ADM_EN)))
    parts = split_by_language(mailing)
    assert [(p.language, p.to, p.cc) for p in parts] == [("ru", (R,), (ADM,)), ("en", (ADM_EN,), ())]


def test_mailings_reminder_without_anyone_is_empty():
    assert mailings_for_reminder(Audience()) == []
