"""Merging tickets (issue 18, P1): what moves, who may, what the old address and mail replies do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import translation

from otklik.core import clock
from otklik.core.errors import PermissionDenied, ReadOnlyAccess, ValidationFailed
from otklik.mail.models import Outcome
from otklik.mail.services import mail_ingest
from otklik.tickets import services
from otklik.tickets.models import (
    Attachment,
    Message,
    MessageKind,
    ModuleOptions,
    Tag,
    Ticket,
    TicketCc,
    TicketEvent,
    TicketFollower,
    TicketSearchDocument,
    TicketTag,
)
from tests.conftest import logged_in, upload
from tests.helpers import Api
from tests.test_mail_ingest import mail

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The services' messages are asserted in English (the site's default language is Russian)."""
    with translation.override("en"):
        yield


SECRET_OF_TARGET = "Internal: the client owes us money"
SECRET_OF_SOURCE = "Internal: printer firmware is pirated"


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def pair(cast, make_ticket, frozen):
    """Two tickets of the client: the source (a file, a hidden note, a reply) and the newer target."""
    source = make_ticket(
        title="Printer jams", message="It jams on page two.", files=[upload("jam.txt", b"jam log")]
    )
    frozen.advance(seconds=60)
    services.message_post(
        actor=cast.staff, ticket=source, draft=services.MessageDraft(body=SECRET_OF_SOURCE, hidden=True)
    )
    frozen.advance(seconds=60)
    services.message_post(
        actor=cast.staff, ticket=source, draft=services.MessageDraft(body="Try another tray, please.")
    )
    frozen.advance(seconds=60)
    services.ticket_update(actor=cast.staff, ticket=source, changes={"admin_comment": "Old printer"})
    frozen.advance(seconds=3600)
    target = make_ticket(title="Printer still jams", message="Same as before, page two.")
    frozen.advance(seconds=60)
    services.message_post(
        actor=cast.staff, ticket=target, draft=services.MessageDraft(body=SECRET_OF_TARGET, hidden=True)
    )
    frozen.advance(seconds=60)
    return fresh(source), fresh(target)


# -- what moves ----------------------------------------------------------------------------------------------
def test_ticket_merge_same_author_moves_every_message_numbered_after_the_target_with_times_kept(cast, pair):
    source, target = pair
    before = list(Message.objects.filter(ticket=source).order_by("number").values_list("pk", "created_at"))
    target_max = Message.objects.filter(ticket=target).order_by("-number").values_list("number", flat=True)[0]

    result = services.ticket_merge(actor=cast.staff, ticket=source, into=target)

    assert result.pk == target.pk
    moved = Message.objects.filter(pk__in=[pk for pk, _at in before]).order_by("number")
    assert [m.ticket_id for m in moved] == [target.pk] * len(before)
    assert [m.number for m in moved] == [target_max + n for n in range(1, len(before) + 1)]
    assert {m.pk: m.created_at for m in moved} == dict(before)
    kinds = {m.kind for m in moved}
    assert {
        MessageKind.PUBLIC,
        MessageKind.HIDDEN,
        MessageKind.LOG,
    } <= kinds  # hidden notes and log lines too


def test_ticket_merge_moves_files_and_logs_exactly_what_moved(cast, pair):
    source, target = pair
    count = Message.objects.filter(ticket=source).count()
    target_max = Message.objects.filter(ticket=target).count()

    services.ticket_merge(actor=cast.staff, ticket=source, into=target)

    files = Attachment.objects.filter(name="jam.txt")
    assert [(f.ticket_id, f.message.ticket_id) for f in files] == [(target.pk, target.pk)]
    log = Message.objects.filter(ticket=target, kind=MessageKind.LOG).order_by("-number").first()
    note = log.data[0]
    assert note == {
        "code": "merged_from",
        "id": source.pk,
        "old": f"#1–#{count}",
        "new": f"#{target_max + 1}–#{target_max + count}",
        "files": 1,
    }
    assert f"Ticket #{source.pk} was merged into this one" in log.shown_text


