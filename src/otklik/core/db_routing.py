"""Reads from the read replica (OTKLIK_DATABASE_REPLICA_URL), only where the code asks and only when safe.

Nothing goes to the replica by default: code opts in with `reading_from_replica()` (a context manager),
`on_replica(read)` (runs a read there and repeats it on the primary if the replica fails) or the
`replica_reads` view decorator. The reports and the ticket lists' total counts do. Inside such a scope the
reads still go to the primary when

- the current request (or job) has written anything, or the primary is inside `transaction.atomic`:
  the code must see its own writes;
- the user wrote within the last OTKLIK_REPLICA_PIN_SECONDS (a signed cookie, and a cache key per user for
  API clients that keep no cookies): their next page shows their own change;
- the replica is unreachable or more than OTKLIK_REPLICA_MAX_LAG_SECONDS behind (checked at most every
  OTKLIK_REPLICA_CHECK_SECONDS per process; each fallback is logged).

Writes always go to the primary. Without a replica configured every helper here is a no-op.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

REPLICA = "replica"
PRIMARY = DEFAULT_DB_ALIAS
PIN_COOKIE = "otklik_primary"
# The replica's lag: 0 when it has replayed everything it received (an idle primary sends nothing, so the
# time since the last replayed transaction says nothing then), else the age of the last replayed transaction.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 'Infinity')
END
"""
_WRITE_VERBS = ("insert", "update", "delete", "merge", "copy", "create", "alter", "drop", "truncate")

logger = logging.getLogger("otklik.replica")
T = TypeVar("T")


@dataclass(frozen=True)
class ReplicaRead:
    """Where a scope's reads go and, on the replica, how far behind it was when checked."""

    alias: str
    # "replica", or why the primary: not-configured, after-write, in-transaction, pinned, lagging, unreachable
    reason: str
    lag_seconds: float = 0.0
    checked_at: datetime = field(default_factory=timezone.now)

    @property
    def on_replica(self) -> bool:
        return self.alias == REPLICA

    @property
    def as_of(self) -> datetime:
        """Return the moment the data read reflects."""
        return self.checked_at - timedelta(seconds=self.lag_seconds)

    @property
    def behind(self) -> bool:
        """Return whether the page should say its data is older (the replica lags a second or more)."""
        return self.on_replica and self.lag_seconds >= 1

    @property
    def lag_whole(self) -> int:
        return round(self.lag_seconds)

    def header(self) -> str:
        if self.on_replica:
            return f"replica; lag={self.lag_seconds:.1f}"
        return f"primary; reason={self.reason}"


@dataclass
class _Scope:
    """One request's (or job's) routing state."""

    request: HttpRequest | None = None
    pinned: bool = False
    wrote: bool = False
    read: ReplicaRead | None = None  # inside reading_from_replica(): where reads go
    used: ReplicaRead | None = None  # the request's last decision (for the response header)


_SCOPE: ContextVar[_Scope | None] = ContextVar("otklik_replica_scope", default=None)


def _scope() -> _Scope:
    scope = _SCOPE.get()
    if scope is None:  # outside a request (jobs, commands, tests): one scope for the context
        scope = _Scope()
        _SCOPE.set(scope)
    return scope


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


# -- the replica's health, checked at most every OTKLIK_REPLICA_CHECK_SECONDS per process ----------------------
@dataclass(frozen=True)
class _Health:
    lag: float | None  # None: unreachable
    checked_at: datetime
    expires: float  # time.monotonic()


_health: _Health | None = None
_health_lock = threading.Lock()


def replica_forget() -> None:
    """Forget the cached health check (the next read checks the replica again)."""
    global _health
    _health = None


def _check_health() -> _Health:
    global _health
    current = _health
    if current is not None and time.monotonic() < current.expires:
        return current
    with _health_lock:
        current = _health
        if current is not None and time.monotonic() < current.expires:
            return current
        lag = _measure_lag()
        current = _Health(
            lag=lag,
            checked_at=timezone.now(),
            expires=time.monotonic() + float(getattr(settings, "OTKLIK_REPLICA_CHECK_SECONDS", 3)),
        )
        _health = current
    return current


def _measure_lag() -> float | None:
    """Return the replica's lag in seconds, or None when it does not answer."""
    connection = connections[REPLICA]
    try:
        with connection.cursor() as cursor:
            cursor.execute(LAG_SQL if connection.vendor == "postgresql" else "SELECT 0")
            (lag,) = cursor.fetchone()
    except DatabaseError as exc:
        with suppress(DatabaseError):
            connection.close()  # a broken connection must not be reused by the next check
        logger.warning("replica unreachable, reading from the primary: %s", type(exc).__name__)
        return None
    return float(lag)


def _replica_down() -> None:
    """Note that a read on the replica failed: reads go to the primary until the next check."""
    global _health
    with suppress(DatabaseError):
        connections[REPLICA].close()
    _health = _Health(
        lag=None,
        checked_at=timezone.now(),
        expires=time.monotonic() + float(getattr(settings, "OTKLIK_REPLICA_CHECK_SECONDS", 3)),
    )
    logger.warning("a read on the replica failed, reading from the primary")


