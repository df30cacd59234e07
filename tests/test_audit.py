"""Issue 12, the auditor's part: mail's real sender in the history, the mail principal's limited rights,
records of deleted tickets, and the tamper-evident history checked by `otklik audit verify`."""

from __future__ import annotations

import importlib
import io
import json
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from otklik.accounts.models import AccessLevel, GroupAccess
from otklik.accounts.roles import forget_levels, is_admin, levels_of
from otklik.core import clock
from otklik.core.errors import NotFound, PermissionDenied
from otklik.mail.services import GATEWAY_USERNAME, gateway_user, mail_ingest
from otklik.tickets import services
from otklik.tickets.history import BROKEN_CONTENT, BROKEN_LINK, history_verify
from otklik.tickets.models import Channel, Message, MessageKind, Ticket, TicketDeletion, TicketEvent
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.sla_tick import sla_tick

from .conftest import logged_in, upload
from .test_mail_ingest import mail

pytestmark = pytest.mark.django_db
ADDRESS = "petr@customer.example"


def creation_event(ticket_id: int) -> TicketEvent:
    return TicketEvent.objects.get(ticket_id=ticket_id, field="created")


def closed_ticket(cast, make_ticket, **kw) -> Ticket:
    ticket = make_ticket(**kw)
    return services.ticket_close(actor=cast.admin, ticket=ticket)


# -- 1. mail writes as the sender, through a principal with only mail's rights -------------------------------
def test_mail_new_ticket_registered_sender_history_names_the_sender(cast):
    result = mail_ingest(mail(sender=cast.client.email))
    event = creation_event(result.ticket)
    assert event.actor == cast.client and event.actor_email == ""
    ticket = Ticket.objects.get(pk=result.ticket)
    assert ticket.modified_by == cast.client and ticket.created_via == Channel.EMAIL


def test_mail_new_ticket_address_sender_history_names_the_address(cast):
    result = mail_ingest(mail(sender=f"Пётр <{ADDRESS}>"))
    event = creation_event(result.ticket)
    assert event.actor is None and event.actor_email == ADDRESS
    assert Ticket.objects.get(pk=result.ticket).modified_by is None


def test_mail_reply_reopening_ticket_registered_sender_history_names_the_sender(cast, make_ticket):
    ticket = closed_ticket(cast, make_ticket)
    mail_ingest(mail(sender=cast.client.email, subject=f"Re: [TID#{ticket.pk}]", body="Снова не работает."))
    reopen = TicketEvent.objects.filter(ticket=ticket, field="closed").order_by("-id").first()
    assert reopen.via == Channel.EMAIL and reopen.actor == cast.client and reopen.actor_email == ""
    assert reopen.message.author == cast.client  # the log line in the discussion names them too
    ticket.refresh_from_db()
    assert ticket.closed_at is None and ticket.modified_by == cast.client


def test_mail_reply_reopening_ticket_address_sender_history_names_the_address(cast):
    ticket = Ticket.objects.get(pk=mail_ingest(mail(sender=ADDRESS)).ticket)
    services.ticket_close(actor=cast.admin, ticket=ticket)
    mail_ingest(mail(sender=ADDRESS, subject=f"Re: [TID#{ticket.pk}]", body="Ещё вопрос."))
    reopen = TicketEvent.objects.filter(ticket=ticket, field="closed").order_by("-id").first()
    assert reopen.actor is None and reopen.actor_email == ADDRESS
    assert reopen.message.author is None and reopen.message.author_email == ADDRESS
    last = ticket.messages.exclude(kind=MessageKind.LOG).order_by("-number").first()
    assert last.body == "Ещё вопрос." and last.author_email == ADDRESS and not last.by_support


def test_ticket_page_log_line_of_address_sender_shows_the_address(cast):
    ticket = Ticket.objects.get(pk=mail_ingest(mail(sender=ADDRESS)).ticket)
    services.ticket_close(actor=cast.admin, ticket=ticket)
    mail_ingest(mail(sender=ADDRESS, subject=f"Re: [TID#{ticket.pk}]", body="Ещё вопрос."))
    log = ticket.messages.filter(kind=MessageKind.LOG).order_by("-number").first()
    html = logged_in(cast.admin).get(reverse("tickets:staff_detail", kwargs={"ticket_id": ticket.pk})).content
    header = html.decode().split(f'id="m{log.number}"')[1].split("</header>")[0]
    assert ADDRESS in header and "gateway" not in header


