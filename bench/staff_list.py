"""Time the first page of the staff ticket list through a real server process, as a browser would get it.

    OTKLIK_DATABASE_URL=postgres://postgres@127.0.0.1:5432/otklik_bench python -m bench.staff_list

Starts `otklik start --no-jobs --no-migrate` (granian) on a free port against the database of
OTKLIK_DATABASE_URL (filled by bench.gen_tickets), logs in through the /login/ form as a staff member and
as an administrator (urllib with a cookie jar and the form's CSRF token), then requests the list N times
after a few warm-ups and prints the median and the 95th percentile. The time is the server's own figure
when the response carries a `Server-Timing` header, else the wall time of the request on loopback.
The REST API's first page (`/api/v1/tickets`, bearer token) is timed the same way.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.common import BENCH_ADMIN, BENCH_PASSWORD, BENCH_STAFF, figure, median, note, percentile

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"')
SERVER_TIMING_DUR = re.compile(r"(?:^|,)\s*([\w-]+)[^,]*?;\s*dur=([\d.]+)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--path", default="/staff/tickets/", help="The page to time (default /staff/tickets/)."
    )
    parser.add_argument("--api-path", default="/api/v1/tickets", help="The API list to time ('' to skip).")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--password", default=BENCH_PASSWORD)
    parser.add_argument("--staff-user", default=BENCH_STAFF)
    parser.add_argument("--admin-user", default=BENCH_ADMIN)
    args = parser.parse_args(argv)

    if not os.environ.get("OTKLIK_DATABASE_URL"):
        note("OTKLIK_DATABASE_URL is not set: timing the embedded SQLite database of OTKLIK_DATA_DIR.")
    with Server(workers=args.workers) as server:
        for label, username in (("", args.staff_user), ("_admin", args.admin_user)):
            session = Session(server.base)
            if session.login(username, args.password):
                result = time_page(session, args.path, args.requests, args.warmup)
                report(f"staff_list_first_page{label}", result)
            else:
                note(f"No login form at {server.base}/login/ (or {username} cannot log in): page not timed.")
            if args.api_path:
                api = Session(server.base, token=_token(username))
                report(
                    f"api_tickets_first_page{label}",
                    time_page(api, args.api_path, args.requests, args.warmup),
                )
    return 0


@dataclass
class Timing:
    wall_ms: list[float]
    server_ms: list[float]
    status: int
    size: int


def report(name: str, result: Timing | None) -> None:
    if result is None:
        return
    figure(f"{name}_ms_median", median(result.wall_ms), "ms")
    figure(f"{name}_ms_p95", percentile(result.wall_ms, 95), "ms")
    if result.server_ms:
        figure(f"{name}_server_ms_median", median(result.server_ms), "ms")
        figure(f"{name}_server_ms_p95", percentile(result.server_ms, 95), "ms")
    figure(f"{name}_bytes", result.size, "bytes")


def time_page(session: Session, path: str, requests: int, warmup: int) -> Timing | None:
    status, body, _headers, _wall = session.get(path)
    if status != 200:
        note(f"{path} answered {status}; not timed.")
        return None
    for _ in range(max(warmup - 1, 0)):
        session.get(path)
    wall: list[float] = []
    server: list[float] = []
    size = len(body)
    for _ in range(requests):
        status, body, headers, elapsed = session.get(path)
        if status != 200:
            note(f"{path} answered {status} during the run.")
            return None
        wall.append(elapsed)
        # Header names as the server wrote them: granian sends them in lower case.
        header = next((v for k, v in headers.items() if k.lower() == "server-timing"), "")
        if timing := _server_timing(header):
            server.append(timing)
    return Timing(wall, server, 200, size)


def _server_timing(header: str) -> float | None:
    """Return the `total` (or the largest) duration of a Server-Timing header, in ms."""
    entries = {name: float(dur) for name, dur in SERVER_TIMING_DUR.findall(header)}
    if not entries:
        return None
    return entries.get("total", max(entries.values()))


class Session:
    """A browser-like client: cookies, CSRF from the login form, or a bearer token."""

    def __init__(self, base: str, token: str | None = None):
        self.base = base
        self.token = token
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, bytes, dict[str, str], float]:
        request = urllib.request.Request(self.base + path, headers=self._headers())
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=60) as response:
                body = response.read()
                status, headers = response.status, dict(response.headers)
        except urllib.error.HTTPError as exc:
            body = exc.read()
            status, headers = exc.code, dict(exc.headers)
        return status, body, headers, (time.perf_counter() - started) * 1000

    def _headers(self) -> dict[str, str]:
        headers = {"Accept-Language": "ru"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def login(self, username: str, password: str) -> bool:
        status, body, _headers, _ms = self.get("/login/")
        match = CSRF_INPUT.search(body.decode(errors="replace")) if status == 200 else None
        if match is None:
            return False
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": match.group(1)}
        ).encode()
        request = urllib.request.Request(
            self.base + "/login/", data=form, headers={**self._headers(), "Referer": self.base + "/login/"}
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            note(f"login as {username} answered {exc.code}")
            return False
        return any(cookie.name == "sessionid" for cookie in self.jar)


def _token(username: str) -> str:
    """Issue an API token for the user with `otklik token create` (the same database as the server)."""
    result = subprocess.run(
        [sys.executable, "-m", "otklik", "token", "create", username, "--name", "bench"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`otklik start --no-jobs --no-migrate` on a free port, with its own scratch data directory."""

    def __init__(self, *, workers: int):
        self.workers = workers
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.scratch = tempfile.TemporaryDirectory(prefix="otklik-bench-")
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        env = os.environ.copy()
        env["OTKLIK_DATA_DIR"] = self.scratch.name  # uploads, jobs, secret key: nothing touches the real one
        env.setdefault("OTKLIK_LOG_LEVEL", "ERROR")
        log = open(Path(self.scratch.name) / "server.log", "wb")  # noqa: SIM115 (closed in __exit__)
        self.log = log
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "otklik",
                "start",
                "--no-jobs",
                "--no-migrate",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with {self.proc.returncode}:\n{self._log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise SystemExit("the server did not start within 60 s")

    def _log_text(self) -> str:
        return (Path(self.scratch.name) / "server.log").read_text(errors="replace")[-3000:]

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.scratch.cleanup()


if __name__ == "__main__":
    sys.exit(main())
