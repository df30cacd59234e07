"""Issue 17: in-app notifications (the bell) and each person's mail / in-app switches.

Every notification here is produced by a real service call (assign, reply, the SLA tick, a hidden note),
and every test asserts exactly who got what.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from otklik.accounts.models import SupportGroup
from otklik.accounts.services import support_group_add_member
from otklik.core import clock, events
from otklik.notifications import catalog as c
from otklik.notifications.models import InAppNotification, NotificationPreference, OutboxMessage
from otklik.notifications.selectors import notification_text, notifications_unread_count
from otklik.notifications.services import (
    mentioned_usernames,
    notification_preferences_save,
    notifications_mark_read_for_ticket,
    notifications_prune,
)
from otklik.tickets import services
from otklik.tickets.models import Ticket
from otklik.tickets.services.sla_tick import sla_tick
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def bell(user) -> list[tuple[str, int | None]]:
    """Return (kind, ticket id) of the user's in-app notifications, oldest first."""
    return list(
        InAppNotification.objects.filter(recipient=user).order_by("id").values_list("kind", "ticket_id")
    )


def everyone() -> list[tuple[str, str, int | None]]:
    return list(
        InAppNotification.objects.order_by("id").values_list("recipient__username", "kind", "ticket_id")
    )


def as_user(user, language: str = "en") -> Client:
    """Return a client logged in as `user`, whose interface language is `language` (the texts below are English)."""
    from otklik.accounts.models import Profile

    Profile.objects.filter(user=user).update(language=language)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def assigned(cast, make_ticket) -> Ticket:
    """A client's ticket the admin assigned to `staff`, with the bell emptied afterwards."""
    ticket = make_ticket()
    ticket = services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff})
    InAppNotification.objects.all().delete()
    return ticket


# -- assigned to you ------------------------------------------------------------------------------
def test_assign_by_admin_notifies_the_new_responsible_only(cast, make_ticket):
    ticket = make_ticket()
    assert everyone() == []  # nobody is responsible yet
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff})
    assert everyone() == [("staff", c.INAPP_ASSIGNED, ticket.pk)]
    note = InAppNotification.objects.get()
    assert note.actor == cast.admin and note.read_at is None and note.data["title"] == ticket.title
    assert notification_text(note) == f"admin assigned #{ticket.pk} to you"


def test_assign_yourself_notifies_nobody(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"responsible": cast.staff})
    assert everyone() == []


def test_new_ticket_routed_to_a_responsible_notifies_them_as_new(cast):
    ticket = services.ticket_create(
        actor=cast.admin,
        draft=services.TicketDraft(title="Phoned in", message="Call from the client"),
        staff=services.StaffFields(author=cast.client, responsible=cast.staff),
    )
    assert everyone() == [("staff", c.INAPP_ASSIGNED, ticket.pk)]
    assert notification_text(InAppNotification.objects.get()) == f"New ticket #{ticket.pk} is assigned to you"


# -- the client replied -----------------------------------------------------------------------------
def test_client_reply_notifies_the_responsible(cast, assigned):
    services.message_post(
        actor=cast.client, ticket=assigned, draft=services.MessageDraft(body="Still broken")
    )
    assert everyone() == [("staff", c.INAPP_CLIENT_REPLIED, assigned.pk)]
    note = InAppNotification.objects.get()
    assert notification_text(note) == f"Ivan Petrov replied on #{assigned.pk}"


def test_client_colleague_reply_notifies_the_responsible_but_support_replies_do_not(cast, assigned):
    services.message_post(actor=cast.staff, ticket=assigned, draft=services.MessageDraft(body="Try now"))
    services.message_post(actor=cast.admin, ticket=assigned, draft=services.MessageDraft(body="Admin here"))
    assert everyone() == []
    services.message_post(actor=cast.colleague, ticket=assigned, draft=services.MessageDraft(body="Me too"))
    assert everyone() == [("staff", c.INAPP_CLIENT_REPLIED, assigned.pk)]


