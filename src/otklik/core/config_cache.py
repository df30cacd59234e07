"""A short-lived, process-local cache of configuration that every ticket write reads.

Module options, dictionary defaults, SLA levels, the support admins and the mail templates change a few
times a day and are read on every ticket created. Each process keeps what it read for
OTKLIK_CONFIG_CACHE_SECONDS (5 by default); a save in this process forgets everything at once (see
`otklik.core.apps`), and other processes see the change within that time. 0 turns the cache off.

Cached values are shared between threads: callers must not change them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings

T = TypeVar("T")
_store: dict[str, tuple[float, Any]] = {}
_generation = 0
_lock = threading.Lock()
MAX_ENTRIES = 10_000


def config_cached(key: str, load: Callable[[], T]) -> T:
    """Return the value cached under `key`, loading (and keeping) it when missing or expired."""
    ttl = getattr(settings, "OTKLIK_CONFIG_CACHE_SECONDS", 5)
    if ttl <= 0:
        return load()
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
    """Forget every cached value (connected to the save and delete signals of configuration models)."""
    global _generation
    with _lock:
        _generation += 1
        _store.clear()
