"""The module options: a read never writes the row; the service creates it for writers (issue 13)."""

from __future__ import annotations

import pytest

from otklik.tickets.models import ModuleOptions
from otklik.tickets.selectors import options_get
from otklik.tickets.services import module_options_ensure

pytestmark = pytest.mark.django_db


def test_options_get_without_row_writes_nothing_answers_defaults():
    options = options_get()
    assert not ModuleOptions.objects.exists()
    assert options.pk == 1
    assert options.auto_close_days == ModuleOptions._meta.get_field("auto_close_days").default


def test_module_options_ensure_without_row_creates_it_once():
    first = module_options_ensure()
    second = module_options_ensure()
    assert first.pk == second.pk == 1
    assert ModuleOptions.objects.count() == 1


def test_options_get_after_ensure_reads_the_saved_row():
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(auto_close_days=9)
    assert options_get().auto_close_days == 9
