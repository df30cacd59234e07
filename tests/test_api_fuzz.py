"""Property tests: whatever a caller sends to the tickets API, the answer is never a server error."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otklik.tickets.api_schemas import TicketCreateIn, TicketListQuery, TicketPatchIn
from tests.helpers import Api

FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(
        ["", "high", "payment", "possible", "definite", "2030-01-31", "1", "-1", "\x00", "9" * 30]
    )
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def bodies(fields: list[str]) -> st.SearchStrategy[dict]:
    return st.dictionaries(st.sampled_from([*fields, "unknown"]), json_values, max_size=5)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Hash the cast's passwords cheaply."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize("who", ["admin", "client"])
@FUZZ
@given(body=bodies(list(TicketPatchIn.model_fields)))
def test_api_ticket_patch_any_body_never_answers_5xx(cast, make_ticket, who, body):
    ticket = make_ticket()
    response = Api(getattr(cast, who)).send("PATCH", f"/api/v1/tickets/{ticket.pk}", body)
    assert response.status_code < 500, (body, response.content)
    assert response.status_code in (200, 400, 403, 404, 422), (body, response.content)


@pytest.mark.parametrize("who", ["staff", "client"])
@FUZZ
@given(body=bodies(list(TicketCreateIn.model_fields)))
def test_api_ticket_create_any_body_never_answers_5xx(cast, who, body):
    response = Api(getattr(cast, who)).send("POST", "/api/v1/tickets", body)
    assert response.status_code in (201, 400, 403, 422), (body, response.content)


@FUZZ
@given(body=bodies(["body", "hidden", "not_change_status", "minutes", "on_behalf_of"]))
def test_api_message_post_any_body_never_answers_5xx(cast, make_ticket, body):
    ticket = make_ticket()
    response = Api(cast.staff).send("POST", f"/api/v1/tickets/{ticket.pk}/messages", body)
    assert response.status_code in (201, 400, 403, 422), (body, response.content)


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(list(TicketListQuery.model_fields)),
        st.text(max_size=30) | st.sampled_from(["", "1", "-5", "true", "2024-01-01T00:00", "-id", "9" * 25]),
        max_size=5,
    )
)
def test_api_ticket_list_any_query_never_answers_5xx(cast, params):
    response = Api(cast.admin).get("/api/v1/tickets", params)
    assert response.status_code in (200, 422), (params, response.content)
    json.loads(response.content)
