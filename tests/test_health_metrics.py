"""Health (/healthz, /readyz) and metrics (/metrics): answers, failures, access and the figures, parsed."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage
from prometheus_client.parser import text_string_to_metric_families

from otklik.core import clock
from otklik.mail.models import InboundMail, Mailbox, Outcome
from otklik.notifications.models import OutboxMessage, OutboxState
from otklik.tickets.models import Ticket
from otklik.tickets.services.sla_tick import sla_tick
from otklik.web.health import readiness_forget
from otklik.web.job_ids import job_enqueued_at, job_id_new
from otklik.web.metrics_collector import metrics_forget

# One xdist worker runs them all: the request counters are summed over the processes sharing the data
# directory, and the figures asserted here must move only by this module's own requests.
pytestmark = pytest.mark.xdist_group("metrics")

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
REAL_REDIS = "redis://127.0.0.1:6379/15"


@HUEY.task()
def _metrics_probe_job() -> None:
    """A job for the queue figures (never run: the tests' queue is in memory)."""


@pytest.fixture(scope="module", autouse=True)
def _no_files_of_finished_runs():
    """Delete the counter files of test processes that have exited (a developer's runs pile them up).

    Never in production: there a finished worker's counts must stay in the sums until `otklik start`.
    """
    from django.conf import settings

    if not Path("/proc/self").exists():  # no way to tell a live process here: keep everything
        return
    for path in Path(settings.METRICS_DIR).glob("*_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            path.unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def _fresh_caches():
    readiness_forget()
    metrics_forget()
    yield
    readiness_forget()
    metrics_forget()


def _readyz(client: Client | None = None):
    response = (client or Client()).get("/readyz")
    return response.status_code, response.json()


def scrape(client: Client | None = None, **extra) -> dict:
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"].startswith("text/plain; version=")
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def sample(families: dict, family: str, sample_name: str | None = None, **labels: str) -> float:
    """Return the value of the sample of `family` named `sample_name` (the family's name) with `labels`."""
    for s in families[family].samples:
        if s.name == (sample_name or family) and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return 0.0


# -- /healthz ----------------------------------------------------------------------------------------------


def test_healthz_anonymous_answers_ok_without_a_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_post_is_refused_not_a_server_error(db):
    assert Client().post("/healthz").status_code == 405


# -- /readyz -----------------------------------------------------------------------------------------------


def test_readyz_all_checks_pass_answers_200_with_each_check(db):
    status, body = _readyz()
    assert status == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "queue", "storage"}
    for check in body["checks"].values():
        assert check["ok"] is True and check["error"] == ""
        assert 0 <= check["seconds"] < 5


def test_readyz_migrated_answer_is_kept_so_later_calls_query_once(db, django_assert_num_queries):
    assert _readyz()[0] == 200
    with django_assert_num_queries(1):  # SELECT 1; the migrations are not read again
        assert _readyz()[0] == 200


def test_readyz_unapplied_migration_answers_503_naming_the_database(db):
    applied = MigrationRecorder(connection).applied_migrations()
    app, name = max(key for key in applied if key[0] == "tickets")
    MigrationRecorder(connection).record_unapplied(app, name)
    status, body = _readyz()
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {
        "ok": False,
        "error": "1 migration(s) not applied",
        "seconds": body["checks"]["database"]["seconds"],
    }
    assert body["checks"]["queue"]["ok"] and body["checks"]["storage"]["ok"]


def test_readyz_unreachable_redis_answers_503_without_the_address(db, monkeypatch):
    monkeypatch.setattr(HUEY, "storage", RedisStorage(HUEY.name, url=UNREACHABLE_REDIS))
    status, body = _readyz()
    assert status == 503
    queue = body["checks"]["queue"]
    assert queue["ok"] is False
    assert queue["error"] == "ConnectionError"
    assert "127.0.0.1" not in str(body) and "redis://" not in str(body)
    assert body["checks"]["database"]["ok"] and body["checks"]["storage"]["ok"]


def test_readyz_real_redis_queue_passes(db, monkeypatch):
    monkeypatch.setattr(HUEY, "storage", RedisStorage(f"otklik-test-{uuid.uuid4().hex}", url=REAL_REDIS))
    status, body = _readyz()
    assert status == 200, body
    assert body["checks"]["queue"]["ok"] is True


def test_readyz_unwritable_storage_answers_503_without_the_path(db, settings, tmp_path):
    # Tests run as root in CI, where a read-only mode bit stops nobody: the storage's folder sits under a
    # plain file instead, which no user can write into.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocker / "files")},
        },
    }
    status, body = _readyz()
    assert status == 503
    storage = body["checks"]["storage"]
    assert storage["ok"] is False
    assert storage["error"] in {"FileExistsError", "NotADirectoryError"}
    assert str(tmp_path) not in str(body)


