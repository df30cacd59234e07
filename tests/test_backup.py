"""`otklik backup` / `otklik restore` (issue 19) on the database the suite runs on (SQLite or PostgreSQL).

A populated installation (tickets with messages, hidden notes, attachments, outbox rows, stored raw mail,
a quarantined one, mail the file backend wrote) is backed up in this process and restored by a real
`python -m otklik restore` into an empty installation: a temporary data directory, plus on PostgreSQL a
database created for the test. A second subprocess dumps every row of every table and every attachment's
bytes from the restored installation, which must equal the source's.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection, connections
from django.utils import translation

from otklik.core import backup
from otklik.core.backup import BackupError, backup_create, backup_restore, backup_verify
from otklik.mail.models import Outcome
from otklik.mail.services import mail_ingest
from otklik.notifications.models import OutboxMessage
from otklik.tickets import services
from otklik.tickets.models import Attachment, Message, MessageKind, Ticket
from tests.backup_snapshot import snapshot
from tests.conftest import upload
from tests.samples import pdf_bytes, png_bytes
from tests.test_mail_ingest import mail

# The round trips commit their data (the restoring subprocesses and pg_dump read it from other connections);
# the refusals need no committed rows and run in the usual rolled-back transaction (cheaper: no flush).
pytestmark = pytest.mark.xdist_group("backup")
committed = pytest.mark.django_db(transaction=True)
rolled_back = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
ENGINE = "postgresql" if connection.vendor == "postgresql" else "sqlite"
SENT_MAIL = b"Subject: sent by the file backend\n\nkept in the backup\n"


@dataclass
class Target:
    """An empty installation to restore into: its data directory and environment."""

    data: Path
    env: dict[str, str]
    database: str | None  # PostgreSQL: the database created for it

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args], env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=180
        )

    def snapshot(self) -> dict:
        code = "import django; django.setup(); from tests.backup_snapshot import snapshot_json; print(snapshot_json())"
        result = self.run("-c", code)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def _pg_url(name: str) -> str:
    database = connection.settings_dict
    credentials = quote(database["USER"] or "", safe="")
    if database.get("PASSWORD"):
        credentials += ":" + quote(database["PASSWORD"], safe="")
    return f"postgres://{credentials}@{database['HOST'] or 'localhost'}:{database['PORT'] or 5432}/{name}"


@pytest.fixture
def target(tmp_path):
    """Make an empty installation; on PostgreSQL create its database for the test and drop it after."""
    data = tmp_path / "target"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTKLIK_", "DJANGO_"))}
    env.update(OTKLIK_DATA_DIR=str(data), OTKLIK_LANGUAGE="en", DJANGO_SETTINGS_MODULE="otklik.settings")
    name = None
    if ENGINE == "postgresql":
        name = f"otklik_restore_{secrets.token_hex(4)}"
        _outside_the_test_transaction(f'CREATE DATABASE "{name}"')
        env["OTKLIK_DATABASE_URL"] = _pg_url(name)
    yield Target(data=data, env=env, database=name)
    if name:
        _outside_the_test_transaction(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _outside_the_test_transaction(sql: str) -> None:
    """Run `sql` on a connection of its own, in autocommit (CREATE DATABASE cannot run in a transaction)."""
    own = connections.create_connection("default")
    try:
        with own.cursor() as cursor:
            cursor.execute(sql)
    finally:
        own.close()


def _make_migrated(target: Target, empty_backup: Path) -> None:
    """Turn the target into a migrated installation without users or tickets (from an empty backup)."""
    dump = empty_backup / backup.DUMP_NAMES[ENGINE]
    if ENGINE == "sqlite":
        target.data.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dump, target.data / "otklik.sqlite3")
    else:
        env = {**backup._pg_env(), "PGDATABASE": target.database}
        subprocess.run(
            [backup.PG_RESTORE, "--no-owner", "--exit-on-error", f"--dbname={target.database}", str(dump)],
            env=env,
            check=True,
            capture_output=True,
        )


@pytest.fixture
def mail_files(settings, tmp_path):
    """Let the file mail backend write into the test's folder, with one mail already there."""
    folder = tmp_path / "sent-mail"
    folder.mkdir()
    (folder / "20261205-101010-1.log").write_bytes(SENT_MAIL)
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = folder
    return folder


