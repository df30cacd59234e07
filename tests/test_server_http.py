"""A real `otklik start` under hostile clients: idle, slow and idle keep-alive connections; SQLite by URL."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.helpers import otklik_start_process, server_env

pytestmark = [
    pytest.mark.xdist_group("server"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses POSIX signals"),
]

# A normal request must answer within this many seconds while the hostile connections are open.
FAST_SECONDS = 1.0
HOSTILE_CONNECTIONS = 50


def _request(port: int, path: str, *, timeout: float = 5.0, method: str = "GET", body=None, headers=None):
    """Send one request on a fresh connection; return (status, body, seconds)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, data, time.monotonic() - started
    finally:
        conn.close()


@contextmanager
def _otklik_start(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[int]:
    """Run `otklik start` on a free port until it answers; stop it (and its children) afterwards."""
    proc, port = otklik_start_process(tmp_path / "data", *args, env=env)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                pytest.fail(f"otklik start exited early with {proc.returncode}:\n{output}")
            try:
                status, _, _ = _request(port, "/login/", timeout=2)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("otklik start did not answer in time")
            time.sleep(0.2)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=25)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()


def _assert_still_fast(port: int) -> None:
    """A page and a static file answer in under a second, a few times over."""
    for _ in range(3):
        for path in ("/login/", "/static/otklik/otklik.css"):
            try:
                status, _, seconds = _request(port, path, timeout=FAST_SECONDS * 3)
            except TimeoutError:
                pytest.fail(f"{path} did not answer within {FAST_SECONDS * 3} s")
            assert status == 200, path
            assert seconds < FAST_SECONDS, f"{path} took {seconds:.2f} s"
        time.sleep(0.3)


def _connect(port: int, stack: ExitStack) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    stack.callback(sock.close)
    return sock


def test_start_idle_and_slow_connections_do_not_delay_other_requests(tmp_path):
    with _otklik_start(tmp_path, "--no-jobs") as port, ExitStack() as stack:
        _assert_still_fast(port)  # warm: templates compiled, static files found
        for _ in range(HOSTILE_CONNECTIONS):
            _connect(port, stack)  # connects, then says nothing
        slow = [_connect(port, stack) for _ in range(HOSTILE_CONNECTIONS)]
        header = b"GET /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
        stop = threading.Event()

        def trickle() -> None:
            """Send one byte a second on every slow connection, like a slowloris client."""
            for i in range(len(header)):
                for sock in slow:
                    try:
                        sock.send(header[i : i + 1])
                    except OSError:
                        pass  # the server may close a client this slow; that is allowed
                if stop.wait(1.0):
                    return

        trickler = threading.Thread(target=trickle, daemon=True)
        trickler.start()
        stack.callback(trickler.join)
        stack.callback(stop.set)
        time.sleep(1.5)  # every hostile connection has been accepted and the slow ones have started
        _assert_still_fast(port)


def test_start_idle_keep_alive_connections_do_not_delay_other_requests(tmp_path):
    with _otklik_start(tmp_path, "--no-jobs") as port, ExitStack() as stack:
        _assert_still_fast(port)
        for _ in range(HOSTILE_CONNECTIONS):
            # A browser: one complete HTTP/1.1 request, the answer read, then the connection kept open idle.
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            stack.callback(conn.close)
            conn.request("GET", "/static/otklik/otklik.css")
            response = conn.getresponse()
            response.read()
            assert response.status == 200 and not response.will_close
        time.sleep(0.5)
        _assert_still_fast(port)


def test_start_with_a_sqlite_url_creates_tickets_beside_the_job_consumer_without_5xx(tmp_path):
    data = tmp_path / "data"
    env = server_env(data, OTKLIK_DATABASE_URL=f"sqlite:///{tmp_path / 'by-url.sqlite3'}")
    subprocess.run(
        [sys.executable, "-m", "otklik", "migrate", "--no-input", "-v0"], env=env, check=True, timeout=120
    )
    subprocess.run(
        [sys.executable, "-m", "otklik", "demo"], env=env, check=True, timeout=120, capture_output=True
    )
    token = subprocess.run(
        [sys.executable, "-m", "otklik", "token", "create", "client"],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    with _otklik_start(tmp_path, "--no-migrate", env=env) as port:
        body = json.dumps({"title": "Printer", "message": "The printer prints nothing."})
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def create(i: int) -> int:
            status, data, _ = _request(
                port, "/api/v1/tickets", method="POST", body=body, headers=headers, timeout=30
            )
            assert status < 500, data[:500]
            return status

        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(create, range(100)))
    assert statuses == [201] * 100