def test_readyz_storage_probe_leaves_no_file(db, settings, tmp_path):
    assert _readyz()[0] == 200
    location = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    assert [p for p in location.rglob("*") if p.is_file()] == []


# -- /metrics: access --------------------------------------------------------------------------------------


def test_metrics_default_allows_loopback_only(db):
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="127.8.9.10").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="::ffff:127.0.0.1").get("/metrics").status_code == 200
    refused = Client(REMOTE_ADDR="10.0.0.5").get("/metrics")
    assert refused.status_code == 403
    assert b"otklik" not in refused.content and b"token" not in refused.content.lower()


def test_metrics_forwarded_for_header_is_not_trusted(db):
    response = Client(REMOTE_ADDR="10.0.0.5").get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert response.status_code == 403


@pytest.mark.parametrize("header", ["HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"])
def test_metrics_through_a_local_proxy_needs_the_token(db, settings, header):
    # nginx on the same machine connects from loopback: its requests are admitted by the token only.
    settings.OTKLIK_METRICS_TOKEN = "s3cret-token"
    proxied = Client(REMOTE_ADDR="127.0.0.1", **{header: "203.0.113.9"})
    assert proxied.get("/metrics").status_code == 403
    assert proxied.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


def test_metrics_behind_a_trusted_proxy_admits_the_forwarded_client_by_address(db, settings):
    # OTKLIK_TRUSTED_PROXIES (otklik.core.proxy) makes REMOTE_ADDR the client's: the allow list applies to it.
    settings.OTKLIK_TRUSTED_PROXIES = "127.0.0.1"
    settings.OTKLIK_METRICS_ALLOW = "10.9.0.0/16"
    via_nginx = Client(REMOTE_ADDR="127.0.0.1")
    assert via_nginx.get("/metrics", HTTP_X_FORWARDED_FOR="10.9.1.2").status_code == 200
    assert via_nginx.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    # A client writing the allowed address itself: nginx appends the real one, which is the one read.
    assert via_nginx.get("/metrics", HTTP_X_FORWARDED_FOR="10.9.1.2, 203.0.113.9").status_code == 403
    settings.OTKLIK_TRUSTED_PROXIES = ""  # the same request from a proxy nobody declared: token only
    assert via_nginx.get("/metrics", HTTP_X_FORWARDED_FOR="10.9.1.2").status_code == 403


def test_metrics_allow_list_admits_its_networks_only(db, settings):
    settings.OTKLIK_METRICS_ALLOW = "10.1.0.0/16, 192.0.2.7, not-an-address"
    assert Client(REMOTE_ADDR="10.1.200.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.7").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.8").get("/metrics").status_code == 403
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 403  # the list replaces loopback


def test_metrics_token_good_is_admitted_from_anywhere_bad_is_refused(db, settings):
    settings.OTKLIK_METRICS_TOKEN = "s3cret-token"
    settings.OTKLIK_METRICS_ALLOW = ""
    far = Client(REMOTE_ADDR="203.0.113.9")
    assert far.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    assert far.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert far.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-token").status_code == 403
    assert far.get("/metrics").status_code == 403
    # An empty allow list admits no address, loopback included.
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 403


def test_metrics_wrong_token_is_refused_even_from_loopback(db, settings):
    settings.OTKLIK_METRICS_TOKEN = "s3cret-token"
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 403
    assert Client().get("/metrics").status_code == 200  # loopback, no token: the default list