def _populate(cast, make_ticket) -> None:
    first = make_ticket(title="Не работает вход", message="Ошибка 500 на странице входа.")
    services.message_post(
        actor=cast.client,
        ticket=first,
        draft=services.MessageDraft(body="Скриншот", files=[upload("screen.png", png_bytes(40, 30))]),
    )
    services.message_post(
        actor=cast.staff,
        ticket=first,
        draft=services.MessageDraft(
            body="Internal: check the auth logs",
            hidden=True,
            files=[upload("notes.pdf", pdf_bytes("hidden"))],
        ),
    )
    services.message_post(
        actor=cast.staff, ticket=first, draft=services.MessageDraft(body="Fixed, try again")
    )
    make_ticket(actor=cast.other_client, title="Invoice", message="Where is my invoice?")
    assert mail_ingest(mail(subject="Письмо в поддержку")).outcome == Outcome.CREATED
    assert mail_ingest(b"\x00\x01 not a mail at all").outcome == Outcome.QUARANTINED
    assert Ticket.objects.count() == 3 and Attachment.objects.count() == 2
    assert Message.objects.filter(kind=MessageKind.HIDDEN).exists() and OutboxMessage.objects.exists()


@pytest.fixture
def empty_backup(tmp_path) -> Path:
    """Back up the installation before anyone is created in it (request it before `cast`)."""
    manifest = backup_create(tmp_path / "empty")
    assert manifest.counts["auth.User"] == manifest.counts["tickets.Ticket"] == 0
    return tmp_path / "empty"


@committed
def test_backup_restore_round_trip_keeps_every_row_and_byte(
    empty_backup, cast, make_ticket, mail_files, target, tmp_path
):
    _populate(cast, make_ticket)
    manifest = backup_create(tmp_path / "backup")
    source = snapshot()

    assert (manifest.engine, manifest.format_version) == (ENGINE, 1)
    assert manifest.counts["tickets.Ticket"] == 3 and manifest.counts["mail.InboundMail"] == 2
    assert manifest.counts["tickets.Attachment"] == 2 and manifest.counts["notifications.OutboxMessage"] > 0
    assert ("tickets", "0001_initial") in manifest.migrations
    listed = {f.path for f in manifest.files}
    assert {f"files/{a.file.name}" for a in Attachment.objects.all()} <= listed
    assert "outgoing-mail/20261205-101010-1.log" in listed and manifest.database in listed
    on_disk = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert on_disk["counts"] == manifest.counts and len(on_disk["files"]) == len(manifest.files)

    # This installation has tickets: restoring over it is refused before anything is touched.
    with translation.override("en"), pytest.raises(BackupError, match="not empty"):
        backup_restore(tmp_path / "backup")
    assert snapshot() == source

    _make_migrated(target, empty_backup)
    result = target.run("-m", "otklik", "restore", str(tmp_path / "backup"))
    assert result.returncode == 0, result.stderr
    assert "tickets.Ticket: 3" in result.stdout and "Migrations applied after the restore: 0" in result.stdout

    restored = target.snapshot()
    assert restored["files"] == source["files"] and len(source["files"]) == 2
    for label in ("tickets.Ticket", "tickets.Message", "tickets.Attachment", "notifications.OutboxMessage"):
        assert restored["rows"][label] == source["rows"][label], label
    assert restored["rows"]["mail.InboundMail"] == source["rows"]["mail.InboundMail"]
    assert restored == source
    assert (target.data / "mail" / "20261205-101010-1.log").read_bytes() == SENT_MAIL


@rolled_back
def test_restore_into_a_new_database(target, tmp_path):
    # Rolled back: the backup holds what migrations created (no users, no tickets) - enough to restore.
    backup_create(tmp_path / "backup")
    result = target.run("-m", "otklik", "restore", str(tmp_path / "backup"))
    assert result.returncode == 0, result.stderr
    assert "auth.User: 0, tickets.Ticket: 0" in result.stdout


