"""The permission matrix (F-01 roles, F-13 who may edit what) through the web pages.

Every page and every form of the web channel is requested by each person of the matrix with Django's
test client: the ticket's author (a client), a colleague of the same client company, a client of another
company, a staff member who sees the ticket through a staff group, a staff member with no relation to it
(`staff2`; the ticket is assigned, so the unassigned queue does not show it), the responsible, demo
access, a support admin and an anonymous visitor. Each cell checks the answer (page, redirect to the
login page, 404, 403, the demo read-only notice...) and, for every POST, that the database changed
exactly when the answer says it did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib import messages as django_messages
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import translation

from otklik.accounts.models import AccessLevel, Profile, SupportGroup
from otklik.accounts.services import support_group_add_member
from otklik.core.errors import ReadOnlyAccess
from otklik.dictionaries.models import DictionaryEntry
from otklik.sla.models import SlaLevel
from otklik.tickets import services
from otklik.tickets.models import (
    Attachment,
    Message,
    MessageKind,
    MessageRevision,
    SavedFilter,
    SpamState,
    Ticket,
    TicketEvent,
    TicketPresence,
)
from tests.conftest import cast_create, make_user, upload
from tests.samples import log_bytes, png_bytes
from tests.shared_rows import rows_for_module

ROLES = (
    "client",
    "colleague",
    "other_client",
    "staff",
    "staff2",
    "responsible",
    "demo",
    "admin",
    "anonymous",
)

# Outcomes of one cell.
OK = "ok"  # GET: the page (200). POST: a redirect after the write, no error message, and the change is there.
LOGIN = "login"  # 302 to the login page, nothing changed.
STAFF_PAGE = (
    "staff_page"  # 302 to the staff ticket page (support people use the staff workspace), nothing changed.
)
RO = "read_only"  # demo: 302 back with the read-only notice, nothing changed.
FAILED = "failed"  # a redirect with an error message (bulk actions report per ticket), nothing changed.
CONFIRM = "confirm"  # 200: a confirmation page, nothing changed yet.
NF = 404
FB = 403


def entry(kind: str, code: str) -> DictionaryEntry:
    return DictionaryEntry.objects.get(kind=kind, code=code)


@dataclass
class World:
    """A client's ticket (with a screenshot) assigned to `responsible`, who also left a hidden note with a file."""

    ticket: Ticket
    sla: SlaLevel
    users: dict[str, User | None]
    public_file: Attachment
    hidden_file: Attachment
    hidden_message: Message
    first_message: Message
    extra: dict = field(default_factory=dict)

    def fresh(self) -> Ticket:
        return Ticket.objects.get(pk=self.ticket.pk)

    @property
    def tid(self) -> int:
        return self.ticket.pk


@pytest.fixture(scope="module")
def shared(django_db_setup, django_db_blocker, tmp_path_factory):
    """Build the cast and the world once for the module; every cell rolls back to them."""
    yield from rows_for_module(django_db_blocker, tmp_path_factory, lambda: world_build(cast_create()))


@pytest.fixture
def world(shared, db, settings) -> World:
    return shared.for_test(settings)


def world_build(cast) -> World:
    resp = make_user("resp", AccessLevel.STAFF)
    team = SupportGroup.objects.create(name="Second line", kind=SupportGroup.Kind.STAFF)
    support_group_add_member(group=team, user=resp)
    support_group_add_member(group=team, user=cast.staff)
    ticket = services.ticket_create(
        actor=cast.client,
        draft=services.TicketDraft(
            title="Cannot pay",
            message="The payment page hangs.",
            files=[upload("screenshot.png", png_bytes())],
        ),
    )
    ticket = services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": resp})
    hidden = services.message_post(
        actor=resp,
        ticket=ticket,
        draft=services.MessageDraft(
            body="Internal: the gateway logs are attached.",
            hidden=True,
            files=[upload("gateway.log", log_bytes())],
        ),
    )
    sla = SlaLevel.objects.create(name="VIP", response_time=120, response_unit="minutes", priority=10)
    users = {
        "client": cast.client,
        "colleague": cast.colleague,
        "other_client": cast.other_client,
        "staff": cast.staff,
        "staff2": cast.staff2,
        "responsible": resp,
        "demo": cast.demo,
        "admin": cast.admin,
        "anonymous": None,
    }
    # Everyone reads English here so that notices can be compared word for word.
    Profile.objects.filter(user__in=[u for u in users.values() if u is not None]).update(language="en")
    first = Message.objects.get(ticket=ticket, number=1)
    return World(
        ticket=Ticket.objects.get(pk=ticket.pk),
        sla=sla,
        users=users,
        public_file=first.attachments.get(),
        hidden_file=hidden.attachments.get(),
        hidden_message=hidden,
        first_message=first,
    )