def test_history_csv_address_actor_shows_the_address(cast):
    ticket = Ticket.objects.get(pk=mail_ingest(mail(sender=ADDRESS)).ticket)
    services.ticket_close(actor=cast.admin, ticket=ticket)
    mail_ingest(mail(sender=ADDRESS, subject=f"Re: [TID#{ticket.pk}]", body="Ещё вопрос."))
    response = logged_in(cast.admin).get(reverse("tickets:staff_history", kwargs={"ticket_id": ticket.pk}))
    rows = [line for line in response.content.decode("utf-8-sig").splitlines() if ",closed," in line.lower()]
    assert any(ADDRESS in line for line in rows), rows


def test_mail_principal_has_no_access_level_and_cannot_sign_in(cast):
    principal = gateway_user()
    assert not principal.is_active and not principal.has_usable_password()
    assert levels_of(principal) == frozenset() and not is_admin(principal)
    assert not principal.groups.exists() and not principal.is_superuser and not principal.is_staff
    browser = Client()
    browser.post(reverse("accounts:login"), {"username": GATEWAY_USERNAME, "password": ""})
    assert "_auth_user_id" not in browser.session


def test_mail_principal_policy_grants_only_what_mail_needs(cast, make_ticket):
    ticket = make_ticket()
    policy = TicketPolicy(gateway_user())
    assert policy.is_mail_principal and not (policy.is_admin or policy.is_staff or policy.is_support)
    assert policy.visible().count() == 0  # never lists tickets
    assert policy.can_create() and policy.can_post_message(ticket)
    assert policy.editable_fields(ticket) == frozenset()
    assert policy.spam_states(ticket) == frozenset()
    assert policy.message_options(ticket) == frozenset({"hidden", "on_behalf"})
    assert not policy.can_close(ticket) and not policy.can_reopen(ticket)  # open: nothing to reopen
    assert not policy.can_delete(ticket) and not policy.can_split(ticket)
    first = ticket.messages.first()
    assert not policy.can_edit_message(first) and not policy.can_delete_message(first)
    assert not policy.sees_hidden and not policy.can_view_admin_comment()


def test_mail_principal_policy_denies_even_when_put_in_an_admin_group(cast, make_ticket):
    principal = gateway_user()
    group = Group.objects.create(name="Admins by mistake")
    GroupAccess.objects.create(group=group, level=AccessLevel.ADMIN)
    principal.groups.add(group)
    forget_levels(principal)
    policy = TicketPolicy(User.objects.get(pk=principal.pk))
    assert not policy.is_admin and not policy.can_delete(make_ticket())


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(
            lambda p, t, c: services.ticket_update(actor=p, ticket=t, changes={"title": "Changed"}),
            id="update",
        ),
        pytest.param(lambda p, t, c: services.ticket_close(actor=p, ticket=t), id="close"),
        pytest.param(
            lambda p, t, c: services.ticket_set_spam(actor=p, ticket=t, state="possible"), id="spam"
        ),
        pytest.param(lambda p, t, c: services.ticket_delete(actor=p, ticket=t), id="delete"),
        pytest.param(
            lambda p, t, c: services.message_edit(actor=p, message=t.messages.first(), body="Changed"),
            id="edit-message",
        ),
        pytest.param(
            lambda p, t, c: services.message_delete(actor=p, message=t.messages.first()), id="delete-message"
        ),
        pytest.param(
            lambda p, t, c: services.ticket_split(
                actor=p, ticket=t, message=t.messages.first(), title="Split"
            ),
            id="split",
        ),
        pytest.param(
            lambda p, t, c: services.message_post(
                actor=p, ticket=t, draft=services.MessageDraft(body="As myself")
            ),
            id="post-as-itself",
        ),
        pytest.param(
            lambda p, t, c: services.message_post(
                actor=p,
                ticket=t,
                draft=services.MessageDraft(body="Spent time", on_behalf_of=c.client, minutes=5),
            ),
            id="post-with-minutes",
        ),
        pytest.param(
            lambda p, t, c: services.message_post(
                actor=p,
                ticket=t,
                draft=services.MessageDraft(body="Quiet", on_behalf_of=c.client, not_change_status=True),
            ),
            id="post-not-changing-status",
        ),
        pytest.param(
            lambda p, t, c: services.ticket_create(
                actor=p, draft=services.TicketDraft(title="Mine", message="As myself")
            ),
            id="create-as-itself",
        ),
        pytest.param(
            lambda p, t, c: services.ticket_create(
                actor=p,
                draft=services.TicketDraft(title="T", message="M"),
                staff=services.StaffFields(responsible=c.staff),
                origin=services.MailOrigin(author_address=ADDRESS),
            ),
            id="create-with-responsible",
        ),
        pytest.param(
            lambda p, t, c: services.ticket_create(
                actor=p,
                draft=services.TicketDraft(title="T", message="M"),
                staff=services.StaffFields(admin_comment="x"),
                origin=services.MailOrigin(author_address=ADDRESS),
            ),
            id="create-with-admin-comment",
        ),
    ],
)
def test_mail_principal_other_writes_are_refused(cast, make_ticket, write):
    ticket = make_ticket()
    before = (Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count())
    with pytest.raises((PermissionDenied, NotFound)):
        write(gateway_user(), ticket, cast)
    assert (Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count()) == before


