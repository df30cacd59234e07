"""REST API v1: token and session authentication, the caller's language, /me, dictionaries, the schema."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import translation
from django.utils.crypto import get_random_string

from otklik.accounts.models import AccessLevel
from otklik.accounts.services import profile_update
from otklik.core.errors import ReadOnlyAccess
from tests.conftest import make_user
from tests.helpers import Api


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Hash the cast's passwords cheaply."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# -- auth, me, dictionaries, schema ----------------------------------------------------------
def test_api_session_auth_reads_and_requires_csrf_for_writes(cast, make_ticket):
    ticket = make_ticket()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(cast.client)
    assert browser.get(f"/api/v1/tickets/{ticket.pk}").status_code == 200
    url = f"/api/v1/tickets/{ticket.pk}/messages"
    body = json.dumps({"body": "From the browser"})
    assert browser.post(url, data=body, content_type="application/json").status_code == 401
    token = get_random_string(32)  # a CSRF secret, as the login page would set it
    browser.cookies["csrftoken"] = token
    response = browser.post(url, data=body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content


def test_api_me_returns_the_token_owner(cast):
    response = Api(cast.staff).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json() == {
        "id": cast.staff.pk,
        "username": "staff",
        "email": "staff@example.com",
        "roles": ["staff"],
        "language": "ru",
        "time_zone": "Europe/Moscow",
    }


def test_api_me_user_without_profile_gets_defaults(db):
    user = User.objects.create_user("bare", "bare@example.com", "x")
    response = Api(user).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["roles"] == [] and response.json()["language"] == "ru"


def test_api_dictionary_criticality_lists_codes_and_default(cast):
    data = Api(cast.client).get("/api/v1/dictionaries/criticality").json()
    assert [e["code"] for e in data] == ["low", "middle", "high"]
    assert [e["is_default"] for e in data] == [False, True, False]
    assert data[2]["name_en"] == "High"


def test_api_user_without_any_level_cannot_create(db):
    user = make_user("nobody")
    response = Api(user).send("POST", "/api/v1/tickets", {"title": "t", "message": "m"})
    assert response.status_code == 403


def test_api_openapi_schema_get_lists_every_path(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/me",
        "/api/v1/tickets",
        "/api/v1/tickets/{ticket_id}",
        "/api/v1/tickets/{ticket_id}/messages",
        "/api/v1/tickets/{ticket_id}/messages/upload",
        "/api/v1/tickets/{ticket_id}/messages/{number}",
        "/api/v1/attachments/{attachment_id}",
        "/api/v1/dictionaries",
        "/api/v1/dictionaries/{kind}",
    } <= paths
    assert set(schema["paths"]["/api/v1/tickets/{ticket_id}"]) == {"get", "patch", "delete"}
    params = {p["name"] for p in schema["paths"]["/api/v1/tickets"]["get"]["parameters"]}
    assert {"page", "page_size", "sort", "category", "created_from", "responsible_none"} <= params
    assert schema["components"]["securitySchemes"]["BearerOrSession"] == {"type": "http", "scheme": "bearer"}
    assert schema["paths"]["/api/v1/tickets"]["get"]["security"] == [{"BearerOrSession": []}]


def test_api_staff_level_user_sees_fields_in_created_ticket(db):
    staff = make_user("agent", AccessLevel.STAFF)
    response = Api(staff).send("POST", "/api/v1/tickets", {"title": "t", "message": "m"})
    assert response.status_code == 201
    assert response.json()["spam"] == "" and response.json()["created_via"] == "api"


@pytest.mark.parametrize("language", ["ru", "en"])
def test_api_token_caller_gets_messages_in_profile_language(cast, language):
    profile_update(user=cast.demo, language=language)
    response = Api(cast.demo).send("POST", "/api/v1/tickets", {"title": "t", "message": "m"})
    assert response.status_code == 403
    assert response["Content-Language"] == language
    with translation.override(language):
        assert response.json()["detail"] == str(ReadOnlyAccess.default_message)


def test_api_token_caller_without_profile_gets_accept_language(db):
    user = User.objects.create_user("bare", "bare@example.com", "x")
    response = Api(user).send("POST", "/api/v1/tickets", {"title": "t", "message": "m"})
    assert response.status_code == 403
    assert response["Content-Language"] == "en"