def browser(world: World, role: str) -> Client:
    """Return a test client logged in as the role's user (or anonymous)."""
    client = Client()
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    return client


def flashes(response, level: int) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level == level]


def read_only_notice() -> str:
    with translation.override("en"):
        return str(ReadOnlyAccess().message)


def assert_outcome(response, outcome, w: World, method: str) -> None:
    """Check the answer of one cell (the change itself is checked by the caller)."""
    status = response.status_code
    location = response.headers.get("Location", "")
    if outcome == LOGIN:
        assert status == 302 and location.startswith(reverse("accounts:login") + "?next="), (status, location)
    elif outcome == STAFF_PAGE:
        assert status == 302 and location == reverse("tickets:staff_detail", args=[w.tid]), (status, location)
    elif outcome == RO:
        assert status == 302, status
        assert read_only_notice() in flashes(response, django_messages.WARNING)
    elif outcome == FAILED:
        assert status == 302, status
        assert flashes(response, django_messages.ERROR), "expected an error message"
    elif outcome == CONFIRM:
        assert status == 200, status
        assert 'name="confirmed" value="yes"' in response.content.decode()
    elif outcome == OK:
        if method == "GET":
            assert status == 200, (status, location)
        else:
            assert status == 302, status
            assert not location.startswith(reverse("accounts:login")), location
            assert not flashes(response, django_messages.ERROR), flashes(response, django_messages.ERROR)
            assert read_only_notice() not in flashes(response, django_messages.WARNING)
    else:
        assert status == outcome, (status, location)


def by_role(*outcomes) -> dict[str, object]:
    assert len(outcomes) == len(ROLES)
    return dict(zip(ROLES, outcomes, strict=True))


# -- the pages (GET) ------------------------------------------------------------------------------
#                    client colleague other staff staff2 resp demo admin anonymous
EVERYONE = by_role(OK, OK, OK, OK, OK, OK, OK, OK, LOGIN)
CREATORS = by_role(OK, OK, OK, OK, OK, OK, RO, OK, LOGIN)
CLIENT_PAGE = by_role(OK, OK, NF, STAFF_PAGE, STAFF_PAGE, STAFF_PAGE, STAFF_PAGE, STAFF_PAGE, LOGIN)
STAFF_LIST = by_role(FB, FB, FB, OK, OK, OK, OK, OK, LOGIN)
STAFF_NEW = by_role(FB, FB, FB, OK, OK, OK, RO, OK, LOGIN)
STAFF_VIEW = by_role(FB, FB, FB, OK, NF, OK, OK, OK, LOGIN)
STAFF_WORK_PAGE = by_role(FB, FB, FB, OK, NF, OK, RO, OK, LOGIN)
ADMIN_PAGE = by_role(FB, FB, FB, FB, NF, FB, RO, OK, LOGIN)
PUBLIC_FILE = by_role(OK, OK, NF, OK, NF, OK, OK, OK, LOGIN)
HIDDEN_FILE = by_role(NF, NF, NF, OK, NF, OK, NF, OK, LOGIN)


def _file_url(attachment_of: Callable[[World], Attachment]) -> Callable[[World], str]:
    def url(w: World) -> str:
        a = attachment_of(w)
        return reverse("tickets:attachment", args=[a.pk, a.name])

    return url


