"""A real `otklik start` with two granian workers: /metrics sums the requests every worker answered."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import otklik_start_process

pytestmark = [
    pytest.mark.xdist_group("server"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses POSIX signals"),
]

REQUESTS = 80


def _get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """One request on a fresh connection (each may land on either worker)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _healthz_total(port: int) -> float:
    status, body = _get(port, "/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    return sum(
        s.value
        for s in families["otklik_http_requests"].samples
        if s.name == "otklik_http_requests_total" and s.labels["route"] == "healthz"
    )


def test_metrics_of_a_two_worker_server_sum_every_workers_requests(tmp_path):
    data = tmp_path / "data"
    proc, port = otklik_start_process(data, "--workers", "2", "--no-jobs")
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"otklik start exited early:\n{proc.stdout.read().decode(errors='replace')}")
            try:
                if _get(port, "/login/", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "otklik start did not answer in time"
            time.sleep(0.2)

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: _get(port, "/healthz")[0], range(REQUESTS)))
        assert statuses == [200] * REQUESTS

        # Both workers answered some of them: each wrote its own counter file.
        pids = {
            m.group(1)
            for p in (data / "metrics").glob("counter_*.db")
            if (m := re.match(r"counter_(\d+)", p.name))
        }
        assert len(pids) >= 2, pids
        # Whichever worker answers the scrape, it reports every worker's requests.
        assert [_healthz_total(port) for _ in range(6)] == [REQUESTS] * 6

        status, body = _get(port, "/readyz")
        assert status == 200, body
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=25)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
