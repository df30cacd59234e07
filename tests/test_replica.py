"""The read replica on a real streaming replica: reports and list counts read from it, the reads after a
write do not, and a lagging or stopped replica falls back to the primary (issue 19).

The test starts its own PostgreSQL 15 primary and replica (tests/pg_cluster.py), so it runs the same in
both CI passes; the application runs in subprocesses (`otklik migrate`, tests/replica_scenario.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from otklik.core import db_routing
from tests.helpers import free_port, server_env
from tests.pg_cluster import (
    PgCluster,
    PrimaryReplica,
    pg_missing,
    start_primary_replica,
    stop_primary_replica,
)

ROOT = Path(__file__).resolve().parent.parent


def _env(primary_port: int, replica_port: int, data_dir: Path) -> dict[str, str]:
    return server_env(
        data_dir,
        OTKLIK_DATABASE_URL=f"postgres://postgres@127.0.0.1:{primary_port}/otklik",
        OTKLIK_DATABASE_REPLICA_URL=f"postgres://postgres@127.0.0.1:{replica_port}/otklik",
        OTKLIK_REPLICA_PIN_SECONDS="2",
        OTKLIK_REPLICA_CHECK_SECONDS="0.2",
        OTKLIK_LOG_LEVEL="ERROR",
    )


def _run(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    return result


@pytest.fixture
def migrated_clusters(request, tmp_path) -> tuple[PrimaryReplica, dict[str, str]]:
    """A primary migrated by `otklik migrate` (run while the replica is copied) and its streaming replica."""
    if reason := pg_missing():
        pytest.fail(reason)  # CI installs PostgreSQL 15: never a silent skip
    primary_port, replica_port = free_port(), free_port()
    env = _env(primary_port, replica_port, tmp_path)
    running: list[subprocess.Popen] = []

    def migrate(primary: PgCluster) -> None:
        primary.sql("CREATE DATABASE otklik")
        command = [sys.executable, "-m", "otklik", "migrate", "-v", "0"]
        running.append(
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        )

    clusters = start_primary_replica(migrate, primary_port=primary_port, replica_port=replica_port)
    request.addfinalizer(lambda: stop_primary_replica(clusters))
    (migration,) = running
    request.addfinalizer(lambda: migration.poll() is None and migration.kill())
    stdout, stderr = migration.communicate(timeout=300)
    assert migration.returncode == 0, (
        f"otklik migrate failed:\n{stdout.decode()[-3000:]}\n{stderr.decode()[-5000:]}"
    )
    clusters.wait_replayed()
    env["REPLICA_CLUSTER"] = json.dumps({"data_dir": str(clusters.replica.data_dir), "port": replica_port})
    return clusters, env


@pytest.mark.slow
@pytest.mark.xdist_group("replica")
def test_replica_reports_and_counts_stale_reads_after_write_fresh_fallbacks_safe(migrated_clusters):
    _clusters, env = migrated_clusters
    result = _run([sys.executable, "-m", "tests.replica_scenario"], env, timeout=120)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    old = seen["baseline"]["primary"]
    new = seen["primary_after_writes"]
    assert old == 3 and new == old + 2, seen

    # In sync: the count comes from the replica.
    assert seen["baseline"]["reader"]["count"] == old
    assert seen["baseline"]["reader"]["from"].startswith("replica"), seen["baseline"]

    # The writer's write pins them to the primary; the same request reads its own write.
    assert seen["write"] == {"status": 201, "pin_cookie": True}, seen["write"]
    assert seen["same_request"]["reason"] == "after-write", seen["same_request"]
    assert seen["same_request"]["count"] == seen["same_request"]["primary"], seen["same_request"]
    assert seen["writer_pinned"]["count"] == new, seen["writer_pinned"]
    assert seen["writer_pinned"]["from"] == "primary; reason=pinned", seen["writer_pinned"]

    # Another user's counts and reports come from the paused replica: stale, and the page says so.
    assert seen["reader_stale"]["count"] == old, seen["reader_stale"]
    assert seen["reader_stale"]["from"].startswith("replica"), seen["reader_stale"]
    assert seen["reader_desk"]["total"] == old and seen["reader_desk"]["from"].startswith("replica")
    desk_page = seen["reader_desk_page"]
    assert desk_page["status"] == 200 and desk_page["from"].startswith("replica") and desk_page["as_of"]
    for listing in ("reader_staff_list", "client_list"):
        assert seen[listing]["status"] == 200 and seen[listing]["from"].startswith("replica"), seen[listing]
    # The pin lasts OTKLIK_REPLICA_PIN_SECONDS only.
    assert seen["writer_unpinned"]["count"] == old and seen["writer_unpinned"]["from"].startswith("replica")

    # More behind than OTKLIK_REPLICA_MAX_LAG_SECONDS: the primary answers, and it is logged.
    assert seen["lagging"]["count"] == new, seen["lagging"]
    assert seen["lagging"]["from"].startswith("primary; reason=lagging"), seen["lagging"]
    assert seen["lagging_desk_page"]["status"] == 200 and not seen["lagging_desk_page"]["as_of"]
    assert seen["lag_logged"]

    # Replay resumed: the replica has caught up and nothing says "as of".
    assert seen["caught_up"]["count"] == new and seen["caught_up"]["from"].startswith("replica")
    assert seen["caught_up_desk_page"]["status"] == 200 and not seen["caught_up_desk_page"]["as_of"]

    # The replica stopped: mid-read (an open connection) and at the next check, the primary answers.
    assert seen["before_stop"]["from"].startswith("replica"), seen["before_stop"]
    for step in ("stopped_mid_read", "stopped_checked"):
        assert seen[step]["status"] == 200 and seen[step]["count"] == new, seen[step]
        assert seen[step]["from"] == "primary; reason=unreachable", seen[step]
    for step in ("stopped_desk_page", "stopped_staff_list"):
        assert seen[step]["status"] == 200 and seen[step]["from"].startswith("primary"), seen[step]
    assert seen["stopped_desk"] == {"status": 200, "total": new, "from": "primary; reason=unreachable"}
    assert seen["unreachable_logged"]
    assert seen["stopped_checked_seconds"] < 3


def test_replica_helpers_in_the_suite_read_the_primary(db):
    """Without OTKLIK_DATABASE_REPLICA_URL every helper is a no-op: one database, as before. With it (the suite
    run against a replica), the alias mirrors default and a test's transaction keeps reads on the primary."""
    from django.conf import settings

    # With a replica: the test's own writes (fixtures) or its transaction keep the reads on the primary.
    expected = {"after-write", "in-transaction"} if "replica" in settings.DATABASES else {"not-configured"}
    assert db_routing.replica_alias() == "default"
    with db_routing.reading_from_replica() as decision:
        assert decision.reason in expected and not decision.behind
    assert db_routing.on_replica(lambda: 42) == 42
    assert db_routing.read_connection().alias == "default"


