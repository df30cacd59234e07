"""The permission matrix (F-01, F-13) through the REST API: every row for every person, one test per cell.

The people: the ticket's author (a client), a colleague of the same client company, a client of another
company, a staff member who sees the ticket through a staff group, a staff member with no relation to it
(`staff2`), the responsible, demo access, a support admin and an anonymous caller. Each cell checks the
HTTP status and that the change happened exactly when the status says it did.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import translation

from otklik.accounts.models import AccessLevel, SupportGroup
from otklik.accounts.services import support_group_add_member, token_create
from otklik.core.errors import ReadOnlyAccess
from otklik.sla.models import SlaLevel
from otklik.tickets import services
from otklik.tickets.models import Attachment, Message, SpamState, Ticket
from tests.conftest import cast_create, make_user
from tests.helpers import png_1x1
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


@dataclass
class World:
    """A client's ticket assigned to `responsible`; `staff` sees it through a staff group, `staff2` does not."""

    ticket: Ticket
    sla: SlaLevel
    users: dict[str, User | None]
    tokens: dict[str, str] = field(default_factory=dict)

    def fresh(self) -> Ticket:
        return Ticket.objects.get(pk=self.ticket.pk)

    def url(self, suffix: str = "") -> str:
        return f"/api/v1/tickets/{self.ticket.pk}{suffix}"


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
        actor=cast.client, draft=services.TicketDraft(title="Cannot pay", message="The payment page hangs.")
    )
    ticket = services.ticket_update(actor=cast.admin, ticket=ticket, changes={"responsible": resp})
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
    tokens = {role: token_create(user=user) for role, user in users.items() if user is not None}
    return World(ticket=ticket, sla=sla, users=users, tokens=tokens)


class Api:
    """Call the API as one person of the matrix (bearer token; no header for the anonymous caller)."""

    def __init__(self, world: World, role: str):
        self.client = Client(HTTP_ACCEPT_LANGUAGE="en")
        token = world.tokens.get(role)
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def __call__(self, method: str, url: str, body: dict | None = None):
        call = getattr(self.client, method.lower())
        if body is None:
            return call(url, **self.headers)
        return call(url, data=json.dumps(body), content_type="application/json", **self.headers)


@dataclass
class Row:
    """One row of the matrix: what to do, the expected status per role, and what should change on success."""

    act: Callable[[World, Api], object]
    expected: dict[str, int]
    probe: Callable[[World], object] | None = None
    setup: Callable[[World], None] | None = None


def by_role(*codes: int) -> dict[str, int]:
    assert len(codes) == len(ROLES)
    return dict(zip(ROLES, codes, strict=True))


#                      client colleague other staff staff2 resp demo admin anon
VIEW = by_role(200, 200, 404, 200, 404, 200, 200, 200, 401)
CREATE = by_role(201, 201, 201, 201, 201, 201, 403, 201, 401)
CREATE_STAFF = by_role(403, 403, 403, 201, 201, 201, 403, 201, 401)
STAFF_EDIT = by_role(403, 403, 404, 200, 404, 200, 403, 200, 401)
AUTHOR_OR_STAFF_EDIT = by_role(200, 403, 404, 200, 404, 200, 403, 200, 401)
AUTHOR_ONLY_EDIT = by_role(200, 403, 404, 403, 404, 403, 403, 403, 401)
NOBODY_EDITS = by_role(403, 403, 404, 403, 404, 403, 403, 403, 401)
ADMIN_ONLY_EDIT = by_role(403, 403, 404, 403, 404, 403, 403, 200, 401)
ADMIN_ONLY_DELETE = by_role(403, 403, 404, 403, 404, 403, 403, 204, 401)
POST = by_role(201, 201, 404, 201, 404, 201, 403, 201, 401)
POST_STAFF_OPTION = by_role(403, 403, 404, 201, 404, 201, 403, 201, 401)
POST_ON_CLOSED = by_role(403, 403, 404, 201, 404, 201, 403, 201, 401)
HIDDEN_FILE = by_role(404, 404, 404, 200, 404, 200, 404, 200, 401)
PUBLIC_FILE = by_role(200, 200, 404, 200, 404, 200, 200, 200, 401)