def test_ticket_merge_closes_source_as_merged_and_keeps_its_history(cast, pair):
    source, target = pair
    events_before = TicketEvent.objects.filter(ticket=source).count()

    services.ticket_merge(actor=cast.staff, ticket=source, into=target)

    source = fresh(source)
    assert source.closed_at is not None and source.merged_into_id == target.pk
    assert source.awaits_support is False
    events = TicketEvent.objects.filter(ticket=source)
    assert events.count() > events_before  # the old events stay; closing and merging are added
    assert set(events.values_list("field", flat=True)) >= {"created", "closed", "merged_into"}
    assert not Message.objects.filter(ticket=source).exclude(kind=MessageKind.LOG).exists()
    log = Message.objects.filter(ticket=source, kind=MessageKind.LOG).order_by("-number").first()
    assert log.data[0] == {"code": "merged_into", "id": target.pk}
    assert f"Merged into ticket #{target.pk}" in log.shown_text


def test_ticket_merge_recomputes_the_targets_derived_state_and_search_text(cast, pair):
    source, target = pair
    services.ticket_merge(actor=cast.staff, ticket=source, into=target)

    target = fresh(target)
    public = Message.objects.filter(ticket=target, kind=MessageKind.PUBLIC)
    assert target.message_count == public.count() == 3
    # The moved messages are older: the last message stays the target's own newest public one.
    newest = public.order_by("-created_at").first()
    assert target.last_message_at == newest.created_at and target.last_message_by_id == newest.author_id
    document = TicketSearchDocument.objects.get(ticket=target)
    assert "page two" in document.public_text and "another tray" in document.public_text
    assert SECRET_OF_SOURCE in document.staff_text and SECRET_OF_SOURCE not in document.public_text
    assert "another tray" not in TicketSearchDocument.objects.get(ticket=source).public_text


def test_ticket_merge_moves_copies_followers_and_tags_once_each(cast, pair):
    source, target = pair
    now = clock.now()
    for ticket, email in (
        (source, "boss@example.com"),
        (source, "Twin@example.com"),
        (target, "twin@example.com"),
    ):
        TicketCc.objects.create(ticket=ticket, email=email, created_at=now)
    for ticket, user in ((source, cast.staff), (source, cast.staff2), (target, cast.staff)):
        TicketFollower.objects.create(ticket=ticket, user=user, created_at=now)
    red, blue = (
        Tag.objects.create(name="red", key="red", created_at=now),
        Tag.objects.create(name="blue", key="blue", created_at=now),
    )
    for ticket, tag in ((source, red), (source, blue), (target, red)):
        TicketTag.objects.create(ticket=ticket, tag=tag)

    services.ticket_merge(actor=cast.staff, ticket=source, into=target)

    assert sorted(TicketCc.objects.filter(ticket=target).values_list("email", flat=True)) == [
        "boss@example.com",
        "twin@example.com",
    ]
    assert set(TicketFollower.objects.filter(ticket=target).values_list("user_id", flat=True)) == {
        cast.staff.pk,
        cast.staff2.pk,
    }
    assert set(TicketTag.objects.filter(ticket=target).values_list("tag__name", flat=True)) == {"red", "blue"}
    assert not TicketCc.objects.filter(ticket=source).exists()
    assert not TicketFollower.objects.filter(ticket=source).exists()
    assert not TicketTag.objects.filter(ticket=source).exists()
    log = Message.objects.filter(ticket=target, kind=MessageKind.LOG).order_by("-number").first()
    assert {"code": "merged_cc", "id": source.pk, "emails": "boss@example.com"} in log.data


# -- who may -------------------------------------------------------------------------------------------------
def test_ticket_merge_by_the_client_is_refused(cast, pair):
    source, target = pair
    with pytest.raises(PermissionDenied):
        services.ticket_merge(actor=cast.client, ticket=source, into=target)
    assert fresh(source).merged_into_id is None


def test_ticket_merge_by_demo_is_read_only(cast, pair):
    source, target = pair
    with pytest.raises(ReadOnlyAccess):
        services.ticket_merge(actor=cast.demo, ticket=source, into=target)


def test_ticket_merge_different_authors_by_staff_is_refused_on_into(cast, pair, make_ticket):
    source, _target = pair
    foreign = make_ticket(actor=cast.other_client, title="Someone else's")
    with pytest.raises(PermissionDenied) as refused:
        services.ticket_merge(actor=cast.staff, ticket=source, into=foreign)
    assert "into" in refused.value.errors and "admin" in refused.value.errors["into"][0]
    assert fresh(source).merged_into_id is None and fresh(source).closed_at is None


