"""The configuration cache: hot reads are served from memory, a save forgets them, the TTL bounds staleness."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from otklik.core import config_cache
from otklik.notifications.models import MailTemplate
from otklik.notifications.selectors import admins, templates_for
from otklik.sla.models import SlaLevel
from otklik.tickets import services
from otklik.tickets.models import DictionaryEntry, DictionaryKind, ModuleOptions
from otklik.tickets.selectors import dictionary_default, options_cached
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.OTKLIK_CONFIG_CACHE_SECONDS = 5
    config_cache.config_forget()
    yield
    config_cache.config_forget()


def queries(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured.captured_queries)


def test_options_cached_second_read_runs_no_query(cast):
    options_cached()  # the very first read creates the row, and that save forgets what it read
    options_cached()
    assert queries(options_cached) == 0


def test_options_cached_save_forgets_at_once(cast):
    assert options_cached().bcc_admins is True
    options = ModuleOptions.objects.get(pk=options_cached().pk)
    options.bcc_admins = False
    options.save()
    assert options_cached().bcc_admins is False


def test_config_cached_expires_after_ttl(cast, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(config_cache.time, "monotonic", lambda: clock[0])
    options_cached()
    ModuleOptions.objects.filter(pk=options_cached().pk).update(bcc_admins=False)  # no signal: stays cached
    assert options_cached().bcc_admins is True
    clock[0] += 5.1
    assert options_cached().bcc_admins is False


def test_dictionary_default_change_of_default_is_seen(cast):
    old = dictionary_default(DictionaryKind.CRITICALITY)
    old.is_default = False
    old.save()
    assert dictionary_default(DictionaryKind.CRITICALITY) is None
    new = DictionaryEntry.objects.create(
        kind=DictionaryKind.CRITICALITY, name_ru="Новая", name_en="New", is_default=True, sort=-1
    )
    assert dictionary_default(DictionaryKind.CRITICALITY) == new != old


def test_sla_group_change_through_m2m_is_seen_by_the_choice(cast):
    from otklik.sla.services import sla_for_new_ticket

    vip = SlaLevel.objects.create(name="VIP", priority=90, response_time=1, response_unit="hours")
    assert sla_for_new_ticket(cast.client).sla != vip
    group = Group.objects.create(name="VIP clients")
    cast.client.groups.add(group)
    vip.groups.add(group)
    assert sla_for_new_ticket(cast.client).sla == vip


def test_admins_new_admin_is_mailed_at_once(cast):
    before = {p.email for p in admins()}
    make_user("admin2", "admin")
    assert {p.email for p in admins()} == before | {"admin2@example.com"}


def test_templates_saved_template_is_used_at_once(cast):
    templates_for([("ticket_reminder", "en")])
    MailTemplate.objects.create(event="ticket_reminder", language="en", subject="Hurry", body="Now")
    assert templates_for([("ticket_reminder", "en")]) == {("ticket_reminder", "en"): ("Hurry", "Now")}


def test_ticket_create_with_warm_cache_runs_a_dozen_queries(cast, make_ticket):
    """Creating a ticket (SLA, routing, deadline, history, search text, two mails) stays a dozen queries."""
    make_ticket()
    from django.contrib.auth.models import User

    client = User.objects.get(pk=cast.client.pk)
    n = queries(lambda: services.ticket_create(actor=client, title="Printer", message="It jams."))
    assert n <= 13
