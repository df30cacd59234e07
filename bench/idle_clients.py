"""Time a page and a static file of a real `otklik start` while hostile clients hold connections open.

    python -m bench.idle_clients [--repeat 5] [--threads 5]

Scenarios: no other client; 5 idle TCP connections (connected, silent); 50 idle plus 50 slow ones (one
byte a second of a request header, like slowloris); 50 idle keep-alive connections (one request answered,
the socket kept open, as a browser does). Each figure is the slowest of `--repeat` fetches on a fresh
connection (a client gives up after 60 s, printed as 60). Runs on SQLite in a throwaway data directory.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from bench.common import figure, note

GIVE_UP_SECONDS = 60.0
PATHS = {"page": "/login/", "static": "/static/otklik/otklik.css"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fetch(port: int, path: str) -> float:
    """Return the seconds one GET on a fresh connection takes (GIVE_UP_SECONDS when it never answers)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=GIVE_UP_SECONDS)
    try:
        conn.request("GET", path)
        conn.getresponse().read()
    except TimeoutError:
        return GIVE_UP_SECONDS
    finally:
        conn.close()
    return time.monotonic() - started


def _start(data_dir: Path, threads: int) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTKLIK_", "DJANGO_"))}
    env["OTKLIK_DATA_DIR"] = str(data_dir)
    command = [sys.executable, "-m", "otklik", "start", "--no-jobs", "--port", str(port)]
    command += ["--workers", "1", "--threads", str(threads)]
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if _fetch(port, "/login/") < GIVE_UP_SECONDS:
                return proc, port
        except OSError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("otklik start did not answer within 120 s")


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=25)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _idle(port: int, stack: ExitStack, count: int) -> None:
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        stack.callback(sock.close)


def _slow(port: int, stack: ExitStack, count: int) -> None:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        stack.callback(sock.close)
        socks.append(sock)
    header = b"GET /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 400
    stop = threading.Event()

    def trickle() -> None:
        for i in range(len(header)):
            for sock in socks:
                try:
                    sock.send(header[i : i + 1])
                except OSError:
                    pass  # the server may close a client this slow
            if stop.wait(1.0):
                return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    stack.callback(thread.join)
    stack.callback(stop.set)


def _keep_alive(port: int, stack: ExitStack, count: int) -> None:
    for opened in range(count):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        stack.callback(conn.close)
        try:
            conn.request("GET", PATHS["static"])
            conn.getresponse().read()
        except TimeoutError:
            # The server already holds as many kept-alive clients as it serves: that is the finding.
            note(f"keep-alive client {opened + 1} got no answer within 5 s; {opened} held open")
            return


SCENARIOS = {
    "none": lambda port, stack: None,
    "idle5": lambda port, stack: _idle(port, stack, 5),
    "idle50_slow50": lambda port, stack: (_idle(port, stack, 50), _slow(port, stack, 50)),
    "keepalive50": lambda port, stack: _keep_alive(port, stack, 50),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated, of: %(default)s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="otklik-idle-") as tmp:
        subprocess.run(
            [sys.executable, "-m", "otklik", "migrate", "--no-input", "-v0"],
            env={**os.environ, "OTKLIK_DATA_DIR": tmp},
            check=True,
        )
        for scenario in args.scenarios.split(","):
            open_hostile = SCENARIOS[scenario]
            proc, port = _start(Path(tmp), args.threads)  # a fresh server: no leftovers between scenarios
            try:
                for path in PATHS.values():
                    _fetch(port, path)  # warm: templates compiled, the file found
                with ExitStack() as stack:
                    open_hostile(port, stack)
                    time.sleep(1.0)  # accepted, and the slow clients have started
                    for kind, path in PATHS.items():
                        worst = max(_fetch(port, path) for _ in range(args.repeat))
                        figure(f"idle_clients_{scenario}_{kind}_max", round(worst * 1000, 1), "ms")
            finally:
                _stop(proc)
    note(f"{args.threads} threads, 1 worker; {GIVE_UP_SECONDS:.0f} s means no answer at all")


if __name__ == "__main__":
    main()
