"""The API bounds the work and the answer for garbage: unknown keys, oversized or unreadable bodies, unknown
paths and methods all answer small JSON errors, never HTML and never a 5xx."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from otklik.tickets.models import Ticket
from tests.helpers import Api


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_api_thousands_of_unknown_keys_answers_small_422_fast(cast):
    api = Api(cast.staff)
    payload = {"title": "T", "message": "M", **{f"unknown_{i}": i for i in range(20_000)}}
    api.send("POST", "/api/v1/tickets", {"unknown": 1})  # the first request of a process sets things up
    started = time.perf_counter()
    response = api.send("POST", "/api/v1/tickets", payload)
    elapsed = time.perf_counter() - started
    body = _json_error(response, 422)
    unknown = [key for key in body["errors"] if key.startswith("unknown_")]
    assert len(unknown) == 20
    assert "19980" in " ".join(body["errors"]["__all__"])
    assert len(response.content) < 5_000
    assert elapsed < 2.0
    assert not Ticket.objects.exists()


def test_api_long_unknown_key_shortened_in_error(cast):
    response = Api(cast.staff).send(
        "POST", "/api/v1/tickets", {"title": "T", "message": "M", "k" * 10_000: 1}
    )
    body = _json_error(response, 422)
    assert len(response.content) < 1_000
    assert all(len(key) <= 101 for key in body["errors"])


def test_api_body_over_limit_answers_413_json(cast, settings):
    settings.API_MAX_BODY_BYTES = 1000
    api = Api(cast.staff)
    response = api.send("POST", "/api/v1/tickets", {"title": "T", "message": "x" * 2000})
    body = _json_error(response, 413)
    assert "1000" in body["detail"]
    assert not Ticket.objects.exists()
    # Just under the limit is read as usual.
    response = api.send("POST", "/api/v1/tickets", {"title": "T", "message": "x" * 900})
    assert response.status_code == 201, response.content


def test_api_body_over_default_limit_answers_413_json(cast):
    """Beyond Django's own memory limit, the answer is still a JSON 413, not Django's HTML 400 page."""
    response = Api(cast.staff).send("POST", "/api/v1/tickets", {"title": "T", "message": "x" * 11_000_000})
    _json_error(response, 413)


def test_api_upload_not_limited_by_json_body_limit(cast, make_ticket, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.API_MAX_BODY_BYTES = 1000
    ticket = make_ticket()
    response = Api(cast.client).upload(
        f"/api/v1/tickets/{ticket.pk}/messages/upload",
        {"body": "Log attached", "files": [SimpleUploadedFile("big.log", b"line\n" * 2000)]},
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        ("title=x&message=y", "application/x-www-form-urlencoded"),
        ("title: x", "text/plain"),
        ('{"title": ', "application/json"),
        ("[" * 100_000, "application/json"),
        ('{"title": "T", "message": "M", "responsible": ' + "9" * 5000 + "}", "application/json"),
        (b'{"title": "\xff\xfe", "message": "M"}', "application/json"),
    ],
    ids=["form", "text", "truncated", "deep", "huge-int", "bad-utf8"],
)
def test_api_unreadable_body_answers_json_4xx(cast, raw, content_type):
    api = Api(cast.staff)
    response = api.client.post("/api/v1/tickets", data=raw, content_type=content_type, **api.headers)
    assert 400 <= response.status_code < 500
    _json_error(response, response.status_code)


@pytest.mark.parametrize("who", ["anonymous", "staff"])
@pytest.mark.parametrize(
    "path", ["/api/v1/nope", "/api/nope", "/api/v1/tickets/abc", "/api/v1/tickets/1/nope/"]
)
def test_api_unknown_path_answers_json_404(cast, who, path):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    headers = {} if who == "anonymous" else Api(cast.staff).headers
    response = client.get(path, **headers)
    body = _json_error(response, 404)
    assert body["detail"] == "Not found."


@pytest.mark.parametrize("who", ["anonymous", "staff"])
@pytest.mark.parametrize(("method", "path"), [("delete", "/api/v1/tickets"), ("put", "/api/v1/tickets/1")])
def test_api_wrong_method_answers_json_405_with_allow(cast, make_ticket, who, method, path):
    make_ticket()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    headers = {} if who == "anonymous" else Api(cast.staff).headers
    response = getattr(client, method)(path, **headers)
    body = _json_error(response, 405)
    assert response["Allow"]
    assert "GET" in body["detail"]


@pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "null", "\x00"])
def test_api_body_not_an_object_error_names_the_request_not_an_internal_name(cast, raw):
    response = Api(cast.staff).send("POST", "/api/v1/tickets", raw=raw)
    body = _json_error(response, response.status_code)
    assert response.status_code in (400, 422)
    assert "payload" not in body.get("errors", {})
    assert body["errors"]["__all__"]


def test_api_unknown_path_with_login_required_middleware_answers_json_404_not_redirect(settings):
    """Deny-by-default on the web (LoginRequiredMiddleware) must not send API callers to the login page."""
    login_required = "django.contrib.auth.middleware.LoginRequiredMiddleware"
    if login_required not in settings.MIDDLEWARE:
        auth = settings.MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
        settings.MIDDLEWARE = [
            *settings.MIDDLEWARE[: auth + 1],
            login_required,
            *settings.MIDDLEWARE[auth + 1 :],
        ]
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/nope")
    body = _json_error(response, 404)
    assert body["detail"] == "Not found."


def test_api_thousands_of_query_parameters_answers_json_400(cast):
    api = Api(cast.staff)
    query = "&".join(f"p{i}=1" for i in range(6_000))
    response = api.client.get(f"/api/v1/tickets?{query}", **api.headers)
    _json_error(response, 400)
