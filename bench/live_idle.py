"""Measure what idle agents cost the server: the live requests of open staff pages while nothing changes.

    OTKLIK_DATABASE_URL=postgres://postgres@127.0.0.1:5432/otklik_bench python -m bench.live_idle --agents 50

Starts `otklik start --no-jobs --no-migrate` (bench.staff_list.Server), logs N browser-like sessions in as
the bench staff member, opens half of them on the ticket list and half on ticket pages, and then plays for
--seconds what their pages do while nobody changes anything: the list's live request every 15 s, the
ticket page's every 4 s (with If-None-Match, as live.js sends it), the presence "still here" every 60 s
and the bell's count every 60 s. Each agent starts at a random offset, as people open pages at different
moments. The CPU time of the server's processes (and of PostgreSQL's, when the database is PostgreSQL)
is read from /proc before and after: the figure is that time over the wall time, as a share of one core.
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.common import BENCH_PASSWORD, BENCH_STAFF, figure, note
from bench.staff_list import Server, Session

LIST_EVERY = 15.0
TICKET_EVERY = 4.0
PRESENCE_EVERY = 60.0
BELL_EVERY = 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--user", default=BENCH_STAFF)
    parser.add_argument("--password", default=BENCH_PASSWORD)
    args = parser.parse_args(argv)

    with Server(workers=args.workers) as server:
        agents = [Agent(server.base, n) for n in range(args.agents)]
        tickets = _ticket_ids(agents[0], args.user, args.password)
        for agent in agents:
            if not agent.session.login(args.user, args.password):
                note(f"{args.user} cannot log in: nothing measured.")
                return 1
            agent.open(tickets)
        server_pids = _tree(server.proc.pid)
        before_app, before_db = _cpu(server_pids), _cpu(_postgres_pids())
        stop = time.monotonic() + args.seconds
        threads = [threading.Thread(target=agent.idle, args=(stop,)) for agent in agents]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
        app = _cpu(_tree(server.proc.pid)) - before_app
        db = _cpu(_postgres_pids()) - before_db
    requests = sum(a.requests for a in agents)
    not_modified = sum(a.not_modified for a in agents)
    figure("live_idle_agents", args.agents, "agents")
    figure("live_idle_requests_per_s", round(requests / wall, 2), "req/s")
    figure("live_idle_304_share", round(100 * not_modified / max(requests, 1), 1), "%")
    figure("live_idle_app_cpu_share_of_a_core", round(100 * app / wall, 2), "%")
    figure("live_idle_db_cpu_share_of_a_core", round(100 * db / wall, 2), "%")
    figure("live_idle_app_cpu_per_request_ms", round(1000 * app / max(requests, 1), 2), "ms")
    errors = sum(a.errors for a in agents)
    if errors:
        note(f"{errors} requests failed")
    return 0


class Agent:
    """One open page: its session, what it polls and the ETags it holds."""

    def __init__(self, base: str, n: int):
        self.session = Session(base)
        self.n = n
        self.on_ticket = n % 2 == 1
        self.etags: dict[str, str] = {}
        self.requests = self.not_modified = self.errors = 0

    def open(self, tickets: list[int]) -> None:
        """Load the page once (as a browser does) and take the first answer of each live part."""
        if self.on_ticket:
            ticket = tickets[self.n % len(tickets)]
            self.page = f"/staff/tickets/{ticket}/"
            self.live = f"/staff/tickets/{ticket}/live/"
            self.presence = f"/staff/tickets/{ticket}/presence/"
        else:
            self.page = "/staff/tickets/"
            self.live = "/staff/tickets/?live=1"
            self.presence = ""
        self.session.get(self.page)
        for path in (self.live, "/notifications/count/"):
            self._get(path)
        self.requests = self.not_modified = 0

    def idle(self, stop: float) -> None:
        """Poll like the page's scripts until `stop` (monotonic)."""
        live_every = TICKET_EVERY if self.on_ticket else LIST_EVERY
        now = time.monotonic()
        due = {
            "live": now + random.uniform(0, live_every),
            "bell": now + random.uniform(0, BELL_EVERY),
            "presence": now + random.uniform(0, PRESENCE_EVERY) if self.presence else float("inf"),
        }
        while True:
            name = min(due, key=lambda key: due[key])
            wait = due[name] - time.monotonic()
            if due[name] >= stop:
                return
            if wait > 0:
                time.sleep(wait)
            if name == "live":
                self._get(self.live)
                due[name] += live_every
            elif name == "bell":
                self._get("/notifications/count/")
                due[name] += BELL_EVERY
            else:
                self._post(self.presence)
                due[name] += PRESENCE_EVERY

    def _get(self, path: str) -> None:
        headers = {"HX-Request": "true", "Accept-Language": "ru"}
        if path in self.etags:
            headers["If-None-Match"] = self.etags[path]
        self._send(urllib.request.Request(self.session.base + path, headers=headers), path)

    def _post(self, path: str) -> None:
        token = next((c.value for c in self.session.jar if c.name == "csrftoken"), "")
        request = urllib.request.Request(
            self.session.base + path,
            data=b"still=1",
            headers={
                "X-CSRFToken": token,
                "HX-Request": "true",
                "Referer": self.session.base + self.page,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        self._send(request, None)

    def _send(self, request: urllib.request.Request, path: str | None) -> None:
        self.requests += 1
        try:
            with self.session.opener.open(request, timeout=30) as response:
                response.read()
                if path and response.headers.get("ETag"):
                    self.etags[path] = response.headers["ETag"]
        except urllib.error.HTTPError as exc:
            exc.read()
            if exc.code == 304:
                self.not_modified += 1
            else:
                self.errors += 1
        except OSError:
            self.errors += 1


def _ticket_ids(agent: Agent, user: str, password: str, count: int = 25) -> list[int]:
    """Return tickets the bench staff member sees: the first rows of their list."""
    import re

    probe = Session(agent.session.base)
    probe.login(user, password)
    _status, body, _headers, _ms = probe.get("/staff/tickets/?size=50")
    ids = [int(n) for n in re.findall(r'data-nav-row="(\d+)"', body.decode(errors="replace"))]
    return ids[:count] or [1]


def _tree(root: int) -> list[int]:
    """Return the process and its descendants (granian runs its workers as children)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _cpu(pids: list[int]) -> float:
    """Return the user + system CPU seconds of the processes (their exited children's time included)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return total / CLOCK_TICKS


if __name__ == "__main__":
    raise SystemExit(main())