def test_metrics_without_a_token_configured_refuses_any_bearer(db, settings):
    settings.OTKLIK_METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


# -- /metrics: figures -------------------------------------------------------------------------------------


def test_metrics_request_histogram_counts_by_route_not_path(db, make_ticket, cast):
    # Other tests of the run (another xdist worker shares the counters' directory) GET these pages too;
    # HEAD on /healthz is this test's own, so its figures must move by exactly what it sends.
    from tests.conftest import logged_in

    before = scrape()
    ticket = make_ticket()
    for _ in range(3):
        assert Client().head("/healthz").status_code == 200
    assert logged_in(cast.staff).get(f"/staff/tickets/{ticket.pk}/").status_code == 200
    after = scrape()

    def delta(name, **labels):
        return sample(after, *name, **labels) - sample(before, *name, **labels)

    requests = ("otklik_http_requests", "otklik_http_requests_total")
    latency_count = ("otklik_http_request_duration_seconds", "otklik_http_request_duration_seconds_count")
    assert delta(requests, route="healthz", method="HEAD", status="2xx") == 3
    assert delta(latency_count, route="healthz", method="HEAD") == 3
    assert after["otklik_http_request_duration_seconds"].type == "histogram"
    buckets = {
        s.labels["le"]: s.value
        for s in after["otklik_http_request_duration_seconds"].samples
        if s.name.endswith("_bucket") and s.labels["route"] == "healthz" and s.labels["method"] == "HEAD"
    }
    assert buckets["+Inf"] >= 3 and buckets["10.0"] <= buckets["+Inf"]
    # The ticket page is counted under its pattern, never under its path with the ticket's number.
    assert delta(requests, route="staff/tickets/<int:ticket_id>/", method="GET", status="2xx") >= 1
    routes = {s.labels["route"] for s in after["otklik_http_requests"].samples}
    assert not any(f"tickets/{ticket.pk}/" in route for route in routes), routes


def test_metrics_outbox_mail_and_tickets_figures(db, make_ticket, frozen):
    base = scrape()
    now = clock.now()
    awaiting = [make_ticket(title=f"Waiting {i}") for i in range(3)]  # they write outbox rows too
    Ticket.objects.filter(pk=awaiting[0].pk).update(closed_at=now)  # closed: not waiting any more
    Ticket.objects.filter(pk=awaiting[1].pk).update(awaits_support=False)  # answered
    waiting_before = OutboxMessage.objects.filter(state__in=["pending", "sending"]).count()
    for i, (state, age) in enumerate(
        [
            (OutboxState.PENDING, 300),
            (OutboxState.SENDING, 60),
            (OutboxState.SENT, 9000),
            (OutboxState.FAILED, 9000),
        ]
    ):
        OutboxMessage.objects.create(
            event="ticket_created",
            language="en",
            from_email="support@example.com",
            to=["a@example.com"],
            subject="s",
            body_text="b",
            message_id=f"<metrics-{i}-{uuid.uuid4().hex}@example.com>",
            state=state,
            created_at=now - timedelta(seconds=age),
            next_attempt_at=now,
        )
    for outcome, age in [(Outcome.QUARANTINED, 10), (Outcome.QUARANTINED, 20), (Outcome.RECEIVED, 600)]:
        InboundMail.objects.create(
            raw=b"x", size=1, received_at=now - timedelta(seconds=age), outcome=outcome
        )
    InboundMail.objects.create(raw=b"x", size=1, received_at=now - timedelta(days=3), outcome=Outcome.CREATED)
    Mailbox.objects.create(
        code="support", name="Support", protocol="imap", last_polled_at=now - timedelta(seconds=90)
    )
    Mailbox.objects.create(code="sales", name="Sales", protocol="pop3", last_error="TimeoutError: timed out")
    Mailbox.objects.create(code="off", name="Off", protocol="imap", active=False)

    families = scrape()
    oldest_waiting = (
        OutboxMessage.objects.filter(state__in=["pending", "sending"]).order_by("created_at").first()
    )
    assert sample(families, "otklik_outbox_pending") == waiting_before + 2
    assert sample(families, "otklik_outbox_oldest_seconds") == pytest.approx(
        (now - oldest_waiting.created_at).total_seconds()
    )
    assert sample(families, "otklik_outbox_oldest_seconds") >= 300
    assert sample(families, "otklik_mail_quarantined") == 2
    assert sample(families, "otklik_mail_unprocessed") == 1
    assert sample(families, "otklik_mail_unprocessed_oldest_seconds") == pytest.approx(600)
    assert sample(families, "otklik_mail_poll_age_seconds", mailbox="support") == pytest.approx(90)
    assert sample(families, "otklik_mail_poll_age_seconds", mailbox="sales") == -1
    assert sample(families, "otklik_mail_poll_failing", mailbox="sales") == 1
    assert sample(families, "otklik_mail_poll_failing", mailbox="support") == 0
    assert "off" not in {s.labels.get("mailbox") for s in families["otklik_mail_poll_age_seconds"].samples}
    expected_awaiting = Ticket.objects.filter(closed_at__isnull=True, awaits_support=True).count()
    assert expected_awaiting == 1
    assert sample(base, "otklik_tickets_awaiting_support") == 0
    assert sample(families, "otklik_tickets_awaiting_support") == expected_awaiting
    assert sample(families, "otklik_metrics_source_up", source="database") == 1
    assert sample(families, "otklik_metrics_source_up", source="queue") == 1


