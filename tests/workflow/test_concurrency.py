"""Moves racing other writers: locks, not luck, keep the process consistent (F-30).

Real threads, each with its own connection. PostgreSQL serialises them on the ticket's row lock; SQLite
on its single writer lock (IMMEDIATE transactions wait for each other): the outcome must be the same.
"""

from __future__ import annotations

import importlib
import threading
import time
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connections, transaction

from otklik.core.errors import Conflict
from otklik.dictionaries.models import DictionaryEntry
from otklik.dictionaries.seed import load_dictionaries
from otklik.tickets.services import ticket_close
from otklik.tickets.services.access import ticket_lock
from otklik.workflow.models import Move, TicketProcess
from otklik.workflow.services import workflow_transition
from tests.helpers import fresh

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _seed_data():
    """Put back what the data migrations gave (an earlier transactional test's flush may have removed it).

    Not serialized_rollback: restoring the saved rows clashes with the content types a flush recreates.
    """
    load_dictionaries(DictionaryEntry)
    migration = importlib.import_module("otklik.workflow.migrations.0002_three_tier")
    migration.install(django_apps, SimpleNamespace(connection=SimpleNamespace(alias="default")))


def _run(*targets) -> list[BaseException | None]:
    """Run each callable in its own thread (and connection) at once; return what each raised."""
    outcomes: list[BaseException | None] = [None] * len(targets)

    def worker(index: int, target) -> None:
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n, t)) for n, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_the_same_move_taken_twice_at_once_happens_once(crew, make_ticket):
    ticket = make_ticket()
    start = threading.Barrier(2)

    def escalate() -> None:
        start.wait()
        workflow_transition(
            actor=crew.l1, ticket=fresh(ticket), transition="escalate", values={"comment": "x"}
        )

    outcomes = _run(escalate, escalate)
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "NoneType"], outcomes
    assert Move.objects.filter(ticket=ticket).count() == 1
    assert TicketProcess.objects.get(ticket=ticket).state == "triage"


def test_a_move_waiting_behind_a_close_neither_deadlocks_nor_acts_on_the_old_state(crew, make_ticket):
    # The close holds the ticket's lock and then moves the process to its final state (writing the
    # place); the move must wait for the ticket before it touches the place, then see the ticket closed.
    ticket = make_ticket()
    locked = threading.Event()

    def close() -> None:
        with transaction.atomic():
            ticket_lock(ticket)
            locked.set()
            time.sleep(0.5)  # the move is now waiting
            ticket_close(actor=crew.l1, ticket=fresh(ticket))

    def escalate() -> None:
        locked.wait(timeout=10)
        workflow_transition(
            actor=crew.l1, ticket=fresh(ticket), transition="escalate", values={"comment": "x"}
        )

    closing, moving = _run(close, escalate)
    assert closing is None, closing
    assert isinstance(moving, Conflict), moving
    assert TicketProcess.objects.get(ticket=ticket).state == "closed"
    assert list(Move.objects.filter(ticket=ticket).values_list("transition", flat=True)) == ["closed"]
