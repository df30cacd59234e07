"""A permission change made in one process reaches another process's configuration cache before its TTL.

Process A (a long-lived `django.setup()` process, like one web worker) caches a user's access levels and
an API token's owner; process B changes them through the ORM; A's next read must see the change although
OTKLIK_CONFIG_CACHE_SECONDS is 60. Both the file generation (embedded mode) and Redis are checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REDIS_URL = "redis://127.0.0.1:6379/13"
SETUP = """
import django; django.setup()
from django.contrib.auth.models import Group, User
from otklik.accounts.models import ApiToken, GroupAccess
from otklik.accounts.roles import levels_of
from otklik.accounts.services import token_authenticate
"""
# Process A answers one line per command read from stdin: a fresh user object each time, so only the
# configuration cache (not the per-request copy on the user) stands between A and the database.
PROCESS_A = (
    SETUP
    + """
import sys
token = open("token.txt").read().strip()
for line in sys.stdin:
    if line.strip() == "levels":
        print(sorted(levels_of(User.objects.get(username="agent"))), flush=True)
    elif line.strip() == "token":
        print(token_authenticate(token) is not None, flush=True)
"""
)


def _env(data: Path, backend: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTKLIK_", "DJANGO_"))}
    env.update(OTKLIK_DATA_DIR=str(data), OTKLIK_CONFIG_CACHE_SECONDS="60")
    env["DJANGO_SETTINGS_MODULE"] = "otklik.settings"
    if backend == "redis":
        env["OTKLIK_REDIS_URL"] = REDIS_URL
    return env


def _run(data: Path, backend: str, code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", SETUP + code],
        env=_env(data, backend),
        cwd=data,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def _migrated(tmp_path_factory) -> Path:
    """Migrate one SQLite database with an agent (staff group) and an API token; tests copy it."""
    data = tmp_path_factory.mktemp("template")
    _run(
        data,
        "file",
        """
from django.core.management import call_command
from otklik.accounts.services import token_create
call_command("migrate", verbosity=0)
group = Group.objects.create(name="Agents")
GroupAccess.objects.create(group=group, level="staff")
user = User.objects.create_user("agent", password="x")
user.groups.add(group)
open("token.txt", "w").write(token_create(user=user))
""",
    )
    return data


@pytest.fixture
def data_dir(_migrated, tmp_path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(_migrated, data, ignore=shutil.ignore_patterns("otklik-config-generation*"))
    return data


def _ask(process: subprocess.Popen, command: str) -> str:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(command + "\n")
    process.stdin.flush()
    return process.stdout.readline().strip()


def _process_a(data: Path, backend: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", PROCESS_A],
        env=_env(data, backend),
        cwd=data,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("backend", ["file", "redis"])
def test_levels_of_group_removed_in_another_process_seen_before_ttl(data_dir, backend):
    process = _process_a(data_dir, backend)
    try:
        assert _ask(process, "levels") == "['staff']"
        assert _ask(process, "levels") == "['staff']"  # now cached for 60 seconds
        _run(data_dir, backend, 'User.objects.get(username="agent").groups.clear()')
        assert _ask(process, "levels") == "[]"
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("backend", ["file", "redis"])
def test_token_authenticate_token_deleted_in_another_process_seen_before_ttl(data_dir, backend):
    process = _process_a(data_dir, backend)
    try:
        assert _ask(process, "token") == "True"
        _run(data_dir, backend, "ApiToken.objects.get().delete()")
        assert _ask(process, "token") == "False"
    finally:
        process.kill()
        process.wait()
