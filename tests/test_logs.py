"""Structured logs (issue 19): one line per request and per job, the request id carried into jobs, no personal data."""

from __future__ import annotations

import io
import json
import logging
import os
import smtplib
import subprocess
import sys
import textwrap
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.core.mail.backends import locmem
from django.urls import path, reverse

from otklik.core.logs import (
    EMAIL_MASK,
    JOB_LOGGER,
    PEER_MASK,
    REQUEST_LOGGER,
    JsonFormatter,
    TextFormatter,
    log_format_from_env,
    logging_config,
    request_id_accept,
    request_id_bound,
)
from otklik.mail import services as mail_services
from otklik.mail.services import mail_ingest
from otklik.notifications.models import OutboxMessage, OutboxState
from otklik.tickets.models import Ticket
from otklik.urls import urlpatterns as site_urlpatterns
from tests.conftest import logged_in
from tests.helpers import Api, server_env

ROOT = Path(__file__).resolve().parents[1]


# -- a URLconf with a view that fails (the site's own URLs stay reachable) ----------------------------------
class Boom(Exception):
    """The failure of the test view."""


@login_not_required
def boom(request, number: int):
    raise Boom("the view failed")


urlpatterns = [path("test-logs/boom/<int:number>/", boom, name="test_logs_boom"), *site_urlpatterns]


@pytest.fixture
def lines():
    """Capture what every logger writes, through the production JSON formatter, as parsed lines.

    The handler goes on the root logger and on every logger that does not pass its lines up (the request
    and job loggers, huey), so nothing written anywhere is missed.
    """
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    for logger in loggers:
        logger.addHandler(handler)

    def read(logger_name: str | None = None) -> list[dict]:
        raw = stream.getvalue().splitlines()
        parsed = [json.loads(line) for line in raw]  # every line is one JSON object
        return [p for p in parsed if logger_name is None or p["logger"] == logger_name]

    read.raw = lambda: stream.getvalue()  # type: ignore[attr-defined]
    yield read
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.fixture
def everything_logged():
    """Lower every Otklik, Huey and Django request logger (and the root) to DEBUG for the test."""
    names = ["", "otklik", "huey", "huey.consumer", "django.request"]
    names += [n for n in logging.Logger.manager.loggerDict if n.startswith(("otklik.", "huey."))]
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def run_jobs(huey) -> int:
    """Run every queued job as the consumer does (its hooks included); return how many ran."""
    ran = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += 1
        assert ran < 100, "jobs keep queueing jobs"
    return ran


# -- the request line ----------------------------------------------------------------------------------------
def test_request_line_one_json_line_with_route_user_status_and_duration(cast, make_ticket, lines):
    ticket = make_ticket(title="Secret printer trouble")
    client = logged_in(cast.staff)
    # Warm: the first request of a process sets things up.
    client.get(reverse("tickets:staff_detail", args=[ticket.pk]))
    before = len(lines())

    response = client.get(reverse("tickets:staff_detail", args=[ticket.pk]) + "?q=Secret+printer")

    assert response.status_code == 200
    written = lines()[before:]
    assert len(written) == 1, written
    line = written[0]
    assert line["logger"] == REQUEST_LOGGER and line["level"] == "INFO"
    assert line["method"] == "GET" and line["status"] == 200
    # The URL pattern, not the path (which holds ids and, in the query, search text).
    assert line["route"] == response.resolver_match.route and "<" in line["route"]
    assert line["view"] == response.resolver_match.view_name
    assert line["user_id"] == cast.staff.pk
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert line["request_id"] == response["X-Request-ID"] and len(line["request_id"]) == 32
    raw = json.dumps(line, ensure_ascii=False)
    assert str(ticket.pk) not in line["route"] and "Secret" not in raw and "staff@" not in raw
    assert "ip" not in line and "username" not in line


