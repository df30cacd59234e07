"""Helpers many test modules share: free ports and a real `otklik start`, Moscow instants, fresh rows, a PNG.

Fixtures stay in conftest.py; plain functions that several modules used to copy live here.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import zlib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # the models need Django set up; the servers' helpers here do not
    from otklik.tickets.models import Ticket

MSK = ZoneInfo("Europe/Moscow")


def msk(*args: int) -> datetime:
    """Return the Moscow wall-clock instant datetime(*args)."""
    return datetime(*args, tzinfo=MSK)


def fresh(ticket: Ticket) -> Ticket:
    """Return the ticket as stored now (not the instance a test holds)."""
    from otklik.tickets.models import Ticket

    return Ticket.objects.get(pk=ticket.pk)


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Return this process's environment without Otklik's, granian's and Django's variables, for a server
    on its own embedded SQLite in `data_dir` (never the test run's database)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTKLIK_", "GRANIAN_", "DJANGO_"))}
    env.update(OTKLIK_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="otklik.settings", **extra)
    return env


def otklik_start_process(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, int]:
    """Start `otklik start` (one worker, two threads) on a free port; return the process and the port.

    The process leads its own session, so a test can stop it and its children with one killpg.
    """
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "otklik",
            "start",
            "--port",
            str(port),
            "--workers",
            "1",
            "--threads",
            "2",
            *args,
        ],
        env=env or server_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc, port


def png_1x1() -> bytes:
    """Return a valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def browser_login(page, base: str, username: str, password: str = "pass-Word-123") -> None:
    """Sign in through the login page in a Playwright page."""
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def browser_session(context, base: str, username: str) -> None:
    """Sign a Playwright browser context in as `username` by a session cookie, skipping the login page.

    For tests about other pages: a session made by Django's test client is the one the login page would
    make (the login form itself is driven by the tests that check it). The live server reads it from the
    database, where the transactional test has committed it.
    """
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(username=username))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base}])


class Api:
    """Call the API with a bearer token."""

    def __init__(self, user):
        from django.test import Client

        from otklik.accounts.services import token_create

        self.client = Client(HTTP_ACCEPT_LANGUAGE="en")
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token_create(user=user)}"}

    def get(self, url: str, params: dict | None = None):
        return self.client.get(url, params or {}, **self.headers)

    def send(self, method: str, url: str, body=None, *, raw: str | None = None):
        data = raw if raw is not None else json.dumps(body)
        return getattr(self.client, method.lower())(
            url, data=data, content_type="application/json", **self.headers
        )

    def upload(self, url: str, data: dict):
        return self.client.post(url, data=data, **self.headers)


# The rows a ticket's creation writes, one INSERT each, in this order (tests/test_config_cache.py,
# tests/test_intake_cost.py): its derived state and deadline go into the ticket's own INSERT.
CREATION_INSERTS = [
    "tickets_ticket",
    "tickets_message",
    "tickets_ticketevent",
    "sla_slaevent",
    "tickets_ticketsearchdocument",
    "workflow_ticketprocess",
    "notifications_outboxmessage",
]


def statements_split(captured) -> tuple[list[str], list[str]]:
    """Split captured statements into the tables INSERTed into and every other statement's first words
    (savepoints aside): what a creation wrote, and whatever else it ran."""
    statements = [" ".join(q["sql"].split()[:3]) for q in captured.captured_queries]
    written = [s.split()[2].strip('"') for s in statements if s.startswith("INSERT")]
    others = [s for s in statements if not s.startswith(("INSERT", "SAVEPOINT", "RELEASE"))]
    return written, others
