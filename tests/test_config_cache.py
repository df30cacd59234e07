"""The configuration cache: hot reads are served from memory, a save forgets them, the TTL bounds staleness."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from otklik.core import config_cache
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.dictionaries.selectors import dictionary_default
from otklik.notifications.models import MailTemplate
from otklik.notifications.selectors import admins, templates_for
from otklik.sla.models import SlaLevel
from otklik.tickets import services
from otklik.tickets.models import ModuleOptions
from otklik.tickets.selectors import options_cached
from otklik.tickets.services import module_options_ensure
from tests.conftest import make_user
from tests.helpers import CREATION_INSERTS, statements_split

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
    options_cached()  # the first read loads and keeps
    options_cached()
    assert queries(options_cached) == 0


def test_options_cached_save_forgets_at_once(cast):
    assert options_cached().bcc_admins is True
    options = ModuleOptions.objects.get(pk=module_options_ensure().pk)
    options.bcc_admins = False
    options.save()
    assert options_cached().bcc_admins is False


def test_config_cached_expires_after_ttl(cast, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(config_cache.time, "monotonic", lambda: clock[0])
    row = module_options_ensure()  # created before the read: its save would forget what was read
    options_cached()
    ModuleOptions.objects.filter(pk=row.pk).update(bcc_admins=False)  # no signal: stays cached
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
    from otklik.sla.selectors import sla_for_new_ticket

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


def test_ticket_create_with_warm_cache_writes_seven_rows_and_reads_nothing(cast, make_ticket):
    """Creating a ticket (SLA, routing, deadline, history, search text, its place in the support process,
    two mails) is seven INSERTs."""
    from django.contrib.auth.models import User

    make_ticket()  # the first use creates the options row, and that save forgets what was read before it
    client = User.objects.get(pk=cast.client.pk)  # a request's user: nothing cached on the object itself
    services.ticket_create(
        actor=client, draft=services.TicketDraft(title="Warm", message="The cache fills here.")
    )
    client = User.objects.select_related("profile").get(pk=cast.client.pk)  # as the request brings it
    with CaptureQueriesContext(connection) as captured:
        services.ticket_create(actor=client, draft=services.TicketDraft(title="Printer", message="It jams."))
    written, others = statements_split(captured)
    # Each row once: the ticket's derived state and deadline go into its INSERT (no UPDATE after it).
    assert written == CREATION_INSERTS
    assert others == []  # configuration, the author's groups and levels: all from the cache


def test_ticket_create_with_fifty_idle_rules_reads_nothing_more(cast, make_ticket):
    """Fifty active rules that do not match cost no statement: the rules and the author's client groups
    come from the cache, and cheap conditions decide before a costly fact is read."""
    from django.contrib.auth.models import User

    from otklik.automation.services import rule_create

    for n in range(50):
        conditions = [
            {"field": "client_group", "op": "is_empty", "value": False},
            {"field": "tag", "op": "contains", "value": f"never-{n}"},
            {"field": "title", "op": "contains", "value": f"no-such-title-{n}"},
        ][: 1 + n % 3]
        if n % 3 == 0:
            conditions.append({"field": "tier", "op": "is", "value": "L9"})
        rule_create(
            actor=cast.admin,
            data={
                "name": f"idle {n}",
                "event": "created",
                "conditions": conditions,
                "actions": {"add_tags": ["x"]},
            },
        )
    make_ticket()
    client = User.objects.get(pk=cast.client.pk)
    services.ticket_create(actor=client, draft=services.TicketDraft(title="Warm", message="Fill the cache."))
    client = User.objects.select_related("profile").get(pk=cast.client.pk)
    with CaptureQueriesContext(connection) as captured:
        services.ticket_create(actor=client, draft=services.TicketDraft(title="Printer", message="It jams."))
    assert statements_split(captured)[1] == []


# -- API tokens: the owner is cached, a revocation is not ------------------------------------------------------
def _me(token: str) -> int:
    from django.test import Client

    return Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def test_token_second_use_reads_nothing_and_writes_last_use_once(cast):
    from otklik.accounts.models import ApiToken
    from otklik.accounts.services import token_authenticate, token_create

    token = token_create(user=cast.client)
    first = token_authenticate(token)
    used = ApiToken.objects.get().last_used_at
    assert first == cast.client and used is not None

    assert queries(lambda: token_authenticate(token)) == 0  # owner, profile and levels all cached
    second = token_authenticate(token)
    assert second == first and second is not first  # each request gets its own copy to annotate
    assert ApiToken.objects.get().last_used_at == used  # within the minute: no second write


def test_token_deleted_stops_working_at_once(cast):
    from otklik.accounts.models import ApiToken
    from otklik.accounts.services import token_create

    token = token_create(user=cast.client)
    assert _me(token) == 200
    ApiToken.objects.get().delete()  # what the admin page's delete does
    assert _me(token) == 401


def test_token_owner_deactivated_stops_working_at_once(cast):
    from otklik.accounts.services import token_create

    token = token_create(user=cast.client)
    assert _me(token) == 200
    cast.client.is_active = False
    cast.client.save()
    assert _me(token) == 401


def test_token_owner_new_group_changes_access_at_once(cast):
    from otklik.accounts.roles import levels_of
    from otklik.accounts.services import token_authenticate, token_create

    token = token_create(user=cast.client)
    assert "staff" not in levels_of(token_authenticate(token))
    cast.client.groups.add(Group.objects.get(name="Support staff"))  # an m2m change: the cache forgets
    assert "staff" in levels_of(token_authenticate(token))


# -- Registration: each app names the models it caches; one scheme forgets on their changes ------------------
def test_config_model_registered_each_apps_models_are_known():
    from django.contrib.auth.models import User

    from otklik.accounts.models import ApiToken, GroupAccess, Profile, SupportGroup, SupportGroupMember
    from otklik.core.config_cache import config_model_registered
    from otklik.sla.models import CalendarException, Timetable
    from otklik.tickets.models import Ticket

    registered = [SlaLevel, Timetable, CalendarException, ModuleOptions, DictionaryEntry, MailTemplate]
    registered += [User, Group, Profile, GroupAccess, SupportGroup, SupportGroupMember, ApiToken]
    registered += [User.groups.through, SlaLevel.groups.through]  # many-to-many links count as their owner
    assert all(config_model_registered(model) for model in registered)
    assert not config_model_registered(Ticket)


def test_config_rows_changed_forgets_after_a_bulk_update_of_a_registered_model(cast):
    from otklik.core.config_cache import config_rows_changed
    from otklik.tickets.models import Ticket

    options = module_options_ensure()  # a read never creates the row: the update needs one
    options_cached()
    ModuleOptions.objects.filter(pk=options.pk).update(bcc_admins=False)  # no signal
    config_rows_changed(Ticket)  # not configuration: the cache stays
    assert options_cached().bcc_admins is True
    config_rows_changed(ModuleOptions)
    assert options_cached().bcc_admins is False


def test_levels_group_removed_counts_on_the_next_request(cast):
    from django.urls import reverse

    from tests.conftest import logged_in

    browser = logged_in(cast.staff)
    assert browser.get(reverse("tickets:staff_list")).status_code == 200
    cast.staff.groups.remove(Group.objects.get(name="Support staff"))
    assert browser.get(reverse("tickets:staff_list")).status_code != 200


def test_levels_user_deactivated_is_refused_on_the_next_request(cast):
    from django.urls import reverse

    from tests.conftest import logged_in

    browser = logged_in(cast.staff)
    assert browser.get(reverse("tickets:staff_list")).status_code == 200
    cast.staff.is_active = False
    cast.staff.save()
    assert browser.get(reverse("tickets:staff_list")).status_code != 200


def test_token_owner_group_removed_loses_access_at_once(cast):
    from otklik.accounts.roles import levels_of
    from otklik.accounts.services import token_authenticate, token_create

    token = token_create(user=cast.staff)
    assert "staff" in levels_of(token_authenticate(token))
    cast.staff.groups.remove(Group.objects.get(name="Support staff"))
    assert "staff" not in levels_of(token_authenticate(token))


def test_dictionary_admin_deactivate_action_is_seen_at_once(cast, client):
    client.force_login(cast.admin)  # a login saves the user, which forgets the cache: log in first
    default = dictionary_default(DictionaryKind.CATEGORY)  # now in the cache
    assert default is not None
    response = client.post(
        reverse("admin:dictionaries_dictionaryentry_changelist"),
        {"action": "deactivate", "_selected_action": [default.pk]},
    )
    assert response.status_code == 302
    assert not DictionaryEntry.objects.get(pk=default.pk).active
    assert dictionary_default(DictionaryKind.CATEGORY) != default


def test_config_cached_shared_generation_read_once_per_request(cast, monkeypatch):
    from tests.conftest import logged_in

    browser = logged_in(cast.staff)
    assert browser.get(reverse("tickets:staff_list")).status_code == 200  # warm
    reads = []
    real_read = config_cache._shared_read
    monkeypatch.setattr(config_cache, "_shared_read", lambda: reads.append(1) or real_read())
    for expected in (1, 2):
        assert browser.get(reverse("tickets:staff_list")).status_code == 200
        # The page reads several cached values (levels, options); other processes' changes are looked
        # up once per request, not once per read.
        assert len(reads) == expected
