"""Scale out on one machine: two web processes behind nginx, two workers, one PostgreSQL, one Redis (issue 19).

    python -m bench.scale_out [--seconds 45] [--phase 10] [--clients 4] [--database otklik_scale_out]

A fresh PostgreSQL database (migrated, the demo's users and SLA levels, a default responsible) and a Redis
database of its own (db 11; only Huey's keys are cleared). Started as child processes, each in its own
session: two `otklik start --role web` on two ports, two `otklik start --role worker`, `otklik smtpd`
taking mail in, Debian's nginx (`nginx -p TMP -c TMP/nginx.conf`, pid and logs in TMP) in front of the web
processes, and an SMTP sink (aiosmtpd, in this process) receiving the outgoing notifications.

1. Throughput: tickets created over HTTP for `--phase` seconds through an nginx port whose upstream is the
   first web process only, then through a port whose upstream holds both.
2. The run, `--seconds` long, through the two-process port: `--clients` API clients create tickets and
   answer their own, a support agent answers them (mail to the client), mail arrives over SMTP (new
   tickets and replies threaded by In-Reply-To), and a few tickets get deadlines that pass during the
   run. At 40% of the run the first web process and the first worker are killed with SIGKILL (every
   process group of their trees: granian's workers and the consumer die too).
   nginx passes a request to the other web process only when it could not be sent (`proxy_next_upstream
   error timeout`: never a POST that reached the application); a client that gets no answer or a 502
   checks whether its ticket or reply exists (search by its unique marker) and sends it again if not.
3. Drain: the remaining worker delivers the outbox (the killed worker's claimed rows come back when their
   lease ends: OTKLIK_OUTBOX_LEASE_SECONDS=15 here) and the run lasts until two whole minutes of periodic
   jobs have passed.

Then it proves, and prints as `name value unit` lines: every request answered 2xx exists once (lost 0),
requests the client was told failed and retried; every outbox row sent and every sent Message-ID at the
sink (no notification lost), duplicates at the sink within the in-flight window (one message per
delivering thread of the killed worker); every every-minute periodic job ran once per minute slot, never
two runs of one job at once; each ticket whose deadline passed marked overdue exactly once; every mail the
SMTP receiver accepted stored. It exits 1 when any of these fails. OTKLIK_SCALE_OUT_CI=1 (or `--ci`)
shortens the phases for the test suite (tests/test_scale_out.py).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import figure, note
from bench.create_http import Prepared, Setup
from bench.scale_out_parts import (
    ApiClient,
    Ledger,
    MailSink,
    kill_tree,
    nginx_config,
    process_tree,
    wait_http,
)
from bench.staff_list import _free_port

REDIS_URL = "redis://127.0.0.1:6379/11"
PROBES = 6  # tickets whose deadline passes during the run
KILLED_WORKER_THREADS = 2  # `otklik worker` runs two delivery threads: the in-flight window at the sink
EVERY_MINUTE = ("otklik-sla-tick", "otklik-outbox-sweep", "otklik-mail-poll", "otklik-report-facts")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in CHILD_COMMANDS:
        return CHILD_COMMANDS[argv[0]](argv[1:])
    ci = os.environ.get("OTKLIK_SCALE_OUT_CI", "") not in ("", "0")
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ci", action="store_true", default=ci, help="Short phases, for the test suite.")
    parser.add_argument(
        "--seconds", type=float, default=None, help="The run with the kills (default 45; CI 30)."
    )
    parser.add_argument("--phase", type=float, default=None, help="Each throughput phase (default 10; CI 5).")
    parser.add_argument("--clients", type=int, default=4, help="API clients at once.")
    parser.add_argument("--database", default="otklik_scale_out", help="The PostgreSQL database (recreated).")
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--drop", action="store_true", help="Drop the database at the end (the test does).")
    args = parser.parse_args(argv)
    seconds = args.seconds or (30 if args.ci else 45)
    phase = args.phase or (5 if args.ci else 10)
    return Scenario(args, seconds=seconds, phase=phase).run()


class Scenario:
    def __init__(self, args, *, seconds: float, phase: float):
        self.args = args
        self.seconds = seconds
        self.phase = phase
        self.procs: dict[str, subprocess.Popen] = {}
        self.failures: list[str] = []

    # -- set-up ------------------------------------------------------------------------------
    def run(self) -> int:
        with MailSink() as sink, tempfile.TemporaryDirectory(prefix="otklik-scale-") as tmp:
            self.tmp = Path(tmp)
            self.tmp.chmod(0o755)  # nginx's workers run as another user when nginx starts as root
            prepared = Prepared(Setup("postgresql", True), self.args.redis_url, database=self.args.database)
            prepared.env["OTKLIK_SMTP_URL"] = f"smtp://127.0.0.1:{sink.port}"
            prepared.env["OTKLIK_OUTBOX_LEASE_SECONDS"] = "15"
            with prepared:
                self.prepared = prepared
                self.staff_token = prepared.otklik("token", "create", "staff", "--name", "scale-out").strip()
                try:
                    self._start_processes()
                    self._drive(sink)
                finally:
                    self._stop_processes()
            if self.args.drop:
                drop_database(prepared.env["OTKLIK_DATABASE_URL"])
        for failure in self.failures:
            note(f"FAILED: {failure}")
        return 1 if self.failures else 0

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            command,
            env=env or self.prepared.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def _start_processes(self) -> None:
        otklik = [sys.executable, "-m", "otklik"]
        self.web_ports = [_free_port(), _free_port()]
        for n, port in enumerate(self.web_ports, 1):
            self._spawn(f"web{n}", otklik + ["start", "--role", "web", "--no-migrate", "--port", str(port),
                                             "--workers", "1", "--threads", "4"])  # fmt: skip
        worker_env = {**self.prepared.env, "OTKLIK_LOG_LEVEL": "INFO"}  # the periodic runs' log lines
        for n in (1, 2):
            self._spawn(f"worker{n}", otklik + ["start", "--role", "worker"], env=worker_env)
        self.workers_started = datetime.now(UTC)
        self.smtpd_port = _free_port()
        self._spawn("smtpd", otklik + ["smtpd", "--port", str(self.smtpd_port)])
        self.one_port, self.all_port = _free_port(), _free_port()
        (self.tmp / "nginx.conf").write_text(
            nginx_config(self.tmp, one=self.one_port, both=self.all_port, web_ports=self.web_ports)
        )
        self._spawn("nginx", ["nginx", "-p", str(self.tmp), "-c", str(self.tmp / "nginx.conf"), "-g",
                              "daemon off;"])  # fmt: skip
        for port in self.web_ports + [self.one_port, self.all_port]:
            if not wait_http(port, "/api/v1/openapi.json", 90):
                raise SystemExit(f"nothing answers on port {port}; logs in {self.tmp}")
        note(f"started: web {self.web_ports}, nginx {self.one_port}/{self.all_port}, smtpd {self.smtpd_port}")

    def _stop_processes(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGQUIT if name == "nginx" else signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                note(f"{name} did not stop; killing it")
                kill_tree(proc.pid)
                proc.wait()

    # -- the load ----------------------------------------------------------------------------
    def _drive(self, sink: MailSink) -> None:
        token = self.prepared.token
        # 1. Throughput with one and with two web processes.
        for label, port in (("1web", self.one_port), ("2web", self.all_port)):
            ledger = Ledger()
            self._load(port, token, ledger, self.phase, replies=False)
            figure(f"scale_out_create_{label}", len(ledger.created) / self.phase, "tickets/s")
            self.failures += [f"phase {label}: {e}" for e in ledger.errors[:5]]
        # 2. The run: everything at once, two kills in the middle.
        ledger = Ledger()
        probes = [ApiClient(self.all_port, token, ledger).create("probe") for _ in range(PROBES)]
        ends = self._child("_deadlines", json.dumps({str(t): 8 + i * (self.seconds - 10) / PROBES
                                                     for i, t in enumerate(probes) if t}))  # fmt: skip
        note(f"{len(probes)} tickets get deadlines passing during the run: {ends}")
        stop = threading.Event()
        mail = threading.Thread(target=self._mail, args=(stop, ledger), daemon=True)
        staff = threading.Thread(target=self._staff, args=(stop, ledger), daemon=True)
        killer = threading.Thread(target=self._kill_at, args=(self.seconds * 0.4,), daemon=True)
        for thread in (mail, staff, killer):
            thread.start()
        began = time.monotonic()
        self._load(self.all_port, token, ledger, self.seconds, replies=True)
        stop.set()
        for thread in (mail, staff, killer):
            thread.join(timeout=60)
        note(f"the run took {time.monotonic() - began:.0f} s; draining")
        # 3. Drain, and let two whole minutes of periodic jobs pass.
        state = self._drain(probes)
        self._judge(ledger, sink, state, probes)

    def _load(self, port: int, token: str, ledger: Ledger, seconds: float, *, replies: bool) -> None:
        stop_at = time.monotonic() + seconds

        def client(n: int) -> None:
            api = ApiClient(port, token, ledger)
            mine: list[int] = []
            i = 0
            while time.monotonic() < stop_at:
                ticket = api.create(f"c{n}")
                if ticket:
                    mine.append(ticket)
                if replies and mine and i % 2:
                    api.reply(mine[i % len(mine)], f"c{n}")
                i += 1
            api.close()

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(self.args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _staff(self, stop: threading.Event, ledger: Ledger) -> None:
        api = ApiClient(self.all_port, self.staff_token, ledger)
        n = 0
        while not stop.is_set():
            with ledger.lock:
                # Not the probes: an answer from support would meet their deadline before it passes.
                created = [t for m, t in ledger.created[-50:] if not m.startswith("soprobe")]
            if created:
                api.reply(created[n % len(created)], "staff")
            n += 1
            stop.wait(0.3)
        api.close()

    def _mail(self, stop: threading.Event, ledger: Ledger) -> None:
        from bench.ingest_mail import bench_message_id, synthetic_mail

        n = 0
        while not stop.is_set():
            n += 1
            if n % 10 == 0:  # synthetic_mail attaches a PDF to every tenth: base64 lines SMTP refuses
                continue
            earlier = n - 3 if n > 3 and n % 3 == 0 else None
            raw = synthetic_mail(500_000 + n, sender=earlier and 500_000 + earlier,
                                 in_reply_to=earlier and 500_000 + earlier)  # fmt: skip
            try:
                with smtplib.SMTP("127.0.0.1", self.smtpd_port, timeout=30) as smtp:
                    smtp.sendmail("bench@example.org", ["support@otklik.localhost"], raw)
                ledger.add_mail(bench_message_id(500_000 + n))
            except (OSError, smtplib.SMTPException) as exc:
                ledger.note_error(f"mail {n}: {exc}")
            stop.wait(0.25)

    def _kill_at(self, after: float) -> None:
        time.sleep(after)
        # A worker killed while holding a periodic job's lease keeps that job for the lease (5 minutes):
        # the run would show a gap there, which is the documented cost, but not what this run measures.
        consumer = next(
            (p for p in process_tree(self.procs["worker1"].pid) if b"otklik worker" in _cmdline(p)), None
        )
        for _ in range(50):
            held = self._leases_held()
            if consumer is None or not any(h.split("/")[0].endswith(f":{consumer}") for h in held):
                break
            time.sleep(0.1)
        for name in ("web1", "worker1"):
            killed = kill_tree(self.procs[name].pid)
            note(f"SIGKILL {name}: {len(killed)} processes")
        self.killed_consumer = consumer

    def _leases_held(self) -> list[str]:
        import psycopg

        with psycopg.connect(self.prepared.env["OTKLIK_DATABASE_URL"]) as conn:
            rows = conn.execute("SELECT holder FROM core_periodicjob WHERE lease_until > now()").fetchall()
        return [row[0] for row in rows]

    def _drain(self, probes: list[int]) -> dict:
        ids = self.tmp / "probes.json"
        ids.write_text(json.dumps(probes))
        deadline = time.monotonic() + 240
        while True:
            state = self._child("_state", str(ids))
            settled = not state["pending"] and state["probes_marked"] == len(probes)
            # Two whole minutes of periodic jobs: the schedulers queue when their consumer starts (the
            # first slot), then every 60 s, so the first slot and the next are surely queued once that
            # next minute is over.
            first = datetime.fromisoformat(state["first_slot"]) if state["first_slot"] else None
            self.first_slot = first
            if settled and first and datetime.now(UTC) >= first + timedelta(minutes=2, seconds=5):
                return state
            if time.monotonic() > deadline:
                self.failures.append(f"not settled after 4 minutes: {state['pending']} outbox rows pending, "
                                     f"{state['probes_marked']}/{len(probes)} probes marked")  # fmt: skip
                return state
            time.sleep(2)

    # -- the verdict -------------------------------------------------------------------------
    def _judge(self, ledger: Ledger, sink: MailSink, state: dict, probes: list[int]) -> None:
        record = self.tmp / "ledger.json"
        record.write_text(json.dumps({**ledger.as_json(), "probes": probes}))
        facts = self._child("_verify", str(record))
        created = Counter(facts["tickets_by_marker"])
        acked_creates = {m for m, _ in ledger.created}
        lost_tickets = [m for m in acked_creates if created.get(m, 0) == 0]
        doubled = [m for m, c in created.items() if c > 1]
        replies = Counter(facts["messages_by_marker"])
        lost_replies = [m for m, _ in ledger.replied if replies.get(m, 0) == 0]
        doubled += [m for m, c in replies.items() if c > 1]
        figure("scale_out_requests_acked", len(ledger.created) + len(ledger.replied), "requests")
        figure("scale_out_requests_lost", len(lost_tickets) + len(lost_replies), "requests")
        figure("scale_out_requests_told_failed", ledger.told, "requests")
        figure("scale_out_requests_retried", ledger.retried, "requests")
        figure("scale_out_requests_found_done", ledger.found, "requests")
        figure("scale_out_requests_given_up", len(ledger.gave_up), "requests")
        figure("scale_out_requests_doubled", len(doubled), "requests")
        if lost_tickets or lost_replies or doubled or ledger.gave_up:
            self.failures.append(f"requests: lost {lost_tickets[:5] + lost_replies[:5]}, doubled {doubled[:5]}, "
                                 f"given up {ledger.gave_up[:5]}")  # fmt: skip
        if ledger.errors:
            self.failures.append(f"unexpected answers: {ledger.errors[:5]}")
        # Mail in: every message the receiver accepted is stored.
        stored = set(facts["inbound_ids"])
        lost_in = [m for m in ledger.mail if m.strip("<>") not in stored]
        figure("scale_out_mail_in_accepted", len(ledger.mail), "messages")
        figure("scale_out_mail_in_lost", len(lost_in), "messages")
        if lost_in:
            self.failures.append(f"inbound mail lost: {lost_in[:5]}")
        # Mail out: every row sent, each at the sink, duplicates within the killed worker's window.
        at_sink = sink.counts()
        sent = facts["outbox_sent_ids"]
        missing = [m for m in sent if at_sink.get(m, 0) == 0]
        duplicates = sum(c - 1 for c in at_sink.values() if c > 1)
        figure("scale_out_notifications", len(sent), "messages")
        figure("scale_out_notifications_unsent", facts["outbox_unsent"], "messages")
        figure("scale_out_notifications_lost", len(missing), "messages")
        figure("scale_out_notifications_duplicates", duplicates, "messages")
        if missing or facts["outbox_unsent"]:
            self.failures.append(
                f"notifications: {facts['outbox_unsent']} not sent, {len(missing)} not at the sink"
            )
        if duplicates > KILLED_WORKER_THREADS:
            self.failures.append(f"{duplicates} duplicate notifications, more than the in-flight window")
        # Periodic jobs: once per slot, never two at once, no minute missed.
        self._judge_periodic(facts["runs"])
        # SLA: every probe marked overdue exactly once.
        marks = facts["overdue_marks"]
        figure("scale_out_overdue_marked", sum(1 for t in probes if marks.get(str(t), 0) >= 1), "tickets")
        twice = [t for t in probes if marks.get(str(t), 0) != 1]
        figure("scale_out_overdue_not_once", len(twice), "tickets")
        if twice:
            self.failures.append(
                f"overdue marks not exactly once: {[(t, marks.get(str(t), 0)) for t in twice]}"
            )
        logged = Counter()
        for name in ("worker1", "worker2"):
            for line in (self.tmp / f"{name}.log").read_text(errors="replace").splitlines():
                if "periodic job " in line and " ran for slot " in line:
                    part = line[line.index("periodic job ") :].split()
                    logged[(part[2], part[6])] += 1
        figure("scale_out_periodic_logged", sum(logged.values()), "runs")
        figure("scale_out_periodic_logged_twice", sum(1 for c in logged.values() if c > 1), "slots")

    def _judge_periodic(self, runs: list[dict]) -> None:
        by_job: dict[str, list[dict]] = {}
        for run in runs:
            by_job.setdefault(run["job"], []).append(run)
        first = self.first_slot or self.workers_started.replace(second=0, microsecond=0)
        last = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
        expected = []
        slot = first
        while slot <= last:
            expected.append(slot.isoformat())
            slot += timedelta(minutes=1)
        overlaps = gaps = doubles = 0
        runners = set()
        for job in EVERY_MINUTE:
            rows = sorted(by_job.get(job, []), key=lambda r: r["started_at"])
            slots = Counter(r["slot"] for r in rows)
            doubles += sum(c - 1 for c in slots.values() if c > 1)
            gaps += sum(1 for s in expected if s not in slots)
            runners |= {r["runner"] for r in rows}
            for before, after in zip(rows, rows[1:], strict=False):
                if before["finished_at"] is None or after["started_at"] < before["finished_at"]:
                    if not (before["finished_at"] is None and self._killed(before["runner"])):
                        overlaps += 1
        figure("scale_out_periodic_slots", len(expected), "minutes")
        in_window = [r for j in EVERY_MINUTE for r in by_job.get(j, []) if r["slot"] in expected]
        figure("scale_out_periodic_runs", len(in_window), "runs")
        figure("scale_out_periodic_runners", len(runners), "processes")
        figure("scale_out_periodic_twice", doubles, "runs")
        figure("scale_out_periodic_overlapping", overlaps, "runs")
        figure("scale_out_periodic_missed", gaps, "slots")
        if len(expected) < 2:
            self.failures.append(f"only {len(expected)} whole periodic minutes passed")
        if doubles or overlaps or gaps:
            self.failures.append(f"periodic jobs: {doubles} twice, {overlaps} overlapping, {gaps} missed")

    def _killed(self, runner: str) -> bool:
        return runner.endswith(f":{getattr(self, 'killed_consumer', -1)}")

    def _child(self, command: str, *args: str):
        return self.prepared.child(command, *args, module="bench.scale_out")


def drop_database(url: str) -> None:
    """Drop the scenario's database (closing what is left connected)."""
    import urllib.parse

    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(url)
    name = urllib.parse.unquote(parts.path.lstrip("/"))
    with psycopg.connect(urllib.parse.urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return b""


# -- child commands (run with Django, in the scenario's environment) -------------------------
def _child_deadlines(argv: list[str]) -> int:
    """Give the probe tickets deadlines `seconds` from now (bench only: no SLA is that short)."""
    from bench.common import django_setup

    django_setup()
    from otklik.core import clock
    from otklik.tickets.models import Ticket

    now = clock.now()
    ends = {}
    for ticket_id, seconds in json.loads(argv[0]).items():
        at = now + timedelta(seconds=float(seconds))
        Ticket.objects.filter(pk=int(ticket_id)).update(deadline_at=at, is_overdue=False)
        ends[ticket_id] = at.strftime("%H:%M:%S")
    print(json.dumps(ends))
    return 0


def _child_state(argv: list[str]) -> int:
    """Say how much is still to do: outbox rows not sent, probes marked overdue."""
    from bench.common import django_setup

    django_setup()
    from django.db.models import Min

    from otklik.core.models import PeriodicRun
    from otklik.notifications.models import OutboxMessage, OutboxState
    from otklik.tickets.models import Ticket

    probes = json.loads(Path(argv[0]).read_text())
    first = PeriodicRun.objects.aggregate(first=Min("slot"))["first"]
    pending = OutboxMessage.objects.exclude(state__in=[OutboxState.SENT, OutboxState.FAILED]).count()
    marked = Ticket.objects.filter(pk__in=probes, is_overdue=True).count()
    print(
        json.dumps({"pending": pending, "probes_marked": marked, "first_slot": first and first.isoformat()})
    )
    return 0


def _child_verify(argv: list[str]) -> int:
    """Read back what the run left: tickets and replies by marker, mail in and out, periodic runs, marks."""
    from bench.common import django_setup

    django_setup()
    from bench.scale_out_parts import marker_of
    from otklik.core.models import PeriodicRun
    from otklik.mail.models import InboundMail
    from otklik.notifications.models import OutboxMessage, OutboxState
    from otklik.tickets.models import Message, MessageKind, Ticket
    from otklik.tickets.services.sla_tick import OVERDUE_LOG

    ledger = json.loads(Path(argv[0]).read_text())
    tickets = Counter(marker_of(t) for t in Ticket.objects.filter(title__startswith="Scale-out ").values_list(
        "title", flat=True))  # fmt: skip
    messages = Counter(marker_of(b) for b in Message.objects.filter(body__contains="Scale-out reply ").values_list(
        "body", flat=True))  # fmt: skip
    probes = ledger["probes"]
    overdue = Counter(
        Message.objects.filter(ticket_id__in=probes, kind=MessageKind.LOG, data=OVERDUE_LOG).values_list(
            "ticket_id", flat=True
        )
    )
    facts = {
        "tickets_by_marker": dict(tickets),
        "messages_by_marker": dict(messages),
        "inbound_ids": [m.strip("<>") for m in InboundMail.objects.values_list("message_id", flat=True)],
        "outbox_sent_ids": [
            m.strip("<>")
            for m in OutboxMessage.objects.filter(state=OutboxState.SENT).values_list("message_id", flat=True)
        ],  # fmt: skip
        "outbox_unsent": OutboxMessage.objects.exclude(state=OutboxState.SENT).count(),
        "runs": [
            {
                "job": r.job,
                "slot": r.slot.isoformat(),
                "runner": r.runner,
                "started_at": r.started_at.isoformat(),
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            }
            for r in PeriodicRun.objects.all()
        ],  # fmt: skip
        "overdue_marks": {str(t): overdue.get(t, 0) for t in probes},
    }
    print(json.dumps(facts))
    return 0


CHILD_COMMANDS = {"_deadlines": _child_deadlines, "_state": _child_state, "_verify": _child_verify}

if __name__ == "__main__":
    sys.exit(main())
