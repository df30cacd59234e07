"""Rows built once for a module's tests, as Django's `setUpTestData` does for a TestCase class.

The permission matrices and the query-count crowd build the same people and tickets for hundreds of cells;
building them once per module and rolling each test back to them keeps the suite short. A module opts in
with two fixtures: a module-scoped one that requests `django_db_setup`, `django_db_blocker` and
`tmp_path_factory` and yields from `rows_for_module(...)` with its build function, and a function-scoped
one that requests it with `db` and `settings` and returns `shared.for_test(settings)`
(tests/test_shared_rows.py shows both).

How it holds: the rows are written inside a transaction that stays open while the module's tests run;
pytest-django's `db` opens each test's atomic block inside it, which is then a savepoint, rolled back after
the test. Each test gets a deep copy of the built objects, so an object one test changes in memory is not
what the next one reads. pytest sets the module-scoped fixture up before `db`, and tears it down before a
test of another module starts. Only for modules without transactional tests (they need the transaction
closed); the outer transaction is rolled back at the end, so nothing stays behind.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import FAST_HASHERS, storages_in


@dataclass
class SharedRows:
    """What a module's build returned and the folder its uploaded files are in."""

    value: Any
    files: Path

    def for_test(self, settings) -> Any:
        """Point the test's file storage at the module's files and return a copy of the built objects."""
        settings.STORAGES = storages_in(self.files)
        return copy.deepcopy(self.value)


@contextmanager
def building_environment(files: Path) -> Iterator[None]:
    """Hold what the autouse fixtures give each test while a module's rows are built."""
    from django.core.cache import cache
    from django.test import override_settings
    from huey.contrib.djhuey import HUEY
    from huey.storage import MemoryStorage

    from otklik.core.config_cache import config_forget
    from otklik.sla.selectors import calendars_forget

    storage = HUEY.storage
    HUEY.storage = MemoryStorage(HUEY.name)
    try:
        with override_settings(
            PASSWORD_HASHERS=FAST_HASHERS, STORAGES=storages_in(files), OTKLIK_CONFIG_CACHE_SECONDS=0
        ):
            config_forget()
            cache.clear()
            calendars_forget()
            yield
    finally:
        HUEY.storage = storage
        config_forget()
        calendars_forget()


def rows_for_module(django_db_blocker, tmp_path_factory, build: Callable[[], Any]) -> Iterator[SharedRows]:
    """Build the module's rows in a transaction kept open for its tests; roll it back at the end."""
    from django.db import transaction

    files = tmp_path_factory.mktemp("shared-files")
    with django_db_blocker.unblock(), building_environment(files):
        with transaction.atomic():
            yield SharedRows(value=build(), files=files)
            transaction.set_rollback(True)
