"""The support process through the REST API (F-30): the workflow object, moves, votes, definitions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import otklik.workflow
from otklik.accounts.models import Profile
from otklik.workflow.fields import FIELD_TYPES
from otklik.workflow.models import TicketProcess, Vote
from tests.helpers import Api

SHIPPED = json.loads(
    (Path(otklik.workflow.__file__).parent / "shipped" / "three-tier.json").read_text(encoding="utf-8")
)


@pytest.fixture(autouse=True)
def _english(crew):
    """Everybody reads the API in English here (the language of the caller's profile)."""
    Profile.objects.update(language="en")


def url(ticket, rest: str = "") -> str:
    return f"/api/v1/tickets/{ticket.pk}/workflow{rest}"


def state_of(ticket) -> str:
    return TicketProcess.objects.get(ticket=ticket).state


def test_api_workflow_staff_sees_state_role_moves_with_their_forms(crew, make_ticket):
    ticket = make_ticket()
    response = Api(crew.l1).get(url(ticket))
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["process"] == "three-tier" and data["version"] >= 1
    assert data["state"] == "l1" and data["role"] == "l1_operator"
    assert data["state_name"] == "First line: classification"
    codes = [t["code"] for t in data["transitions"]]
    assert codes == ["to_administration", "profanity", "off_topic", "faq", "map_content", "solve", "escalate"]
    escalate = next(t for t in data["transitions"] if t["code"] == "escalate")
    assert escalate["to"] == "triage"
    assert escalate["fields"] == [
        {"name": "comment", "label": "comment", "required": True, "type": "text", "choices": []}
    ]
    off_topic = next(t for t in data["transitions"] if t["code"] == "off_topic")
    assert off_topic["fields"][0]["type"] == "dictionary:answer"
    assert data["history"] == [] and data["votes"] == []


def test_api_workflow_client_gets_the_stage_only(cast, crew, make_ticket):
    ticket = make_ticket()
    Api(crew.l1).send("POST", url(ticket, "/escalate"), {"comment": "Looks like a bug in the export"})
    data = Api(cast.client).get(url(ticket)).json()
    assert set(data) == {"process", "version", "state_name", "stage", "transitions"}
    assert data["transitions"] == [] and data["stage"] == "With the second line of support"


def test_api_workflow_of_an_invisible_ticket_is_404(cast, crew, make_ticket):
    ticket = make_ticket()
    assert Api(cast.other_client).get(url(ticket)).status_code == 404
    assert Api(cast.other_client).send("POST", url(ticket, "/escalate"), {"comment": "x"}).status_code == 404


def test_api_move_answers_the_new_workflow_object_and_records_the_history(crew, make_ticket):
    ticket = make_ticket()
    response = Api(crew.l1).send("POST", url(ticket, "/escalate"), {"comment": "Export fails"})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["state"] == "triage" and data["role"] == "incident_manager"
    assert data["transitions"] == []  # the L1 operator has nothing to do here
    [move] = data["history"]
    assert (move["transition"], move["source"], move["target"]) == ("escalate", "l1", "triage")
    assert (
        move["by"]["username"] == "l1"
        and move["comment"] == "Export fails"
        and move["acted_as"] == "l1_operator"
    )
    assert state_of(ticket) == "triage"


def test_api_move_errors_403_409_422(cast, crew, make_ticket):
    ticket = make_ticket()
    # The incident manager sees an unassigned ticket but does not hold the L1 role.
    forbidden = Api(crew.manager).send("POST", url(ticket, "/escalate"), {"comment": "x"})
    assert forbidden.status_code == 403, forbidden.content
    assert Api(cast.client).send("POST", url(ticket, "/escalate"), {"comment": "x"}).status_code == 403
    conflict = Api(crew.l1).send("POST", url(ticket, "/close"), {"reply": "x"})
    assert conflict.status_code == 409 and conflict.json()["detail"]
    assert Api(crew.l1).send("POST", url(ticket, "/no_such_move"), {}).status_code == 409
    missing = Api(crew.l1).send("POST", url(ticket, "/escalate"), {})
    assert missing.status_code == 422 and "comment" in missing.json()["errors"]
    unknown = Api(crew.l1).send("POST", url(ticket, "/escalate"), {"comment": "x", "colour": "red"})
    assert unknown.status_code == 422 and "colour" in unknown.json()["errors"]
    wrong_type = Api(crew.l1).send("POST", url(ticket, "/escalate"), {"comment": ["x"]})
    assert wrong_type.status_code == 422 and "comment" in wrong_type.json()["errors"]
    assert state_of(ticket) == "l1"


def test_api_plan_validates_hours_and_computes_the_expected_date(crew, make_ticket):
    ticket = make_ticket()
    api_manager = Api(crew.manager)
    Api(crew.l1).send("POST", url(ticket, "/escalate"), {"comment": "New export format"})
    api_manager.send("POST", url(ticket, "/change_request"), {})
    for board in (crew.board1, crew.board2):
        assert Api(board).send("POST", url(ticket, "/votes"), {"vote": "approve"}).status_code == 200
    assert Api(crew.board3).send("POST", url(ticket, "/approve"), {}).status_code == 200
    bad = api_manager.send("POST", url(ticket, "/plan"), {"planned_effort": "lots"})
    assert bad.status_code == 422 and "planned_effort" in bad.json()["errors"]
    early = api_manager.send("POST", url(ticket, "/assign_developer"), {})
    assert early.status_code == 409 and "planned_effort" in early.json()["errors"]
    planned = api_manager.send("POST", url(ticket, "/plan"), {"planned_effort": 8})
    assert planned.status_code == 200, planned.content
    assert api_manager.send("POST", url(ticket, "/assign_developer"), {}).status_code == 200
    assert state_of(ticket) == "work"
    stage = Api(ticket.author).get(url(ticket)).json()["stage"]
    assert stage.startswith("A solution is being prepared, expected by ")


def test_api_votes_one_per_member_changeable_until_the_decision(crew, cast, make_ticket):
    ticket = make_ticket()
    Api(crew.l1).send("POST", url(ticket, "/escalate"), {"comment": "Feature"})
    Api(crew.manager).send("POST", url(ticket, "/change_request"), {})
    board1 = Api(crew.board1)
    first = board1.send("POST", url(ticket, "/votes"), {"vote": "approve", "comment": "Useful"})
    assert first.status_code == 200, first.content
    data = board1.send("POST", url(ticket, "/votes"), {"vote": "reject", "comment": "Too costly"}).json()
    assert data["my_vote"] == "reject" and data["tally"] == {"approve": 0, "reject": 1}
    assert [(v["voter"]["username"], v["vote"], v["comment"]) for v in data["votes"]] == [
        ("board1", "reject", "Too costly")
    ]
    assert data["may_vote"] is True and data["quorum"] == 2
    # Waiting for the quorum: the decision answers 409.
    assert board1.send("POST", url(ticket, "/reject"), {}).status_code == 409
    assert Api(crew.manager).send("POST", url(ticket, "/votes"), {"vote": "approve"}).status_code == 403
    assert Api(cast.client).send("POST", url(ticket, "/votes"), {"vote": "approve"}).status_code == 403
    assert board1.send("POST", url(ticket, "/votes"), {"vote": "maybe"}).status_code == 422
    Api(crew.board2).send("POST", url(ticket, "/votes"), {"vote": "reject"})
    assert board1.send("POST", url(ticket, "/reject"), {}).status_code == 200
    assert state_of(ticket) == "inform"
    assert Vote.objects.filter(ticket=ticket).count() == 2  # kept after the decision
    closed_vote = board1.send("POST", url(ticket, "/votes"), {"vote": "approve"})
    assert closed_vote.status_code in (404, 409)


def test_api_processes_lists_versions_with_states_and_roles(cast, crew):
    data = Api(crew.l1).get("/api/v1/workflow/processes").json()
    [three] = [p for p in data if p["code"] == "three-tier" and p["active"]]
    assert three["starts_new_tickets"] is True and three["start"] == "l1"
    states = {s["code"]: s for s in three["states"]}
    assert states["triage"]["role"] == "incident_manager" and states["triage"]["role_name"]
    assert states["board"]["votes"] is True and states["closed"]["final"] is True
    assert Api(cast.client).get("/api/v1/workflow/processes").status_code == 403


def test_api_diagram_draws_the_active_version_as_svg(crew, cast, make_ticket):
    response = Api(crew.l1).get("/api/v1/workflow/processes/three-tier/diagram.svg")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    assert "<svg" in svg and "First line: classification" in svg and "Change board" in svg
    assert "<script" not in svg
    assert Api(crew.l1).get("/api/v1/workflow/processes/nope/diagram.svg").status_code == 404


FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(
        ["", "l2", "change", "high", "1", "-1", "1e9", "2030-02-30", "\x00", "ё" * 5000, "9" * 40]
    )
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=2), max_leaves=3)
FIELDS = sorted(FIELD_TYPES) + ["comment", "reply", "unknown"]