def test_mail_principal_bulk_actions_reach_no_ticket(cast, make_ticket):
    ticket = make_ticket()
    for action in ("delete", "close", "spam"):
        result = services.tickets_bulk(actor=gateway_user(), ticket_ids=[ticket.pk], action=action)
        assert result.done == [] and list(result.failed) == [ticket.pk]
    ticket.refresh_from_db()
    assert ticket.closed_at is None and ticket.spam == "" and not TicketDeletion.objects.exists()


def test_mail_principal_reopen_requires_a_sender_and_others_cannot_name_one(cast, make_ticket):
    ticket = closed_ticket(cast, make_ticket)
    with pytest.raises(PermissionDenied):
        services.ticket_reopen(actor=gateway_user(), ticket=ticket)
    with pytest.raises(PermissionDenied):  # a person cannot make the history name someone else
        services.ticket_reopen(actor=cast.admin, ticket=ticket, author_address=ADDRESS)
    ticket.refresh_from_db()
    assert ticket.closed_at is not None


def test_mail_principal_migration_drops_the_admin_group_and_the_login(cast):
    # The state before: an inactive member of an admin-level group (with a password someone might set).
    principal = User.objects.create(username=GATEWAY_USERNAME, is_active=True, is_staff=True)
    principal.set_password("guessable")
    principal.save()
    old = Group.objects.create(name="Otklik mail gateway")
    GroupAccess.objects.create(group=old, level=AccessLevel.ADMIN)
    principal.groups.add(old)

    migration = importlib.import_module("otklik.mail.migrations.0002_mail_principal")
    migration.to_principal(django_apps, None)

    principal.refresh_from_db()
    assert not principal.is_active and not principal.is_staff and not principal.has_usable_password()
    assert not principal.groups.exists() and not Group.objects.filter(name="Otklik mail gateway").exists()
    forget_levels(principal)
    assert levels_of(principal) == frozenset()
    assert TicketPolicy(principal).is_mail_principal


def test_mail_by_registered_author_is_judged_as_the_authors_change(cast, make_ticket):
    """The author's own mail is not "support's change": no copy as if support wrote, support is told."""
    from otklik.notifications import catalog
    from otklik.notifications.models import OutboxMessage

    ticket = closed_ticket(cast, make_ticket)
    before = set(OutboxMessage.objects.filter(ticket_id=ticket.pk).values_list("pk", flat=True))
    mail_ingest(mail(sender=cast.client.email, subject=f"Re: [TID#{ticket.pk}]", body="Снова."))
    new = OutboxMessage.objects.filter(ticket_id=ticket.pk).exclude(pk__in=before)
    events = set(new.values_list("event", flat=True))
    assert catalog.CHANGED_BY_SUPPORT_FOR_AUTHOR not in events and catalog.CHANGED_FOR_SUPPORT in events


@pytest.mark.parametrize("registered", [True, False], ids=["user", "address"])
def test_mail_reply_support_mail_names_the_sender_as_who_changed_it(cast, make_ticket, registered):
    from otklik.notifications import catalog
    from otklik.notifications.models import OutboxMessage

    if registered:
        ticket, sender, shown = make_ticket(), cast.client.email, "Ivan Petrov"
    else:
        ticket = Ticket.objects.get(pk=mail_ingest(mail(sender=ADDRESS)).ticket)
        sender = shown = ADDRESS
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": cast.staff})
    mail_ingest(mail(sender=sender, subject=f"Re: [TID#{ticket.pk}]", body="Ещё деталь."))
    told = OutboxMessage.objects.filter(ticket_id=ticket.pk, event=catalog.CHANGED_FOR_SUPPORT).order_by(
        "-id"
    )[0]
    assert shown in told.subject and "gateway" not in told.subject + told.body_text


