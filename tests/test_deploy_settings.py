"""HTTPS deployment: one switch (OTKLIK_HTTPS=1) makes `otklik check --deploy` pass without a warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

STRONG_KEY = "k7Qw-2mZp9Lx_Vb4Nc8Rt1Yh6Jd3Fs0Ga5He2Uo9Ii7Pl4Mk1Nj8Bh5Vg2Cf6Xd3Sz0Aq"


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    # Only our variables: e.g. the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process, which
    # check --deploy rightly reports.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTKLIK_", "DJANGO_"))}
    env.update(
        OTKLIK_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="otklik.settings",
        OTKLIK_HTTPS="1",
        OTKLIK_SITE_URL="https://help.example.com",
        OTKLIK_ALLOWED_HOSTS="help.example.com",
    )
    env.update(extra)
    return env


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "otklik", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("key", [STRONG_KEY, None], ids=["given key", "generated key"])
def test_check_deploy_in_https_mode_passes_without_warnings(tmp_path, key):
    env = _env(tmp_path / "data", **({"OTKLIK_SECRET_KEY": key} if key else {}))
    result = _check_deploy(env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output and "security." not in output, output
    assert "no issues" in output


def test_https_switch_sets_hsts_redirect_secure_cookies_proxy_header_and_trusted_origin(tmp_path):
    env = _env(tmp_path / "data", OTKLIK_SECRET_KEY=STRONG_KEY, OTKLIK_HSTS_SECONDS="600")
    names = [
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
        "CSRF_TRUSTED_ORIGINS",
    ]
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    values = json.loads(result.stdout)
    assert values == {
        "SECURE_HSTS_SECONDS": 600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "CSRF_TRUSTED_ORIGINS": ["https://help.example.com"],
    }


def test_https_switch_off_leaves_plain_http_settings(tmp_path):
    env = _env(tmp_path / "data", OTKLIK_HTTPS="0", OTKLIK_SECRET_KEY=STRONG_KEY)
    result = _check_deploy(env)
    assert result.returncode != 0 and "SECURE_SSL_REDIRECT" in result.stderr