def _field(name: str) -> Callable[[World], object]:
    attname = Ticket._meta.get_field(name).attname
    return lambda w: getattr(w.fresh(), attname)


def _patch(body_of: Callable[[World], dict]) -> Callable[[World, Api], object]:
    return lambda w, api: api("PATCH", w.url(), body_of(w))


def _message_count(w: World) -> int:
    return Message.objects.filter(ticket_id=w.ticket.pk).count()


def _close(w: World) -> None:
    services.ticket_close(actor=w.users["admin"], ticket=w.fresh())


def _support_answers(w: World) -> None:
    """Support posts a public answer: only then may the author rate (issue 17)."""
    services.message_post(
        actor=w.users["responsible"],
        ticket=w.fresh(),
        draft=services.MessageDraft(body="Fixed, please check."),
    )


def _post_files(hidden: bool) -> Callable[[World], None]:
    def setup(w: World) -> None:
        services.message_post(
            actor=w.users["responsible"],
            ticket=w.fresh(),
            draft=services.MessageDraft(
                body="Screenshot attached",
                hidden=hidden,
                files=[services.Upload(name="shot.png", fileobj=io.BytesIO(png_1x1()))],
            ),
        )

    return setup


def _download(w: World, api: Api):
    return api("GET", f"/api/v1/attachments/{Attachment.objects.get(name='shot.png').pk}")


# Values each staff attribute is changed to (all different from the new ticket's values).
STAFF_PATCHES: dict[str, Callable[[World], object]] = {
    "status": lambda w: "in_progress",
    "difficulty": lambda w: "hard",
    "responsible": lambda w: w.users["staff"].pk,
    "sla": lambda w: w.sla.pk,
    "author": lambda w: w.users["colleague"].pk,
    "source": lambda w: "phone",
    "admin_comment": lambda w: "Calls every day",
    "auto_close_days": lambda w: 3,
    "is_postponed": lambda w: True,
    "ticket_type": lambda w: "incident",
    "tier": lambda w: "L2",
    "planned_effort_minutes": lambda w: 90,
    "expected_date": lambda w: "2030-01-31",
}
CLIENT_CREATE = {
    "title": "Invoice is wrong",
    "message": "The total is doubled.",
    "category": "payment",
    "criticality": "high",
    "looked": "FAQ",
    "did": "Paid twice",
    "expected": "One charge",
    "saw": "Two charges",
}
# Staff fields a new ticket may carry (F-13 "staff on new"), with a valid value each.
STAFF_CREATE: dict[str, Callable[[World], object]] = {
    "status": lambda w: "in_progress",
    "difficulty": lambda w: "easy",
    "responsible": lambda w: w.users["staff"].pk,
    "sla": lambda w: w.sla.pk,
    "author": lambda w: w.users["client"].pk,
    "source": lambda w: "phone",
    "admin_comment": lambda w: "VIP",
    "auto_close_days": lambda w: 5,
    "is_postponed": lambda w: True,
    "hidden": lambda w: True,
    "not_change_status": lambda w: True,
    "minutes": lambda w: 15,
}


def _ticket_count(w: World) -> int:
    return Ticket.objects.count()