def test_request_line_costs_no_query(cast, lines, django_assert_num_queries):
    client = logged_in(cast.staff)
    url = "/static/otklik/desk.css"
    client.get(url)
    with django_assert_num_queries(0):
        response = client.get(url)
    assert response.status_code == 200
    line = lines(REQUEST_LOGGER)[-1]
    assert line["status"] == 200 and line["route"] is None and line["user_id"] is None


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("edge-7f3a.b_c-01", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("has space", False),
        ("line\nbreak", False),
        ('{"json":1}', False),
        ("кириллица", False),
        ("", False),
    ],
)
def test_request_id_incoming_kept_when_sane_else_replaced(db, lines, incoming, kept):
    response = logged_in(User.objects.create(username="u")).get("/", HTTP_X_REQUEST_ID=incoming)

    request_id = response["X-Request-ID"]
    assert (request_id == incoming) is kept
    assert request_id_accept(request_id) == request_id  # whatever is answered is itself sane
    assert lines(REQUEST_LOGGER)[-1]["request_id"] == request_id


def test_request_line_error_in_view_gives_one_500_line_with_the_exception_type(db, settings, lines):
    settings.ROOT_URLCONF = __name__
    client = logged_in(User.objects.create(username="u"))
    client.raise_request_exception = False

    response = client.get("/test-logs/boom/7/", HTTP_X_REQUEST_ID="boom-1")

    assert response.status_code == 500 and response["X-Request-ID"] == "boom-1"
    [line] = lines(REQUEST_LOGGER)
    assert (line["status"], line["error"], line["level"]) == (500, "Boom", "ERROR")
    assert line["route"] == "test-logs/boom/<int:number>/" and line["request_id"] == "boom-1"
    # Django's own error line (with the traceback in one field) carries the same request id.
    [error] = lines("django.request")
    assert error["exc_type"] == "Boom" and "Traceback" in error["exc"] and error["request_id"] == "boom-1"
    assert error["status"] == 500


def test_request_line_for_a_refusal_and_an_unknown_path(db, lines):
    client = logged_in(User.objects.create(username="u"))
    client.get("/no/such/page/", HTTP_X_REQUEST_ID="r404")
    Api(User.objects.create(username="v")).client.get("/api/v1/tickets", HTTP_X_REQUEST_ID="r401")

    by_id = {line["request_id"]: line for line in lines(REQUEST_LOGGER)}
    assert by_id["r404"]["status"] == 404 and by_id["r404"]["route"] is None
    assert by_id["r401"]["status"] == 401 and by_id["r401"]["route"] == "api/v1/tickets"
    assert not lines("django.request")  # the 4xx warnings would repeat the request line


# -- jobs ----------------------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_job_queued_by_a_request_logs_its_line_with_the_request_id(cast, lines, _jobs_in_memory):
    response = Api(cast.client).send("POST", "/api/v1/tickets", {"title": "Printer", "message": "It blinks."})
    assert response.status_code == 201, response.content
    request_id = response["X-Request-ID"]

    assert run_jobs(_jobs_in_memory) >= 1

    jobs = lines(JOB_LOGGER)
    names = {line["job"] for line in jobs}
    assert "outbox_deliver_task" in names, names
    for line in jobs:
        assert line["request_id"] == request_id and line["outcome"] == "ok", line
        assert line["job_id"] and isinstance(line["duration_ms"], float)
    assert OutboxMessage.objects.exclude(state=OutboxState.SENT).count() == 0
    # A job runs its function with its own arguments only (the request id travels beside them).
    assert all(line["level"] == "INFO" for line in jobs)


def test_job_retried_keeps_the_request_id_and_a_failure_is_logged_as_error(lines, _jobs_in_memory):
    from huey.contrib.djhuey import HUEY

    calls = []

    @HUEY.task(retries=1, name="test_logs_flaky")
    def flaky(number: int) -> int:
        calls.append(number)
        raise RuntimeError("once more")

    try:
        with request_id_bound("req-job-1"):
            flaky(5)
        assert run_jobs(_jobs_in_memory) == 2  # the try and its retry (queued again at once)
    finally:
        flaky.unregister()
    assert calls == [5, 5]
    first, second = lines(JOB_LOGGER)
    assert (first["outcome"], first["level"], first["error"]) == ("retry", "WARNING", "RuntimeError")
    assert (second["outcome"], second["level"]) == ("error", "ERROR")
    assert first["request_id"] == second["request_id"] == "req-job-1" and first["job_id"] == second["job_id"]
    # Huey's own traceback line for the failure carries the job's ids too.
    failures = [line for line in lines("huey") if line.get("exc_type") == "RuntimeError"]
    assert failures and all(f["request_id"] == "req-job-1" for f in failures)


