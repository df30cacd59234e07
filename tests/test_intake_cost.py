"""Intake cost (issue 19): what a ticket creation over the API runs, and the shortcuts that made it cheaper.

A warm API creation runs the creation's INSERTs and nothing else (no read for the token, its owner, the
session or the configuration); `core.bulk` passes plain values to the database exactly as the fields'
own conversion would; the configuration cache reads the shared generation from Redis through one client
per thread and still sees another process's bump at once.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import pytest
import redis
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext_lazy

from otklik.accounts.services import token_create
from otklik.core import bulk, clock, config_cache
from otklik.notifications.models import OutboxMessage
from otklik.tickets.models import Ticket
from tests.helpers import CREATION_INSERTS, statements_split

pytestmark = pytest.mark.django_db
REDIS_URL = "redis://127.0.0.1:6379/13"  # the cross-process cache tests' database; keys carry a random name


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.OTKLIK_CONFIG_CACHE_SECONDS = 5
    config_cache.config_forget()
    yield
    config_cache.config_forget()


def _post(api: Client, title: str):
    return api.post(
        "/api/v1/tickets",
        {"title": title, "message": "The checkout answers 502."},
        content_type="application/json",
    )


def test_api_ticket_create_warm_runs_only_the_creations_inserts(cast, make_ticket):
    make_ticket()  # the options row exists: its first save would forget the cache mid-test
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=cast.client)}")
    for title in ("Cold", "Warm"):  # the first fills the cache, the second writes the token's last use
        assert _post(api, title).status_code == 201
    with CaptureQueriesContext(connection) as captured:
        response = _post(api, "Measured")
    assert response.status_code == 201
    written, others = statements_split(captured)
    assert written == CREATION_INSERTS
    # No SELECT for the token, its owner, a session or the configuration; no UPDATE; no second transaction.
    assert others == []
    assert Ticket.objects.get(pk=response.json()["id"]).title == "Measured"


def _converted_by_the_fields(objs, fields) -> list:
    return [field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in objs for field in fields]


def _comparable(values: list) -> list:
    """Unwrap psycopg's JSON wrappers (they compare by identity) to compare values and their types."""
    return [(type(v).__name__, getattr(v, "obj", v)) for v in values]


def test_insert_rows_values_of_a_ticket_creation_equal_the_fields_own_conversion(cast, monkeypatch):
    checked = []
    real = bulk._insert_params

    def both(objs, fields):
        fast = real(objs, fields)
        slow = _converted_by_the_fields(objs, fields)
        assert _comparable(fast) == _comparable(
            slow
        )  # the same values of the same types (no bool for an int)
        checked.append(type(objs[0]).__name__)
        return fast

    monkeypatch.setattr(bulk, "_insert_params", both)
    from otklik.tickets import services

    services.ticket_create(actor=cast.client, draft=services.TicketDraft(title="Plain", message="Values."))
    assert {"Ticket", "Message", "TicketEvent", "OutboxMessage"} <= set(checked)


def test_insert_rows_values_of_other_types_go_through_the_field(cast):
    now = clock.now()
    with translation.override("en"):
        row = OutboxMessage(
            event="ticket_reminder",
            ticket_id=True,  # a bool in an integer column: the field makes it 1
            language="en",
            from_email="support@example.com",
            to=["a@example.com"],
            subject=gettext_lazy("sent"),  # a lazy text: the field makes it a str
            body_text="x",
            message_id=f"<intake.{secrets.token_hex(4)}@example.com>",
            created_at=now,
            next_attempt_at=now,
        )
        fields, _sql = bulk._insert_statement(OutboxMessage, 1, connection.vendor, True)
        fast = bulk._insert_params([row], fields)
        assert _comparable(fast) == _comparable(_converted_by_the_fields([row], fields))
        by_name = dict(zip((f.name for f in fields), fast, strict=True))
        # An int (wrapped as Int8 for psycopg on PostgreSQL, as Django does), never the bool itself.
        assert by_name["ticket_id"] == 1 and not isinstance(by_name["ticket_id"], bool)
        assert by_name["subject"] == "sent" and type(by_name["subject"]) is str
        bulk.insert_rows([row])
    assert OutboxMessage.objects.get(pk=row.pk).subject == "sent"


def test_insert_rows_naive_datetime_is_made_aware_as_save_does(cast):
    naive = datetime(2026, 12, 5, 12, 0)
    row = OutboxMessage(
        event="ticket_reminder",
        language="en",
        from_email="support@example.com",
        subject="s",
        body_text="x",
        message_id=f"<intake.{secrets.token_hex(4)}@example.com>",
        created_at=naive,
        next_attempt_at=naive,
    )
    fields, _sql = bulk._insert_statement(OutboxMessage, 1, connection.vendor, True)
    with pytest.warns(RuntimeWarning):  # Django's own warning: the field converted it
        fast = bulk._insert_params([row], fields)
    with pytest.warns(RuntimeWarning):
        assert _comparable(fast) == _comparable(_converted_by_the_fields([row], fields))


def test_shared_generation_read_from_redis_one_client_per_thread_sees_other_writers(settings, monkeypatch):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "otklik-intake-test",
        }
    }
    from django.core.cache import cache

    name = f"otklik-config-generation-test-{secrets.token_hex(4)}"
    try:
        assert config_cache._cache_get(name) is None
        cache.add(name, 0, timeout=None)
        cache.incr(name)
        assert config_cache._cache_get(name) == 1
        made = []
        real_init = redis.Redis.__init__

        def counted(self, *args, **kwargs):
            made.append(1)
            real_init(self, *args, **kwargs)

        monkeypatch.setattr(redis.Redis, "__init__", counted)
        other = redis.Redis.from_url(REDIS_URL)  # another process's bump, not through this cache
        other.incr(cache.make_key(name))
        made.clear()
        for expected in (2, 2):
            assert config_cache._cache_get(name) == expected  # seen at once, no TTL involved
        assert made == []  # the thread's client is kept: no new client object per request
    finally:
        cache.delete(name)


def test_ticket_creation_statements_are_converted_once_by_psycopg(cast, monkeypatch):
    """psycopg keeps the converted form of a new ticket's INSERTs (54 and 63 parameters): not parsed per use."""
    from psycopg import _queries

    from otklik.tickets import services

    widest = max(
        len(bulk._insert_statement(model, rows, "postgresql", True)[0]) * rows
        for model, rows in ((Ticket, 1), (OutboxMessage, 3))
    )
    assert _queries.MAX_CACHED_STATEMENT_PARAMS >= widest  # fails if psycopg renames or lowers it
    services.ticket_create(actor=cast.client, draft=services.TicketDraft(title="Warm", message="Up."))
    parsed = []
    real = _queries._query2pg_nocache
    monkeypatch.setattr(_queries, "_query2pg_nocache", lambda *a: parsed.append(a) or real(*a))
    services.ticket_create(actor=cast.client, draft=services.TicketDraft(title="Again", message="Up."))
    assert parsed == []  # on SQLite psycopg is not used at all; on PostgreSQL every statement was cached