ROWS: dict[str, Row] = {
    "view": Row(lambda w, api: api("GET", w.url()), VIEW),
    "view_messages": Row(lambda w, api: api("GET", w.url("/messages")), VIEW),
    "create_client_fields": Row(
        lambda w, api: api("POST", "/api/v1/tickets", CLIENT_CREATE), CREATE, _ticket_count
    ),
    "create_staff_fields": Row(
        lambda w, api: api(
            "POST",
            "/api/v1/tickets",
            {
                "title": "Phone call",
                "message": "Client called.",
                **{k: v(w) for k, v in STAFF_CREATE.items() if k != "not_change_status"},
            },
        ),
        CREATE_STAFF,
        _ticket_count,
    ),
    "patch_title": Row(
        _patch(lambda w: {"title": "Payment page hangs on step 3"}), STAFF_EDIT, _field("title")
    ),
    "patch_category": Row(_patch(lambda w: {"category": "delivery"}), STAFF_EDIT, _field("category")),
    "patch_criticality": Row(
        _patch(lambda w: {"criticality": "high"}), AUTHOR_OR_STAFF_EDIT, _field("criticality")
    ),
    "patch_mark": Row(_patch(lambda w: {"mark": "good"}), AUTHOR_ONLY_EDIT, _field("mark"), _support_answers),
    "patch_mark_unanswered": Row(_patch(lambda w: {"mark": "good"}), NOBODY_EDITS, _field("mark")),
    "patch_criticality_closed": Row(
        _patch(lambda w: {"criticality": "high"}), STAFF_EDIT, _field("criticality"), _close
    ),
    **{
        f"patch_{name}": Row(
            _patch(lambda w, name=name, value=value: {name: value(w)}), STAFF_EDIT, _field(name)
        )
        for name, value in STAFF_PATCHES.items()
    },
    "patch_close": Row(_patch(lambda w: {"closed": True}), AUTHOR_OR_STAFF_EDIT, _field("closed_at")),
    "patch_reopen": Row(
        _patch(lambda w: {"closed": False}), AUTHOR_OR_STAFF_EDIT, _field("closed_at"), _close
    ),
    "patch_spam_possible": Row(_patch(lambda w: {"spam": "possible"}), STAFF_EDIT, _field("spam")),
    "patch_spam_definite": Row(_patch(lambda w: {"spam": "definite"}), ADMIN_ONLY_EDIT, _field("spam")),
    "patch_spam_clear_definite": Row(
        _patch(lambda w: {"spam": "none"}),
        ADMIN_ONLY_EDIT,
        _field("spam"),
        lambda w: services.ticket_set_spam(
            actor=w.users["admin"], ticket=w.fresh(), state=SpamState.DEFINITE
        ),
    ),
    "delete_ticket": Row(
        lambda w, api: api("DELETE", w.url()),
        ADMIN_ONLY_DELETE,
        lambda w: Ticket.objects.filter(pk=w.ticket.pk).exists(),
    ),
    "post_message": Row(
        lambda w, api: api("POST", w.url("/messages"), {"body": "Any news?"}), POST, _message_count
    ),
    "post_hidden": Row(
        lambda w, api: api("POST", w.url("/messages"), {"body": "Check logs", "hidden": True}),
        POST_STAFF_OPTION,
        _message_count,
    ),
    "post_not_change_status": Row(
        lambda w, api: api("POST", w.url("/messages"), {"body": "Still looking", "not_change_status": True}),
        POST_STAFF_OPTION,
        _message_count,
    ),
    "post_minutes": Row(
        lambda w, api: api("POST", w.url("/messages"), {"body": "Fixed", "minutes": 30}),
        POST_STAFF_OPTION,
        _message_count,
    ),
    "post_on_behalf": Row(
        lambda w, api: api(
            "POST", w.url("/messages"), {"body": "(by phone) It works", "on_behalf_of": w.users["client"].pk}
        ),
        POST_STAFF_OPTION,
        _message_count,
    ),
    "post_on_closed": Row(
        lambda w, api: api("POST", w.url("/messages"), {"body": "One more thing"}),
        POST_ON_CLOSED,
        _message_count,
        _close,
    ),
    "edit_message": Row(
        lambda w, api: api("PATCH", w.url("/messages/1"), {"body": "The payment page hangs!"}),
        ADMIN_ONLY_EDIT,
        lambda w: Message.objects.get(ticket_id=w.ticket.pk, number=1).body,
    ),
    "delete_message": Row(
        lambda w, api: api("DELETE", w.url("/messages/1")),
        ADMIN_ONLY_DELETE,
        lambda w: Message.objects.filter(ticket_id=w.ticket.pk, number=1).exists(),
    ),
    "download_public_file": Row(_download, PUBLIC_FILE, setup=_post_files(hidden=False)),
    "download_hidden_file": Row(_download, HIDDEN_FILE, setup=_post_files(hidden=True)),
}
CELLS = [pytest.param(name, role, id=f"{name}-{role}") for name in ROWS for role in ROLES]


