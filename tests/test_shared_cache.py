"""With OTKLIK_REDIS_URL set, Django's cache (registration and password-reset limits) is shared by processes."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

REDIS_URL = "redis://127.0.0.1:6379/14"


def _run_in_a_process(tmp_path: Path, code: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTKLIK_", "DJANGO_"))}
    env.update(OTKLIK_DATA_DIR=str(tmp_path / "data"), OTKLIK_REDIS_URL=REDIS_URL)
    env["DJANGO_SETTINGS_MODULE"] = "otklik.settings"
    script = f"import django; django.setup(); from django.core.cache import cache; {code}"
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip()


def test_cache_with_redis_url_is_shared_between_processes(tmp_path):
    key = f"otklik-test-{secrets.token_hex(8)}"
    _run_in_a_process(tmp_path, f"cache.set({key!r}, 3, 60)")
    # A limit counted in one web process must hold in the others: a second process sees the count.
    assert _run_in_a_process(tmp_path, f"print(cache.incr({key!r})); cache.delete({key!r})") == "4"
