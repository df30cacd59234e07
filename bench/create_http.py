"""Create tickets over HTTP against a real `otklik start`, with SLA, assignment and notifications enqueued.

    python -m bench.create_http [--backend sqlite|postgresql|all] [--tickets 1000]
        [--concurrency 4,8,16] [--workers 2,3] [--threads 2,4] [--no-redis] [--no-jobs] [--queries]

For each set-up (SQLite with the SQLite job queue, SQLite with Redis, PostgreSQL with Redis as production
runs it; `--no-redis` drops the Redis ones and gives PostgreSQL the SQLite queue), the database is made
afresh in a scratch data directory (PostgreSQL: the database `otklik_bench_create` next to
OTKLIK_BENCH_DATABASE_URL, dropped and created again), migrated, loaded with `otklik demo --tickets 0`
(users, groups, timetables with the production calendar, SLA levels) and given a default responsible,
so every new ticket gets an SLA, a working-time deadline, a responsible and its notification mail in
the outbox, in the creating transaction, with a delivery job queued after commit.

Then for every `--workers` x `--threads` it starts `otklik start --no-migrate` (granian plus the Huey
consumer delivering mail to files in the data directory) on a free port, and for every concurrency C
posts `--warmup` tickets, then `--tickets` tickets to POST /api/v1/tickets as the demo client (bearer
token) over C keep-alive connections (one thread each, http.client). Wall-clock tickets/s, the median and
95th percentile latency; afterwards the created tickets are checked through the ORM: each has an SLA, a
deadline, a responsible and outbox rows. Before the next run it waits until the worker has delivered
the outbox, so each run starts from the same state. With `--no-jobs` the server runs without the
consumer (`otklik start --no-jobs`): the request path alone, without delivery competing for the CPUs.

Prints `create_http_<setup>_w<W>_t<T>_c<C> <n> tickets/s` per run, and for the best run of each set-up
`create_http_<setup> <n> tickets/s` with its latencies; `--queries` adds the SQL queries of one
create request (Django's test client in a child process against the same database).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import BENCH_DATABASE_URL, figure, median, note, percentile
from bench.staff_list import _free_port

CLIENT = "client"  # the demo's client: SLA "Clients: standard" (6 working hours) through the clients' group
RESPONSIBLE = "staff"  # made the default responsible, so routing assigns every new ticket
REDIS_URL = "redis://127.0.0.1:6379/14"
API_PATH = "/api/v1/tickets"
# Variables of the caller's environment that would point the children at another database or mail server.
CLEARED_ENV = ("OTKLIK_DATABASE_URL", "OTKLIK_REDIS_URL", "OTKLIK_SMTP_URL", "OTKLIK_EMAIL_BACKEND")


@dataclass(frozen=True)
class Setup:
    backend: str  # sqlite | postgresql
    redis: bool
    no_jobs: bool = False

    @property
    def label(self) -> str:
        if self.backend == "postgresql":
            label = "pg" if self.redis else "pg_sqlitequeue"
        else:
            label = "sqlite_redis" if self.redis else "sqlite"
        return label + ("_nojobs" if self.no_jobs else "")


@dataclass
class Run:
    label: str
    workers: int
    threads: int
    concurrency: int
    wall: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.ids) / self.wall if self.wall else 0.0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in CHILD_COMMANDS:
        return CHILD_COMMANDS[argv[0]](argv[1:])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="all")
    parser.add_argument("--tickets", type=int, default=1000, help="Timed tickets per run.")
    parser.add_argument("--warmup", type=int, default=50, help="Untimed tickets before each run.")
    parser.add_argument("--concurrency", default="4,8,16", help="Connections at once (comma-separated).")
    parser.add_argument("--workers", default="2,3", help="granian worker processes (comma-separated).")
    parser.add_argument("--threads", default="2,4", help="Request threads per worker (comma-separated).")
    parser.add_argument("--no-redis", action="store_true", help="Use the SQLite job queue everywhere.")
    parser.add_argument("--redis-url", default=REDIS_URL, help="The Redis database of the job queue.")
    parser.add_argument("--queries", action="store_true", help="Also list the SQL of one create request.")
    parser.add_argument(
        "--no-jobs",
        action="store_true",
        help="Serve without the job consumer: the mail stays in the outbox (the request path alone).",
    )
    args = parser.parse_args(argv)

    setups = []
    if args.backend in ("sqlite", "all"):
        setups.append(Setup("sqlite", False, args.no_jobs))
        if not args.no_redis:
            setups.append(Setup("sqlite", True, args.no_jobs))
    if args.backend in ("postgresql", "all"):
        setups.append(Setup("postgresql", not args.no_redis, args.no_jobs))
    grid = [(w, t) for w in _ints(args.workers) for t in _ints(args.threads)]
    for setup in setups:
        with Prepared(setup, args.redis_url) as prepared:
            best: Run | None = None
            for workers, threads in grid:
                with Server(prepared.env, workers=workers, threads=threads, jobs=not setup.no_jobs) as server:
                    for concurrency in _ints(args.concurrency):
                        run = Run(setup.label, workers, threads, concurrency)
                        post_tickets(
                            server.port, prepared.token, args.warmup, concurrency, Run("warm-up", 0, 0, 0)
                        )
                        before = cpu_by_role(server.proc.pid)
                        post_tickets(server.port, prepared.token, args.tickets, concurrency, run)
                        spent = {k: v - before.get(k, 0.0) for k, v in cpu_by_role(server.proc.pid).items()}
                        name = f"create_http_{setup.label}_w{workers}_t{threads}_c{concurrency}"
                        figure(name, run.rate, "tickets/s")
                        per_ticket = {k: v * 1000 / max(len(run.ids), 1) for k, v in spent.items()}
                        note(
                            f"{name}: {len(run.ids)} created in {run.wall:.2f} s, "
                            f"p50 {median(run.latencies_ms):.1f} ms, p95 {percentile(run.latencies_ms, 95):.1f} ms, "
                            f"{len(run.errors)} errors{': ' + run.errors[0] if run.errors else ''}; CPU per ticket: "
                            + ", ".join(f"{k} {v:.1f} ms" for k, v in sorted(per_ticket.items()))
                        )
                        if run.errors:
                            note(f"  the server's log ends with:\n{server.log_tail()}")
                        prepared.verify(run, args.tickets, wait=not setup.no_jobs)
                        if best is None or run.rate > best.rate:
                            best = run
            if best is not None:
                figure(f"create_http_{setup.label}", best.rate, "tickets/s")
                figure(f"create_http_{setup.label}_p50", median(best.latencies_ms), "ms")
                figure(f"create_http_{setup.label}_p95", percentile(best.latencies_ms, 95), "ms")
                note(
                    f"best {setup.label}: granian --workers {best.workers} --threads {best.threads}, "
                    f"{best.concurrency} connections"
                )
            if args.queries:
                prepared.child("_queries", prepared.token, raw=True)
    return 0


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


# -- the load ---------------------------------------------------------------------------------
def post_tickets(port: int, token: str, count: int, concurrency: int, run: Run, path: str = API_PATH) -> Run:
    """POST `count` tickets over `concurrency` keep-alive connections; fill in the run's times and ids."""
    lock = threading.Lock()
    counter = iter(range(count))
    start = threading.Barrier(concurrency + 1)
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        start.wait()
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                break
            body = json.dumps(
                {
                    "title": f"Bench ticket {index} from connection {slot}",
                    "message": f"The shop's checkout page answers 502 since {index % 60} minutes ago. "
                    "What we did: cleared the cache, tried another browser.",
                }
            ).encode()
            began = time.perf_counter()
            try:
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                with lock:
                    run.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                if response.status == 201:
                    run.ids.append(json.loads(data)["id"])
                    run.latencies_ms.append(elapsed)
                else:
                    run.errors.append(f"{response.status} {data[:200]!r}")
            if response.will_close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    run.wall = time.perf_counter() - began
    return run