# -- no personal data ----------------------------------------------------------------------------------------
SENDER = "petr.sidorov@customer.example"
SUBJECT = "Сломался принтер в бухгалтерии ZQX-subject"
BODY = "Добрый день! Принтер печатает пустые листы ZQX-body."
REPLY = "Ответ поддержки про картридж ZQX-reply"


class RefusingBackend(locmem.EmailBackend):
    """Refuse the first message to the customer with the SMTP error a real server gives (it names them)."""

    refused = 0

    def send_messages(self, messages):
        for message in messages:
            if SENDER in message.recipients() and not RefusingBackend.refused:
                RefusingBackend.refused += 1
                raise smtplib.SMTPRecipientsRefused(
                    {SENDER: (450, f"4.2.1 <{SENDER}>: mailbox busy".encode())}
                )
        return super().send_messages(messages)


def _mail(subject: str, body: str, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Пётр Сидоров <{SENDER}>"
    message["To"] = "support@otklik.localhost"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="customer.example")
    for name, value in headers.items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


@pytest.mark.django_db(transaction=True)
def test_logs_of_mail_intake_and_delivery_hold_no_address_subject_or_text(
    cast, settings, monkeypatch, lines, everything_logged, _jobs_in_memory
):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    RefusingBackend.refused = 0

    # A new ticket by mail, an answer through the API, the customer's reply by mail: mail both ways.
    created = mail_ingest(_mail(SUBJECT, BODY))
    ticket = Ticket.objects.get(pk=created.ticket)
    answer = Api(cast.staff).send("POST", f"/api/v1/tickets/{ticket.pk}/messages", {"body": REPLY})
    assert answer.status_code == 201, answer.content
    mail_ingest(_mail(f"Re: [TID#{ticket.pk}] {SUBJECT}", f"{BODY} ещё раз"))
    # A mail whose processing fails with a database error that quotes the address (PostgreSQL's detail).
    real_process = mail_services._process

    def failing(row, *args, **kwargs):
        raise RuntimeError(f"duplicate key value violates unique constraint: Key (email)=({SENDER}) exists")

    monkeypatch.setattr(mail_services, "_process", failing)
    mail_ingest(_mail(f"{SUBJECT} 2", BODY))
    monkeypatch.setattr(mail_services, "_process", real_process)
    run_jobs(_jobs_in_memory)  # delivery, with the customer's mail refused once

    assert RefusingBackend.refused == 1
    written = lines()
    raw = lines.raw()
    # The paths that could leak were taken: the refusal, the failed mail, the jobs, the API request.
    assert any("attempt 1 failed: SMTPRecipientsRefused" in line["msg"] for line in written), raw
    failed = [line for line in written if line.get("exc_type") == "RuntimeError"]
    assert failed and EMAIL_MASK in failed[0]["exc"], raw
    assert lines(JOB_LOGGER) and lines(REQUEST_LOGGER)
    addresses = set(User.objects.exclude(email="").values_list("email", flat=True)) | {SENDER}
    names = {"Пётр", "Сидоров", "Ivan", "Petrov"}
    texts = {SUBJECT, "ZQX-subject", "ZQX-body", "ZQX-reply", "Принтер", "принтер"}
    for needle in addresses | names | texts:
        assert needle not in raw, f"{needle!r} logged:\n{raw}"


# -- formats and the configuration ---------------------------------------------------------------------------
class _Stream(io.StringIO):
    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


@pytest.mark.parametrize(
    ("value", "debug", "terminal", "expected"),
    [
        ("json", True, True, "json"),
        (" TEXT ", False, False, "text"),
        ("", False, False, "json"),
        ("", False, True, "text"),
        ("", True, False, "text"),
    ],
)
def test_log_format_from_env_explicit_wins_else_text_on_a_terminal_or_debug(value, debug, terminal, expected):
    assert log_format_from_env(value, debug=debug, stream=_Stream(terminal)) == expected


def test_log_format_from_env_unknown_value_refused():
    with pytest.raises(ValueError, match="json or text"):
        log_format_from_env("yaml", debug=False)


