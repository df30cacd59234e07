"""schemathesis against a live `otklik start`: no 5xx and no answer the OpenAPI schema does not describe.

The server gets its own fresh data directory and database (SQLite there, or a scratch PostgreSQL database
beside the test run's when OTKLIK_DATABASE_URL points at PostgreSQL), the demo data and API tokens made
with `otklik token create`. The run is bounded (few examples per operation, a wall-clock budget), so the
test takes one to two minutes on two cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import free_port

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
SEED = "20261204"


def _scratch_postgres(url: str) -> str:
    """Return the URL of a new empty scratch database next to the one of `url`.

    The name carries the process id: two runs sharing one server (a CI run beside a local one) used to
    collide on a fixed name with a unique violation in `CREATE DATABASE`.
    """
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(url)
    name = f"{urllib.parse.unquote(parts.path.lstrip('/'))}_schemathesis_{os.getpid()}"
    maintenance = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def _drop_postgres(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(url)
    name = urllib.parse.unquote(parts.path.lstrip("/"))
    maintenance = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class LiveServer:
    def __init__(self, env: dict[str, str], log: Path):
        self.env, self.log_path, self.port = env, log, free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def otklik(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "otklik", *args], env=self.env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"otklik {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self) -> None:
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        # No job consumer: the run is about the request path, and it keeps the two cores for it.
        command = [
            sys.executable,
            "-m",
            "otklik",
            "start",
            "--no-migrate",
            "--no-jobs",
            "--port",
            str(self.port),
        ]
        command += ["--workers", "1", "--threads", "2"]
        self.proc = subprocess.Popen(
            command, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"otklik start exited:\n{self.log_tail()}"
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/openapi.json", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        pytest.fail("otklik start did not serve the schema within 60 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self.log.close()

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    root = tmp_path_factory.mktemp("schemathesis")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTKLIK_", "GRANIAN_", "DJANGO_"))}
    env.update(OTKLIK_DATA_DIR=str(root / "data"), OTKLIK_LOG_LEVEL="ERROR")
    database = os.environ.get("OTKLIK_DATABASE_URL", "")
    scratch = _scratch_postgres(database) if database.startswith(("postgres://", "postgresql://")) else ""
    if scratch:
        env["OTKLIK_DATABASE_URL"] = scratch
    server = LiveServer(env, root / "server.log")
    try:
        server.otklik("migrate", "--no-input", "-v", "0")
        server.otklik("demo", "--tickets", "20")
        tokens = {who: server.otklik("token", "create", who).strip() for who in ("admin", "client")}
        server.start()
        try:
            yield server, tokens
        finally:
            server.stop()
    finally:
        if scratch:
            _drop_postgres(scratch)


def _schemathesis(server: LiveServer, token: str, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/api/v1/openapi.json"]
    command += ["--header", f"Authorization: Bearer {token}", "--checks", CHECKS, "--seed", SEED]
    command += ["--workers", "1", "--request-timeout", "30", "--no-shrink", *args]
    # Its own directory: no configuration file or example database of the checkout is picked up.
    cwd = server.log_path.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTKLIK_", "SCHEMATHESIS_"))}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def _report(done: subprocess.CompletedProcess, server: LiveServer) -> str:
    return f"{done.stdout[-6000:]}\n{done.stderr[-2000:]}\n--- server log ---\n{server.log_tail()}"


@pytest.mark.schemathesis
@pytest.mark.xdist_group("server")
def test_schemathesis_admin_finds_no_server_error_or_schema_mismatch(live):
    server, tokens = live
    done = _schemathesis(server, tokens["admin"], "--max-examples", "10")
    assert done.returncode == 0, _report(done, server)
    assert "Internal Server Error" not in server.log_tail(10**7), server.log_tail()


@pytest.mark.schemathesis
@pytest.mark.xdist_group("server")
def test_schemathesis_client_and_anonymous_find_no_server_error_or_schema_mismatch(live):
    server, tokens = live
    for token in (tokens["client"], "not-a-token"):
        done = _schemathesis(server, token, "--max-examples", "5", "--phases", "fuzzing,stateful")
        assert done.returncode == 0, _report(done, server)
    assert "Internal Server Error" not in server.log_tail(10**7), server.log_tail()
