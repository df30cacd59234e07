"""The issue's crash test: kill -9 the worker while it delivers 200 notifications, start it again.

Every notification arrives; only a message whose delivery was cut after the server accepted it may
arrive twice, under the same Message-ID, so at most one per delivering thread.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from huey.contrib.djhuey import HUEY
from huey.storage import MemoryStorage

from otklik.notifications.models import OutboxMessage, OutboxState

from .smtp_sink import SmtpSink

THREADS = 2
TICKETS = 100  # a client's new ticket, nobody responsible: one mail to the client, one to the admin
MAILS = 2 * TICKETS
LEASE_SECONDS = 2  # a dead worker's claims are taken over this soon
SMTP_DELAY = 0.01  # per message, so the kill lands mid-delivery


@pytest.fixture(autouse=True)
def queue(monkeypatch):
    """The test process's own commits queue jobs in memory; only the worker's queue file matters."""
    monkeypatch.setattr(HUEY, "storage", MemoryStorage(HUEY.name))
    return HUEY


@dataclass
class SharedDatabase:
    """The test database as a child process reaches it: its environment, and a look at the outbox."""

    env: dict[str, str]
    states: Callable[[], Counter[str]]


def _orm_states() -> Counter[str]:
    return Counter(OutboxMessage.objects.values_list("state", flat=True))


def share_database(data_dir: Path) -> SharedDatabase:
    """Hand the (committed) test database to a child process.

    PostgreSQL and file SQLite are reached by URL. pytest-django's in-memory SQLite cannot be shared,
    so it is copied into the child's data directory, where the embedded settings find it (WAL and all);
    from then on the outbox is read from that copy.
    """
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = f"{auth}@{db['HOST'] or ''}" if auth else db["HOST"] or ""
        port = f":{db['PORT']}" if db["PORT"] else ""
        return SharedDatabase({"OTKLIK_DATABASE_URL": f"postgres://{host}{port}/{db['NAME']}"}, _orm_states)
    if connection.vendor != "sqlite":
        pytest.fail(f"no way to share a {connection.vendor} test database with a child process")
    if not connection.is_in_memory_db():
        return SharedDatabase({"OTKLIK_DATABASE_URL": f"sqlite:///{Path(db['NAME']).resolve()}"}, _orm_states)
    copy = data_dir / "otklik.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(copy) as target:
        connection.connection.backup(target)
    table = OutboxMessage._meta.db_table

    def states() -> Counter[str]:
        with sqlite3.connect(copy, timeout=10) as db:
            return Counter(dict(db.execute(f"SELECT state, count(*) FROM {table} GROUP BY state")))

    return SharedDatabase({}, states)


class Worker:
    """`otklik worker` in a child process, its output in a log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "otklik", "worker", "--workers", str(THREADS), "--no-periodic"],
                env=env,
                cwd=log.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, exactly like a crash."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.kill()


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_worker_killed_mid_delivery_restarted_delivers_every_mail_duplicating_only_in_flight(
    cast, make_ticket, tmp_path, workers
):
    for number in range(TICKETS):
        make_ticket(title=f"Заявка {number}")
    rows = dict(OutboxMessage.objects.values_list("message_id", "pk"))
    assert len(rows) == MAILS
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    database = share_database(data_dir)
    with SmtpSink(delay=SMTP_DELAY) as sink:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTKLIK_")}
        env.update(
            DJANGO_SETTINGS_MODULE="otklik.settings",
            OTKLIK_DATA_DIR=str(data_dir),
            OTKLIK_SMTP_URL=sink.url,
            OTKLIK_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
            **database.env,
        )
        log = tmp_path / "worker.log"

        first = Worker(env, log)
        workers.append(first)
        assert sink.wait_for(MAILS * 3 // 10, timeout=30), f"no delivery:\n{first.output()}"
        first.kill()
        cut_at = sink.count()
        assert cut_at < MAILS, "the worker finished before the kill; make SMTP_DELAY longer"

        second = Worker(env, log)
        workers.append(second)
        everything = sink.wait_until(lambda got: len({r.message_id for r in got}) >= MAILS, timeout=30)
        got = len(sink.message_ids())
        assert everything, f"{got} of {MAILS} arrived, {database.states()}:\n{second.output()}"
        assert _wait(lambda: database.states() == {OutboxState.SENT: MAILS}, timeout=10), (
            f"{database.states()}\n{second.output()}"
        )
        second.stop()

    arrived = sink.message_ids()
    assert set(arrived) == set(rows)
    duplicates = {mid: n for mid, n in arrived.items() if n > 1}
    # Only a message the server accepted in the moment of the kill arrives twice: one per thread at most.
    assert sum(n - 1 for n in duplicates.values()) <= THREADS, (cut_at, duplicates)