# -- the database, the server -----------------------------------------------------------------
class Prepared:
    """A scratch data directory and a fresh database with the demo's users, SLA levels and a token."""

    def __init__(
        self,
        setup: Setup,
        redis_url: str,
        *,
        database: str = "otklik_bench_create",
        module: str = "bench.create_http",
    ):
        self.setup = setup
        self.module = module  # whose child commands `child` runs
        self.scratch = tempfile.TemporaryDirectory(prefix="otklik-bench-")
        env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
        env["OTKLIK_DATA_DIR"] = self.scratch.name
        env.setdefault("OTKLIK_LOG_LEVEL", "ERROR")
        if setup.backend == "postgresql":
            base = os.environ.get("OTKLIK_BENCH_DATABASE_URL", BENCH_DATABASE_URL)
            env["OTKLIK_DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + database
        if setup.redis:
            env["OTKLIK_REDIS_URL"] = redis_url
        self.env = env
        self.token = ""

    def __enter__(self) -> Prepared:
        started = time.perf_counter()
        if "OTKLIK_DATABASE_URL" in self.env:
            recreate_database(self.env["OTKLIK_DATABASE_URL"])
        if "OTKLIK_REDIS_URL" in self.env:
            clear_queue(self.env["OTKLIK_REDIS_URL"])
        self.otklik("migrate", "--verbosity", "0")
        self.otklik("demo", "--tickets", "0")
        self.child("_prepare", module="bench.create_http")
        self.token = self.otklik("token", "create", CLIENT, "--name", "bench").strip()
        note(f"{self.setup.label}: database prepared in {time.perf_counter() - started:.0f} s")
        return self

    def __exit__(self, *exc) -> None:
        self.scratch.cleanup()

    def otklik(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "otklik", *args], env=self.env, capture_output=True, text=True
        )
        if result.returncode:
            raise SystemExit(f"otklik {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def child(self, command: str, *args: str, raw: bool = False, module: str = "") -> dict:
        """Run one of this module's child commands in the set-up's environment; return its JSON answer.

        With `raw` its output is passed on as it is (figure lines) instead.
        """
        result = subprocess.run(
            [sys.executable, "-m", module or self.module, command, *args],
            env=self.env,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise SystemExit(f"{command} failed:\n{result.stdout}{result.stderr}")
        if result.stderr.strip():
            sys.stderr.write(result.stderr)
        if raw:
            sys.stdout.write(result.stdout)
            sys.stdout.flush()
            return {}
        return json.loads(result.stdout or "{}")

    def verify(self, run: Run, expected: int, *, wait: bool = True) -> None:
        """Check the run's tickets in the database; wait until the worker has delivered their mail."""
        ids_file = Path(self.scratch.name) / "ids.json"
        ids_file.write_text(json.dumps(run.ids))
        report = self.child("_verify", str(ids_file))
        problems = [
            f"{key} {report[key]}"
            for key in ("tickets", "with_sla", "with_deadline", "with_responsible", "with_outbox")
            if report[key] != expected
        ]
        note(
            f"  verified: {report['tickets']} tickets, {report['with_sla']} with an SLA, "
            f"{report['with_deadline']} with a deadline, {report['with_responsible']} with a responsible, "
            f"{report['outbox']} outbox rows ({report['outbox_min']}-{report['outbox_max']} per ticket), "
            f"states {report['states']}" + (f"; NOT {expected}: {', '.join(problems)}" if problems else "")
        )
        deadline = time.monotonic() + 120
        while wait and report["pending"] and time.monotonic() < deadline:
            time.sleep(1)
            report = self.child("_verify", str(ids_file))
        if wait and report["pending"]:
            note(f"  the worker had not delivered {report['pending']} outbox rows after 2 minutes")


def cpu_by_role(server_pid: int) -> dict[str, float]:
    """Return CPU seconds used so far by the server's process tree and by PostgreSQL and Redis (Linux /proc).

    Run before and after a timed run, the difference splits the machine's work per ticket: the web
    server and job consumer ("otklik"), the database ("postgres"), the queue ("redis").
    """
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    usage: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        usage[int(entry)] = (name, (int(fields[11]) + int(fields[12])) / ticks)
    totals = {"otklik": 0.0, "postgres": 0.0, "redis": 0.0}
    for pid, (name, seconds) in usage.items():
        ancestor = pid
        while ancestor not in (0, 1, server_pid) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == server_pid:
            totals["otklik"] += seconds
        elif name.startswith("postgres"):
            totals["postgres"] += seconds
        elif name.startswith("redis"):
            totals["redis"] += seconds
    return totals


def recreate_database(url: str) -> None:
    """Drop the database of `url` (closing its connections) and create it empty."""
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(url)
    name = urllib.parse.unquote(parts.path.lstrip("/"))
    maintenance = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def clear_queue(url: str) -> None:
    """Delete Huey's keys from the bench's Redis database: no job of an earlier run is left in line."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter("huey.*"))
    if keys:
        client.delete(*keys)


class Server:
    """`otklik start --no-migrate` (granian and, unless `jobs` is false, the job consumer) on a free port."""

    def __init__(self, env: dict[str, str], *, workers: int, threads: int, jobs: bool = True):
        self.env = env
        self.jobs = jobs
        self.log_path = Path(env["OTKLIK_DATA_DIR"]) / "server.log"
        self.workers = workers
        self.threads = threads
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in __exit__)
        command = [sys.executable, "-m", "otklik", "start", "--no-migrate", "--port", str(self.port)]
        command += ["--workers", str(self.workers), "--threads", str(self.threads)]
        if not self.jobs:
            command.append("--no-jobs")
        self.proc = subprocess.Popen(command, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with {self.proc.returncode}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                conn.request("GET", "/api/v1/openapi.json")
                conn.getresponse().read()
                return self
            except OSError:
                time.sleep(0.2)
            finally:
                conn.close()
        self.__exit__(None, None, None)
        raise SystemExit("the server did not start within 60 s")

    def log_tail(self, chars: int = 3000) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# -- child commands, run with the set-up's environment ----------------------------------------
def _child_prepare(argv: list[str]) -> int:
    """Make the demo's staff member the default responsible; check the client's SLA."""
    from bench.common import django_setup

    django_setup()
    from django.contrib.auth.models import User

    from otklik.sla.selectors import sla_for_new_ticket
    from otklik.tickets.services import module_options_ensure

    options = module_options_ensure()
    options.default_responsible = User.objects.get(username=RESPONSIBLE)
    options.save()
    choice = sla_for_new_ticket(User.objects.get(username=CLIENT))
    note(f"{CLIENT}'s SLA: {choice.sla.name if choice.sla else None} ({choice.reason})")
    print(json.dumps({"sla": choice.sla.pk if choice.sla else None}))
    return 0


def _child_verify(argv: list[str]) -> int:
    from bench.common import django_setup

    django_setup()
    from django.db.models import Count, Max, Min

    from otklik.notifications.models import OutboxMessage, OutboxState
    from otklik.tickets.models import Ticket

    ids = json.loads(Path(argv[0]).read_text())
    tickets = Ticket.objects.filter(pk__in=ids)
    outbox = OutboxMessage.objects.filter(ticket_id__in=ids)
    per_ticket = outbox.values("ticket_id").annotate(n=Count("id"))
    spread = per_ticket.aggregate(lo=Min("n"), hi=Max("n"))
    states = dict(outbox.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    report = {
        "tickets": tickets.count(),
        "with_sla": tickets.filter(sla__isnull=False).count(),
        "with_deadline": tickets.filter(deadline_at__isnull=False).count(),
        "with_responsible": tickets.filter(responsible__isnull=False).count(),
        "with_outbox": per_ticket.count(),
        "outbox": outbox.count(),
        "outbox_min": spread["lo"],
        "outbox_max": spread["hi"],
        "states": states,
        "pending": outbox.filter(state__in=[OutboxState.PENDING, OutboxState.SENDING]).count(),
    }
    print(json.dumps(report))
    return 0


def _child_queries(argv: list[str]) -> int:
    """POST one ticket through Django's test client and list its SQL with the time of each (to stderr)."""
    from bench.common import django_setup

    django_setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {argv[0]}")
    payload = {"title": "Queries of one create", "message": "Counting the queries of one request."}
    client.post(API_PATH, payload, content_type="application/json")  # warm caches (options, templates)
    timed: list[float] = []  # statements through the cursor; BEGIN and COMMIT are only in the capture

    def timer(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timed.append(time.perf_counter() - began)

    with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(timer):
        began = time.perf_counter()
        response = client.post(API_PATH, payload, content_type="application/json")
        elapsed = (time.perf_counter() - began) * 1000
    assert response.status_code == 201, response.content
    figure(f"create_http_{connection.vendor}_queries", len(queries.captured_queries), "queries")
    rows = []
    statements = iter(timed)
    for query in queries.captured_queries:
        sql = query["sql"]
        ms = float(query["time"]) * 1000 if sql in ("BEGIN", "COMMIT") else next(statements, 0.0) * 1000
        rows.append((ms, " ".join(sql.split())))
    note(
        f"one create request in-process: {elapsed:.1f} ms, SQL {sum(ms for ms, _sql in rows):.1f} ms "
        "(BEGIN and COMMIT to the millisecond)"
    )
    for number, (ms, sql) in enumerate(rows, 1):
        note(f"  {number:2d} {ms:6.2f} ms  {sql[:150]}")
    return 0


CHILD_COMMANDS = {"_prepare": _child_prepare, "_verify": _child_verify, "_queries": _child_queries}


if __name__ == "__main__":
    sys.exit(main())
