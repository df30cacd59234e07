"""`otklik start --role web|worker|both`: web and job processes run and scale apart (issue 19).

Real processes: a web role serves without a consumer; a worker role runs only the consumer, never
listens, never migrates, and restarts its consumer when it dies.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import otklik_start_process

pytestmark = [
    pytest.mark.xdist_group("server"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and POSIX signals"),
]


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return b""


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        output, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("otklik start did not stop within 30 s")
    return output.decode(errors="replace")


def _wait_for(predicate, deadline: float, proc: subprocess.Popen, what: str):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            pytest.fail(f"otklik start exited early with {proc.returncode}:\n{output}")
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _consumer(proc: subprocess.Popen) -> int | None:
    found = [pid for pid in _children(proc.pid) if b"otklik worker" in _cmdline(pid)]
    return found[0] if found else None


def test_start_role_worker_runs_only_the_consumer_restarts_it_and_never_migrates(tmp_path):
    proc, port = otklik_start_process(tmp_path / "data", "--role", "worker")
    try:
        first = _wait_for(lambda: _consumer(proc), time.monotonic() + 30, proc, "the consumer")
        assert [pid for pid in _children(proc.pid) if b"granian" in _cmdline(pid)] == []
        with pytest.raises(OSError):  # no web server: nothing listens on the port it was given
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        # A consumer killed outright is started again (after the restart delay).
        os.kill(first, signal.SIGKILL)
        second = _wait_for(
            lambda: (pid := _consumer(proc)) and pid != first and pid,
            time.monotonic() + 30,
            proc,
            "a new consumer",
        )
        assert second != first
    finally:
        output = _stop(proc)
    assert proc.returncode == 0, output
    assert "restarting it" in output
    database = tmp_path / "data" / "otklik.sqlite3"
    if database.exists():  # the consumer may have opened it; it must not have been migrated
        with sqlite3.connect(database) as db:
            tables = {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
        assert "django_migrations" not in tables, tables


def test_start_role_web_serves_without_a_consumer(tmp_path):
    proc, port = otklik_start_process(tmp_path / "data", "--role", "web")
    try:

        def serving():
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/static/admin/css/base.css", timeout=2
                ) as r:
                    return r.status
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                return None

        assert _wait_for(serving, time.monotonic() + 60, proc, "the web server") == 200
        commands = [_cmdline(pid) for pid in _children(proc.pid)]
        assert len(commands) == 1 and b"granian" in commands[0], commands  # no consumer
        assert (tmp_path / "data" / "otklik.sqlite3").exists()  # the web role migrates
    finally:
        output = _stop(proc)
    assert proc.returncode == 0, output
    assert "no job consumer" in output


def test_start_role_worker_refuses_no_jobs(tmp_path):
    proc, _port = otklik_start_process(tmp_path / "data", "--role", "worker", "--no-jobs")
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert b"--no-jobs" in output
