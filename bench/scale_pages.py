"""Time the pages people use most at 10⁴, 10⁵ and 10⁶ tickets in one run (issue 19, "a million tickets").

    python -m bench.scale_pages --db 10k=otklik_m10k --db 100k=otklik_m100k --db 1M=otklik_m1

Each `--db LABEL=NAME` is a PostgreSQL database filled by `bench.gen_tickets` (NAME alone or a full URL).
The run:

1. prepares every database in a child process (`--prepare`, Django on that database): runs the SLA tick
   once so that nothing is due, puts one client in 1% of the clients' company (a client group, so that
   client sees many tickets), tags every 20th ticket `bench-common` and every 1000th `bench-rare`,
   issues API tokens and picks what the pages need (a ticket with many messages and a typical one, a
   typical client, a category, a criticality, a deep API page). Idempotent: a second run adds nothing;
2. starts one `otklik start --no-jobs --no-migrate` (granian, one worker) per database, all at once,
   logs in as the bench staff member, the bench admin and the two clients;
3. times every page on every database interleaved: after the warm-ups, request i goes to 10⁴, then 10⁵,
   then 10⁶, so that whatever else the machine does falls on all three alike;
4. times the SLA tick with nothing due in a child process per database (`--sla`, the job's own code).

Prints `scale_<page>_<label>_{server,wall}_{p50,p95} <ms> ms` lines, then two markdown tables (server
time from the `Server-Timing` header, wall time on loopback), one column per database.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from bench.common import (
    BENCH_ADMIN,
    BENCH_PASSWORD,
    BENCH_STAFF,
    django_setup,
    figure,
    median,
    note,
    percentile,
)
from bench.staff_list import Server, Session, _server_timing

PG_BASE = "postgres://postgres@127.0.0.1:5432/"
COMPANY_GROUP = "Bench big customer"
COMPANY_SHARE = 0.01  # of the clients: the company's employees see each other's tickets
COMMON_TAG, COMMON_EVERY = "bench-common", 20
RARE_TAG, RARE_EVERY = "bench-rare", 1000
SLA_TICKS = 20
# Words the search is timed with: a word form the stored texts do not contain (the stored ones are
# "пароль", "пароля"; "payment"), so only the stemmer finds them; and a rarer word.
SEARCHES = {
    "search_ru_morph": "паролями",
    "search_ru_two_words": "оплаты картой",
    "search_en_morph": "payments",
    "search_en_rare": "northwind",
}


# -- preparing one database (runs inside a child process with OTKLIK_DATABASE_URL set) -------------------
def prepare() -> dict:
    """Make the database ready for the pages and return what they need (as JSON-able values)."""
    django_setup()
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from otklik.accounts.models import SupportGroup, SupportGroupMember
    from otklik.accounts.services import token_create
    from otklik.core import clock
    from otklik.tickets.models import Message, Tag, Ticket, TicketTag, tag_key
    from otklik.tickets.policies import TicketPolicy
    from otklik.tickets.services.sla_tick import sla_tick

    started = time.perf_counter()
    first_tick = sla_tick(clock.now())  # what fell due since the generation's --now: nothing is due after it
    staff = User.objects.get(username=BENCH_STAFF)
    admin = User.objects.get(username=BENCH_ADMIN)
    clients = list(
        User.objects.filter(username__startswith="bench-client-").order_by("id").values_list("id", flat=True)
    )
    company_size = max(int(len(clients) * COMPANY_SHARE), 2)
    with transaction.atomic():
        group, _made = SupportGroup.objects.get_or_create(
            name=COMPANY_GROUP, defaults={"kind": SupportGroup.Kind.CLIENT}
        )
        have = set(group.memberships.values_list("user_id", flat=True))
        SupportGroupMember.objects.bulk_create(
            SupportGroupMember(group=group, user_id=uid) for uid in clients[:company_size] if uid not in have
        )
        now = clock.now()
        for name, every in ((COMMON_TAG, COMMON_EVERY), (RARE_TAG, RARE_EVERY)):
            tag, made = Tag.objects.get_or_create(
                key=tag_key(name), defaults={"name": name, "created_at": now}
            )
            if made:
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"INSERT INTO {TicketTag._meta.db_table} (ticket_id, tag_id) "
                        f"SELECT id, %s FROM {Ticket._meta.db_table} WHERE id %% %s = 0",
                        [tag.pk, every],
                    )
                    cursor.execute(f"ANALYZE {TicketTag._meta.db_table}")
    company_client = User.objects.get(pk=clients[0]).username
    typical_client = User.objects.get(pk=clients[len(clients) // 2]).username
    visible = TicketPolicy(staff).visible()
    many = visible.order_by("-message_count", "-id").values_list("id", "message_count").first()
    typical_count = int(
        median(list(Ticket.objects.filter(id__lte=2000).values_list("message_count", flat=True)))
    )
    typical = (
        visible.filter(message_count=typical_count, closed_at__isnull=True)
        .order_by("-id")
        .values_list("id", "message_count")
        .first()
    ) or visible.order_by("-id").values_list("id", "message_count").first()

    def most_common(column: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {column} FROM {Ticket._meta.db_table} WHERE {column} IS NOT NULL "
                f"GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 1"
            )
            return cursor.fetchone()[0]

    total = Ticket.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
        cursor.execute(f"SELECT pg_total_relation_size('{Ticket._meta.db_table}')")
        ticket_bytes = cursor.fetchone()[0]
    return {
        "tickets": total,
        "messages": Message.objects.count(),
        "database_bytes": size,
        "ticket_table_bytes": ticket_bytes,
        "staff_visible": visible.count(),
        "first_tick": repr(first_tick),
        "staff_token": token_create(user=staff, name="bench-scale"),
        "admin_token": token_create(user=admin, name="bench-scale"),
        "staff_id": staff.pk,
        "company_client": company_client,
        "company_tickets": Ticket.objects.filter(author_id__in=clients[:company_size]).count(),
        "typical_client": typical_client,
        "ticket_many": list(many),
        "ticket_typical": list(typical),
        "category": most_common("category_id"),
        "criticality": most_common("criticality_id"),
        # The API's deep page: half-way through everything the admin sees, 50 a page.
        "deep_page": max(total // 2 // 50, 1),
        **_deep_cursor(total // 2),
        "prepare_seconds": round(time.perf_counter() - started, 1),
    }


def sla_ticks(count: int) -> dict:
    """Time `count` SLA ticks with nothing due (the job's code, in this process); return the times in ms."""
    django_setup()
    from django.db import connection

    from otklik.core import clock
    from otklik.tickets.services.sla_tick import sla_tick

    sla_tick(clock.now())  # anything that fell due since the preparation
    connection.ensure_connection()
    times, reports = [], set()
    for _ in range(count):
        started = time.perf_counter()
        report = sla_tick(clock.now())
        times.append((time.perf_counter() - started) * 1000)
        reports.add(repr(report))
    return {"ms": times, "reports": sorted(reports)}


def queries(label: str, only: set[str], explain_n: int, plans: str) -> None:
    """Request each page in this process (Django's test client) and print its statements' times.

    Runs on the database of OTKLIK_DATABASE_URL; `explain_n` > 0 runs EXPLAIN (ANALYZE, BUFFERS) on each
    page's slowest statements (bench.reports' recorder and explainer), into `plans` when given.
    """
    from pathlib import Path

    from bench.reports import Recorder, explain

    info = prepare()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    db = Database(label, os.environ.get("OTKLIK_DATABASE_URL", ""), info)
    usernames = {
        "staff": BENCH_STAFF,
        "admin": BENCH_ADMIN,
        "company": info["company_client"],
        "client": info["typical_client"],
    }
    recorder = Recorder()
    for page in pages():
        if only and page.name not in only:
            continue
        who = page.who.removesuffix("_api")
        if page.who.endswith("_api"):
            client = Client(HTTP_AUTHORIZATION=f"Bearer {info[who + '_token']}", HTTP_ACCEPT_LANGUAGE="ru")
        else:
            client = Client(HTTP_ACCEPT_LANGUAGE="ru")
            user = User.objects.get(username=usernames[who])
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        path = page.path(db)
        client.get(path)  # warm the configuration caches, as a server's worker is
        runs = []
        for _attempt in range(2):
            recorder.statements, recorder.page, recorder.user = [], page.name, who
            started = time.perf_counter()
            with connection.execute_wrapper(recorder):
                status = client.get(path).status_code
            runs.append(((time.perf_counter() - started) * 1000, recorder.statements, status))
        total, statements, status = min(runs, key=lambda run: run[0])
        db_ms = sum(s.ms for s in statements)
        note(
            f"{page.name} {path} as {who}: {status}, {total:.0f} ms, {db_ms:.0f} ms in {len(statements)} statements"
        )
        for statement in sorted(statements, key=lambda s: s.ms, reverse=True)[:3]:
            note(f"    {statement.ms:6.1f} ms  {' '.join(statement.sql.split())[:300]}")
        if explain_n:
            explain(statements, explain_n, Path(plans) / page.name if plans else None)


def _deep_cursor(position: int) -> dict:
    """Return the API's cursor of the row at `position` newest first (none before keyset paging existed)."""
    from otklik.tickets.models import Ticket

    try:
        from otklik.tickets.keyset import cursor_encode
    except ImportError:  # the code before issue 19 (bench.scale_pages --pythonpath): offset pages only
        return {"deep_cursor": ""}
    row = Ticket.objects.order_by("-created_at", "-id")[position]
    return {"deep_cursor": cursor_encode(row, "-created")}


# -- the run ------------------------------------------------------------------------------------------
@dataclass
class Database:
    label: str
    url: str
    info: dict = field(default_factory=dict)
    server: Server | None = None
    sessions: dict[str, Session] = field(default_factory=dict)


@dataclass
class Page:
    name: str
    who: str  # a key of Database.sessions
    path: Callable[[Database], str]


def _child(db: Database, *args: str) -> dict:
    env = {**os.environ, "OTKLIK_DATABASE_URL": db.url}
    result = subprocess.run(
        [sys.executable, "-m", "bench.scale_pages", *args], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} on {db.label} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _list(**params: object) -> Callable[[Database], str]:
    def path(db: Database) -> str:
        values = {k: (v(db) if callable(v) else v) for k, v in params.items()}
        return "/staff/tickets/" + ("?" + urlencode(values, doseq=True) if values else "")

    return path


def pages() -> list[Page]:
    """Return the pages timed, in the order of the table."""
    found = [
        Page("staff_list", "staff", _list()),
        Page("staff_list_admin", "admin", _list()),
        Page("filter_open", "staff", _list(state="open")),
        Page("filter_responsible", "staff", _list(responsible=lambda db: db.info["staff_id"])),
        Page("filter_category", "staff", _list(category=lambda db: db.info["category"])),
        Page("filter_criticality", "staff", _list(criticality=lambda db: db.info["criticality"])),
        Page("filter_overdue", "staff", _list(overdue="true")),
        Page("filter_tag_common", "staff", _list(tag=COMMON_TAG)),
        Page("filter_tag_rare", "staff", _list(tag=RARE_TAG)),
    ]
    found += [Page(name, "staff", _list(q=text)) for name, text in SEARCHES.items()]
    found += [Page("search_ru_morph_admin", "admin", _list(q=SEARCHES["search_ru_morph"]))]
    found += [
        Page("client_list_company", "company", lambda db: "/tickets/"),
        Page("client_list_typical", "client", lambda db: "/tickets/"),
        Page("ticket_many_messages", "staff", lambda db: f"/staff/tickets/{db.info['ticket_many'][0]}/"),
        Page("ticket_typical", "staff", lambda db: f"/staff/tickets/{db.info['ticket_typical'][0]}/"),
        Page("api_list", "staff_api", lambda db: "/api/v1/tickets"),
        Page("api_list_admin", "admin_api", lambda db: "/api/v1/tickets"),
        Page("api_deep_page", "admin_api", lambda db: f"/api/v1/tickets?page={db.info['deep_page']}"),
        Page(
            "api_deep_page_created",
            "admin_api",
            lambda db: f"/api/v1/tickets?sort=-created&page={db.info['deep_page']}",
        ),
        Page(
            "api_deep_cursor_created",
            "admin_api",
            lambda db: f"/api/v1/tickets?sort=-created&cursor={db.info['deep_cursor']}",
        ),
    ]
    return found


@dataclass
class Samples:
    wall: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    failed: str = ""


def time_page(page: Page, dbs: list[Database], requests: int, warmup: int) -> dict[str, Samples]:
    """Time one page on every database, the requests interleaved across the databases."""
    results = {db.label: Samples() for db in dbs}
    paths = {db.label: page.path(db) for db in dbs}
    for db in dbs:
        if paths[db.label].endswith("cursor="):  # the code timed has no keyset paging
            results[db.label].failed = "no cursor in this code"
    for _ in range(warmup):
        for db in dbs:
            if results[db.label].failed:
                continue
            session = db.sessions.get(page.who)
            if session is None:
                results[db.label].failed = f"no {page.who} session"
                continue
            status, _body, _headers, _ms = session.get(paths[db.label])
            if status != 200:
                results[db.label].failed = f"{paths[db.label]} answered {status}"
    for _ in range(requests):
        for db in dbs:
            if results[db.label].failed:
                continue
            status, _body, headers, wall = db.sessions[page.who].get(paths[db.label])
            if status != 200:
                results[db.label].failed = f"{paths[db.label]} answered {status}"
                continue
            results[db.label].wall.append(wall)
            header = next((v for k, v in headers.items() if k.lower() == "server-timing"), "")
            if (server := _server_timing(header)) is not None:
                results[db.label].server.append(server)
    return results


def _cell(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{median(values):,.0f} / {percentile(values, 95):,.0f}"


def _table(title: str, rows: list[tuple[str, dict[str, list[float]]]], labels: list[str]) -> str:
    lines = [f"| {title} (p50 / p95 ms) | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    lines += [
        f"| {name} | " + " | ".join(_cell(cells.get(lb, [])) for lb in labels) + " |" for name, cells in rows
    ]
    return "\n".join(lines)


def run(dbs: list[Database], requests: int, warmup: int, only: set[str]) -> int:
    for db in dbs:
        db.info = _child(db, "--prepare")
        note(f"{db.label}: {json.dumps({k: v for k, v in db.info.items() if 'token' not in k})}")
        figure(f"scale_tickets_{db.label}", db.info["tickets"], "tickets")
        figure(f"scale_database_bytes_{db.label}", db.info["database_bytes"], "bytes")
    server_rows: list[tuple[str, dict[str, list[float]]]] = []
    wall_rows: list[tuple[str, dict[str, list[float]]]] = []
    try:
        for db in dbs:
            os.environ["OTKLIK_DATABASE_URL"] = db.url  # the Server copies the environment when it starts
            db.server = Server(workers=1).__enter__()
        for db in dbs:
            base = db.server.base
            for who, username in (
                ("staff", BENCH_STAFF),
                ("admin", BENCH_ADMIN),
                ("company", db.info["company_client"]),
                ("client", db.info["typical_client"]),
            ):
                session = Session(base)
                if session.login(username, BENCH_PASSWORD):
                    db.sessions[who] = session
                else:
                    note(f"{db.label}: {username} cannot log in")
            db.sessions["staff_api"] = Session(base, token=db.info["staff_token"])
            db.sessions["admin_api"] = Session(base, token=db.info["admin_token"])
        for page in pages():
            if only and page.name not in only:
                continue
            results = time_page(page, dbs, requests, warmup)
            server_rows.append((page.name, {lb: s.server for lb, s in results.items()}))
            wall_rows.append((page.name, {lb: s.wall for lb, s in results.items()}))
            for label, samples in results.items():
                if samples.failed:
                    note(f"{page.name} on {label}: {samples.failed}")
                    continue
                for kind, values in (("server", samples.server), ("wall", samples.wall)):
                    figure(f"scale_{page.name}_{label}_{kind}_p50", median(values), "ms")
                    figure(f"scale_{page.name}_{label}_{kind}_p95", percentile(values, 95), "ms")
    finally:
        for db in dbs:
            if db.server is not None:
                db.server.__exit__(None, None, None)
    if not only or "sla_tick_idle" in only:
        ticks: dict[str, list[float]] = {}
        for db in dbs:
            result = _child(db, "--sla", str(SLA_TICKS))
            ticks[db.label] = result["ms"]
            note(f"sla tick on {db.label}: {result['reports']}")
            figure(f"scale_sla_tick_idle_{db.label}_p50", median(result["ms"]), "ms")
            figure(f"scale_sla_tick_idle_{db.label}_p95", percentile(result["ms"], 95), "ms")
        server_rows.append(("sla_tick_idle (in-process)", ticks))
    labels = [db.label for db in dbs]
    print()
    print(_table("server time", server_rows, labels))
    print()
    print(_table("wall time", wall_rows, labels))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db",
        action="append",
        default=[],
        metavar="LABEL=NAME",
        help="A database to time (repeatable; NAME is a database on 127.0.0.1 or a full URL).",
    )
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--only", action="append", default=[], help="Time only these pages (repeatable).")
    parser.add_argument(
        "--pythonpath",
        help="Run the servers and the in-process steps on the code in this directory (e.g. a worktree of an "
        "older commit's src/, for a before/after comparison on the same databases).",
    )
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sla", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--queries",
        action="store_true",
        help="Instead of timing over HTTP, request the pages in this process on the first --db and print "
        "their statements (with --explain N, the plans of the N slowest per page).",
    )
    parser.add_argument("--explain", type=int, default=0)
    parser.add_argument("--plans", default="", help="Write the plans into this directory.")
    args = parser.parse_args(argv)
    if args.prepare:
        print(json.dumps(prepare()))
        return 0
    if args.sla:
        print(json.dumps(sla_ticks(args.sla)))
        return 0
    if args.pythonpath:  # the Server and the child processes inherit it; it comes before the venv's copy
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [args.pythonpath, os.environ.get("PYTHONPATH")])
        )
    specs = args.db or ["10k=otklik_m10k", "100k=otklik_m100k", "1M=otklik_m1"]
    dbs = []
    for spec in specs:
        label, _sep, name = spec.partition("=")
        dbs.append(Database(label, name if "://" in name else PG_BASE + name))
    if args.queries:
        os.environ["OTKLIK_DATABASE_URL"] = dbs[0].url
        queries(dbs[0].label, set(args.only), args.explain, args.plans)
        return 0
    return run(dbs, args.requests, args.warmup, set(args.only))


if __name__ == "__main__":
    sys.exit(main())