def test_replica_settings_mirror_default_in_tests(tmp_path):
    """With a replica URL the settings add the alias (a test mirror of default), the router and the pin."""
    code = (
        "import json; from django.conf import settings as s; r = s.DATABASES['replica']; "
        "print(json.dumps([r['TEST'], r['HOST'], r['PORT'], r['OPTIONS'].get('connect_timeout'), "
        "s.DATABASE_ROUTERS, 'otklik.core.db_routing.ReplicaPinMiddleware' in s.MIDDLEWARE]))"
    )
    env = server_env(
        tmp_path,
        OTKLIK_DATABASE_URL="postgres://postgres@127.0.0.1:5432/otklik_a",
        OTKLIK_DATABASE_REPLICA_URL="postgres://postgres@127.0.0.2:5433/otklik_a",
    )
    out = _run([sys.executable, "-c", "import django; django.setup(); " + code], env, timeout=60)
    test, host, port, timeout, routers, middleware = json.loads(out.stdout.strip().splitlines()[-1])
    assert test["MIRROR"] == "default" and (host, port) == ("127.0.0.2", 5433) and timeout == 3
    assert routers == ["otklik.core.db_routing.ReplicaRouter"] and middleware


@override_settings(OTKLIK_REPLICA_PIN_SECONDS=5)
def test_replica_read_shows_age_only_when_behind():
    fresh = db_routing.ReplicaRead("replica", "replica", lag_seconds=0.4)
    late = db_routing.ReplicaRead("replica", "replica", lag_seconds=7.6)
    primary = db_routing.ReplicaRead("default", "lagging", lag_seconds=70)
    assert not fresh.behind and late.behind and not primary.behind
    assert late.lag_whole == 8 and (late.checked_at - late.as_of).total_seconds() == pytest.approx(7.6)
    assert late.header() == "replica; lag=7.6" and primary.header() == "primary; reason=lagging"
