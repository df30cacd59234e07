"""Calibrate the machine: a one-row-insert endpoint on Otklik's stack, over HTTP, like `bench.create_http`.

    python -m bench.bare_insert [--backend sqlite|postgresql|all] [--requests 3000] [--workers 2] [--threads 4]
        [--concurrency 16]

The issue's targets are stated against such an endpoint ("about 2,000/s on this machine"); this measures it
here and now, so a ticket creation figure can be read as a fraction of what the stack itself allows.
Prints `bare_insert_<backend> <n> requests/s`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from bench.common import BENCH_DATABASE_URL, figure, median, note, percentile
from bench.create_http import (
    CLEARED_ENV,
    Run,
    _free_port,
    _ints,
    cpu_by_role,
    post_tickets,
    recreate_database,
)
from otklik.core.management.commands.start import server_command

DATABASE = "otklik_bench_bare"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="all")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--workers", default="2")
    parser.add_argument("--threads", default="4")
    parser.add_argument("--concurrency", default="16")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="otklik-bare-") as scratch:
            env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
            env["OTKLIK_DATA_DIR"] = scratch
            env.setdefault("OTKLIK_LOG_LEVEL", "ERROR")
            if backend == "postgresql":
                base = os.environ.get("OTKLIK_BENCH_DATABASE_URL", BENCH_DATABASE_URL)
                env["OTKLIK_DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + DATABASE
                recreate_database(env["OTKLIK_DATABASE_URL"])
            _create_table(env)
            best = 0.0
            for workers in _ints(args.workers):
                for threads in _ints(args.threads):
                    for concurrency in _ints(args.concurrency):
                        run = _measure(env, workers, threads, concurrency, args.requests)
                        name = f"bare_insert_{backend}_w{workers}_t{threads}_c{concurrency}"
                        figure(name, run.rate, "requests/s")
                        note(
                            f"{name}: p50 {median(run.latencies_ms):.1f} ms, "
                            f"p95 {percentile(run.latencies_ms, 95):.1f} ms, {len(run.errors)} errors"
                        )
                        best = max(best, run.rate)
            figure(f"bare_insert_{backend}", best, "requests/s")
    return 0


def _create_table(env: dict[str, str]) -> None:
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'otklik.settings'); django.setup()\n"
        "from django.db import connection\n"
        "pk = 'BIGSERIAL PRIMARY KEY' if connection.vendor == 'postgresql' else 'INTEGER PRIMARY KEY AUTOINCREMENT'\n"
        "with connection.cursor() as c:\n"
        "    c.execute(f'CREATE TABLE IF NOT EXISTS bench_bare_insert (id {pk}, title TEXT, body TEXT)')\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def _measure(env: dict[str, str], workers: int, threads: int, concurrency: int, requests: int) -> Run:
    port = _free_port()
    # The same command line as `otklik start` (bounded threads and backpressure), serving the bare app.
    command = server_command(
        host="127.0.0.1",
        port=port,
        workers=workers,
        threads=threads,
        access_log=False,
        app="bench.bare_app:application",
    )
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port)
        post_tickets(port, "", 100, concurrency, Run("warm-up", 0, 0, 0), path="/bare/rows")
        before = cpu_by_role(server.pid)
        run = Run("bare", workers, threads, concurrency)
        post_tickets(port, "", requests, concurrency, run, path="/bare/rows")
        after = cpu_by_role(server.pid)
        per_request = {k: (after[k] - before[k]) * 1000 / max(len(run.ids), 1) for k in after}
        note("CPU per request: " + ", ".join(f"{k} {v:.2f} ms" for k, v in sorted(per_request.items())))
        return run
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_listening(port: int) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit("the bare server did not start within 60 s")


if __name__ == "__main__":
    sys.exit(main())