def test_ticket_merge_different_authors_by_admin_is_done(cast, pair, make_ticket):
    source, _target = pair
    foreign = make_ticket(actor=cast.other_client, title="Someone else's")
    services.ticket_merge(actor=cast.admin, ticket=source, into=foreign)
    assert fresh(source).merged_into_id == foreign.pk


def test_ticket_merge_into_a_ticket_the_staff_member_cannot_see_reads_as_unknown(cast, pair):
    source, target = pair
    ModuleOptions.objects.filter(pk=services.module_options_ensure().pk).update(staff_see_unassigned=False)
    Ticket.objects.filter(pk=source.pk).update(responsible=cast.staff2)
    Ticket.objects.filter(pk=target.pk).update(responsible=cast.staff)
    with pytest.raises(ValidationFailed) as refused:
        services.ticket_merge(actor=cast.staff2, ticket=fresh(source), into=target.pk)
    assert refused.value.errors == {"into": [f"There is no ticket #{target.pk} that you can see."]}
    with pytest.raises(ValidationFailed) as unknown:
        services.ticket_merge(actor=cast.staff2, ticket=fresh(source), into=999_999)
    assert unknown.value.errors == {"into": ["There is no ticket #999999 that you can see."]}


@pytest.mark.parametrize("case", ["itself", "source_merged", "target_merged"])
def test_ticket_merge_refuses_loops_and_merged_tickets(cast, pair, make_ticket, case):
    source, target = pair
    third = make_ticket(title="Third")
    if case == "itself":
        into, message = source, "A ticket cannot be merged into itself."
    elif case == "source_merged":
        services.ticket_merge(actor=cast.staff, ticket=source, into=third)
        into, message = target, f"This ticket is already merged into ticket #{third.pk}."
    else:
        services.ticket_merge(actor=cast.staff, ticket=target, into=third)
        into, message = target, f"Ticket #{target.pk} is itself merged into ticket #{third.pk}"
    with pytest.raises(ValidationFailed) as refused:
        services.ticket_merge(actor=cast.staff, ticket=fresh(source), into=into)
    assert refused.value.errors["into"][0].startswith(message)


def test_ticket_merge_a_deleted_target_reads_as_unknown(cast, pair):
    source, target = pair
    target_id = target.pk
    services.ticket_delete(actor=cast.admin, ticket=target)
    with pytest.raises(ValidationFailed) as refused:
        services.ticket_merge(actor=cast.admin, ticket=source, into=target_id)
    assert "into" in refused.value.errors


# -- the old address -----------------------------------------------------------------------------------------
def test_merged_ticket_staff_page_answers_301_to_the_target(cast, pair):
    source, target = pair
    services.ticket_merge(actor=cast.staff, ticket=source, into=target)
    response = logged_in(cast.staff).get(reverse("tickets:staff_detail", args=[source.pk]))
    assert response.status_code == 301
    assert response["Location"] == reverse("tickets:staff_detail", args=[target.pk])


def test_merged_ticket_client_page_answers_301_when_the_client_may_see_the_target(cast, pair):
    source, target = pair
    services.ticket_merge(actor=cast.staff, ticket=source, into=target)
    client = logged_in(cast.client)
    response = client.get(reverse("tickets:client_detail", args=[source.pk]))
    assert response.status_code == 301
    assert response["Location"] == reverse("tickets:client_detail", args=[target.pk])
    page = client.get(response["Location"]).content.decode()
    assert "another tray" in page and "page two" in page  # the moved public messages are there
    assert SECRET_OF_TARGET not in page and SECRET_OF_SOURCE not in page


