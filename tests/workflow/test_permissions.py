"""Who may take which move of the shipped process, in every state (F-30): services and API share one policy.

For every state (the work state once per kind of assignee) a ticket is driven there through the services.
Then every user of the matrix — each role's holder, a staff member holding no role, the support admin and
the client who wrote the ticket — tries every move out of that state, each attempt rolled back:
- the holder of the state's role and the admin succeed (the admin stands in: logged as such);
- everybody else gets 403, or 404 when the ticket is invisible to them. Invisible means: the ticket has a
  responsible (work and testing: the assignee) who is not them and they do not hold the state's role; an
  unassigned ticket is visible to all staff (the default option) and the client is its author.
- exceptions by design: at the board with two approving votes, "reject" answers 409 to the board members
  (the votes do not favour it) while the admin may override; moves from a final state answer 409.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from otklik.core.errors import DomainError
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.tickets.models import Ticket
from otklik.workflow.models import TicketProcess
from otklik.workflow.selectors import process_of
from otklik.workflow.services import workflow_transition, workflow_vote
from tests.helpers import Api, fresh

# How to reach each state: (user, move, values); "@vote" records a board vote.
TRIAGE = [("l1", "escalate", {"comment": "technical"})]
BOARD = [
    *TRIAGE,
    ("manager", "change_request", {}),
    ("board1", "@vote", {"vote": "approve"}),
    ("board2", "@vote", {"vote": "approve"}),
]
PLANNING = [*BOARD, ("board3", "approve", {}), ("manager", "plan", {"planned_effort": "8"})]
PATHS: dict[str, list[tuple[str, str, dict]]] = {
    "l1": [],
    "administration": [("l1", "to_administration", {})],
    "content": [("l1", "map_content", {})],
    "triage": TRIAGE,
    "accident": [*TRIAGE, ("manager", "accident", {})],
    "incident": [*TRIAGE, ("manager", "incident", {})],
    "board": BOARD,
    "planning": PLANNING,
    "work@developer": [*TRIAGE, ("manager", "incident", {}), ("manager", "assign_developer", {})],
    "work@itop": [*TRIAGE, ("manager", "accident", {}), ("manager", "assign_it", {})],
    "work@integrator": [*PLANNING, ("manager", "assign_integrator", {})],
    "testing": [*TRIAGE, ("manager", "incident", {}), ("manager", "assign_developer", {}), ("developer", "done", {})],
    "inform": [("l1", "solve", {})],
    "closed": [("l1", "solve", {}), ("l1", "close", {"reply": "Done."})],
}  # fmt: skip
# Who holds the role that must act in each state (the crew's usernames).
ACTORS = {
    "l1": {"l1"},
    "administration": {"admin_team"},
    "content": {"content"},
    "triage": {"manager"},
    "accident": {"manager"},
    "incident": {"manager"},
    "board": {"board1", "board2", "board3"},
    "planning": {"manager"},
    "work@developer": {"developer"},
    "work@itop": {"itop"},
    "work@integrator": {"integrator"},
    "testing": {"tester"},
    "inform": {"l1"},
    "closed": set(),
}
# The ticket's responsible in each state (nobody elsewhere).
RESPONSIBLE = {
    "work@developer": "developer",
    "work@itop": "itop",
    "work@integrator": "integrator",
    "testing": "developer",
}
# Moves a holder of the role may not take although the role is theirs (the admin may): 409.
CONFLICTS = {("board", "reject")}
USERS = (
    "l1", "manager", "itop", "developer", "tester", "integrator", "board1", "board2", "board3",
    "admin_team", "content", "staff", "admin", "client",
)  # fmt: skip


def expected(state: str, username: str, move: str) -> int:
    """The status the matrix promises (200 for a move taken)."""
    if state == "closed":
        return 403 if username == "client" else 409  # a final state has no moves; clients take none
    if username == "admin":
        return 200
    if username == "client":
        return 403
    if username in ACTORS[state]:
        return 409 if (state, move) in CONFLICTS else 200
    responsible = RESPONSIBLE.get(state)
    if responsible is not None and responsible != username:
        return 404
    return 403


@dataclass
class Matrix:
    users: dict[str, User]
    tickets: dict[str, Ticket]
    answer: DictionaryEntry

    def values(self, move: str) -> dict:
        """Valid form values for each move (so that only the permission decides)."""
        return {
            "escalate": {"comment": "why"},
            "resolve": {"comment": "done"},
            "back_to_l1": {"comment": "not technical"},
            "failed": {"comment": "still broken"},
            "off_topic": {"answer": self.answer.pk},
            "faq": {"reply": "See the FAQ."},
            "close": {"reply": "Solved."},
            "plan": {"planned_effort": "4"},
        }.get(move, {})

    def moves(self, state: str) -> list[str]:
        ticket = self.tickets[state]
        place = TicketProcess.objects.select_related("version").get(ticket=ticket)
        codes = [t.code for t in process_of(place.version).transitions_from(place.state)]
        return codes or ["close"]


@pytest.fixture
def matrix(crew, cast, make_ticket, settings) -> Matrix:
    users = {name: getattr(crew, name) for name in vars(crew)}
    users.update(staff=cast.staff, admin=cast.admin, client=cast.client)
    answer = DictionaryEntry.objects.create(
        kind=DictionaryKind.FREQUENT_ANSWER, code="off_topic", name_ru="Не по теме", name_en="Off topic",
        description_ru="Это вопрос не к нам.", description_en="This is not a question for us.",
    )  # fmt: skip
    tickets = {}
    for state, path in PATHS.items():
        ticket = make_ticket(title=f"In {state}")
        for username, move, values in path:
            if move == "@vote":
                workflow_vote(actor=users[username], ticket=fresh(ticket), vote=values["vote"])
            else:
                workflow_transition(
                    actor=users[username], ticket=fresh(ticket), transition=move, values=values
                )
        assert TicketProcess.objects.get(ticket=ticket).state == state.split("@")[0]
        tickets[state] = fresh(ticket)
    # Configuration (roles, options, templates) stays as it is from here on, as in production: read it
    # once, not on each of the several hundred attempts.
    settings.OTKLIK_CONFIG_CACHE_SECONDS = 300
    return Matrix(users, tickets, answer)


class _Undo(Exception):
    pass


def rolled_back(attempt):
    """Run `attempt()` in a savepoint that is always rolled back; return what it returned."""
    result = []
    try:
        with transaction.atomic():
            result.append(attempt())
            raise _Undo
    except _Undo:
        pass
    return result[0]


def via_services(matrix: Matrix, state: str, username: str, move: str) -> int:
    def attempt() -> int:
        try:
            workflow_transition(
                actor=matrix.users[username],
                ticket=fresh(matrix.tickets[state]),
                transition=move,
                values=matrix.values(move),
            )
        except DomainError as error:
            return error.status
        return 200

    return rolled_back(attempt)


def test_permission_matrix_through_the_services(matrix):
    wrong = []
    for state in PATHS:
        for move in matrix.moves(state):
            for username in USERS:
                got = via_services(matrix, state, username, move)
                if got != expected(state, username, move):
                    wrong.append((state, move, username, got, expected(state, username, move)))
    assert wrong == [], "(state, move, user, got, expected):\n" + "\n".join(map(str, wrong))
    # A move of another state: 409 for the admin and the holder alike.
    assert via_services(matrix, "l1", "admin", "verified") == 409
    assert via_services(matrix, "l1", "l1", "close") == 409
    assert via_services(matrix, "testing", "tester", "done") == 409


def test_permission_matrix_through_the_api(matrix):
    clients = {username: Api(user) for username, user in matrix.users.items()}
    wrong = []
    for state in PATHS:
        ticket = matrix.tickets[state]
        for move in matrix.moves(state):
            for username in USERS:
                url = f"/api/v1/tickets/{ticket.pk}/workflow/{move}"
                response = rolled_back(lambda: clients[username].send("POST", url, matrix.values(move)))  # noqa: B023
                if response.status_code != expected(state, username, move):
                    wrong.append(
                        (state, move, username, response.status_code, expected(state, username, move))
                    )
            # What the API offers is exactly what succeeds: the holders' and the admin's list of moves.
            for username in USERS:
                offered = {
                    t["code"]
                    for t in clients[username]
                    .get(f"/api/v1/tickets/{ticket.pk}/workflow")
                    .json()
                    .get("transitions", [])
                }
                allowed = {m for m in matrix.moves(state) if expected(state, username, m) == 200}
                if (
                    state != "closed"
                    and offered != allowed
                    and not (
                        state == "board" and username in ACTORS["board"] and offered == allowed | {"reject"}
                    )
                ):
                    wrong.append((state, "offered", username, sorted(offered), sorted(allowed)))
    assert wrong == [], "(state, move, user, got, expected):\n" + "\n".join(map(str, wrong))
