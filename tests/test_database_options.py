"""PostgreSQL connections: JIT compilation is off (it cost the reports more than it saved) and options
given in OTKLIK_DATABASE_URL are kept beside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import connection


def _options(tmp_path, url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTKLIK_", "DJANGO_"))}
    env.update(
        OTKLIK_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="otklik.settings", OTKLIK_DATABASE_URL=url
    )
    code = "import json, django; django.setup(); from django.conf import settings; "
    code += "print(json.dumps(settings.DATABASES['default']['OPTIONS']))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_postgresql_options_turn_jit_off(tmp_path):
    options = _options(tmp_path, "postgres://otklik@db.example/otklik")
    assert options["options"] == "-c jit=off"
    assert options["server_side_binding"] is True


def test_postgresql_options_from_the_url_are_kept(tmp_path):
    options = _options(tmp_path, "postgres://otklik@db.example/otklik?options=-c%20statement_timeout%3D5000")
    assert options["options"] == "-c statement_timeout=5000 -c jit=off"


def test_sqlite_gets_no_postgresql_options(tmp_path):
    assert "options" not in _options(tmp_path, f"sqlite:///{tmp_path}/x.sqlite3")


@pytest.mark.django_db
def test_the_live_connection_runs_without_jit():
    if connection.vendor == "sqlite":  # the suite runs on both backends in CI; SQLite has no JIT
        assert "options" not in connection.settings_dict["OPTIONS"]
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