@FUZZ
@given(
    transition=st.sampled_from([t["code"] for t in SHIPPED["transitions"]] + ["", "x" * 300, "эскалация"]),
    body=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=4) | VALUES,
)
def test_api_move_any_body_never_answers_5xx(cast, crew, make_ticket, transition, body):
    ticket = make_ticket()
    response = Api(cast.admin).send("POST", url(ticket, f"/{transition}"), body)
    assert response.status_code in (200, 400, 403, 404, 405, 409, 413, 422), (body, response.content)
    assert response["Content-Type"].startswith("application/json")


@FUZZ
@given(body=st.dictionaries(st.sampled_from(["vote", "comment", "other"]), VALUES, max_size=3) | VALUES)
def test_api_vote_any_body_never_answers_5xx(crew, make_ticket, body):
    ticket = make_ticket()
    response = Api(crew.board1).send("POST", url(ticket, "/votes"), body)
    assert response.status_code in (400, 403, 409, 422), (body, response.content)


def test_api_move_with_a_body_that_is_not_json_answers_400(crew, make_ticket):
    ticket = make_ticket()
    api = Api(crew.l1)
    for raw in (b"{not json", b"\xff\xfe{", b"[" * 5000, b'"escalate"'):
        response = api.client.post(url(ticket, "/escalate"), raw, "application/json", **api.headers)
        assert response.status_code in (400, 422), (raw[:20], response.content)
        assert state_of(ticket) == "l1"
