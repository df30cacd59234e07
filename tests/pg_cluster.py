"""Throw-away PostgreSQL clusters for tests: a primary and its streaming replica, started under a temp dir.

The suite's own database (OTKLIK_DATABASE_URL) is never touched: each cluster has its own data directory,
port, socket directory and pg_hba.conf (trust on 127.0.0.1, replication included). PostgreSQL refuses to
run as root, so when the tests run as root the clusters run as the `postgres` OS user (the temp dir is
handed to it). Use the `pg_primary_replica` fixture, or `PgCluster` directly:

    primary = PgCluster.init(root / "primary")
    primary.start()
    replica = primary.replica(root / "replica")
    replica.start()

Stop them with `stop()` (immediate mode: nothing to keep) in a finalizer.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import free_port

PG_BIN = Path(os.environ.get("OTKLIK_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
START_TIMEOUT = 30

# Test clusters trade durability for speed; WAL still streams to the replica exactly as in production.
CONFIG = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{socket_dir}'
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
synchronous_commit = off
shared_buffers = 16MB
max_connections = 40
logging_collector = off
"""
HBA = """
local all all trust
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
"""


def pg_missing() -> str | None:
    """Return why the clusters cannot run here, or None."""
    for tool in ("initdb", "pg_ctl", "pg_basebackup"):
        if not (PG_BIN / tool).exists():
            return f"{PG_BIN / tool} is missing (Debian package postgresql-15)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` OS user to run the clusters as"
    return None


def _as_owner(args: list[str]) -> list[str]:
    """Return the command run as the clusters' owner: `postgres` when we are root, else ourselves."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


def _run(args: list[str], *, timeout: float = START_TIMEOUT) -> None:
    result = subprocess.run(_as_owner(args), capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr or result.stdout}")


def _temp_root() -> str | None:
    """Prefer memory (/dev/shm) for the clusters: ~100 MB written and deleted per test, no disk needed."""
    if chosen := os.environ.get("OTKLIK_TEST_PG_TMP"):
        return chosen
    try:
        free = shutil.disk_usage("/dev/shm").free
    except OSError:
        return None
    return "/dev/shm" if free > 1024**3 and os.access("/dev/shm", os.W_OK) else None


def owned_temp_dir(prefix: str = "otklik-pg-") -> Path:
    """Make a temp dir the clusters' owner may write (not under pytest's root-only tmp_path)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=_temp_root()))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return path


@dataclass
class PgCluster:
    """One PostgreSQL cluster in `data_dir`, listening on 127.0.0.1:`port`."""

    data_dir: Path
    port: int

    @classmethod
    def init(cls, data_dir: Path, port: int | None = None) -> PgCluster:
        """Create a primary's data directory with initdb and the test configuration."""
        port = port or free_port()
        _run([str(PG_BIN / "initdb"), "-D", str(data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8"])
        cluster = cls(data_dir, port)
        cluster._write_config()
        return cluster

    def replica(self, data_dir: Path, port: int | None = None) -> PgCluster:
        """Create a streaming replica of this (running) cluster with pg_basebackup -R."""
        port = port or free_port()
        _run(
            [
                str(PG_BIN / "pg_basebackup"),
                *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"),
                *("-D", str(data_dir), "-R", "-X", "stream", "-c", "fast"),
            ]
        )
        replica = PgCluster(data_dir, port)
        replica._write_config()  # the copied configuration names the primary's port
        return replica

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def start(self) -> None:
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_path), "-w", "start"])

    def stop(self, mode: str = "immediate") -> None:
        """Stop the cluster if it runs (immediate: a crash as far as the cluster knows; nothing to keep)."""
        if (self.data_dir / "postmaster.pid").exists():
            _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"])

    def sql(self, statement: str, database: str = "postgres"):
        """Run one statement in autocommit; return the first row (or None)."""
        import psycopg

        with psycopg.connect(self.url_for(database), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(statement)
            return cursor.fetchone() if cursor.description else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _write_config(self) -> None:
        socket_dir = self.data_dir.parent
        conf = CONFIG.format(port=self.port, socket_dir=socket_dir)
        # Written by the owner: the files in data_dir belong to it and it must go on reading them.
        for name, text, mode in (("postgresql.auto.conf", conf, "a"), ("pg_hba.conf", HBA, "w")):
            path = self.data_dir / name
            with open(path, mode) as handle:
                handle.write(text)
            if os.geteuid() == 0:
                owner = pwd.getpwnam("postgres")
                os.chown(path, owner.pw_uid, owner.pw_gid)


@dataclass
class PrimaryReplica:
    primary: PgCluster
    replica: PgCluster
    root: Path

    def wait_replayed(self, timeout: float = 15) -> None:
        """Wait until the replica has replayed everything the primary wrote so far."""
        (target,) = self.primary.sql("SELECT pg_current_wal_lsn()::text")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            (done,) = self.replica.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
            if done:
                return
            time.sleep(0.05)
        raise TimeoutError(f"the replica did not replay up to {target}:\n{self.replica.log_tail()}")


def start_primary_replica(
    on_primary: Callable[[PgCluster], object] | None = None,
    *,
    primary_port: int | None = None,
    replica_port: int | None = None,
) -> PrimaryReplica:
    """Start a primary and its streaming replica under a new temp dir; the caller stops them.

    `on_primary(primary)` runs once the primary answers, before the replica is copied: work it starts in
    the background (a migration) overlaps the copy and streams to the replica.
    """
    root = owned_temp_dir()
    primary = PgCluster.init(root / "primary", primary_port)
    clusters = PrimaryReplica(primary, PgCluster(root / "replica", replica_port or 0), root)
    try:
        primary.start()
        if on_primary is not None:
            on_primary(primary)
        clusters.replica = primary.replica(root / "replica", replica_port)
        clusters.replica.start()
    except BaseException:
        stop_primary_replica(clusters)
        raise
    return clusters


def stop_primary_replica(clusters: PrimaryReplica) -> None:
    """Stop both clusters (immediate mode) and delete their directory."""
    try:
        for cluster in (clusters.replica, clusters.primary):
            try:
                cluster.stop("immediate")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass  # already stopped, or never started; the directory goes anyway
    finally:
        shutil.rmtree(clusters.root, ignore_errors=True)


@pytest.fixture
def pg_primary_replica(request) -> Iterator[PrimaryReplica]:
    """A running primary and streaming replica (PostgreSQL 15), stopped and deleted after the test."""
    if reason := pg_missing():
        pytest.fail(reason)  # a requirement of CI, not an optional extra: never a silent skip
    clusters = start_primary_replica()
    request.addfinalizer(lambda: stop_primary_replica(clusters))
    yield clusters
