"""A short-lived, process-local cache of configuration that every ticket write reads.

Module options, dictionary defaults, SLA levels, the support admins and the mail templates change a few
times a day and are read on every ticket created. Each process keeps what it read for
OTKLIK_CONFIG_CACHE_SECONDS (5 by default), and other processes see a change within that time.
0 turns the cache off.

One invalidation scheme: each app registers the models whose rows it caches (directly or inside what it
derives from them) with `config_models_register`, in its AppConfig.ready; saving or deleting a row of a
registered model, or changing one of its many-to-many relations, forgets everything in this process at
once (the signal receivers are connected by `otklik.core.apps`); a service that changes registered rows
with `queryset.update` (which sends no signal) calls `config_rows_changed(Model)` after it.

Permission inputs (access levels, API token owners, colleagues) are kept here too, so every write that
changes them must go through a save, a delete or a many-to-many change of a registered model (group
membership, GroupAccess, a token's delete, a user's deactivation all do), or call `config_rows_changed`:
in this process the change counts on the next read, never by the TTL alone. Other processes still see it
only when their copy expires (at most OTKLIK_CONFIG_CACHE_SECONDS later).

Cached values are shared between threads: callers must not change them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import models

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
    """Forget the cache when `model` is registered; call after a `queryset.update` of its rows."""
    if config_model_registered(model):
        config_forget()


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
    """Forget every cached value (after a change to a registered model; see `config_rows_changed`)."""
    global _generation
    with _lock:
        _generation += 1
        _store.clear()