# -- 2. a deleted ticket leaves a record ---------------------------------------------------------------------
def test_ticket_delete_keeps_a_deletion_record(cast, make_ticket, frozen):
    ticket = make_ticket(files=[upload("log.txt", b"log")])
    services.message_post(
        actor=cast.staff,
        ticket=ticket,
        draft=services.MessageDraft(body="Answer", files=[upload("a.txt", b"a")]),
    )
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"title": "Renamed"})
    last_hash = TicketEvent.objects.filter(ticket=ticket).order_by("-id").first().hash
    frozen.advance(seconds=60)

    services.ticket_delete(actor=cast.admin, ticket=Ticket.objects.get(pk=ticket.pk))

    record = TicketDeletion.objects.get()
    assert (record.ticket_id, record.title) == (ticket.pk, "Renamed")
    assert record.author == cast.client and record.author_email == cast.client.email
    assert record.author_name == "Ivan Petrov" and record.created_at == ticket.created_at
    assert record.deleted_by == cast.admin and record.deleted_at == clock.now()
    assert (record.message_count, record.attachment_count) == (2, 2)
    assert record.event_count == 2 and len(last_hash) == 64 and record.last_event_hash == last_hash


def test_ticket_delete_address_author_is_recorded_by_address(cast):
    ticket = Ticket.objects.get(pk=mail_ingest(mail(sender=ADDRESS)).ticket)
    services.ticket_delete(actor=cast.admin, ticket=ticket)
    record = TicketDeletion.objects.get(ticket_id=ticket.pk)
    assert record.author is None and record.author_email == ADDRESS and record.author_name == ""


