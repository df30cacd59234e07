"""Twenty API creations race for a coupon with five uses left (F-21): exactly five win, on both databases.

Each request runs in its own thread with its own database connection, released at once by a barrier.
PostgreSQL lets the transactions overlap: the losers' conditional UPDATE waits for the winner's row lock,
then finds the condition false. SQLite runs one writer at a time (IMMEDIATE transactions wait on
busy_timeout), so there the race is decided by the order of the writers, but through the same code.
"""

from __future__ import annotations

import importlib
import threading
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connections

from otklik.accounts.models import AccessLevel
from otklik.coupons.models import CouponUse
from otklik.coupons.services import CouponSpec, coupon_generate
from otklik.dictionaries.models import DictionaryEntry
from otklik.dictionaries.seed import load_dictionaries
from otklik.notifications import catalog
from otklik.notifications.models import OutboxMessage
from otklik.sla.models import SlaLevel, TimeUnit
from otklik.tickets.models import Ticket
from tests.conftest import make_user
from tests.helpers import Api

pytestmark = pytest.mark.django_db(transaction=True)

RACERS = 20
USES = 5


@pytest.fixture(autouse=True)
def _seed_data():
    """Put back what the data migrations gave (an earlier transactional test's flush may have removed it)."""
    load_dictionaries(DictionaryEntry)
    migration = importlib.import_module("otklik.workflow.migrations.0002_three_tier")
    migration.install(django_apps, SimpleNamespace(connection=SimpleNamespace(alias="default")))


def test_twenty_api_creations_racing_for_five_uses_make_exactly_five_special_tickets():
    special = SlaLevel.objects.create(
        name_ru="Спецобращения", name_en="Special tickets", code="special", response_time=1,
        response_unit=TimeUnit.HOURS,
    )  # fmt: skip
    make_user("admin", AccessLevel.ADMIN)
    coupon = coupon_generate(spec=CouponSpec(sla=special, uses=USES, days=30), actor=None)[0]
    # One client per request, each with its token made before the race (the race is about the coupon).
    apis = [Api(make_user(f"racer{n}", AccessLevel.CLIENT, language="en")) for n in range(RACERS)]
    start = threading.Barrier(RACERS)
    answers: list = [None] * RACERS

    def create(index: int) -> None:
        try:
            start.wait(timeout=30)
            answers[index] = apis[index].send(
                "POST",
                "/api/v1/tickets",
                {"title": f"Down {index}", "message": "Help", "coupon": coupon.code},
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            answers[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    statuses = sorted(getattr(a, "status_code", repr(a)) for a in answers)
    assert statuses == [201] * USES + [422] * (RACERS - USES), statuses
    for answer in answers:
        if answer.status_code == 422:
            assert answer.json()["errors"] == {"coupon": ["Coupon unknown or expired."]}
    assert Ticket.objects.count() == USES
    assert Ticket.objects.filter(is_special=True, sla=special, coupon_code=coupon.code).count() == USES
    coupon.refresh_from_db()
    assert (coupon.used_count, coupon.uses_left) == (USES, 0)
    # Every attempt is in the log: five uses with their tickets, fifteen refusals for lack of uses.
    log = CouponUse.objects.filter(coupon=coupon)
    assert log.filter(success=True).exclude(ticket_number=None).count() == USES
    assert sorted(log.filter(success=True).values_list("uses_left_after", flat=True)) == list(range(USES))
    assert (
        log.filter(success=False, reason=CouponUse.Reason.SPENT, uses_left_after=0).count() == RACERS - USES
    )
    # The admins heard of the five uses only.
    assert OutboxMessage.objects.filter(event=catalog.COUPON_USED).count() == USES
