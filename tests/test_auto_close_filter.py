"""SPEC F-14: the staff list's "days to auto-close" filter counts the days LEFT before auto-close.

Days left = the ticket's auto-close days (or the module default) minus the whole days since support's
last answer, for tickets that auto-close can close: open, support answered last, auto-close days > 0.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from otklik.core import clock
from otklik.tickets import services
from otklik.tickets.models import ModuleOptions
from otklik.tickets.services import module_options_ensure
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _answered(cast, make_ticket, title: str, *, days: int | None = None):
    ticket = make_ticket(title=title)
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Fixed, please check.")
    )
    if days is not None:
        services.ticket_update(actor=cast.staff, ticket=ticket, changes={"auto_close_days": days})
    return ticket


def _found(client, **params) -> list[int]:
    rows = client.get(reverse("tickets:staff_list"), params).context["rows"]
    return sorted(t.pk for t, _ind in rows)


def test_auto_close_filter_days_left_counts_whole_days_since_support_answer(cast, make_ticket):
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(auto_close_days=7)
    with clock.frozen(START) as mover:
        week = _answered(cast, make_ticket, "Default 7 days")  # answered at day 0
        mover.advance(days=3, hours=5)
        short = _answered(cast, make_ticket, "Own 5 days", days=5)  # answered at day 3 + 5 h
        waiting = make_ticket(title="Client wrote last")  # not a candidate: awaits support
        never = _answered(cast, make_ticket, "Never auto-closes", days=0)
        closed = _answered(cast, make_ticket, "Closed", days=2)
        services.ticket_close(actor=cast.staff, ticket=closed)
        mover.advance(days=2, hours=1)  # now: day 5 + 6 h
        client = logged_in(cast.admin)
        # `week`: 5 whole days passed of 7 -> 2 left; `short`: 2 whole days of 5 -> 3 left.
        assert _found(client, auto_close_days_min=2, auto_close_days_max=2) == [week.pk]
        assert _found(client, auto_close_days_min=3, auto_close_days_max=3) == [short.pk]
        assert _found(client, auto_close_days_max=3) == sorted([week.pk, short.pk])
        assert _found(client, auto_close_days_min=4) == []
        # The setting itself (7 and 5 days) no longer matches: that was the old, wrong filter.
        assert _found(client, auto_close_days_min=5) == []
        mover.advance(days=1)  # day 6 + 6 h: one day less for both
        assert _found(client, auto_close_days_max=1) == [week.pk]
        assert _found(client, auto_close_days_min=2, auto_close_days_max=2) == [short.pk]
        assert waiting.pk not in _found(client, auto_close_days_min=0) and never.pk not in _found(
            client, auto_close_days_min=0
        )


@pytest.mark.parametrize("huge", [281797554004738816, 2**63 - 1, 10**9])
def test_auto_close_filter_with_huge_bounds_answers_instead_of_overflowing(cast, make_ticket, huge):
    """A bound beyond any date range (found by the API fuzzer) matches as its meaning says, never a 500."""
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(auto_close_days=7)
    with clock.frozen(START) as mover:
        week = _answered(cast, make_ticket, "Default 7 days")
        mover.advance(days=2)
        client = logged_in(cast.admin)
        # Nothing has more days left than its own setting; everything has fewer than a huge number.
        assert _found(client, auto_close_days_min=huge) == []
        assert _found(client, auto_close_days_max=huge) == [week.pk]
        assert _found(client, auto_close_days_min=0, auto_close_days_max=huge) == [week.pk]
        api = logged_in(cast.admin)
        answer = api.get("/api/v1/tickets", {"auto_close_days_min": huge, "overdue": "true"})
        assert answer.status_code == 200, answer.content
        answer = api.get("/api/v1/tickets", {"auto_close_days_max": huge})
        assert answer.status_code == 200, answer.content
        assert [row["id"] for row in answer.json()["results"]] == [week.pk]
