"""Text no database can store (lone UTF-16 surrogates, NUL) answers 422 naming the field, on every endpoint.

The cases are derived from the OpenAPI schema, so a new endpoint or field is covered without editing this file.
"""

from __future__ import annotations

import json

import pytest

from otklik.api.api import api
from otklik.automation.models import AutomationRule
from otklik.automation.services import rule_create
from otklik.tickets.models import Message, Ticket
from tests.helpers import Api

BAD_TEXTS = {"surrogate": "bad \ud800 text", "low-surrogate": "\udfff", "nul": "bad \x00 text"}


def _accepts_text(schema: dict) -> bool:
    """Return True when a property's schema lets a client send a string (files excluded)."""
    if schema.get("type") == "string" and schema.get("format") != "binary" and "enum" not in schema:
        return True
    return any(_accepts_text(option) for option in schema.get("anyOf", []) + schema.get("oneOf", []))


def _resolve(schema: dict, spec: dict) -> dict:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return spec["components"]["schemas"][name]
    return schema


def _valid_value(schema: dict) -> object:
    if _accepts_text(schema):
        return "Valid text"
    kinds = {schema.get("type")} | {o.get("type") for o in schema.get("anyOf", [])}
    if "integer" in kinds:
        return 1
    if "boolean" in kinds:
        return False
    return None


def _cases() -> tuple[list, list, list]:
    """Return (JSON body fields, multipart fields, query parameters) that accept text, per operation."""
    spec = api.get_openapi_schema()
    body, form, query = [], [], []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and _accepts_text(parameter["schema"]):
                    query.append((method.upper(), path, parameter["name"], {}))
            content = operation.get("requestBody", {}).get("content", {})
            for media, target in (("application/json", body), ("multipart/form-data", form)):
                if media not in content:
                    continue
                schema = _resolve(content[media]["schema"], spec)
                properties = schema.get("properties", {})
                required = {name: _valid_value(properties[name]) for name in schema.get("required", [])}
                for name, prop in properties.items():
                    if _accepts_text(prop):
                        target.append((method.upper(), path, name, required))
    return body, form, query


BODY_FIELDS, FORM_FIELDS, QUERY_PARAMS = _cases()


def _case_id(case) -> str:
    return f"{case[0]} {case[1]} {case[2]}"


def test_cases_cover_every_text_input():
    """A guard: the derivation finds the fields it must (an empty list would make the tests vacuous)."""
    fields = {(m, p, n) for m, p, n, _r in BODY_FIELDS}
    assert ("POST", "/api/v1/tickets", "title") in fields
    assert ("PATCH", "/api/v1/tickets/{ticket_id}/messages/{number}", "body") in fields
    assert ("POST", "/api/v1/tickets/{ticket_id}/messages/upload", "body") in {c[:3] for c in FORM_FIELDS}
    assert ("GET", "/api/v1/tickets", "q") in {c[:3] for c in QUERY_PARAMS}


@pytest.fixture
def admin_api(cast, make_ticket):
    ticket = make_ticket()
    # An object of every other kind a path names, so that a path's id reaches the body's validation.
    rule_create(
        actor=cast.admin, data={"name": "Existing", "event": "created", "actions": {"add_tags": ["x"]}}
    )
    return Api(cast.admin), ticket


def _url(path: str, ticket: Ticket) -> str:
    rule = AutomationRule.objects.get(name="Existing")
    return (
        path.replace("{ticket_id}", str(ticket.pk))
        .replace("{number}", "1")
        .replace("{rule_id}", str(rule.pk))
    )


@pytest.mark.parametrize("bad", list(BAD_TEXTS.values()), ids=list(BAD_TEXTS))
@pytest.mark.parametrize("case", BODY_FIELDS, ids=_case_id)
def test_api_json_text_field_unstorable_text_answers_422_naming_field(admin_api, case, bad):
    api_client, ticket = admin_api
    method, path, field, required = case
    before = (Ticket.objects.count(), Message.objects.count())
    response = api_client.send(method, _url(path, ticket), {**required, field: bad})
    assert response.status_code == 422, response.content
    body = response.json()
    assert field in body["errors"], body
    assert (Ticket.objects.count(), Message.objects.count()) == before


@pytest.mark.parametrize("case", FORM_FIELDS, ids=_case_id)
def test_api_form_text_field_nul_answers_422_naming_field(admin_api, case):
    api_client, ticket = admin_api
    method, path, field, required = case
    data = {k: str(v).lower() if isinstance(v, bool) else v for k, v in required.items() if v is not None}
    response = api_client.upload(_url(path, ticket), {**data, field: BAD_TEXTS["nul"]})
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]


@pytest.mark.parametrize("case", QUERY_PARAMS, ids=_case_id)
def test_api_query_text_parameter_nul_answers_422_naming_it(admin_api, case):
    api_client, ticket = admin_api
    method, path, name, _required = case
    response = api_client.get(_url(path, ticket), {name: BAD_TEXTS["nul"]})
    assert response.status_code == 422, response.content
    assert name in response.json()["errors"]


def test_api_query_invalid_utf8_read_as_replacement_answers_200(admin_api):
    """A surrogate cannot travel in a URL: its UTF-8 bytes are invalid and Django reads U+FFFD instead."""
    api_client, _ticket = admin_api
    response = api_client.client.get("/api/v1/tickets?q=%ED%A0%80", **api_client.headers)
    assert response.status_code == 200, response.content


def test_api_error_for_surrogate_key_is_valid_json(admin_api):
    api_client, _ticket = admin_api
    response = api_client.send("POST", "/api/v1/tickets", raw='{"title": "T", "message": "M", "\\ud800": 1}')
    assert response.status_code == 422
    json.loads(response.content.decode("utf-8"))