PAGES: dict[str, tuple[Callable[[World], str], dict]] = {
    "client_list": (lambda w: reverse("tickets:client_list"), EVERYONE),
    "client_new": (lambda w: reverse("tickets:client_new"), CREATORS),
    "client_ticket": (lambda w: reverse("tickets:client_detail", args=[w.tid]), CLIENT_PAGE),
    "staff_list": (lambda w: reverse("tickets:staff_list"), STAFF_LIST),
    "staff_new": (lambda w: reverse("tickets:staff_new"), STAFF_NEW),
    "staff_ticket": (lambda w: reverse("tickets:staff_detail", args=[w.tid]), STAFF_VIEW),
    "staff_delete_confirmation": (lambda w: reverse("tickets:staff_delete", args=[w.tid]), ADMIN_PAGE),
    "message_edit_form": (lambda w: reverse("tickets:message_edit", args=[w.tid, 1]), ADMIN_PAGE),
    "message_delete_confirmation": (lambda w: reverse("tickets:message_delete", args=[w.tid, 1]), ADMIN_PAGE),
    "message_split_form": (lambda w: reverse("tickets:message_split", args=[w.tid, 1]), STAFF_WORK_PAGE),
    "public_file": (_file_url(lambda w: w.public_file), PUBLIC_FILE),
    "hidden_message_file": (_file_url(lambda w: w.hidden_file), HIDDEN_FILE),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", list(PAGES))
def test_page_get_by_role_answers_per_matrix(world, page, role):
    url_of, expected = PAGES[page]
    response = browser(world, role).get(url_of(world))
    assert_outcome(response, expected[role], world, "GET")
    if expected[role] == OK and page.endswith("file"):
        content = b"".join(response.streaming_content)
        attachment = world.public_file if page == "public_file" else world.hidden_file
        with attachment.file.open("rb") as fh:
            assert content == fh.read()
        assert response["X-Content-Type-Options"] == "nosniff"


# -- the forms (POST) -----------------------------------------------------------------------------
#                         client colleague other staff staff2 resp demo admin anonymous
CLIENT_REPLY = by_role(OK, OK, NF, STAFF_PAGE, STAFF_PAGE, STAFF_PAGE, STAFF_PAGE, STAFF_PAGE, LOGIN)
WORKERS = by_role(FB, FB, FB, OK, NF, OK, RO, OK, LOGIN)
AUTHOR_AND_WORKERS = by_role(OK, FB, NF, OK, NF, OK, RO, OK, LOGIN)
AUTHOR_ONLY = by_role(OK, FB, NF, FB, NF, FB, RO, FB, LOGIN)
AUTHOR_REFUSED_BY_STATE = by_role(FAILED, FB, NF, FB, NF, FB, RO, FB, LOGIN)
STAFF_ADMIN_ONLY = by_role(FB, FB, FB, FB, NF, FB, RO, OK, LOGIN)
BULK_WORKERS = by_role(FB, FB, FB, OK, FAILED, OK, RO, OK, LOGIN)
BULK_ADMIN_ONLY = by_role(FB, FB, FB, FAILED, FAILED, FAILED, RO, OK, LOGIN)
BULK_DELETE_ASK = by_role(FB, FB, FB, FB, FB, FB, RO, CONFIRM, LOGIN)
BULK_DELETE_CONFIRMED = by_role(FB, FB, FB, FB, FB, FB, RO, OK, LOGIN)


@dataclass
class Row:
    """One POST of the matrix: where, with what, the outcome per role and what must change on success."""

    url: Callable[[World], str]
    data: Callable[[World], dict]
    expected: dict[str, object]
    probe: Callable[[World], object]
    setup: Callable[[World], None] | None = None


def _ticket_attr(name: str) -> Callable[[World], object]:
    return lambda w: getattr(w.fresh(), name)


def _messages_with(body: str, **filters) -> Callable[[World], int]:
    return lambda w: Message.objects.filter(ticket_id=w.tid, body=body, **filters).count()


def _client_url(w: World) -> str:
    return reverse("tickets:client_detail", args=[w.tid])


def _staff_url(w: World) -> str:
    return reverse("tickets:staff_detail", args=[w.tid])


def _client_action(w: World) -> str:
    return reverse("tickets:client_action", args=[w.tid])


def _staff_action(w: World) -> str:
    return reverse("tickets:staff_action", args=[w.tid])


def _bulk(_w: World) -> str:
    return reverse("tickets:staff_bulk")


def _support_answers_first(w: World) -> None:
    """Support posts a public answer (the world's only answer is hidden): now the author may rate."""
    services.message_post(
        actor=w.users["responsible"],
        ticket=w.fresh(),
        draft=services.MessageDraft(body="Fixed, please check."),
    )


def _close_first(w: World) -> None:
    services.ticket_close(actor=w.users["admin"], ticket=w.fresh())


def attributes_post(ticket: Ticket, **changes) -> dict:
    """Return the staff attributes panel as the browser would post it, with `changes` applied."""
    from otklik.tickets.forms import TicketAttributesForm

    values = {**TicketAttributesForm.initial_for(ticket), **changes}
    data = {}
    for name, value in values.items():
        if isinstance(value, bool):
            if value:
                data[f"attr-{name}"] = "on"
        else:
            data[f"attr-{name}"] = "" if value is None else str(value)
    return data


def _reply(body: str, **options) -> dict:
    return {"reply-body": body, **{f"reply-{k}": v for k, v in options.items()}}


# attribute -> (the posted value, what is stored afterwards)
ATTRIBUTE_CHANGES: dict[str, tuple[Callable[[World], object], Callable[[Ticket], object]]] = {
    "title": (lambda w: "Payment page hangs on step 2", lambda t: t.title),
    "category": (lambda w: entry("category", "payment").pk, lambda t: t.category_id),
    "criticality": (lambda w: entry("criticality", "high").pk, lambda t: t.criticality_id),
    "status": (lambda w: entry("status", "in_progress").pk, lambda t: t.status_id),
    "difficulty": (lambda w: entry("difficulty", "hard").pk, lambda t: t.difficulty_id),
    "responsible": (lambda w: w.users["staff2"].pk, lambda t: t.responsible_id),
    "sla": (lambda w: w.sla.pk, lambda t: t.sla_id),
    "source": (lambda w: entry("source", "phone").pk, lambda t: t.source_id),
    "auto_close_days": (lambda w: 3, lambda t: t.auto_close_days),
    "is_postponed": (lambda w: True, lambda t: t.is_postponed),
    "admin_comment": (lambda w: "VIP customer, be nice", lambda t: t.admin_comment),
}


def _attribute_row(name: str) -> Row:
    value, stored = ATTRIBUTE_CHANGES[name]
    return Row(
        url=lambda w: reverse("tickets:staff_update", args=[w.tid]),
        data=lambda w: attributes_post(w.fresh(), **{name: value(w)}),
        expected=WORKERS,
        probe=lambda w: stored(w.fresh()),
    )


ROWS: dict[str, Row] = {
    # Replies.
    "client_reply": Row(
        _client_url,
        lambda w: {"body": "Still broken today."},
        CLIENT_REPLY,
        _messages_with("Still broken today.", kind=MessageKind.PUBLIC),
    ),
    "staff_reply_public": Row(
        _staff_url,
        lambda w: _reply("Please try again now."),
        WORKERS,
        _messages_with("Please try again now.", kind=MessageKind.PUBLIC),
    ),
    "staff_reply_hidden": Row(
        _staff_url,
        lambda w: _reply("Between us: a gateway bug.", hidden="on"),
        WORKERS,
        _messages_with("Between us: a gateway bug.", kind=MessageKind.HIDDEN),
    ),
    "staff_reply_not_change_status": Row(
        _staff_url,
        lambda w: _reply("We are still looking.", not_change_status="on"),
        WORKERS,
        _messages_with("We are still looking.", kind=MessageKind.NO_STATUS),
    ),
    "staff_reply_minutes": Row(
        _staff_url,
        lambda w: _reply("Checked the gateway.", minutes="15"),
        WORKERS,
        _messages_with("Checked the gateway.", minutes=15),
    ),
    "staff_reply_on_behalf": Row(
        _staff_url,
        lambda w: _reply("Client said on the phone: still broken.", on_behalf="on"),
        WORKERS,
        lambda w: Message.objects.filter(
            ticket_id=w.tid, author=w.users["client"], posted_by__isnull=False
        ).count(),
    ),
    # The staff attributes panel, one attribute at a time.
    **{f"staff_update_{name}": _attribute_row(name) for name in ATTRIBUTE_CHANGES},
    # The client's side panel.
    "client_close": Row(
        _client_action, lambda w: {"action": "close"}, AUTHOR_AND_WORKERS, _ticket_attr("closed_at")
    ),
    "client_reopen": Row(
        _client_action,
        lambda w: {"action": "reopen"},
        AUTHOR_AND_WORKERS,
        _ticket_attr("closed_at"),
        setup=_close_first,
    ),
    "client_mark": Row(
        _client_action,
        lambda w: {"action": "mark", "mark": entry("mark", "good").pk},
        AUTHOR_ONLY,
        _ticket_attr("mark_id"),
        setup=_support_answers_first,
    ),
    # Nothing to rate before support's first public answer: the author is told why on the ticket page.
    "client_mark_unanswered": Row(
        _client_action,
        lambda w: {"action": "mark", "mark": entry("mark", "good").pk},
        AUTHOR_REFUSED_BY_STATE,
        _ticket_attr("mark_id"),
    ),
    "client_criticality": Row(
        _client_action,
        lambda w: {"action": "criticality", "criticality": entry("criticality", "high").pk},
        AUTHOR_AND_WORKERS,
        _ticket_attr("criticality_id"),
    ),
    # A closed ticket's criticality: staff may still change it, the author reopens the ticket first.
    "client_criticality_closed": Row(
        _client_action,
        lambda w: {"action": "criticality", "criticality": entry("criticality", "high").pk},
        by_role(FAILED, FB, NF, OK, NF, OK, RO, OK, LOGIN),
        _ticket_attr("criticality_id"),
        setup=_close_first,
    ),
    # The staff action buttons.
    "staff_close": Row(_staff_action, lambda w: {"action": "close"}, WORKERS, _ticket_attr("closed_at")),
    "staff_reopen": Row(
        _staff_action, lambda w: {"action": "reopen"}, WORKERS, _ticket_attr("closed_at"), setup=_close_first
    ),
    "staff_spam_possible": Row(
        _staff_action, lambda w: {"action": "spam", "spam": SpamState.POSSIBLE}, WORKERS, _ticket_attr("spam")
    ),
    "staff_spam_definite": Row(
        _staff_action,
        lambda w: {"action": "spam", "spam": SpamState.DEFINITE},
        STAFF_ADMIN_ONLY,
        _ticket_attr("spam"),
    ),
    "staff_delete": Row(
        lambda w: reverse("tickets:staff_delete", args=[w.tid]),
        lambda w: {},
        STAFF_ADMIN_ONLY,
        lambda w: Ticket.objects.filter(pk=w.tid).exists(),
    ),
    # Messages: edit and delete are the admin's; split is staff work.
    "message_edit": Row(
        lambda w: reverse("tickets:message_edit", args=[w.tid, 1]),
        lambda w: {"body": "The payment page hangs at step 2."},
        STAFF_ADMIN_ONLY,
        lambda w: (
            Message.objects.get(pk=w.first_message.pk).body,
            MessageRevision.objects.filter(message_id=w.first_message.pk).count(),
        ),
    ),
    "message_delete": Row(
        lambda w: reverse("tickets:message_delete", args=[w.tid, 1]),
        lambda w: {},
        STAFF_ADMIN_ONLY,
        lambda w: Message.objects.filter(pk=w.first_message.pk).exists(),
    ),
    "message_split": Row(
        lambda w: reverse("tickets:message_split", args=[w.tid, 1]),
        lambda w: {"title": "Second problem", "attachments": [w.public_file.pk]},
        WORKERS,
        lambda w: Ticket.objects.filter(split_from_id=w.tid).count(),
    ),
    # Bulk actions from the staff list.
    "bulk_close": Row(
        _bulk,
        lambda w: {"action": "close", "ids": [w.tid], "confirmed": "yes"},
        BULK_WORKERS,
        _ticket_attr("closed_at"),
    ),
    "bulk_assign": Row(
        _bulk,
        lambda w: {
            "action": "assign",
            "ids": [w.tid],
            "responsible": w.users["staff"].pk,
            "confirmed": "yes",
        },
        BULK_WORKERS,
        _ticket_attr("responsible_id"),
    ),
    "bulk_possible_spam": Row(
        _bulk,
        lambda w: {"action": "possible_spam", "ids": [w.tid], "confirmed": "yes"},
        BULK_WORKERS,
        _ticket_attr("spam"),
    ),
    "bulk_spam": Row(
        _bulk,
        lambda w: {"action": "spam", "ids": [w.tid], "confirmed": "yes"},
        BULK_ADMIN_ONLY,
        _ticket_attr("spam"),
    ),
    "bulk_delete_asks_first": Row(
        _bulk,
        lambda w: {"action": "delete", "ids": [w.tid]},
        BULK_DELETE_ASK,
        lambda w: Ticket.objects.filter(pk=w.tid).exists(),
    ),
    "bulk_delete_confirmed": Row(
        _bulk,
        lambda w: {"action": "delete", "ids": [w.tid], "confirmed": "yes"},
        BULK_DELETE_CONFIRMED,
        lambda w: Ticket.objects.filter(pk=w.tid).exists(),
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", list(ROWS))
def test_form_post_by_role_changes_only_when_allowed(world, row, role):
    spec = ROWS[row]
    if spec.setup:
        spec.setup(world)
    before = spec.probe(world)
    response = browser(world, role).post(spec.url(world), spec.data(world))
    outcome = spec.expected[role]
    assert_outcome(response, outcome, world, "POST")
    after = spec.probe(world)
    if outcome == OK:
        assert after != before, f"{row} by {role}: nothing changed"
    else:
        assert after == before, f"{row} by {role}: changed although refused ({before!r} -> {after!r})"


# -- details the table does not show --------------------------------------------------------------
def test_client_reply_with_staff_options_saves_public_message_without_them(world):
    """The client form has no staff options: extra fields are ignored, the message is a plain public one."""
    response = browser(world, "client").post(
        _client_url(world),
        {"body": "Trying to hide this.", "hidden": "on", "minutes": "30", "on_behalf": "on"},
    )
    assert response.status_code == 302
    message = Message.objects.get(ticket_id=world.tid, body="Trying to hide this.")
    assert message.kind == MessageKind.PUBLIC and message.minutes == 0 and message.posted_by is None


def test_staff_ticket_page_for_client_answers_forbidden_page(world):
    response = browser(world, "client").get(_staff_url(world))
    assert response.status_code == 403
    assert "Cannot pay" not in response.content.decode()


def test_client_ticket_page_for_other_client_does_not_reveal_title(world):
    response = browser(world, "other_client").get(_client_url(world))
    assert response.status_code == 404
    assert "Cannot pay" not in response.content.decode()


def test_staff_list_for_staff2_hides_assigned_ticket(world):
    response = browser(world, "staff2").get(reverse("tickets:staff_list"))
    assert response.status_code == 200
    assert world.tid not in [t.pk for t, _ind in response.context["rows"]]


def test_client_page_for_author_hides_hidden_message_and_its_file(world):
    html = browser(world, "client").get(_client_url(world)).content.decode()
    assert "The payment page hangs." in html
    assert "gateway logs" not in html
    assert "gateway.log" not in html
    assert reverse("tickets:attachment", args=[world.hidden_file.pk, world.hidden_file.name]) not in html


def test_staff_page_for_demo_hides_hidden_message_and_forms(world):
    html = browser(world, "demo").get(_staff_url(world)).content.decode()
    assert "The payment page hangs." in html
    assert "gateway logs" not in html
    assert 'id="reply-form"' not in html
    assert 'name="action" value="close"' not in html


def test_staff_page_for_staff_shows_only_allowed_controls(world):
    html = browser(world, "staff").get(_staff_url(world)).content.decode()
    assert 'id="reply-form"' in html and "gateway logs" in html
    assert reverse("tickets:message_split", args=[world.tid, 1]) in html
    assert reverse("tickets:message_edit", args=[world.tid, 1]) not in html
    assert reverse("tickets:staff_delete", args=[world.tid]) not in html
    assert f'value="{SpamState.DEFINITE}"' not in html


def test_staff_page_for_admin_shows_admin_controls(world):
    html = browser(world, "admin").get(_staff_url(world)).content.decode()
    assert reverse("tickets:message_edit", args=[world.tid, 1]) in html
    assert reverse("tickets:message_delete", args=[world.tid, 1]) in html
    assert reverse("tickets:staff_delete", args=[world.tid]) in html
    assert f'value="{SpamState.DEFINITE}"' in html


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        ("staff", {"close", "assign", "possible_spam"}),
        ("admin", {"close", "assign", "possible_spam", "spam", "delete"}),
    ],
)
def test_staff_list_bulk_actions_for_role_offer_only_allowed(world, role, offered):
    response = browser(world, role).get(reverse("tickets:staff_list"))
    actions = {value for value, _label in response.context["bulk_actions"]}
    assert offered <= actions
    if role == "staff":
        assert not actions & {"spam", "delete"}


def test_staff_list_for_demo_offers_no_bulk_actions(world):
    response = browser(world, "demo").get(reverse("tickets:staff_list"))
    assert response.status_code == 200
    assert response.context["bulk_actions"] == []
    assert 'name="ids"' not in response.content.decode()


# -- demo access: every POST is refused and nothing is saved -------------------------------------
def snapshot(w: World) -> dict:
    """Everything a write could touch, for comparing before and after."""
    return {
        "tickets": list(Ticket.objects.order_by("pk").values()),
        "messages": list(Message.objects.order_by("pk").values()),
        "attachments": list(Attachment.objects.order_by("pk").values_list("pk", "message_id", "name")),
        "events": TicketEvent.objects.count(),
        "revisions": MessageRevision.objects.count(),
        "saved_filters": list(SavedFilter.objects.order_by("pk").values_list("pk", "name", "query")),
        "demo_presence": TicketPresence.objects.filter(user=w.users["demo"]).count(),
    }


DEMO_POSTS: dict[str, tuple[Callable[[World], str], Callable[[World], dict], object]] = {
    **{
        name: (row.url, row.data, RO)
        for name, row in ROWS.items()
        if name not in ("client_reply", "client_reopen", "staff_reopen")
    },
    "client_reply": (_client_url, ROWS["client_reply"].data, STAFF_PAGE),
    "client_new": (
        lambda w: reverse("tickets:client_new"),
        lambda w: {"title": "Demo ticket", "message": "Should not be saved"},
        RO,
    ),
    "staff_new": (
        lambda w: reverse("tickets:staff_new"),
        lambda w: {"title": "Demo ticket", "message": "Should not be saved"},
        RO,
    ),
    "filter_save": (
        lambda w: reverse("tickets:staff_filter_save"),
        lambda w: {"name": "Open ones", "query": "state=open"},
        RO,
    ),
    "filter_delete": (
        lambda w: reverse("tickets:staff_filter_save"),
        lambda w: {"delete": w.extra["demo_filter"].pk},
        RO,
    ),
}


@pytest.mark.parametrize("action", list(DEMO_POSTS))
def test_demo_post_any_form_refused_and_db_unchanged(world, action):
    # Demo users may hold a saved filter made by an admin in the back office; deleting it is a write too.
    world.extra["demo_filter"] = SavedFilter.objects.create(
        user=world.users["demo"], name="Mine", query="state=open"
    )
    url_of, data_of, outcome = DEMO_POSTS[action]
    before = snapshot(world)
    response = browser(world, "demo").post(url_of(world), data_of(world))
    assert_outcome(response, outcome, world, "POST")
    assert snapshot(world) == before


@pytest.mark.parametrize("action", ["client_reopen", "staff_reopen"])
def test_demo_reopen_closed_ticket_refused_and_db_unchanged(world, action):
    _close_first(world)
    before = snapshot(world)
    response = browser(world, "demo").post(ROWS[action].url(world), ROWS[action].data(world))
    assert_outcome(response, RO, world, "POST")
    assert snapshot(world) == before


def test_demo_presence_ping_leaves_no_trace(world):
    before = snapshot(world)
    response = browser(world, "demo").post(reverse("tickets:presence", args=[world.tid]), {"answering": "1"})
    assert response.status_code == 200
    assert snapshot(world) == before


def test_demo_read_only_notice_shown_on_next_page(world):
    response = browser(world, "demo").post(_staff_action(world), {"action": "close"}, follow=True)
    assert response.status_code == 200
    assert read_only_notice() in response.content.decode()
    assert world.fresh().closed_at is None


def test_demo_refusal_with_foreign_referer_redirects_home(world):
    response = browser(world, "demo").get(
        reverse("tickets:staff_delete", args=[world.tid]), HTTP_REFERER="https://evil.example/phish"
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert read_only_notice() in flashes(response, django_messages.WARNING)


def test_demo_refusal_with_own_referer_redirects_back(world):
    back = f"http://testserver{_staff_url(world)}"
    response = browser(world, "demo").post(_staff_action(world), {"action": "close"}, HTTP_REFERER=back)
    assert response.status_code == 302 and response["Location"] == back
