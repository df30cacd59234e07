"""The scale-out scenario (bench.scale_out) in CI: two web processes behind nginx, two workers, PostgreSQL
and Redis, one web process and one worker killed with SIGKILL mid-run (issue 19).

It runs in both passes of the suite (the SQLite one too): the scenario always brings its own PostgreSQL
database (on the server of OTKLIK_DATABASE_URL when that is PostgreSQL, else 127.0.0.1:5432) and Redis
database 11, and Debian's nginx. Short phases (OTKLIK_SCALE_OUT_CI), about three minutes: it waits until
two whole minutes of periodic jobs have passed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _figures(output: str) -> dict[str, float]:
    figures = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith("scale_out_"):
            figures[parts[0]] = float(parts[1])
    return figures


@pytest.mark.slow
@pytest.mark.xdist_group("scale_out")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and POSIX signals")
def test_scale_out_two_web_two_workers_lose_nothing_when_one_of_each_is_killed():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTKLIK_", "DJANGO_"))}
    database_url = os.environ.get("OTKLIK_DATABASE_URL", "")
    if database_url.startswith(("postgres://", "postgresql://")):
        env["OTKLIK_BENCH_DATABASE_URL"] = database_url
    env["OTKLIK_SCALE_OUT_CI"] = "1"
    database = f"otklik_scale_out_{os.getpid()}"  # two test runs at once do not share it
    result = subprocess.run(
        [sys.executable, "-m", "bench.scale_out", "--database", database, "--drop"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = f"{result.stdout}\n{result.stderr[-6000:]}"
    assert result.returncode == 0, report
    figures = _figures(result.stdout)
    # Nothing answered 2xx was lost; the killed web process's requests were retried by the client.
    assert figures["scale_out_requests_acked"] > 100, report
    assert figures["scale_out_requests_lost"] == 0, report
    assert figures["scale_out_requests_given_up"] == 0, report
    assert figures["scale_out_requests_doubled"] == 0, report
    assert figures["scale_out_mail_in_accepted"] > 10 and figures["scale_out_mail_in_lost"] == 0, report
    # Every notification delivered; duplicates only within the killed worker's in-flight window.
    assert figures["scale_out_notifications"] > 100, report
    assert figures["scale_out_notifications_unsent"] == 0, report
    assert figures["scale_out_notifications_lost"] == 0, report
    assert figures["scale_out_notifications_duplicates"] <= 2, report
    # Every every-minute job ran once per minute slot, never two at once, for at least two minutes.
    assert figures["scale_out_periodic_slots"] >= 2, report
    assert figures["scale_out_periodic_runs"] == 4 * figures["scale_out_periodic_slots"], report
    assert figures["scale_out_periodic_twice"] == 0, report
    assert figures["scale_out_periodic_overlapping"] == 0, report
    assert figures["scale_out_periodic_missed"] == 0, report
    assert figures["scale_out_periodic_logged"] >= figures["scale_out_periodic_runs"], report  # logs read
    assert figures["scale_out_periodic_logged_twice"] == 0, report
    # The SLA tick marked each ticket whose deadline passed exactly once.
    assert figures["scale_out_overdue_marked"] == 6, report
    assert figures["scale_out_overdue_not_once"] == 0, report
