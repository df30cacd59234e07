"""The OpenAPI schema says what the server does: each operation documents the error answers it can give."""

from __future__ import annotations

import pytest

from otklik.api.api import api
from tests.helpers import Api

SPEC = api.get_openapi_schema()
OPERATIONS = [
    (method.upper(), path, operation)
    for path, operations in SPEC["paths"].items()
    for method, operation in operations.items()
]
ERROR_REF = "#/components/schemas/ErrorOut"


def _ids(cases) -> list[str]:
    return [f"{m} {p}" for m, p, _o in cases]


def _documented(operation: dict) -> set[int]:
    return {int(code) for code in operation["responses"]}


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=_ids(OPERATIONS))
def test_openapi_every_operation_documents_401_as_json_error(method, path, operation):
    answer = operation["responses"].get(401) or operation["responses"].get("401")
    assert answer, f"{method} {path} does not document 401"
    assert answer["content"]["application/json"]["schema"]["$ref"] == ERROR_REF


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=_ids(OPERATIONS))
def test_openapi_errors_documented_as_they_occur(method, path, operation):
    documented = _documented(operation)
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        assert {400, 413, 422} <= documented
    if content:
        assert {400, 422} <= documented
    if "{" in path:
        assert 404 in documented
    if method == "GET" and not content and path.endswith("}"):
        # Reading one object: nothing to validate in a body, so no 400/413.
        assert not {400, 413} & documented
    for code in documented - {200, 201, 204}:
        answer = operation["responses"].get(code) or operation["responses"].get(str(code))
        assert answer["content"]["application/json"]["schema"]["$ref"] == ERROR_REF


def _properties(name: str) -> dict:
    return SPEC["components"]["schemas"][name]["properties"]


def _string_schema(prop: dict) -> dict:
    if prop.get("type") == "string":
        return prop
    return next(o for o in prop.get("anyOf", []) if o.get("type") == "string")


@pytest.mark.parametrize(
    ("schema", "field", "min_length", "max_length"),
    [
        ("TicketCreateIn", "title", 1, 255),
        ("TicketCreateIn", "message", 1, 100_000),
        ("TicketPatchIn", "title", 1, 255),
        ("MessageCreateIn", "body", 1, 100_000),
        ("MessagePatchIn", "body", 1, 100_000),
        ("TicketPatchIn", "tier", None, 8),
        ("TicketPatchIn", "ticket_type", None, 32),
    ],
)
def test_openapi_text_fields_document_length_bounds(schema, field, min_length, max_length):
    prop = _string_schema(_properties(schema)[field])
    assert prop.get("minLength") == min_length
    assert prop.get("maxLength") == max_length


def test_openapi_attachment_download_documents_binary_file():
    operation = SPEC["paths"]["/api/v1/attachments/{attachment_id}"]["get"]
    answer = operation["responses"].get(200) or operation["responses"]["200"]
    assert answer["content"]["*/*"]["schema"] == {"type": "string", "format": "binary"}


def test_api_patch_tier_over_column_length_answers_422(cast, make_ticket):
    """A tier longer than its column was cut to 32 characters, which PostgreSQL refused (8) with a 500."""
    ticket = make_ticket()
    response = Api(cast.admin).send("PATCH", f"/api/v1/tickets/{ticket.pk}", {"tier": "x" * 20})
    assert response.status_code == 422, response.content
    assert "tier" in response.json()["errors"]


def test_api_upload_multipart_without_boundary_answers_400_json(cast, make_ticket):
    ticket = make_ticket()
    api_client = Api(cast.client)
    response = api_client.client.post(
        f"/api/v1/tickets/{ticket.pk}/messages/upload",
        data=b"body=x",
        content_type="multipart/form-data",
        **api_client.headers,
    )
    assert response.status_code == 400
    assert response.json()["errors"]["__all__"]


@pytest.mark.parametrize("service", ["create", "update"])
def test_ticket_tier_and_type_longer_than_column_cut_to_fit(cast, make_ticket, service):
    """The services cut these to the column (tier 8, type 32); PostgreSQL refused the old cut at 32 with a 500."""
    from otklik.tickets import services

    if service == "create":
        ticket = make_ticket(actor=cast.staff, author=cast.client, tier="t" * 20, ticket_type="y" * 40)
    else:
        ticket = services.ticket_update(
            actor=cast.staff, ticket=make_ticket(), changes={"tier": "t" * 20, "ticket_type": "y" * 40}
        )
    ticket.refresh_from_db()
    assert (ticket.tier, ticket.ticket_type) == ("t" * 8, "y" * 32)


def test_openapi_schema_names_are_unique_across_apps():
    """Two schemas of one name share one OpenAPI component: the last registered one would describe both
    operations' answers (the reports' deflection table once described POST /kb/deflections' 201)."""
    import importlib
    import inspect
    from collections import defaultdict

    from ninja import Schema

    seen: dict[str, set[str]] = defaultdict(set)
    for app in ("accounts", "kb", "reports", "tickets", "workflow"):
        for module_name in (f"otklik.{app}.api", f"otklik.{app}.api_schemas"):
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:
                continue
            for name, value in vars(module).items():
                if inspect.isclass(value) and issubclass(value, Schema) and value.__module__ == module_name:
                    seen[name].add(module_name)
    assert {name: mods for name, mods in seen.items() if len(mods) > 1} == {}
