"""The read replica scenario, run by tests/test_replica.py in its own process against a real primary and
streaming replica (OTKLIK_DATABASE_URL, OTKLIK_DATABASE_REPLICA_URL, already migrated).

It drives the application through Django's test client (the whole middleware stack) and prints one JSON
object of observations; the test asserts on them. REPLICA_CLUSTER (JSON: data_dir, port) lets it stop the
replica for the last step. Run: `python -m tests.replica_scenario` with the environment set.
"""

from __future__ import annotations

import json
import logging
import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otklik.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connections  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.urls import reverse  # noqa: E402

from otklik.accounts.models import AccessLevel  # noqa: E402
from otklik.accounts.services import user_create  # noqa: E402
from otklik.core import db_routing  # noqa: E402
from otklik.tickets import services  # noqa: E402
from otklik.tickets.models import Ticket  # noqa: E402

AS_OF = "Data as of"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def replica_sql(statement: str):
    import psycopg

    with psycopg.connect(
        os.environ["OTKLIK_DATABASE_REPLICA_URL"], autocommit=True, connect_timeout=5
    ) as conn:
        return conn.execute(statement).fetchone()


def wait_replayed(timeout: float = 15) -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        (target,) = cursor.fetchone()
    deadline = time.monotonic() + timeout
    while not replica_sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")[0]:
        if time.monotonic() > deadline:
            raise TimeoutError("the replica did not catch up")
        time.sleep(0.05)


def make_user(name: str, level: str):
    return user_create(
        username=name, email=f"{name}@example.com", password="pass-Word-123", levels=(level,), language="en"
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)  # outside a request: no pin
    return client


def api_count(client: Client) -> dict:
    response = client.get("/api/v1/tickets?page_size=1")
    return {
        "status": response.status_code,
        "count": response.json().get("count") if response.status_code == 200 else None,
        "from": response.headers.get("X-Otklik-Read-From", ""),
    }


def page(client: Client, url: str) -> dict:
    response = client.get(url)
    text = response.content.decode()
    return {
        "status": response.status_code,
        "from": response.headers.get("X-Otklik-Read-From", ""),
        "as_of": AS_OF in text and "(replica, " in text,
    }


def desk_total(client: Client) -> dict:
    response = client.get("/api/v1/reports/desk")
    return {
        "status": response.status_code,
        "total": response.json()["totals"]["total"] if response.status_code == 200 else None,
        "from": response.headers.get("X-Otklik-Read-From", ""),
    }


def primary_count() -> int:
    return Ticket.objects.using("default").count()


def write_then_count(request):
    """A view that writes and then asks for a replica read: it must read its own write."""
    services.ticket_create(
        actor=request.user,
        draft=services.TicketDraft(title="In-request write", message="Written, then counted."),
    )
    with db_routing.reading_from_replica() as decision:
        count = Ticket.objects.count()
    return JsonResponse({"count": count, "reason": decision.reason})


def main() -> None:
    records = Records()
    logging.getLogger("otklik.replica").addHandler(records)
    logging.getLogger("otklik.replica").setLevel(logging.WARNING)  # the run logs errors only
    out: dict = {}
    writer = make_user("writer", AccessLevel.STAFF)
    reader = make_user("reader", AccessLevel.STAFF)
    author = make_user("author", AccessLevel.CLIENT)
    for n in range(3):
        services.ticket_create(
            actor=author, draft=services.TicketDraft(title=f"Ticket {n}", message="Setting up the scenario.")
        )
    w, r, c = client_for(writer), client_for(reader), client_for(author)
    wait_replayed()
    out["baseline"] = {"primary": primary_count(), "reader": api_count(r)}

    # Replay paused: the replica keeps the old rows while the primary moves on.
    replica_sql("SELECT pg_wal_replay_pause()")
    while replica_sql("SELECT pg_get_wal_replay_pause_state()")[0] != "paused":
        time.sleep(0.05)
    created = w.post(
        "/api/v1/tickets",
        data={"title": "Written by the writer", "message": "The writer's own change."},
        content_type="application/json",
    )
    out["write"] = {"status": created.status_code, "pin_cookie": db_routing.PIN_COOKIE in created.cookies}
    # A write, then a replica read in the same request (the middleware's scope around a view).
    request = RequestFactory().get("/")
    request.user = writer
    answer = db_routing.ReplicaPinMiddleware(write_then_count)(request)
    out["same_request"] = {**json.loads(answer.content), "primary": primary_count()}
    out["primary_after_writes"] = primary_count()
    out["writer_pinned"] = api_count(w)
    time.sleep(1.2)  # the replica's lag (the age of its last replayed transaction) passes a second
    db_routing.replica_forget()
    out["reader_stale"] = api_count(r)
    out["reader_desk"] = desk_total(r)
    out["reader_desk_page"] = page(r, reverse("reports:desk"))
    out["reader_staff_list"] = page(r, reverse("tickets:staff_list"))
    out["client_list"] = page(c, reverse("tickets:client_list"))
    # The pin ends after OTKLIK_REPLICA_PIN_SECONDS: the writer reads the replica again.
    time.sleep(settings.OTKLIK_REPLICA_PIN_SECONDS + 0.3)
    out["writer_unpinned"] = api_count(w)

    # More behind than allowed: the primary answers (logged).
    settings.OTKLIK_REPLICA_MAX_LAG_SECONDS = 1.0
    db_routing.replica_forget()
    out["lagging"] = api_count(r)
    out["lagging_desk_page"] = page(r, reverse("reports:desk"))
    out["lag_logged"] = any("behind" in m for m in records.messages)
    settings.OTKLIK_REPLICA_MAX_LAG_SECONDS = 30.0

    # Replay resumed: the replica catches up and is read again, with no "as of" note.
    replica_sql("SELECT pg_wal_replay_resume()")
    wait_replayed()
    db_routing.replica_forget()
    out["caught_up"] = api_count(r)
    out["caught_up_desk_page"] = page(r, reverse("reports:desk"))

    # The replica stops while this process holds an open connection and a fresh "healthy" check.
    settings.OTKLIK_REPLICA_CHECK_SECONDS = 600.0
    db_routing.replica_forget()
    out["before_stop"] = api_count(r)
    cluster = json.loads(os.environ["REPLICA_CLUSTER"])
    from pathlib import Path

    from tests.pg_cluster import PgCluster

    PgCluster(Path(cluster["data_dir"]), cluster["port"]).stop("immediate")
    records.messages.clear()
    out["stopped_mid_read"] = api_count(r)
    out["stopped_desk_page"] = page(r, reverse("reports:desk"))
    out["stopped_staff_list"] = page(r, reverse("tickets:staff_list"))
    settings.OTKLIK_REPLICA_CHECK_SECONDS = 0.2
    db_routing.replica_forget()
    started = time.monotonic()
    out["stopped_checked"] = api_count(r)
    out["stopped_checked_seconds"] = round(time.monotonic() - started, 3)
    out["stopped_desk"] = desk_total(r)
    out["unreachable_logged"] = any("reading from the primary" in m for m in records.messages)
    out["primary_final"] = primary_count()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