@rolled_back
def test_restore_command_over_an_installation_in_use_fails_with_the_reason(cast, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    backup_create(tmp_path / "backup")
    with translation.override("en"), pytest.raises(CommandError, match=r"not empty \(auth.User: 7\)"):
        call_command("restore", str(tmp_path / "backup"))


@rolled_back
def test_backup_refuses_a_directory_that_is_not_empty(tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "old.txt").write_text("keep me")
    with translation.override("en"), pytest.raises(BackupError, match="not an empty directory"):
        backup_create(tmp_path / "backup")
    assert [p.name for p in (tmp_path / "backup").iterdir()] == ["old.txt"]


@rolled_back
def test_backup_command_into_an_empty_directory_exits_zero_and_a_file_fails(tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    (tmp_path / "empty").mkdir()
    call_command("backup", str(tmp_path / "empty"))
    assert (tmp_path / "empty" / "manifest.json").is_file()
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(CommandError):
        call_command("backup", str(tmp_path / "a-file"))


def _stored_file() -> str:
    """Put one file into the uploads' storage, as an attachment would be; return its name."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    return default_storage.save("ab/cdef", ContentFile(png_bytes()))


@rolled_back
def test_backup_interrupted_leaves_no_directory_that_looks_complete(tmp_path, monkeypatch):
    _stored_file()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(backup, "_copy_tree", killed)
    with pytest.raises(KeyboardInterrupt):
        backup_create(tmp_path / "backup")
    assert list(tmp_path.iterdir()) == [tmp_path / "files"]  # no backup, no partial directory left


@rolled_back
@pytest.mark.parametrize("victim", ["database", "attachment"])
def test_restore_refuses_a_damaged_backup_naming_the_file(tmp_path, victim):
    _stored_file()
    manifest = backup_create(tmp_path / "backup")
    name = (
        manifest.database
        if victim == "database"
        else next(f.path for f in manifest.files if f.path.startswith("files/"))
    )
    path = tmp_path / "backup" / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit in the middle: the size stays the same
    path.write_bytes(bytes(data))
    with translation.override("en"), pytest.raises(BackupError, match=f"damaged: {name} does not match"):
        backup_verify(tmp_path / "backup")
    with translation.override("en"), pytest.raises(BackupError, match="damaged"):
        backup_restore(tmp_path / "backup")  # refused before the target is even looked at


@rolled_back
def test_restore_refuses_a_backup_of_the_other_engine(tmp_path):
    backup_create(tmp_path / "backup")
    manifest_path = tmp_path / "backup" / "manifest.json"
    data = json.loads(manifest_path.read_text())
    data["engine"] = "sqlite" if ENGINE == "postgresql" else "postgresql"
    manifest_path.write_text(json.dumps(data))
    with (
        translation.override("en"),
        pytest.raises(BackupError, match="across database engines is not supported"),
    ):
        backup_restore(tmp_path / "backup")


@rolled_back
def test_restore_refuses_a_backup_from_a_newer_otklik(cast, tmp_path):
    backup_create(tmp_path / "backup")
    manifest_path = tmp_path / "backup" / "manifest.json"
    data = json.loads(manifest_path.read_text())
    data["migrations"].append(["tickets", "9999_from_the_future"])
    manifest_path.write_text(json.dumps(data))
    with (
        translation.override("en"),
        pytest.raises(BackupError, match="newer Otklik .* tickets.9999_from_the_future"),
    ):
        backup_restore(tmp_path / "backup")


@rolled_back
def test_restore_refuses_a_directory_without_manifest(tmp_path):
    with translation.override("en"), pytest.raises(BackupError, match="no manifest.json"):
        backup_restore(tmp_path)


def _wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _dumped_rows(folder: Path, table: str) -> list[dict[str, str]]:
    """Read a table's rows from a backup's database dump itself (not from the manifest), values as text."""
    dump = folder / backup.DUMP_NAMES[ENGINE]
    if ENGINE == "sqlite":
        copy = sqlite3.connect(dump)
        try:
            cursor = copy.execute(f'SELECT * FROM "{table}"')
            names = [column[0] for column in cursor.description]
            return [{n: str(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]
        finally:
            copy.close()
    # pg_restore prints the table's COPY block: a header naming the columns, tab-separated rows, "\.".
    text = subprocess.run(
        [backup.PG_RESTORE, "--data-only", f"--table={table}", "--file=-", str(dump)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"COPY public.{table} ("))
    names = [n.strip().strip('"') for n in lines[start].split("(", 1)[1].split(")", 1)[0].split(",")]
    rows = []
    for line in lines[start + 1 :]:
        if line == "\\.":
            break
        rows.append(dict(zip(names, line.split("\t"), strict=True)))
    return rows


@committed
def test_backup_while_tickets_are_written_is_one_consistent_moment(cast, tmp_path):
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            number = 0
            while not stop.is_set():
                services.ticket_create(
                    actor=cast.client,
                    draft=services.TicketDraft(
                        title=f"Written during the backup {number}", message="Meanwhile"
                    ),
                )
                number += 1
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)
        finally:
            connection.close()  # this thread's own connection

    writer = threading.Thread(target=write)
    writer.start()
    try:
        _wait_for(lambda: Ticket.objects.count() >= 2)
        manifest = backup_create(tmp_path / "backup")
        _wait_for(lambda: Ticket.objects.count() > manifest.counts["tickets.Ticket"])  # writes went on
    finally:
        stop.set()
        writer.join(60)
    assert not errors, errors

    tickets = _dumped_rows(tmp_path / "backup", "tickets_ticket")
    messages = _dumped_rows(tmp_path / "backup", "tickets_message")
    outbox = _dumped_rows(tmp_path / "backup", "notifications_outboxmessage")
    # The dump, the manifest's counts and the row-to-row links all describe one moment: every ticket in it
    # has the first message that was committed with it, and no message lacks its ticket.
    assert len(tickets) == manifest.counts["tickets.Ticket"] >= 2
    assert len(messages) == manifest.counts["tickets.Message"]
    assert len(outbox) == manifest.counts["notifications.OutboxMessage"]
    ticket_ids = {row["id"] for row in tickets}
    assert {row["ticket_id"] for row in messages if row["number"] == "1"} == ticket_ids
    assert {row["ticket_id"] for row in messages} <= ticket_ids