# -- the decision --------------------------------------------------------------------------------------------------
def _pinned(scope: _Scope) -> bool:
    if scope.pinned:
        return True
    user = getattr(scope.request, "user", None)
    return bool(user is not None and user.is_authenticated and cache.get(_pin_key(user.pk)))


def _pin_key(user_id: int) -> str:
    return f"replica-pin:{user_id}"


def replica_read() -> ReplicaRead:
    """Decide where a read that may go to the replica goes now, and why."""
    if not replica_configured():
        return ReplicaRead(PRIMARY, "not-configured")
    scope = _scope()
    if scope.wrote:
        return ReplicaRead(PRIMARY, "after-write")
    if connections[PRIMARY].in_atomic_block:
        return ReplicaRead(PRIMARY, "in-transaction")
    if _pinned(scope):
        return ReplicaRead(PRIMARY, "pinned")
    health = _check_health()
    if health.lag is None:
        return ReplicaRead(PRIMARY, "unreachable")
    max_lag = float(getattr(settings, "OTKLIK_REPLICA_MAX_LAG_SECONDS", 30))
    if health.lag > max_lag:
        logger.warning("replica %.1f s behind (limit %.0f s), reading from the primary", health.lag, max_lag)
        return ReplicaRead(PRIMARY, "lagging", lag_seconds=health.lag)
    return ReplicaRead(REPLICA, "replica", lag_seconds=health.lag, checked_at=health.checked_at)


def replica_alias() -> str:
    """Return the alias for an explicit `.using(replica_alias())` read: the replica when it is safe."""
    return replica_read().alias


@contextmanager
def reading_from_replica() -> Iterator[ReplicaRead]:
    """Send the ORM's reads in this block to the replica when safe (decided once, on entry)."""
    scope = _scope()
    previous = scope.read
    decision = replica_read()
    scope.read = scope.used = decision
    try:
        yield decision
    finally:
        scope.read = previous


def _run_with_fallback(read: Callable[[ReplicaRead], T]) -> T:
    with reading_from_replica() as decision:
        if not decision.on_replica:
            return read(decision)
        try:
            return read(decision)
        except DatabaseError:
            if not connections[REPLICA].errors_occurred:
                raise  # the primary's error, or the read's own: repeating it would not help
            _replica_down()
    # Reads repeat safely: the same read, on the primary.
    fallback = ReplicaRead(PRIMARY, "unreachable")
    _scope().used = fallback
    return read(fallback)


def on_replica(read: Callable[[], T]) -> T:
    """Run `read` with its queries on the replica when safe; repeat it on the primary if the replica fails."""
    if not replica_configured():
        return read()
    return _run_with_fallback(lambda _decision: read())


def replica_reads(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run a read-only view's queries on the replica when safe; `request.replica_read` says where and how old."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        def run(decision: ReplicaRead) -> Any:
            request.replica_read = decision  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        if not replica_configured():
            return view(request, *args, **kwargs)
        return _run_with_fallback(run)

    return wrapper


def read_connection() -> BaseDatabaseWrapper:
    """Return the connection for a raw SQL read: the replica inside `reading_from_replica()` when safe.

    Raw SQL is not routed by Django; a read that may come from the replica asks here.
    """
    return connections[ReplicaRouter().db_for_read(object) or PRIMARY]


# -- the router and the middleware -----------------------------------------------------------------------------------
class ReplicaRouter:
    """Route reads inside `reading_from_replica()` to the replica (when safe), everything else to the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        scope = _SCOPE.get()
        if scope is None or scope.read is None or not scope.read.on_replica:
            return None  # Django's default: the primary, or the instance's own database
        if scope.wrote or connections[PRIMARY].in_atomic_block:
            return PRIMARY  # wrote inside the block: read it back from where it was written
        health = _health
        if health is not None and health.lag is None:
            return PRIMARY  # the replica failed since the block began
        return REPLICA

    def db_for_write(self, model: type, **hints: Any) -> str:
        _scope().wrote = True
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the same rows on both

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY  # the replica follows the primary's schema by streaming


def _note_writes(execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
    """Mark the scope as written on any writing statement, raw SQL included (the router sees ORM writes)."""
    if sql.lstrip()[:8].lower().startswith(_WRITE_VERBS):
        scope = _SCOPE.get()
        if scope is not None:
            scope.wrote = True
    return execute(sql, params, many, context)


class ReplicaPinMiddleware:
    """Give each request its routing scope; pin a user who wrote to the primary for a few seconds."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        seconds = int(getattr(settings, "OTKLIK_REPLICA_PIN_SECONDS", 5))
        pinned = bool(request.get_signed_cookie(PIN_COOKIE, default=None, salt=PIN_COOKIE, max_age=seconds))
        scope = _Scope(request=request, pinned=pinned)
        token = _SCOPE.set(scope)
        try:
            with connections[PRIMARY].execute_wrapper(_note_writes):
                response = self.get_response(request)
        finally:
            _SCOPE.reset(token)
        if scope.wrote and seconds > 0:
            response.set_signed_cookie(
                PIN_COOKIE,
                "1",
                salt=PIN_COOKIE,
                max_age=seconds,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                cache.set(_pin_key(user.pk), 1, seconds)
        if scope.used is not None:
            response.headers["X-Otklik-Read-From"] = scope.used.header()
        return response
