"""A short-lived, process-local cache of configuration that every ticket write reads.

Module options, dictionary defaults, SLA levels, the support admins and the mail templates change a few
times a day and are read on every ticket created. Each process keeps what it read for at most
OTKLIK_CONFIG_CACHE_SECONDS (5 by default); 0 turns the cache off.

One invalidation scheme: each app registers the models whose rows it caches (directly or inside what it
derives from them) with `config_models_register`, in its AppConfig.ready; saving or deleting a row of a
registered model, or changing one of its many-to-many relations, forgets everything in this process at
once (the signal receivers are connected by `otklik.core.apps`); a service that changes registered rows
with `queryset.update` (which sends no signal) calls `config_rows_changed(Model)` after it.

Other processes learn of the change through a shared generation: `config_rows_changed` bumps it after
the transaction commits, in Django's cache when that is shared (Redis, with OTKLIK_REDIS_URL) and
otherwise in a small file under OTKLIK_DATA_DIR (embedded mode runs on one machine; the file is replaced,
so `os.stat` tells a bump). `config_cached` reads the generation at most once per request (on every call
outside requests, e.g. in jobs) and forgets this process's cache when it moved. The generation is kept
per database, so test databases do not disturb each other. It runs no SQL; the TTL stays as a backstop
(e.g. for a lost Redis write).

Permission inputs (access levels, API token owners, colleagues) are kept here too, so every write that
changes them must go through a save, a delete or a many-to-many change of a registered model (group
membership, GroupAccess, a token's delete, a user's deactivation all do), or call `config_rows_changed`:
the change counts on the next read (the next request in other processes), never by the TTL alone.

Cached values are shared between threads: callers must not change them.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections, models, transaction

T = TypeVar("T")
_store: dict[str, tuple[float, Any]] = {}
_generation = 0
_lock = threading.Lock()
MAX_ENTRIES = 10_000
# Lower-case labels ("app.model") of the models whose rows the cache holds; filled by the apps' ready().
_models: set[str] = set()


def config_models_register(*model_classes: type[models.Model]) -> None:
    """Declare that the cache holds rows of these models: their saves and deletes forget it."""
    _models.update(model._meta.label_lower for model in model_classes)


def config_model_registered(model: type[models.Model]) -> bool:
    """Tell whether the cache holds rows of `model`, or `model` is a many-to-many link of such a model."""
    meta = model._meta
    # Many-to-many changes arrive with the auto-created through model as sender (e.g. sla.slalevel_groups).
    auto = meta.auto_created  # False, or the model a through table was made for
    owner = auto._meta.label_lower if isinstance(auto, type) else meta.label_lower
    return meta.label_lower in _models or owner in _models


def config_rows_changed(model: type[models.Model]) -> None:
    """Forget the cache when `model` is registered; call after a `queryset.update` of its rows.

    Other processes forget theirs when the transaction commits (the shared generation moves then: before
    the commit they would only load the old rows again).
    """
    if config_model_registered(model):
        config_forget()
        transaction.on_commit(_shared_bump, robust=True)  # a failed bump must not fail the write


# The shared generation. Its name carries the database's, so processes on one database share it.
_seen = (
    threading.local()
)  # per thread: in_request, checked (this request already read the generation), reader
_last_shared: Any = None  # the shared generation this process last saw


def _shared_name() -> str | None:
    """Name the shared generation of this database; None for an in-memory one (no other process sees it)."""
    database = str(connections["default"].settings_dict.get("NAME", ""))
    if database == ":memory:" or "mode=memory" in database:
        return None
    return "otklik-config-generation-" + hashlib.sha256(database.encode()).hexdigest()[:16]


def _cache_is_shared() -> bool:
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    return not backend.endswith(("LocMemCache", "DummyCache"))


def _shared_read() -> Any:
    """Return the shared generation (None when nothing was ever bumped); no SQL."""
    name = _shared_name()
    if name is None:
        return None
    if _cache_is_shared():
        return _cache_get(name)
    try:
        found = os.stat(Path(settings.DATA_DIR) / name)
    except FileNotFoundError:
        return None
    return (found.st_ino, found.st_mtime_ns, found.st_size)


def _cache_get(name: str) -> Any:
    """Read `name` from Django's cache; from Django's Redis cache through a client kept per thread.

    Django's Redis backend builds a new client object (with its table of reply parsers) for every call,
    which cost a request more than the GET itself: this runs on every request.
    """
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]  # one per thread, like Django's
    if not isinstance(backend, RedisCache):
        return backend.get(name)
    reader = getattr(_seen, "reader", None)
    if reader is None or reader[0] is not backend or reader[1] != name:
        key = backend.make_and_validate_key(name)
        client = backend._cache.get_client(key)
        serializer = backend._cache._serializer  # type: ignore[attr-defined]  # set in its __init__
        reader = _seen.reader = (backend, name, client, key, serializer)
    _backend, _name, client, key, serializer = reader
    value = client.get(key)
    return None if value is None else serializer.loads(value)


def _shared_bump() -> None:
    """Move the shared generation so that every other process forgets its cache on its next read."""
    name = _shared_name()
    if name is None:
        return
    if _cache_is_shared():
        from django.core.cache import cache

        cache.add(name, 0, timeout=None)
        try:
            cache.incr(name)
        except ValueError:  # evicted between add and incr
            cache.set(name, 1, timeout=None)
        return
    path = Path(settings.DATA_DIR) / name
    spare = path.with_name(f"{path.name}.{secrets.token_hex(4)}")
    spare.write_text(secrets.token_hex(8))
    os.replace(spare, path)  # a new inode: a reader's os.stat sees the change even within one tick


def _shared_check() -> None:
    """Forget the cache when another process moved the shared generation since this one last looked."""
    global _last_shared
    in_request = getattr(_seen, "in_request", False)
    if in_request and getattr(_seen, "checked", False):
        return
    try:
        current = _shared_read()
    except Exception:  # the shared store is unreachable: trust nothing cached
        current = object()
    if in_request:
        _seen.checked = True
    if current != _last_shared:
        _last_shared = current
        config_forget()


def config_request_started(*_args: Any, **_kwargs: Any) -> None:
    """Let the next `config_cached` of this request read the shared generation (request_started)."""
    _seen.in_request = True
    _seen.checked = False


def config_request_finished(*_args: Any, **_kwargs: Any) -> None:
    """Read the shared generation on every call again until the next request (request_finished)."""
    _seen.in_request = False
    _seen.checked = False


def config_cached(key: str, load: Callable[[], T]) -> T:
    """Return the value cached under `key`, loading (and keeping) it when missing or expired."""
    ttl = getattr(settings, "OTKLIK_CONFIG_CACHE_SECONDS", 5)
    if ttl <= 0:
        return load()
    _shared_check()
    now = time.monotonic()
    hit = _store.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    generation = _generation
    value = load()
    with _lock:
        # A save that happened while we loaded may have made `value` stale: do not keep it.
        if generation == _generation:
            if len(_store) >= MAX_ENTRIES:  # per-user entries must not grow without bound
                _store.clear()
            _store[key] = (now + ttl, value)
    return value


def config_forget(*_args: Any, **_kwargs: Any) -> None:
    """Forget every cached value (after a change to a registered model; see `config_rows_changed`)."""
    global _generation
    with _lock:
        _generation += 1
        _store.clear()