@pytest.mark.parametrize(("row_name", "role"), CELLS)
def test_api_matrix_cell_per_role_answers_expected_status(world, row_name, role):
    row = ROWS[row_name]
    if row.setup:
        row.setup(world)
    before = row.probe(world) if row.probe else None
    response = row.act(world, Api(world, role))
    expected = row.expected[role]
    assert response.status_code == expected, (row_name, role, response.content[:500])
    if row.probe:
        after = row.probe(world)
        if expected < 300:
            assert after != before, f"{row_name} as {role} answered {expected} but changed nothing"
        else:
            assert after == before, f"{row_name} as {role} was refused but changed something"
    if role == "demo" and expected == 403:
        # Every write by demo access is refused with the read-only message, in the user's language.
        with translation.override(world.users[role].profile.language):
            assert response.json()["detail"] == str(ReadOnlyAccess.default_message)
    if expected >= 400 and response.get("Content-Type", "").startswith("application/json"):
        assert response.json()["detail"]


# -- list contents -------------------------------------------------------------------------
LISTED = {
    "client": True,
    "colleague": True,
    "other_client": False,
    "staff": True,
    "staff2": False,
    "responsible": True,
    "demo": True,
    "admin": True,
}


@pytest.mark.parametrize("role", list(LISTED))
def test_api_ticket_list_per_role_lists_only_visible_tickets(world, role):
    response = Api(world, role)("GET", "/api/v1/tickets")
    assert response.status_code == 200
    ids = [row["id"] for row in response.json()["results"]]
    assert (world.ticket.pk in ids) is LISTED[role]


def test_api_ticket_list_anonymous_gets_401(world):
    response = Api(world, "anonymous")("GET", "/api/v1/tickets")
    assert response.status_code == 401
    assert response.json()["detail"]


# -- create: each staff field on its own -------------------------------------------------------
@pytest.mark.parametrize("name", list(STAFF_CREATE))
@pytest.mark.parametrize(("role", "expected"), [("client", 403), ("staff", 201), ("admin", 201)])
def test_api_ticket_create_with_one_staff_field_allowed_for_support_only(world, name, role, expected):
    count = Ticket.objects.count()
    body = {"title": "Phone call", "message": "Client called.", name: STAFF_CREATE[name](world)}
    response = Api(world, role)("POST", "/api/v1/tickets", body)
    assert response.status_code == expected, response.content
    assert Ticket.objects.count() == count + (expected == 201)
    if expected == 403:
        assert name in response.json()["errors"]


# -- what each role sees of messages and fields ------------------------------------------------
SEES_HIDDEN = {
    "client": False,
    "colleague": False,
    "staff": True,
    "responsible": True,
    "demo": False,
    "admin": True,
}


@pytest.mark.parametrize("role", list(SEES_HIDDEN))
def test_api_messages_hidden_and_log_visible_to_support_only(world, role):
    services.message_post(
        actor=world.users["responsible"],
        ticket=world.fresh(),
        draft=services.MessageDraft(body="Internal note", hidden=True),
    )
    response = Api(world, role)("GET", world.url("/messages"))
    assert response.status_code == 200
    kinds = {m["kind"] for m in response.json()}
    bodies = [m["body"] for m in response.json()]
    assert ("Internal note" in bodies) is SEES_HIDDEN[role]
    assert ("hidden" in kinds) is SEES_HIDDEN[role]
    assert ("log" in kinds) is SEES_HIDDEN[role]


STAFF_KEYS = {
    "admin_comment",
    "difficulty",
    "spam",
    "is_postponed",
    "time_spent_minutes",
    "overdue_count",
    "deadline_at",
}
SEES_STAFF_FIELDS = {
    "client": False,
    "colleague": False,
    "staff": True,
    "responsible": True,
    "demo": True,
    "admin": True,
}


@pytest.mark.parametrize("role", list(SEES_STAFF_FIELDS))
def test_api_ticket_staff_fields_present_for_support_view_only(world, role):
    api = Api(world, role)
    detail = api("GET", world.url()).json()
    row = next(r for r in api("GET", "/api/v1/tickets").json()["results"] if r["id"] == world.ticket.pk)
    message = api("GET", world.url("/messages")).json()[0]
    for shown in (detail, row):
        assert (STAFF_KEYS <= shown.keys()) is SEES_STAFF_FIELDS[role]
        assert (STAFF_KEYS & shown.keys() == set()) is not SEES_STAFF_FIELDS[role]
    assert ("minutes" in message) is SEES_STAFF_FIELDS[role]


ACTIONS = {
    # role: (editable fields, can_close, can_delete, spam states)
    "client": ({"criticality", "mark"}, True, False, set()),
    "colleague": (set(), False, False, set()),
    "staff": (
        {"title", "category", "criticality", "status", "responsible", "admin_comment"},
        True,
        False,
        {"", "possible"},
    ),
    "responsible": ({"title", "status", "sla", "is_postponed"}, True, False, {"", "possible"}),
    "demo": (set(), False, False, set()),
    "admin": ({"title", "status", "difficulty", "author"}, True, True, {"", "possible", "definite"}),
}


@pytest.mark.parametrize("role", list(ACTIONS))
def test_api_ticket_actions_per_role_list_allowed_actions(world, role):
    fields, can_close, can_delete, spam = ACTIONS[role]
    _support_answers(world)  # so that the author has an answer to rate
    actions = Api(world, role)("GET", world.url()).json()["actions"]
    editable = set(actions["editable_fields"])
    assert fields <= editable if fields else editable == set()
    assert ("mark" in editable) is (role == "client")
    assert actions["can_close"] is can_close
    assert actions["can_delete"] is can_delete
    assert set(actions["spam_states"]) == spam


# -- dictionaries ---------------------------------------------------------------------------
DICTIONARY_ACCESS = {
    # role: (sees difficulty, sees frequent answers)
    "client": (False, False),
    "staff": (True, True),
    "demo": (True, False),
    "admin": (True, True),
}


@pytest.mark.parametrize("role", list(DICTIONARY_ACCESS))
def test_api_dictionaries_per_role_hide_staff_dictionaries(world, role):
    difficulty, answers = DICTIONARY_ACCESS[role]
    api = Api(world, role)
    kinds = api("GET", "/api/v1/dictionaries").json()
    assert {"category", "criticality", "status", "mark", "source"} <= kinds.keys()
    assert ("difficulty" in kinds) is difficulty
    assert ("answer" in kinds) is answers
    assert api("GET", "/api/v1/dictionaries/difficulty").status_code == (200 if difficulty else 403)
    assert api("GET", "/api/v1/dictionaries/answer").status_code == (200 if answers else 403)


# -- anonymous: every endpoint answers 401 ------------------------------------------------------
ENDPOINTS = [
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/tickets"),
    ("POST", "/api/v1/tickets"),
    ("GET", "/api/v1/tickets/{id}"),
    ("PATCH", "/api/v1/tickets/{id}"),
    ("DELETE", "/api/v1/tickets/{id}"),
    ("GET", "/api/v1/tickets/{id}/messages"),
    ("POST", "/api/v1/tickets/{id}/messages"),
    ("POST", "/api/v1/tickets/{id}/messages/upload"),
    ("PATCH", "/api/v1/tickets/{id}/messages/1"),
    ("DELETE", "/api/v1/tickets/{id}/messages/1"),
    ("GET", "/api/v1/attachments/1"),
    ("GET", "/api/v1/dictionaries"),
    ("GET", "/api/v1/dictionaries/category"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_api_endpoint_anonymous_or_bad_token_gets_401(world, method, path):
    url = path.format(id=world.ticket.pk)
    for headers in (
        {},
        {"HTTP_AUTHORIZATION": "Bearer otk_not-a-token"},
        {"HTTP_AUTHORIZATION": "Basic eDp5"},
    ):
        response = getattr(Client(), method.lower())(url, **headers)
        assert response.status_code == 401, (method, url, headers)
        assert response.json()["detail"]
    assert Ticket.objects.filter(pk=world.ticket.pk).exists()