def test_ticket_delete_refused_writes_no_record(cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises(PermissionDenied):
        services.ticket_delete(actor=cast.staff, ticket=ticket)
    assert not TicketDeletion.objects.exists()


def test_tickets_bulk_delete_writes_one_record_per_ticket(cast, make_ticket):
    tickets = [make_ticket(title=f"Ticket {n}") for n in range(3)]
    result = services.tickets_bulk(actor=cast.admin, ticket_ids=[t.pk for t in tickets], action="delete")
    assert sorted(result.done) == sorted(t.pk for t in tickets)
    assert sorted(TicketDeletion.objects.values_list("ticket_id", flat=True)) == sorted(t.pk for t in tickets)


def _deleted(cast, make_ticket, n: int, frozen) -> list[int]:
    ids = []
    for k in range(n):
        ticket = make_ticket(title=f"Deleted {k}")
        frozen.advance(seconds=10)
        services.ticket_delete(actor=cast.admin, ticket=ticket)
        ids.append(ticket.pk)
    return ids


@pytest.mark.parametrize("language", ["en", "ru"])
def test_deletion_records_page_admin_sees_newest_first_paginated(cast, make_ticket, frozen, language):
    ids = _deleted(cast, make_ticket, 52, frozen)
    browser = logged_in(cast.admin, language)
    url = reverse("admin:tickets_ticketdeletion_changelist")
    page = browser.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'lang="{language}"' in html and f"#{ids[-1]}" in html and "Deleted 51" in html
    rows = list(page.context["cl"].result_list)
    assert [r.ticket_id for r in rows] == list(reversed(ids))[:50]
    second = browser.get(url, {"p": 2})
    assert [r.ticket_id for r in second.context["cl"].result_list] == list(reversed(ids))[50:]


def test_deletion_records_page_demo_as_other_admin_lists_nobody_changes_it(cast, make_ticket, frozen):
    _deleted(cast, make_ticket, 1, frozen)
    record = TicketDeletion.objects.get()
    url = reverse("admin:tickets_ticketdeletion_changelist")
    demo = logged_in(cast.demo)
    # Demo sees this list exactly as it sees the other admin lists (read-only where it may look at all).
    other_list = demo.get(reverse("admin:mail_inboundmail_changelist")).status_code
    assert demo.get(url).status_code == other_list
    detail = reverse("admin:tickets_ticketdeletion_change", args=[record.pk])
    for user in (cast.admin, cast.demo):  # nobody changes or removes the trace
        browser = logged_in(user)
        browser.post(detail, {"title": "x"})
        browser.post(reverse("admin:tickets_ticketdeletion_delete", args=[record.pk]), {"post": "yes"})
        assert browser.get(reverse("admin:tickets_ticketdeletion_add")).status_code in (302, 403)
    assert TicketDeletion.objects.get().title == "Deleted 0"
    for user in (cast.staff, cast.client):
        assert logged_in(user).get(url).status_code in (302, 403)


# -- 3. the tamper-evident history ---------------------------------------------------------------------------
def audit(*args: str) -> str:
    out = io.StringIO()
    call_command("audit", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def audit_broken(*args: str) -> tuple[str, CommandError]:
    out = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("audit", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip(), excinfo.value


@pytest.fixture
def busy(cast, make_ticket):
    """Two tickets with a history of every kind of writer: services, mail, and the SLA job."""
    first = make_ticket()
    services.ticket_update(actor=cast.admin, ticket=first, changes={"title": "Renamed", "admin_comment": "n"})
    services.message_post(
        actor=cast.staff, ticket=first, draft=services.MessageDraft(body="Does it work now?")
    )
    services.ticket_close(actor=cast.admin, ticket=Ticket.objects.get(pk=first.pk))
    services.ticket_reopen(actor=cast.client, ticket=Ticket.objects.get(pk=first.pk))
    second = Ticket.objects.get(pk=mail_ingest(mail(sender=ADDRESS)).ticket)
    services.ticket_set_spam(actor=cast.staff, ticket=second, state="possible")
    services.message_post(actor=cast.staff, ticket=second, draft=services.MessageDraft(body="Answer"))
    Ticket.objects.filter(pk=second.pk).update(last_message_at=clock.now() - timedelta(days=30))
    assert sla_tick().auto_closed == 1  # a set-based writer
    mail_ingest(mail(sender=ADDRESS, subject=f"Re: [TID#{second.pk}]", body="Reopen"))
    return first, second


def test_history_every_writer_chains_its_events(busy):
    events = list(TicketEvent.objects.order_by("ticket_id", "id"))
    assert len(events) >= 9 and all(len(e.hash) == 64 for e in events)
    assert history_verify().intact


def test_audit_verify_normal_history_exits_zero_with_a_summary(busy):
    count = TicketEvent.objects.count()
    assert audit("verify") == f"History intact: {count} events in 2 tickets."
    assert json.loads(audit("verify", "--json")) == {
        "intact": True,
        "tickets": 2,
        "events": count,
        "broken": None,
        "sealed": 0,
    }


@pytest.mark.parametrize("column,value", [("old", "— forged"), ("new", "forged"), ("actor_email", "x@y.z")])
def test_audit_verify_tampered_event_is_reported_exactly(busy, column, value):
    first, _second = busy
    target = TicketEvent.objects.filter(ticket=first).order_by("id")[1]
    TicketEvent.objects.filter(pk=target.pk).update(**{column: value})

    _out, error = audit_broken("verify")
    assert error.returncode == 1
    assert f"ticket #{first.pk}, event {target.pk}:" in str(error) and "changed" in str(error)
    out, _error = audit_broken("verify", "--json")
    broken = json.loads(out)["broken"]
    assert (broken["ticket"], broken["event"], broken["what"]) == (first.pk, target.pk, BROKEN_CONTENT)


def test_audit_verify_deleted_event_in_the_middle_is_reported(busy):
    first, _second = busy
    events = list(TicketEvent.objects.filter(ticket=first).order_by("id"))
    TicketEvent.objects.filter(pk=events[2].pk).delete()

    out, error = audit_broken("verify", "--json")
    broken = json.loads(out)["broken"]
    assert (broken["ticket"], broken["event"], broken["what"]) == (first.pk, events[3].pk, BROKEN_LINK)
    assert broken["expected"] == events[1].hash and broken["found"] == events[2].hash
    assert "deleted" in str(error)


def test_audit_verify_seals_history_written_before_the_chain(busy):
    """Events without hashes (written before the migration, or by a writer that did not seal) get sealed."""
    first, _second = busy
    TicketEvent.objects.filter(ticket=first).update(prev_hash="", hash="")
    report = json.loads(audit("verify", "--json"))
    assert report["intact"] and report["sealed"] == TicketEvent.objects.filter(ticket=first).count()
    admin = User.objects.get(username="admin")
    services.ticket_update(actor=admin, ticket=Ticket.objects.get(pk=first.pk), changes={"title": "After"})
    assert history_verify().intact


def test_service_write_after_unsealed_events_seals_them_first(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_update(actor=cast.admin, ticket=ticket, changes={"title": "One"})
    TicketEvent.objects.filter(ticket=ticket).update(
        prev_hash="", hash=""
    )  # as a set-based insert leaves them
    services.ticket_update(
        actor=cast.admin, ticket=Ticket.objects.get(pk=ticket.pk), changes={"title": "Two"}
    )
    assert not TicketEvent.objects.filter(hash="").exists() and history_verify().intact
