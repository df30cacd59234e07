"""The rules API: admins only, field messages for bad input, dry-run, change and delete."""

import json

import pytest
from django.test import Client

from otklik.automation.models import AutomationRule
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db

RULE = {
    "name": "VIP first",
    "event": "created",
    "conditions": [{"field": "message", "op": "contains", "value": "urgent"}],
    "actions": {"add_tags": ["vip"]},
}


def post(client: Client, url: str, data) -> tuple[int, dict]:
    response = client.post(url, data=json.dumps(data), content_type="application/json")
    return response.status_code, (response.json() if response.content else {})


def test_admin_creates_lists_and_dry_runs_a_rule(cast, make_ticket):
    wanted = make_ticket(message="URGENT: down")
    make_ticket(message="whenever")
    admin = logged_in(cast.admin)
    status, body = post(admin, "/api/v1/rules", RULE)
    assert status == 201, body
    assert body["run_as"] == cast.admin.pk and body["actions"] == {"add_tags": ["vip"]}
    listed = admin.get("/api/v1/rules").json()
    assert [r["name"] for r in listed] == ["VIP first"]
    status, found = post(admin, f"/api/v1/rules/{body['id']}/dry-run", {})
    assert status == 200 and found == [{"id": wanted.pk, "title": wanted.title}]


def test_admin_changes_and_deletes_a_rule(cast):
    admin = logged_in(cast.admin)
    _, body = post(admin, "/api/v1/rules", RULE)
    response = admin.put(
        f"/api/v1/rules/{body['id']}",
        data=json.dumps({"active": False, "order": 5}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["active"] is False and response.json()["name"] == "VIP first"
    assert admin.delete(f"/api/v1/rules/{body['id']}").status_code == 204
    assert not AutomationRule.objects.exists()
    assert admin.get(f"/api/v1/rules/{body['id']}").status_code == 404


@pytest.mark.parametrize("who", ["staff", "client", "demo"])
def test_rules_api_refused_for_everyone_but_admins(cast, who):
    client = logged_in(getattr(cast, who))
    assert client.get("/api/v1/rules").status_code == 403
    status, _ = post(client, "/api/v1/rules", RULE)
    assert status == 403
    assert not AutomationRule.objects.exists()


def test_rules_api_anonymous_is_401():
    assert Client().get("/api/v1/rules").status_code == 401


def test_dry_run_of_a_rule_refused_for_staff(cast):
    _, body = post(logged_in(cast.admin), "/api/v1/rules", RULE)
    status, _ = post(logged_in(cast.staff), f"/api/v1/rules/{body['id']}/dry-run", {})
    assert status == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event": "sometimes"}, "event"),
        ({"name": ""}, "name"),
        ({"event": "pending_hours"}, "hours"),
        ({"conditions": [{"field": "colour", "op": "is", "value": 1}]}, "conditions"),
        ({"conditions": [{"field": "category", "op": "is", "value": 999999}]}, "conditions"),
        ({"conditions": "category=1"}, "conditions"),
        ({"conditions": [{"field": "title", "op": "contains", "value": "a\u0000b"}]}, "conditions"),
        ({"actions": {}}, "actions"),
        ({"actions": {"explode": True}}, "actions"),
        ({"actions": {"changes": {"author": 1}}}, "changes"),
        ({"actions": {"notify": {"users": [1, "x"]}}}, "notify"),
        ({"run_as": 999999}, "run_as"),
        ({"extra": 1}, "extra"),
        ({"order": -1}, "order"),
    ],
)
def test_rules_api_bad_input_is_422_with_field_messages(cast, change, field):
    status, body = post(logged_in(cast.admin), "/api/v1/rules", {**RULE, **change})
    assert status == 422, body
    assert body["errors"][field]
    assert not AutomationRule.objects.exists()


def test_rules_api_run_as_must_be_an_admin(cast):
    status, body = post(logged_in(cast.admin), "/api/v1/rules", {**RULE, "run_as": cast.staff.pk})
    assert status == 422 and body["errors"]["run_as"]


def test_rules_api_duplicate_name_is_422(cast):
    admin = logged_in(cast.admin)
    post(admin, "/api/v1/rules", RULE)
    status, body = post(admin, "/api/v1/rules", {**RULE, "name": "vip FIRST"})
    assert status == 422 and body["errors"]["name"]


def test_rules_api_unreadable_body_is_400(cast):
    response = logged_in(cast.admin).post("/api/v1/rules", data="{", content_type="application/json")
    assert response.status_code == 400


def test_rules_in_openapi_schema(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/rules" in paths and "/api/v1/rules/{rule_id}/dry-run" in paths
