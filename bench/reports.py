"""Time every report page (issue 16) through a real server process, as a staff member and as an admin.

    OTKLIK_DATABASE_URL=postgres://postgres@127.0.0.1:5432/otklik_bench python -m bench.reports

Starts `otklik start` (granian) like bench.staff_list, logs in through the /login/ form as the bench staff
member and the bench admin, and requests each page N times after warm-ups: the support desk by several
dimensions, and the load, SLA compliance, response times, funnel and deflection pages over the last 30
days by day and the last 12 months by month. The time is the server's own (`Server-Timing`), printed as
p50 and p95. A page that answers 404 is reported as missing and skipped, so the script runs before every
page exists.

Then, in this process (Django test client, the same database), each page is requested once more with a
statement recorder: the number of queries, their total time and the slowest statement. `--explain N`
runs EXPLAIN (ANALYZE, BUFFERS) on the N slowest distinct statements and prints the plans (to stderr,
or into `--plans DIR`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench.common import BENCH_ADMIN, BENCH_PASSWORD, BENCH_STAFF, figure, median, note, percentile
from bench.staff_list import Server, Session, time_page

DESK_DIMENSIONS = ("responsible", "status", "criticality", "sla", "process_state", "l1_outcome")
PERIOD_PAGES = (
    ("load", "/reports/load/"),
    ("sla", "/reports/sla/"),
    ("response_times", "/reports/response-times/"),
    ("funnel", "/reports/funnel/"),
    ("deflection", "/reports/deflection/"),
)


@dataclass(frozen=True)
class Page:
    name: str
    url: str


def pages(today: dt.date) -> list[Page]:
    """Return the pages to time: the desk by each dimension, each period report over 30 days and 12 months."""
    out = [Page(f"desk_{by}", "/reports/?" + urlencode({"by": by})) for by in DESK_DIMENSIONS]
    month_start = today.replace(day=1)
    year_ago = (month_start - dt.timedelta(days=335)).replace(day=1)  # 12 months with the current one
    periods = (
        ("30d_day", {"date_from": today - dt.timedelta(days=29), "date_to": today, "grain": "day"}),
        ("12m_month", {"date_from": year_ago, "date_to": today, "grain": "month"}),
    )
    for name, path in PERIOD_PAGES:
        for label, params in periods:
            query = urlencode({k: v.isoformat() if isinstance(v, dt.date) else v for k, v in params.items()})
            out.append(Page(f"{name}_{label}", f"{path}?{query}"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=10, help="Timed requests per page and user.")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--only", default="", help="Time only pages whose name contains this text.")
    parser.add_argument("--today", help="The day the periods end (ISO date; default: today in Moscow).")
    parser.add_argument("--password", default=BENCH_PASSWORD)
    parser.add_argument("--staff-user", default=BENCH_STAFF)
    parser.add_argument("--admin-user", default=BENCH_ADMIN)
    parser.add_argument("--no-server", action="store_true", help="Skip the timing over HTTP.")
    parser.add_argument("--no-queries", action="store_true", help="Skip the in-process query count.")
    parser.add_argument("--explain", type=int, default=0, help="EXPLAIN ANALYZE the N slowest statements.")
    parser.add_argument("--plans", help="Write the plans into this directory instead of stderr.")
    args = parser.parse_args(argv)

    if not os.environ.get("OTKLIK_DATABASE_URL"):
        note("OTKLIK_DATABASE_URL is not set: timing the embedded SQLite database of OTKLIK_DATA_DIR.")
    today = dt.date.fromisoformat(args.today) if args.today else moscow_today()
    chosen = [p for p in pages(today) if args.only in p.name]
    users = (("staff", args.staff_user), ("admin", args.admin_user))
    present = {p.name for p in chosen}
    if not args.no_server:
        present = time_over_http(chosen, users, args)
    if not args.no_queries:
        slowest = count_queries([p for p in chosen if p.name in present], users)
        if args.explain:
            explain(slowest, args.explain, Path(args.plans) if args.plans else None)
    return 0


def moscow_today() -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Europe/Moscow")).date()


def time_over_http(chosen: list[Page], users, args) -> set[str]:
    """Time each page over HTTP for each user; return the names of the pages that exist."""
    missing: set[str] = set()
    with Server(workers=1) as server:
        for label, username in users:
            session = Session(server.base)
            if not session.login(username, args.password):
                note(f"{username} cannot log in at {server.base}/login/: pages not timed for {label}.")
                continue
            for page in chosen:
                if page.name in missing:
                    continue
                try:
                    status, _body, _headers, _ms = session.get(page.url)
                    if status != 404:
                        result = time_page(session, page.url, args.requests, args.warmup)
                except OSError as exc:  # a read timeout (staff_list's Session waits 60 s): say so, go on
                    note(f"{page.url}: {type(exc).__name__} ({exc}) as {label}; not timed")
                    figure(f"reports_{page.name}_{label}", "timeout", "")
                    continue
                if status == 404:
                    note(f"{page.url}: missing (404), skipped")
                    figure(f"reports_{page.name}", "missing", "")
                    missing.add(page.name)
                    continue
                if result is None:
                    continue
                samples = result.server_ms or result.wall_ms
                figure(f"reports_{page.name}_{label}_ms_p50", median(samples), "ms")
                figure(f"reports_{page.name}_{label}_ms_p95", percentile(samples, 95), "ms")
    return {p.name for p in chosen} - missing


@dataclass
class Statement:
    page: str
    user: str
    sql: str
    params: object
    ms: float


@dataclass
class Recorder:
    """Record every statement a request runs: its SQL, parameters and duration (connection.execute_wrapper)."""

    statements: list[Statement] = field(default_factory=list)
    page: str = ""
    user: str = ""

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            ms = (time.perf_counter() - started) * 1000
            self.statements.append(Statement(self.page, self.user, sql, params, ms))


def count_queries(chosen: list[Page], users) -> list[Statement]:
    """Request each page once in this process per user; print its query count and database time."""
    from bench.common import django_setup

    django_setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    recorder = Recorder()
    everything: list[Statement] = []
    for label, username in users:
        client = Client(HTTP_ACCEPT_LANGUAGE="ru")
        user = User.objects.filter(username=username).first()
        if user is None:
            note(f"no user {username}: queries not counted for {label}")
            continue
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        for page in chosen:
            try:
                client.get(page.url)  # warm the configuration caches, as the server's workers are
            except Exception:  # noqa: S110 (the measured requests below report it)
                pass
            # Twice, keeping the run with fewer statements: a configuration cache that expires between
            # requests (access levels, group members, process roles) adds a few reloads to one of them.
            runs = []
            for _attempt in range(2):
                recorder.statements, recorder.page, recorder.user = [], page.name, label
                started = time.perf_counter()
                try:
                    with connection.execute_wrapper(recorder):
                        status = client.get(page.url).status_code
                except Exception as exc:  # the test client re-raises a view's error: report it, go on
                    note(f"{page.url} failed in process: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                    status = 500
                runs.append(((time.perf_counter() - started) * 1000, recorder.statements, status))
            total, statements, status = min(runs, key=lambda run: len(run[1]))
            if status != 200:
                note(f"{page.url} answered {status} in process")
                continue
            db_ms = sum(s.ms for s in statements)
            figure(f"reports_{page.name}_{label}_queries", len(statements), "queries")
            slow = max(statements, key=lambda s: s.ms) if statements else None
            note(
                f"{page.name} as {label}: {total:.0f} ms in process, {db_ms:.0f} ms in {len(statements)} "
                f"statements" + (f"; slowest {slow.ms:.0f} ms: {slow.sql[:160]}" if slow else "")
            )
            everything.extend(statements)
    return everything


def explain(statements: list[Statement], n: int, directory: Path | None) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) the n slowest distinct statements; print or write the plans."""
    from django.db import connection

    seen: set[str] = set()
    slowest = []
    for statement in sorted(statements, key=lambda s: s.ms, reverse=True):
        if statement.sql in seen or not statement.sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        seen.add(statement.sql)
        slowest.append(statement)
        if len(slowest) >= n:
            break
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
    for number, statement in enumerate(slowest, start=1):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement.sql, statement.params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        text = (
            f"-- {statement.page} as {statement.user}: {statement.ms:.0f} ms in the request\n"
            f"-- parameters: {statement.params!r}\n{statement.sql}\n\n{plan}\n"
        )
        if directory is None:
            print(text, file=sys.stderr)
        else:
            (directory / f"{number:02d}_{statement.page}_{statement.user}.txt").write_text(text)
            note(f"plan {number}: {statement.page} as {statement.user}, {statement.ms:.0f} ms")


if __name__ == "__main__":
    sys.exit(main())