def test_text_formatter_line_is_readable_with_ids_and_masked_addresses():
    record = logging.LogRecord(
        REQUEST_LOGGER,
        logging.INFO,
        __file__,
        1,
        "%s %s %s %.1f ms",
        ("GET", "tickets/<int:pk>/", 200, 3.25),
        None,
    )
    record.log_fields = {"request_id": "abc", "user_id": 5}
    line = TextFormatter().format(record)
    assert line.endswith(
        "INFO    otklik.request: GET tickets/<int:pk>/ 200 3.2 ms [user_id=5 request_id=abc]"
    )
    assert "\n" not in line and not line.startswith("{")
    try:
        raise ValueError("no mailbox a.b@example.org")
    except ValueError:
        failure = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "to %s", ("c@example.org",), sys.exc_info()
        )
    text = TextFormatter().format(failure)
    assert "example.org" not in text and text.count(EMAIL_MASK) >= 2 and "Traceback" in text


SCRIPT = textwrap.dedent(
    """
    import logging, django
    django.setup()
    from django.test import Client
    Client().get("/static/otklik/desk.css", HTTP_X_REQUEST_ID="sub-1")
    try:
        raise KeyError("ann@example.com")
    except KeyError:
        logging.getLogger("django.request").error("Internal Server Error: /x", exc_info=True)
        logging.getLogger("otklik.mail.services").exception("incoming mail #%s could not be processed", 7)
    logging.getLogger("huey").warning("Task %s not run, locked.", "abc")
    logging.getLogger("huey").info("Executing %s", "abc")  # below huey's level: repeats the job line
    """
)


def _run_configured(tmp_path: Path, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=server_env(tmp_path, **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # logs go to stderr
    return done.stderr


def test_settings_json_mode_every_logger_one_json_line(tmp_path):
    stderr = _run_configured(tmp_path, OTKLIK_LOG_FORMAT="json")

    parsed = [json.loads(line) for line in stderr.splitlines()]  # every line, of every logger, is JSON
    by_logger = {p["logger"]: p for p in parsed}
    request = by_logger["otklik.request"]
    assert request["request_id"] == "sub-1" and request["status"] == 200
    django_error = by_logger["django.request"]
    assert django_error["exc_type"] == "KeyError" and "Traceback" in django_error["exc"]
    mail_error = by_logger["otklik.mail.services"]
    assert mail_error["msg"] == "incoming mail #7 could not be processed" and "\n" in mail_error["exc"]
    assert [p["level"] for p in parsed if p["logger"] == "huey"] == ["WARNING"]
    assert "ann@example.com" not in stderr


def test_settings_text_mode_is_readable(tmp_path):
    stderr = _run_configured(tmp_path, OTKLIK_LOG_FORMAT="text")

    [request] = [line for line in stderr.splitlines() if " otklik.request: " in line]
    assert " INFO    otklik.request: GET - 200 " in request and request.endswith("[request_id=sub-1]"), stderr
    assert "Traceback (most recent call last):" in stderr and not stderr.lstrip().startswith("{")
    assert "ann@example.com" not in stderr


def test_smtp_server_lines_lose_the_client_address_and_stay_quiet_below_warning(lines):
    smtpd = logging.getLogger("mail.log")  # aiosmtpd's logger, configured by the settings
    smtpd.info("%r recip: %s", ("203.0.113.7", 40512), "ann@example.com")
    smtpd.warning("%r unrecognised: %s", ("203.0.113.7", 40512), "HELO")

    [line] = lines("mail.log")
    assert line["msg"] == f"{PEER_MASK!r} unrecognised: HELO" and line["level"] == "WARNING"
    assert "203.0.113.7" not in lines.raw() and "ann@" not in lines.raw()


def test_logging_config_keeps_request_and_job_lines_above_a_quiet_root():
    config = logging_config("json", level="ERROR")
    assert config["root"]["level"] == "ERROR"
    assert config["loggers"][REQUEST_LOGGER]["level"] == config["loggers"][JOB_LOGGER]["level"] == "INFO"
    assert config["formatters"]["otklik"]["()"].endswith("JsonFormatter")
    assert config["loggers"]["huey"]["level"] == "WARNING"
    assert logging_config("text", level="DEBUG")["loggers"]["huey"]["level"] == "DEBUG"
    assert os.environ.get("OTKLIK_LOG_FORMAT") in (None, "", "json", "text")