def _deadline_passed(tickets, now):
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
        awaits_support=True, is_overdue=False, deadline_at=now - timedelta(minutes=1), reminder_sent=True
    )


def _reminder_due(tickets, now):
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
        awaits_support=True,
        is_overdue=False,
        reminder_sent=False,
        reminder_at=now - timedelta(minutes=1),
        deadline_at=now + timedelta(hours=1),
    )


def test_metrics_sla_counters_count_marks_across_ticks_and_process_caches(db, make_ticket):
    before = scrape()
    overdue_before = sample(before, "otklik_sla_overdue", "otklik_sla_overdue_total")
    reminders_before = sample(before, "otklik_sla_reminders", "otklik_sla_reminders_total")
    tickets = [make_ticket(title=f"SLA {i}") for i in range(5)]
    long_ago = clock.now() - timedelta(hours=2)  # settled: summed once per process
    _deadline_passed(tickets[:2], long_ago)
    assert sla_tick(long_ago).overdue == 2
    now = clock.now()  # recent: read at every scrape
    _deadline_passed(tickets[2:3], now)
    _reminder_due(tickets[3:], now)
    report = sla_tick(now)
    assert (report.overdue, report.reminders) == (1, 2)

    families = scrape()
    assert sample(families, "otklik_sla_overdue", "otklik_sla_overdue_total") == overdue_before + 3
    assert sample(families, "otklik_sla_reminders", "otklik_sla_reminders_total") == reminders_before + 2
    assert families["otklik_sla_overdue"].type == "counter"
    # A second scrape (the settled part now cached) and a fresh process's first one agree.
    assert sample(scrape(), "otklik_sla_overdue", "otklik_sla_overdue_total") == overdue_before + 3
    metrics_forget()
    assert sample(scrape(), "otklik_sla_overdue", "otklik_sla_overdue_total") == overdue_before + 3


def test_metrics_sla_counter_reads_a_recent_mark_written_before_an_old_one(db, make_ticket):
    # A tick for a past instant (a catch-up) may record its event after a recent tick's: settling the old
    # one must not skip the recent one, whose id is lower.
    overdue = ("otklik_sla_overdue", "otklik_sla_overdue_total")
    start = sample(scrape(), *overdue)
    tickets = [make_ticket(title=f"Order {i}") for i in range(3)]
    now = clock.now()
    _deadline_passed(tickets[:1], now)
    assert sla_tick(now).overdue == 1
    long_ago = now - timedelta(hours=2)
    _deadline_passed(tickets[1:], long_ago)
    assert sla_tick(long_ago).overdue == 2
    assert [sample(scrape(), *overdue) for _ in range(2)] == [start + 3, start + 3]


