"""Run every benchmark and print its figures (`make bench`).

    python -m bench.run_all [--count 100000] [--requests 30]

The benchmarks use their own PostgreSQL database, OTKLIK_BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/otklik_bench), created here when missing, so they never fill the
database of OTKLIK_DATABASE_URL with 100,000 generated tickets. Figures go to stdout as `name value unit`,
remarks to stderr prefixed with `#`.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import urllib.parse

from bench.common import BENCH_DATABASE_URL, note


def ensure_database(url: str) -> None:
    """Create the database of `url` on its server if it does not exist (via the `postgres` database)."""
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(url)
    name = urllib.parse.unquote(parts.path.lstrip("/"))
    maintenance = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            note(f"created database {name}")


def machine() -> str:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            ram_kb = int(next(line.split()[1] for line in fh if line.startswith("MemTotal")))
        ram = f"{ram_kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, StopIteration, ValueError):
        ram = "RAM unknown"
    return f"{os.cpu_count()} CPUs ({cpu or platform.processor()}), {ram}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100_000, help="Tickets in the bench database.")
    parser.add_argument("--requests", type=int, default=30, help="Timed requests per page.")
    args = parser.parse_args(argv)

    url = os.environ.get("OTKLIK_BENCH_DATABASE_URL", BENCH_DATABASE_URL)
    ensure_database(url)
    # The SLA job's bench keeps 100,000 tickets awaiting support in a database of its own.
    sla_url = url.rsplit("/", 1)[0] + "/otklik_bench_sla"
    ensure_database(sla_url)
    kb_url = url.rsplit("/", 1)[0] + "/otklik_bench_kb"
    ensure_database(kb_url)
    note(f"machine: {machine()}")
    scratch = tempfile.TemporaryDirectory(prefix="otklik-bench-")
    env = {**os.environ, "OTKLIK_DATABASE_URL": url, "OTKLIK_DATA_DIR": scratch.name}
    steps = [
        ([sys.executable, "-m", "bench.gen_tickets", "--count", str(args.count)], env),
        ([sys.executable, "-m", "bench.staff_list", "--requests", str(args.requests)], env),
        ([sys.executable, "-m", "bench.sla_calendar"], env),
        (
            [sys.executable, "-m", "bench.sla_job", "--count", str(args.count)],
            {**env, "OTKLIK_DATABASE_URL": sla_url},
        ),
        # The calibration: what one-row inserts manage on this stack today (otklik_bench_bare).
        ([sys.executable, "-m", "bench.bare_insert"], {**env, "OTKLIK_BENCH_DATABASE_URL": url}),
        # These two make their own databases next to the bench one (otklik_bench_create, _deliver).
        # One concurrency keeps `make bench` short; `python -m bench.create_http` alone tries 4, 8 and 16.
        (
            [sys.executable, "-m", "bench.create_http", "--concurrency", "16", "--queries"],
            {**env, "OTKLIK_BENCH_DATABASE_URL": url},
        ),
        ([sys.executable, "-m", "bench.deliver_smtp"], {**env, "OTKLIK_BENCH_DATABASE_URL": url}),
        # 10,000 knowledge-base articles in a database of their own (otklik_bench_kb): suggestions, search.
        ([sys.executable, "-m", "bench.kb_suggest"], {**env, "OTKLIK_DATABASE_URL": kb_url}),
    ]
    failed = 0
    with scratch:
        for command, step_env in steps:
            note(" ".join(command[1:]))
            result = subprocess.run(command, env=step_env)
            if result.returncode:
                note(f"{command[2]} failed with exit code {result.returncode}")
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