def test_client_reply_without_responsible_notifies_nobody_in_app(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Hello?"))
    assert everyone() == []


# -- SLA reminder and overdue -----------------------------------------------------------------------
def _due(ticket: Ticket, *, reminder: bool) -> None:
    now = clock.now()
    Ticket.objects.filter(pk=ticket.pk).update(
        reminder_at=now - timedelta(minutes=1) if reminder else None,
        deadline_at=now + timedelta(hours=1) if reminder else now - timedelta(minutes=1),
        reminder_sent=False,
        is_overdue=False,
    )


def test_sla_reminder_notifies_the_responsible(cast, assigned, make_ticket):
    unassigned = make_ticket()
    _due(assigned, reminder=True)
    _due(unassigned, reminder=True)
    assert sla_tick().reminders == 2
    events.dispatch()
    # The admins get the mail of the unassigned ticket; the bell is the responsible's only.
    assert everyone() == [("staff", c.INAPP_REMINDER, assigned.pk)]
    assert notification_text(InAppNotification.objects.get()) == f"Time to answer #{assigned.pk}"
    events.dispatch()  # dispatching again writes nothing twice
    assert len(everyone()) == 1


def test_sla_overdue_notifies_the_responsible(cast, assigned):
    _due(assigned, reminder=False)
    assert sla_tick().overdue == 1
    events.dispatch()
    assert everyone() == [("staff", c.INAPP_OVERDUE, assigned.pk)]
    assert notification_text(InAppNotification.objects.get()) == f"#{assigned.pk} is overdue"


# -- mentions in hidden notes -----------------------------------------------------------------------
def test_mentioned_usernames_reads_logins_not_mail_addresses():
    text = "@olga, see this; mail ivan@example.com. Ask @p.smith. and @olga again (@x-y)"
    assert mentioned_usernames(text) == ["olga", "p.smith", "x-y"]


def test_hidden_note_mention_notifies_staff_who_may_see_the_ticket_only(cast, assigned):
    make_user("outsider", "staff")  # staff who sees neither unassigned nor others' tickets here
    team = SupportGroup.objects.create(name="L1", kind=SupportGroup.Kind.STAFF)
    support_group_add_member(group=team, user=cast.staff)
    support_group_add_member(group=team, user=cast.staff2)  # a colleague: sees staff's tickets
    services.message_post(
        actor=cast.staff,
        ticket=assigned,
        draft=services.MessageDraft(
            body="@staff2 @admin please check; not for @client, @outsider, @demo, @nobody or @staff",
            hidden=True,
        ),
    )
    assert sorted(everyone()) == [
        ("admin", c.INAPP_MENTION, assigned.pk),
        ("staff2", c.INAPP_MENTION, assigned.pk),
    ]
    note = InAppNotification.objects.filter(recipient=cast.admin).get()
    assert notification_text(note) == f"staff mentioned you in a hidden note on #{assigned.pk}"


def test_mention_of_staff_who_cannot_see_the_ticket_notifies_nobody(cast, assigned):
    from otklik.tickets.models import ModuleOptions
    from otklik.tickets.services import module_options_ensure

    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(staff_see_unassigned=False)
    services.message_post(
        actor=cast.staff, ticket=assigned, draft=services.MessageDraft(body="@staff2 look", hidden=True)
    )
    assert everyone() == []


def test_mention_of_a_client_in_a_hidden_note_notifies_nobody(cast, assigned):
    services.message_post(
        actor=cast.staff, ticket=assigned, draft=services.MessageDraft(body="@client @colleague", hidden=True)
    )
    assert everyone() == []


def test_mention_in_a_public_message_notifies_nobody(cast, assigned):
    services.message_post(actor=cast.staff, ticket=assigned, draft=services.MessageDraft(body="@admin hi"))
    assert everyone() == []


# -- preferences: mail and in-app switches -----------------------------------------------------------
def test_mail_switch_off_leaves_the_staff_member_out_of_change_mail(cast, assigned):
    notification_preferences_save(user=cast.staff, switches={"ticket_changed": {"mail": False}})
    services.message_post(
        actor=cast.client, ticket=assigned, draft=services.MessageDraft(body="Still broken")
    )
    support = OutboxMessage.objects.filter(ticket_id=assigned.pk, event=c.CHANGED_FOR_SUPPORT).order_by("-id")
    # The responsible's mail is gone; the admins' blind copy becomes their own mail.
    assert [(m.to, m.cc, m.bcc) for m in support[:1]] == [([cast.admin.email], [], [])]
    # The bell still rings: only the mail was switched off.
    assert everyone() == [("staff", c.INAPP_CLIENT_REPLIED, assigned.pk)]


def test_in_app_switch_off_writes_no_notification_but_keeps_the_mail(cast, assigned):
    notification_preferences_save(user=cast.staff, switches={"client_replied": {"in_app": False}})
    services.message_post(
        actor=cast.client, ticket=assigned, draft=services.MessageDraft(body="Still broken")
    )
    assert everyone() == []
    mail = OutboxMessage.objects.filter(ticket_id=assigned.pk, event=c.CHANGED_FOR_SUPPORT).latest("id")
    assert (mail.to, mail.bcc) == ([cast.staff.email], [cast.admin.email])


def test_reminder_mail_switch_off_sends_no_reminder_mail_to_that_person(cast, assigned):
    notification_preferences_save(user=cast.staff, switches={"reminder": {"mail": False, "in_app": True}})
    first = OutboxMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0
    _due(assigned, reminder=True)
    sla_tick()
    events.dispatch()
    assert list(OutboxMessage.objects.filter(id__gt=first).values_list("event", "to")) == []
    assert everyone() == [("staff", c.INAPP_REMINDER, assigned.pk)]


def test_client_may_switch_off_the_copy_of_their_own_changes_only(cast, assigned):
    notification_preferences_save(user=cast.client, switches={"own_copy": {"mail": False}})
    first = OutboxMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0
    services.message_post(actor=cast.client, ticket=assigned, draft=services.MessageDraft(body="More"))
    got = sorted((m.event, tuple(m.to)) for m in OutboxMessage.objects.filter(id__gt=first))
    assert got == [(c.CHANGED_FOR_SUPPORT, (cast.staff.email,))]
    services.message_post(actor=cast.staff, ticket=assigned, draft=services.MessageDraft(body="Answer"))
    assert OutboxMessage.objects.filter(
        event=c.CHANGED_BY_SUPPORT_FOR_AUTHOR, to=[cast.client.email]
    ).exists()


def test_preferences_back_at_the_defaults_keep_no_row(cast):
    notification_preferences_save(user=cast.staff, switches={"overdue": {"mail": False, "in_app": True}})
    assert NotificationPreference.objects.filter(user=cast.staff).count() == 1
    notification_preferences_save(user=cast.staff, switches={"overdue": {"mail": True, "in_app": True}})
    assert NotificationPreference.objects.filter(user=cast.staff).count() == 0


# -- reading: the count, marking read, pruning --------------------------------------------------------
def test_unread_count_is_one_query(cast, assigned, django_assert_num_queries):
    services.message_post(actor=cast.client, ticket=assigned, draft=services.MessageDraft(body="One"))
    services.message_post(actor=cast.client, ticket=assigned, draft=services.MessageDraft(body="Two"))
    with django_assert_num_queries(1):
        assert notifications_unread_count(user=cast.staff) == 2


def test_mark_read_for_ticket_marks_that_users_lines_of_that_ticket(cast, assigned, make_ticket):
    other = make_ticket()
    services.ticket_update(actor=cast.admin, ticket=other, changes={"responsible": cast.staff})
    services.message_post(actor=cast.client, ticket=assigned, draft=services.MessageDraft(body="One"))
    services.ticket_update(actor=cast.admin, ticket=other, changes={"responsible": cast.staff2})
    assert notifications_mark_read_for_ticket(user=cast.staff, ticket_id=assigned.pk) == 1
    assert notifications_mark_read_for_ticket(user=cast.staff, ticket_id=assigned.pk) == 0
    assert notifications_unread_count(user=cast.staff) == 1  # the other ticket's
    assert notifications_unread_count(user=cast.staff2) == 1


def test_mark_read_for_ticket_with_nothing_unread_only_reads(cast, assigned, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert notifications_mark_read_for_ticket(user=cast.staff, ticket_id=assigned.pk) == 0


def test_prune_deletes_old_read_and_very_old_unread_lines(cast, assigned):
    for _ in range(4):
        services.message_post(actor=cast.client, ticket=assigned, draft=services.MessageDraft(body="Hi"))
    old_read, new_read, old_unread, ancient = InAppNotification.objects.order_by("id")
    now = clock.now()
    InAppNotification.objects.filter(pk=old_read.pk).update(created_at=now - timedelta(days=31), read_at=now)
    InAppNotification.objects.filter(pk=new_read.pk).update(read_at=now)
    InAppNotification.objects.filter(pk=old_unread.pk).update(created_at=now - timedelta(days=200))
    InAppNotification.objects.filter(pk=ancient.pk).update(created_at=now - timedelta(days=400))
    assert notifications_prune() == 2
    assert set(InAppNotification.objects.values_list("pk", flat=True)) == {new_read.pk, old_unread.pk}
    assert notifications_prune() == 0


def test_prune_job_is_in_the_schedule():
    from otklik.schedule import SCHEDULE

    assert any(job.lock == "otklik-notifications-prune" for job in SCHEDULE)


# -- the bell's pages ----------------------------------------------------------------------------------
BELL_URLS = ("notifications:count", "notifications:panel", "notifications:list")


@pytest.mark.parametrize("name", BELL_URLS)
def test_bell_pages_send_anonymous_visitors_to_log_in(name):
    response = Client().get(reverse(name))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("name", BELL_URLS)
def test_bell_pages_refuse_clients(cast, name):
    assert as_user(cast.client).get(reverse(name)).status_code == 403


def test_client_pages_have_no_bell_and_staff_pages_have_one(cast):
    assert b"data-bell" not in as_user(cast.client).get(reverse("tickets:client_list")).content
    page = as_user(cast.staff).get(reverse("tickets:staff_list")).content.decode()
    assert "data-bell" in page and 'hx-trigger="load, every 60s' in page


def test_bell_count_shows_the_badge_and_answers_304_to_its_etag(cast, assigned):
    services.message_post(actor=cast.client, ticket=assigned, draft=services.MessageDraft(body="One"))
    staff = as_user(cast.staff)
    response = staff.get(reverse("notifications:count"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="bell-badge">1<' in body and 'data-label="Notifications, 1 unread"' in body
    etag = response["ETag"]
    again = staff.get(reverse("notifications:count"), headers={"if-none-match": etag})
    assert again.status_code == 304 and again["ETag"] == etag
    services.message_post(actor=cast.client, ticket=assigned, draft=services.MessageDraft(body="Two"))
    assert staff.get(reverse("notifications:count"), headers={"if-none-match": etag}).status_code == 200


def test_bell_panel_lists_unread_first_with_links_that_open_the_ticket(cast, assigned):
    services.message_post(actor=cast.client, ticket=assigned, draft=services.MessageDraft(body="One"))
    note = InAppNotification.objects.get()
    staff = as_user(cast.staff)
    panel = staff.get(reverse("notifications:panel")).content.decode()
    assert f"Ivan Petrov replied on #{assigned.pk}" in panel
    open_url = reverse("notifications:open", args=[note.pk])
    assert open_url in panel
    # Somebody else's notification is not found, and stays unread.
    assert as_user(cast.staff2).get(open_url).status_code == 404
    response = staff.get(open_url)
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:staff_detail", kwargs={"ticket_id": assigned.pk})
    note.refresh_from_db()
    assert note.read_at is not None
    assert notifications_unread_count(user=cast.staff) == 0


def test_mark_all_read_by_htmx_answers_the_panel_and_tells_the_badge(cast, assigned):
    services.message_post(actor=cast.client, ticket=assigned, draft=services.MessageDraft(body="One"))
    services.message_post(actor=cast.client, ticket=assigned, draft=services.MessageDraft(body="Two"))
    staff = as_user(cast.staff)
    assert staff.get(reverse("notifications:mark_all_read")).status_code == 405
    response = staff.post(reverse("notifications:mark_all_read"), headers={"hx-request": "true"})
    assert response.status_code == 200 and response["HX-Trigger"] == "notifications-changed"
    assert notifications_unread_count(user=cast.staff) == 0
    plain = staff.post(reverse("notifications:mark_all_read"), {"next": "https://evil.example/"})
    assert plain["Location"] == reverse("notifications:list")


def test_notification_list_pages_through_everything(cast, assigned):
    for n in range(35):
        services.message_post(actor=cast.client, ticket=assigned, draft=services.MessageDraft(body=f"{n}"))
    staff = as_user(cast.staff)
    first = staff.get(reverse("notifications:list"))
    assert first.status_code == 200 and len(first.context["rows"]) == 30
    assert len(staff.get(reverse("notifications:list"), {"page": 2}).context["rows"]) == 5


# -- the settings page ---------------------------------------------------------------------------------
def test_preferences_page_staff_sees_every_staff_topic_and_saves_switches(cast):
    staff = as_user(cast.staff)
    page = staff.get(reverse("notifications:preferences"))
    assert page.status_code == 200
    keys = [row["topic"].key for row in page.context["rows"]]
    assert "reminder" in keys and "mention" in keys and "own_copy" not in keys
    # Everything on but the overdue mail and the mention bell.
    form = {f"{k}:{ch}": "on" for k in keys for ch in ("mail", "in_app")}
    del form["overdue:mail"], form["mention:in_app"]
    assert staff.post(reverse("notifications:preferences"), form).status_code == 302
    saved = set(NotificationPreference.objects.filter(user=cast.staff).values_list("topic", "mail", "in_app"))
    assert saved == {("overdue", False, True), ("mention", True, False)}


def test_preferences_page_client_sees_only_their_optional_mail(cast):
    client = as_user(cast.client)
    page = client.get(reverse("notifications:preferences"))
    assert [row["topic"].key for row in page.context["rows"]] == ["own_copy"]
    assert b"in_app" not in page.content
    client.post(reverse("notifications:preferences"), {})
    assert list(NotificationPreference.objects.values_list("user__username", "topic", "mail")) == [
        ("client", "own_copy", False)
    ]


def test_preferences_page_needs_a_login():
    response = Client().get(reverse("notifications:preferences"))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("value", ["", "x" * 10_000, "\u0000", "🙂\u202e", "on", "[]"])
def test_preferences_count_and_panel_with_odd_input_never_fail_the_server(cast, value):
    staff = as_user(cast.staff)
    saved = staff.post(
        reverse("notifications:preferences"), {value[:100] or "x": value, "assigned:mail": value}
    )
    assert saved.status_code == 302
    assert staff.get(reverse("notifications:count"), HTTP_IF_NONE_MATCH=value[:200]).status_code in (200, 304)
    assert staff.get(reverse("notifications:panel"), {"page": value[:100]}).status_code == 200
    assert staff.get(reverse("notifications:list"), {"page": value[:100]}).status_code == 200