def test_metrics_queue_depth_and_oldest_job_age(db):
    families = scrape()
    assert sample(families, "otklik_queue_pending") == 0
    assert sample(families, "otklik_queue_oldest_seconds") == 0
    old = _metrics_probe_job.s()
    old.id = job_id_new(time.time() - 120)  # enqueued two minutes ago, as its stamp says
    HUEY.enqueue(old)
    fresh = _metrics_probe_job()
    assert job_enqueued_at(fresh.id) == pytest.approx(time.time(), abs=5)  # stamped when enqueued
    families = scrape()
    assert sample(families, "otklik_queue_pending") == 2
    assert sample(families, "otklik_queue_oldest_seconds") == pytest.approx(120, abs=5)


def test_metrics_queue_down_still_answers_the_rest(db, monkeypatch):
    monkeypatch.setattr(HUEY, "storage", RedisStorage(HUEY.name, url=UNREACHABLE_REDIS))
    families = scrape()
    assert sample(families, "otklik_metrics_source_up", source="queue") == 0
    assert sample(families, "otklik_metrics_source_up", source="database") == 1
    assert "otklik_queue_pending" not in families
    assert "otklik_outbox_pending" in families


def test_metrics_scrape_queries_are_bounded(db, make_ticket, django_assert_max_num_queries):
    for i in range(5):
        make_ticket(title=f"Load {i}")
    scrape()  # warm: settled SLA sums read once
    with django_assert_max_num_queries(6):
        scrape()


def test_job_ids_carry_their_time_and_other_ids_have_none():
    stamp = time.time() - 42
    assert job_enqueued_at(job_id_new(stamp)) == pytest.approx(stamp, abs=0.002)
    assert uuid.UUID(job_id_new()).version == 7
    assert job_enqueued_at(str(uuid.uuid4())) is None
    assert job_enqueued_at("not-a-uuid") is None


def test_metrics_dir_reset_deletes_only_the_multiprocess_files(tmp_path):
    from otklik.core.metrics_dir import metrics_dir_reset

    dead = _a_dead_pid()
    (tmp_path / f"counter_{dead}.db").write_bytes(b"x")
    (tmp_path / f"histogram_{dead}.db").write_bytes(b"x")
    (tmp_path / "README").write_text("kept")
    assert metrics_dir_reset(tmp_path) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["README"]


def test_metrics_dir_reset_keeps_the_files_of_live_processes(tmp_path):
    """Two web instances share a data directory (systemd otklik-web@1, @2): restarting one must not wipe
    the counters the other is writing into."""
    from otklik.core.metrics_dir import metrics_dir_reset

    live = os.getpid()
    (tmp_path / f"counter_{live}.db").write_bytes(b"x")
    (tmp_path / f"histogram_{_a_dead_pid()}.db").write_bytes(b"x")
    (tmp_path / "counter_garbage.db").write_bytes(b"x")
    assert metrics_dir_reset(tmp_path) == 2
    assert [p.name for p in tmp_path.iterdir()] == [f"counter_{live}.db"]


def _a_dead_pid() -> int:
    """Return the pid of a process that has exited (and been reaped)."""
    import subprocess

    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_metrics_awaiting_count_is_answered_from_its_partial_index(db, make_ticket):
    from django.test.utils import CaptureQueriesContext

    from otklik.web.metrics_collector import awaiting_support_tickets

    make_ticket()
    with CaptureQueriesContext(connection) as captured:
        assert awaiting_support_tickets().count() == 1
    (count_sql,) = [q["sql"] for q in captured.captured_queries]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: show which index can serve
            cursor.execute(f"EXPLAIN {count_sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Index Only Scan using ticket_awaiting_support" in plan, plan
        else:
            # SQLite without statistics prefers another index on a tiny table; INDEXED BY fails ("no query
            # solution") unless the partial index's condition covers the query's.
            table = '"tickets_ticket"'
            forced = count_sql.replace(f"FROM {table}", f"FROM {table} INDEXED BY ticket_awaiting_support", 1)
            assert forced != count_sql
            cursor.execute(f"EXPLAIN QUERY PLAN {forced}")
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
            assert "INDEX ticket_awaiting_support" in plan, plan  # its rows only (SQLite reads each)
