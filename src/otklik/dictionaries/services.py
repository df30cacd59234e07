"""Change dictionary entries (F-05) where the admin pages change many at once."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from otklik.core.config_cache import config_forget, config_rows_changed
from otklik.dictionaries.models import DictionaryEntry


@transaction.atomic
def dictionary_entries_deactivate(*, entries: QuerySet[DictionaryEntry]) -> int:
    """Deactivate the entries in one UPDATE and forget the cached configuration; return how many changed.

    A set-based update sends no save signals, so the cache is forgotten here: now for this process, and
    again after the commit, so that no read between the two keeps the old entries.
    """
    count = entries.filter(active=True).update(active=False)
    config_rows_changed(DictionaryEntry)
    transaction.on_commit(config_forget)
    return count
