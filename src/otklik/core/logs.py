"""Structured logs: one line per request and per job, JSON lines in production, readable lines in development.

Every line written while a request is served, or while a job runs, carries the request's id; a job queued
during a request (or during another job) carries that id into the worker, so one `jq` filter follows a
click from the web process through every job it caused. Lines hold ids only: never a user's name, address,
IP address, a mail's subject or body (e-mail addresses that slip into a message or a traceback are masked
by the formatters). docs/production/logs.md describes the format and the settings.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from django.utils.functional import SimpleLazyObject, empty

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_LOGGER = "otklik.request"
JOB_LOGGER = "otklik.job"
# A proxy's or a client's id is kept when it is a plain token: nothing that could forge a log line.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Addresses in free text (an SMTP refusal, a database error's detail, a parser's complaint): masked. The
# parts' lengths are bounded (as in RFC 5321) so a long run of letters costs linear time, not quadratic.
_EMAIL = re.compile(r"[\w.%+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
EMAIL_MASK = "<e-mail>"
# The key under which a queued job carries its request id (removed before the job's function is called).
JOB_REQUEST_KEY = "otklik_request_id"
_HOOK_NAME = "otklik-logs"

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("otklik_request_id", default=None)
_job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("otklik_job_id", default=None)

request_log = logging.getLogger(REQUEST_LOGGER)
job_log = logging.getLogger(JOB_LOGGER)


def request_id_current() -> str | None:
    """Return the id of the request (or of the request behind the job) being handled here, if any."""
    return _request_id.get()


@contextlib.contextmanager
def request_id_bound(request_id: str) -> Iterator[str]:
    """Make `request_id` the current request id inside the block (entry points other than HTTP, tests)."""
    token = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(token)


def request_id_accept(value: str | None) -> str:
    """Return `value` when it is a sane id (at most 64 of A-Z a-z 0-9 . _ -), else a new random id."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def mask_emails(text: str) -> str:
    """Replace every e-mail address in `text` by a mask."""
    return _EMAIL.sub(EMAIL_MASK, text) if "@" in text else text


# -- formatters ----------------------------------------------------------------------------------------------
def _context_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Return the line's own fields (`extra={"log_fields": {...}}`), with the ambient request and job ids."""
    fields: dict[str, Any] = dict(getattr(record, "log_fields", None) or {})
    if "request_id" not in fields and (request_id := _request_id.get()):
        fields["request_id"] = request_id
    if "job_id" not in fields and (job_id := _job_id.get()):
        fields["job_id"] = job_id
    return fields


class JsonFormatter(logging.Formatter):
    """Write a record as one JSON object on one line; a traceback is one string field."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": mask_emails(record.getMessage()),
        }
        entry.update(_context_fields(record))
        # django.request passes the status of the response it complains about (and the request: left out).
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and "status" not in entry:
            entry["status"] = status
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            if not record.exc_text:
                record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = mask_emails(record.exc_text)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        entry["pid"] = record.process
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Write a record as a readable line: time, level, logger, message, then the request and job ids."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%Y-%m-%d %H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802  (logging's name)
        line = mask_emails(super().formatMessage(record))
        fields = _context_fields(record)
        ids = [f"{key}={fields[key]}" for key in ("user_id", "request_id", "job_id") if fields.get(key)]
        return f"{line} [{' '.join(ids)}]" if ids else line

    def formatException(self, ei) -> str:  # noqa: N802  (logging's name)
        return mask_emails(super().formatException(ei))


class PeerAddressFilter(logging.Filter):
    """Replace a peer's (address, port) in a record's arguments by a mask: aiosmtpd names every client."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(_is_peer(arg) for arg in record.args):
            record.args = tuple(PEER_MASK if _is_peer(arg) else arg for arg in record.args)
        return True


PEER_MASK = "<peer>"


def _is_peer(value: object) -> bool:
    return isinstance(value, tuple) and len(value) in (2, 4) and isinstance(value[0], str)


