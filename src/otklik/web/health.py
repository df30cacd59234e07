"""/healthz (the process answers) and /readyz (its database, job queue and file storage answer too).

Both are public (load balancers and orchestrators call them without a session) and say nothing secret:
a failed check names the kind of error, never its message (which may hold a host, a user or a path).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

from django.contrib.auth.decorators import login_not_required
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

# Redis must answer within this time, or the queue counts as unreachable (the default is to wait forever).
REDIS_TIMEOUT_SECONDS = 2.0
# The storage probe's folder, inside the uploaded files' storage; the probe is deleted at once.
PROBE_FOLDER = ".readyz"


class CheckFailed(Exception):
    """A check's own finding, safe to show as it is."""


# Databases found fully migrated by this process: the answer cannot turn false without a deployment,
# and reading the migration files costs tens of milliseconds, so it is asked until it is yes, then not.
_migrated: set[str] = set()
_migrated_lock = threading.Lock()


def readiness_forget() -> None:
    """Forget that the database was found migrated (tests unapply a migration)."""
    with _migrated_lock:
        _migrated.clear()


def database_check(alias: str = DEFAULT_DB_ALIAS) -> None:
    """Run a query on the database; until it was once found migrated, also ask for unapplied migrations."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    if alias in _migrated:
        return
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise CheckFailed(f"{len(plan)} migration(s) not applied")
    with _migrated_lock:
        _migrated.add(alias)


def queue_check() -> None:
    """Reach the job queue: a Redis PING (with a timeout) for RedisHuey, the queue's size otherwise."""
    from huey.contrib.djhuey import HUEY

    storage = HUEY.storage
    client = getattr(storage, "conn", None)
    pool = getattr(client, "connection_pool", None)
    if pool is not None:
        import redis

        kwargs = {**pool.connection_kwargs, "socket_connect_timeout": REDIS_TIMEOUT_SECONDS}
        kwargs["socket_timeout"] = REDIS_TIMEOUT_SECONDS
        probe = redis.Redis(
            connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
        )
        try:
            if not probe.ping():
                raise CheckFailed("Redis did not answer PING")
        finally:
            probe.close()
    else:
        storage.queue_size()


def storage_check() -> None:
    """Write a small file into the uploaded files' storage and delete it."""
    name = default_storage.save(f"{PROBE_FOLDER}/{uuid.uuid4().hex}.probe", ContentFile(b"ok"))
    default_storage.delete(name)


CHECKS: tuple[tuple[str, Callable[[], None]], ...] = (
    ("database", database_check),
    ("queue", queue_check),
    ("storage", storage_check),
)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, CheckFailed):
        return str(exc)
    # The class only: messages of drivers and the OS carry hosts, users and paths.
    return type(exc).__name__


def readiness() -> tuple[bool, dict[str, dict]]:
    """Run every check; return whether all passed and each one's result (ok, error, seconds)."""
    results = {}
    for name, check in CHECKS:
        started = time.perf_counter()
        try:
            check()
            error = ""
        except Exception as exc:  # any failure makes the check fail; the next ones still run
            error = _error_text(exc)
        results[name] = {"ok": not error, "error": error, "seconds": round(time.perf_counter() - started, 6)}
    return all(r["ok"] for r in results.values()), results


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer that the process serves requests; touch nothing else."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database (migrated), the job queue and the file storage work, 503 otherwise."""
    ok, checks = readiness()
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )
