"""Reads of the dictionaries: the entries of one, and each one's default."""

from __future__ import annotations

from django.db.models import QuerySet

from otklik.core.config_cache import config_cached
from otklik.dictionaries.models import DictionaryEntry


def dictionary_list(kind: str, *, active_only: bool = True) -> QuerySet[DictionaryEntry]:
    qs = DictionaryEntry.objects.filter(kind=kind)
    return qs.filter(active=True) if active_only else qs


def dictionary_default(kind: str) -> DictionaryEntry | None:
    """Return the dictionary's active default entry (the first by sort order), or None."""
    return config_cached("dictionary-defaults", _dictionary_defaults).get(kind)


def _dictionary_defaults() -> dict[str, DictionaryEntry]:
    defaults: dict[str, DictionaryEntry] = {}
    for entry in DictionaryEntry.objects.filter(is_default=True, active=True).order_by("kind", "sort", "id"):
        defaults.setdefault(entry.kind, entry)
    return defaults