def log_format_from_env(value: str, *, debug: bool, stream: TextIO | None = None) -> str:
    """Return "json" or "text" for OTKLIK_LOG_FORMAT's `value`.

    Unset: readable text when DEBUG is on or the log goes to a terminal (`make run`, `otklik start` in a
    shell), JSON lines otherwise (systemd's journal, docker, a file, a pipe).
    """
    value = value.strip().lower()
    if value in ("json", "text"):
        return value
    if value:
        raise ValueError(f"OTKLIK_LOG_FORMAT must be json or text, not {value!r}")
    stream = sys.stderr if stream is None else stream
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        terminal = False
    return "text" if debug or terminal else "json"


def logging_config(log_format: str, *, level: str = "WARNING") -> dict[str, Any]:
    """Return the LOGGING setting: every logger to stderr in `log_format`, request and job lines always."""
    formatter = "JsonFormatter" if log_format == "json" else "TextFormatter"
    console = {"handlers": ["console"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"otklik": {"()": f"otklik.core.logs.{formatter}"}},
        "filters": {"no_peer": {"()": "otklik.core.logs.PeerAddressFilter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "otklik"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # One line per request and per job, whatever the level of the other loggers.
            REQUEST_LOGGER: {**console, "level": "INFO"},
            JOB_LOGGER: {**console, "level": "INFO"},
            # Huey's own lines per task ("Executing", "executed in") repeat the job line; its warnings and
            # errors stay, and so does the consumer's start and stop (huey.consumer). DEBUG shows them all.
            "huey": {**console, "level": "DEBUG" if level == "DEBUG" else "WARNING"},
            "huey.consumer": {"level": "INFO"},
            # Django's default handlers (a console only under DEBUG, mail to ADMINS) give way to ours.
            "django": {"handlers": [], "level": level, "propagate": True},
            # Its "Not Found: /path" warnings repeat the request line; 5xx errors (with the traceback) stay.
            "django.request": {"level": "ERROR"},
            # runserver's access lines hold the raw path and query (search text): the request line replaces them.
            "django.server": {**console, "level": "ERROR"},
            # aiosmtpd (`otklik smtpd`): its INFO lines list every sender, recipient and command; its warnings
            # (bogus clients) and errors stay, without the client's IP address.
            "mail.log": {"level": "WARNING", "filters": ["no_peer"]},
        },
    }


# -- requests ------------------------------------------------------------------------------------------------
def _user_id(request) -> int | None:
    """Return the user's id if authentication already looked the user up; never query for it."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = user._wrapped
        if user is empty:
            return None
    return getattr(user, "pk", None)


def _request_failed(sender, request=None, **kwargs) -> None:
    """Remember the type of an exception Django turns into a 500, for the request line."""
    if request is not None:
        exc_type = sys.exc_info()[0]
        if exc_type is not None:
            request._otklik_error = exc_type.__name__


class RequestLogMiddleware:
    """Give each request an id (X-Request-ID, kept when sane) and write one line when it is answered.

    It sits first in MIDDLEWARE, so the line is written for every answer: error pages, refusals by other
    middleware, and exceptions Django turned into a 500 (the exception's type is in `error`). It reads no
    session and makes no query: `user_id` is there when authentication had looked the user up.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request_id = request_id_accept(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            try:
                response = self.get_response(request)
            except BaseException as exc:  # Django answers exceptions itself; anything escaping is logged too
                _log_request(request, 500, started, type(exc).__name__)
                raise
            response[REQUEST_ID_HEADER] = request_id
            _log_request(request, response.status_code, started, getattr(request, "_otklik_error", None))
            return response
        finally:
            _request_id.reset(token)


def _log_request(request, status: int, started: float, error: str | None) -> None:
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    match = getattr(request, "resolver_match", None)
    route = match.route if match is not None else None
    method = (request.method or "")[:16]
    fields: dict[str, Any] = {
        "request_id": request.request_id,
        "method": method,
        "route": route,
        "view": match.view_name if match is not None else None,
        "status": status,
        "duration_ms": duration_ms,
        "user_id": _user_id(request),
    }
    if error:
        fields["error"] = error
    level = logging.ERROR if status >= 500 else logging.INFO
    request_log.log(
        level,
        "%s %s %s %.1f ms%s",
        method,
        route if route is not None else "-",
        status,
        duration_ms,
        f" {error}" if error else "",
        extra={"log_fields": fields},
    )


# -- jobs ----------------------------------------------------------------------------------------------------
def _job_enqueued(signal, task, *args, **kwargs) -> None:
    """Put the current request id into a job being queued (and into the jobs chained to it)."""
    request_id = getattr(task, "_otklik_request_id", None) or _request_id.get()
    if not request_id:
        return
    pending = [task]
    while pending:
        current = pending.pop()
        if current is None or not isinstance(current.kwargs, dict):
            continue
        current.kwargs.setdefault(JOB_REQUEST_KEY, request_id)
        pending += [current.on_complete, current.on_error]


def _job_started(task) -> None:
    """Take the request id out of the job's arguments and make it, and the job's id, the ambient ones."""
    request_id = task.kwargs.pop(JOB_REQUEST_KEY, None) if isinstance(task.kwargs, dict) else None
    task._otklik_request_id = request_id
    task._otklik_tokens = (_request_id.set(request_id), _job_id.set(task.id))
    task._otklik_started = time.perf_counter()


def _job_outcome(task, exception: BaseException | None) -> str:
    from huey.exceptions import CancelExecution, TaskLockedException

    if exception is None:
        return "ok"
    if isinstance(exception, TaskLockedException):
        return "locked"
    if task.retries:
        return "retry"
    if isinstance(exception, CancelExecution):
        return "canceled"
    return "error"


def _job_finished(task, value, exception: BaseException | None) -> None:
    """Write the job's line; keep the request id with a job that is about to be queued again."""
    started = getattr(task, "_otklik_started", None)
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    request_id = getattr(task, "_otklik_request_id", None)
    outcome = _job_outcome(task, exception)
    fields: dict[str, Any] = {
        "job": task.name,
        "job_id": task.id,
        "request_id": request_id,
        "outcome": outcome,
        "duration_ms": duration_ms,
    }
    if exception is not None:
        fields["error"] = type(exception).__name__
    level = {"ok": logging.INFO, "locked": logging.INFO, "retry": logging.WARNING}.get(outcome, logging.ERROR)
    job_log.log(
        level,
        "job %s %s %s ms",
        task.name,
        outcome,
        f"{duration_ms:.1f}" if duration_ms is not None else "-",
        extra={"log_fields": fields},
    )
    if exception is not None and task.retries and request_id:
        # Huey queues the same task object again right after this hook: the retry keeps the request's id.
        task.kwargs[JOB_REQUEST_KEY] = request_id
    tokens = getattr(task, "_otklik_tokens", None)
    if tokens is not None:
        task._otklik_tokens = None
        _job_id.reset(tokens[1])
        _request_id.reset(tokens[0])


def logs_install(huey=None) -> None:
    """Hook request ids and job lines into the job queue, and exception types into the request line."""
    from django.core.signals import got_request_exception
    from huey import signals

    if huey is None:
        from huey.contrib.djhuey import HUEY

        huey = HUEY

    got_request_exception.connect(_request_failed, dispatch_uid="otklik-logs-request-failed")
    try:
        huey.disconnect_signal(_job_enqueued, signals.SIGNAL_ENQUEUED)
    except KeyError:  # nothing connected to that signal yet
        pass
    huey.signal(signals.SIGNAL_ENQUEUED)(_job_enqueued)
    huey.pre_execute(_HOOK_NAME)(_job_started)
    huey.post_execute(_HOOK_NAME)(_job_finished)