def test_merged_ticket_client_of_source_sees_a_notice_when_merged_into_someone_elses(cast, pair, make_ticket):
    source, _target = pair
    foreign = make_ticket(actor=cast.other_client, title="Foreign secret title")
    services.message_post(
        actor=cast.staff, ticket=foreign, draft=services.MessageDraft(body=SECRET_OF_TARGET, hidden=True)
    )
    services.ticket_merge(actor=cast.admin, ticket=source, into=foreign)

    client = logged_in(cast.client)
    response = client.get(reverse("tickets:client_detail", args=[source.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert f"This ticket was merged into #{foreign.pk}." in page
    assert "Foreign secret title" not in page and SECRET_OF_TARGET not in page
    assert client.get(reverse("tickets:client_detail", args=[foreign.pk])).status_code == 404
    api = Api(cast.client)
    detail = api.get(f"/api/v1/tickets/{source.pk}")
    assert detail.status_code == 200 and detail.json()["merged_into"] == foreign.pk
    assert api.get(f"/api/v1/tickets/{foreign.pk}/messages").status_code == 404
    assert SECRET_OF_TARGET not in api.get(f"/api/v1/tickets/{source.pk}/messages").content.decode()


def test_merged_ticket_staff_who_cannot_see_the_target_get_the_notice(cast, pair, make_ticket):
    source, _target = pair
    ModuleOptions.objects.filter(pk=services.module_options_ensure().pk).update(staff_see_unassigned=False)
    foreign = make_ticket(actor=cast.other_client, title="Foreign secret title")
    Ticket.objects.filter(pk=foreign.pk).update(responsible=cast.admin)
    Ticket.objects.filter(pk=source.pk).update(responsible=cast.staff)
    services.ticket_merge(actor=cast.admin, ticket=fresh(source), into=foreign)

    response = logged_in(cast.staff).get(reverse("tickets:staff_detail", args=[source.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"This ticket was merged into #{foreign.pk}." in page and "Foreign secret title" not in page


# -- mail ----------------------------------------------------------------------------------------------------
def test_mail_reply_to_a_merged_tickets_marker_lands_on_the_target(cast, pair):
    source, target = pair
    services.ticket_merge(actor=cast.staff, ticket=source, into=target)
    result = mail_ingest(
        mail(sender="client@example.com", subject=f"Re: [TID#{source.pk}] Printer jams", body="Any news?")
    )
    assert result.outcome == Outcome.APPENDED and result.ticket == target.pk
    assert Message.objects.filter(ticket=target, body__contains="Any news?").exists()
    assert fresh(source).closed_at is not None  # not reopened by the reply


def test_mail_reply_to_a_moved_messages_message_id_lands_on_the_target(cast, make_ticket):
    first = mail_ingest(
        mail(sender="client@example.com", subject="Scanner", message_id="<scan-1@example.com>")
    )
    source = Ticket.objects.get(pk=first.ticket)
    target = make_ticket(title="Scanner and printer")
    services.ticket_merge(actor=cast.staff, ticket=source, into=target)

    reply = mail(
        sender="client@example.com",
        subject="Re: without a marker",
        body="Still broken.",
        headers={"In-Reply-To": "<scan-1@example.com>", "References": "<scan-1@example.com>"},
    )
    result = mail_ingest(reply)
    assert result.outcome == Outcome.APPENDED and result.ticket == target.pk


def test_mail_reply_to_a_ticket_merged_twice_follows_the_chain(cast, pair, make_ticket):
    source, target = pair
    last = make_ticket(title="The one that stays")
    services.ticket_merge(actor=cast.staff, ticket=source, into=target)
    services.ticket_merge(actor=cast.staff, ticket=target, into=last)
    result = mail_ingest(mail(sender="client@example.com", subject=f"Re: [TID#{source.pk}]"))
    assert result.ticket == last.pk
    response = logged_in(cast.staff).get(reverse("tickets:staff_detail", args=[source.pk]))
    assert response["Location"] == reverse("tickets:staff_detail", args=[last.pk])


# -- API -----------------------------------------------------------------------------------------------------
def test_api_merge_answers_the_target(cast, pair):
    source, target = pair
    response = Api(cast.staff).send("post", f"/api/v1/tickets/{source.pk}/merge", {"into": target.pk})
    assert response.status_code == 200, response.content
    assert response.json()["id"] == target.pk and response.json()["merged_into"] is None
    assert Api(cast.staff).get(f"/api/v1/tickets/{source.pk}").json()["merged_into"] == target.pk


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "into"),
        ({"into": "abc"}, 422, "into"),
        ({"into": 0}, 422, "into"),
        ({"into": 2**70}, 422, "into"),
        ({"into": 999_999}, 422, "into"),
        ({"into": 1, "extra": 1}, 422, "extra"),
        ("self", 422, "into"),
    ],
)
def test_api_merge_bad_input_answers_json_4xx_with_field_messages(cast, pair, body, status, field):
    source, _target = pair
    if body == "self":
        body = {"into": source.pk}
    response = Api(cast.staff).send("post", f"/api/v1/tickets/{source.pk}/merge", body)
    assert response.status_code == status, response.content
    assert field in response.json()["errors"]
    assert fresh(source).merged_into_id is None


def test_api_merge_unreadable_body_answers_400(cast, pair):
    source, _target = pair
    response = Api(cast.staff).send("post", f"/api/v1/tickets/{source.pk}/merge", raw="{not json")
    assert response.status_code == 400


def test_api_merge_permissions(cast, pair, make_ticket):
    source, target = pair
    foreign = make_ticket(actor=cast.other_client, title="Foreign")
    assert (
        Api(cast.client).send("post", f"/api/v1/tickets/{source.pk}/merge", {"into": target.pk}).status_code
        == 403
    )
    refused = Api(cast.staff).send("post", f"/api/v1/tickets/{source.pk}/merge", {"into": foreign.pk})
    assert refused.status_code == 403 and "into" in refused.json()["errors"]
    assert (
        Api(cast.other_client)
        .send("post", f"/api/v1/tickets/{source.pk}/merge", {"into": foreign.pk})
        .status_code
        == 404
    )


def test_api_merge_is_in_the_openapi_schema():
    from otklik.api.api import api

    paths = api.get_openapi_schema()["paths"]
    assert "post" in paths["/api/v1/tickets/{ticket_id}/merge"]


# -- web -----------------------------------------------------------------------------------------------------
def test_staff_merge_page_asks_for_the_number_then_confirms_with_the_targets_title_and_author(cast, pair):
    source, target = pair
    client = logged_in(cast.staff)
    url = reverse("tickets:staff_merge", args=[source.pk])
    ask = client.get(url)
    assert ask.status_code == 200 and 'name="into"' in ask.content.decode()
    confirm = client.get(url, {"into": f"#{target.pk}"})
    page = confirm.content.decode()
    assert confirm.status_code == 200 and "Printer still jams" in page and "Ivan Petrov" in page
    assert fresh(source).merged_into_id is None  # nothing happens before the POST

    done = client.post(url, {"into": target.pk})
    assert done.status_code == 302 and done["Location"] == reverse("tickets:staff_detail", args=[target.pk])
    assert fresh(source).merged_into_id == target.pk


def test_staff_merge_page_bad_number_is_shown_on_the_form(cast, pair):
    source, _target = pair
    client = logged_in(cast.staff)
    url = reverse("tickets:staff_merge", args=[source.pk])
    for wanted, text in (("abc", "Enter a ticket number."), (str(source.pk), "cannot be merged into itself")):
        response = client.post(url, {"into": wanted})
        assert response.status_code == 400 and text in response.content.decode()
    assert fresh(source).merged_into_id is None


def test_staff_merge_page_is_for_staff_only(cast, pair):
    source, _target = pair
    response = logged_in(cast.client).get(reverse("tickets:staff_merge", args=[source.pk]))
    assert response.status_code == 403


def test_staff_ticket_page_offers_merge_in_the_side_panel(cast, pair):
    source, _target = pair
    page = logged_in(cast.staff).get(reverse("tickets:staff_detail", args=[source.pk])).content.decode()
    assert reverse("tickets:staff_merge", args=[source.pk]) in page


def test_merged_ticket_old_messages_keep_their_order_in_time_on_the_target(cast, pair):
    source, target = pair
    services.ticket_merge(actor=cast.staff, ticket=source, into=target)
    times = list(
        Message.objects.filter(ticket=target, kind=MessageKind.PUBLIC)
        .order_by("number")
        .values_list("created_at", flat=True)
    )
    # The target's own message comes first by number, the older moved ones after it (numbers are unique).
    assert times[0] - times[1] > timedelta(minutes=30)


# -- a page left open during the merge --------------------------------------------------------------
@pytest.mark.parametrize("who", ["staff", "client"])
def test_merged_ticket_takes_no_new_message_and_says_where_to_answer(cast, pair, who):
    source, target = pair
    services.ticket_merge(actor=cast.staff, ticket=source, into=target)
    before = Message.objects.count()
    with pytest.raises(PermissionDenied) as refused:
        services.message_post(
            actor=getattr(cast, who), ticket=fresh(source), draft=services.MessageDraft(body="Still there?")
        )
    assert f"#{target.pk}" in str(refused.value.text())
    assert Message.objects.count() == before


def test_merged_ticket_cannot_be_reopened(cast, pair):
    source, target = pair
    services.ticket_merge(actor=cast.staff, ticket=source, into=target)
    with pytest.raises(PermissionDenied):
        services.ticket_reopen(actor=cast.staff, ticket=fresh(source))
    assert fresh(source).closed_at is not None
