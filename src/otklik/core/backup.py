"""Back up an installation into a directory and restore it into an empty one (`otklik backup` / `restore`).

A backup directory holds a consistent copy of the database (SQLite's online backup of the live file, or
`pg_dump --format=custom` from one snapshot), the uploaded files (the default storage's root) and the
mail the file backend wrote, with `manifest.json`: what was copied, from which version, the applied
migrations, the main tables' row counts and the SHA-256 and size of every file. Inbound mail is kept raw
in the database (mail.InboundMail.raw), so the dump carries it.

The backup is written under a hidden temporary name next to DIR and renamed only when complete: a
directory named DIR with a manifest is always a whole backup.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.utils.translation import gettext as _

import otklik

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FILES_DIR = "files"
MAIL_DIR = "outgoing-mail"
DUMP_NAMES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
# The tables the manifest counts and the restore summary shows (app_label.Model).
COUNTED_MODELS = (
    "auth.User",
    "tickets.Ticket",
    "tickets.Message",
    "tickets.Attachment",
    "notifications.OutboxMessage",
    "mail.InboundMail",
)
# A target holding a row in any of these is somebody's installation: restore refuses to overwrite it.
OCCUPIED_MODELS = ("auth.User", "tickets.Ticket", "mail.InboundMail")
PG_DUMP = shutil.which("pg_dump") or "/usr/bin/pg_dump"
PG_RESTORE = shutil.which("pg_restore") or "/usr/bin/pg_restore"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, for the operator."""


@dataclass(frozen=True)
class BackupFile:
    """One file of a backup, by its path relative to the backup directory."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What a backup holds (manifest.json)."""

    format_version: int
    otklik_version: str
    created_at: str
    engine: str
    database: str
    migrations: list[tuple[str, str]]
    counts: dict[str, int]
    files: list[BackupFile]
    # False when uploads live in a storage that is not a local folder: back that up with its own tools.
    storage_included: bool = True

    def to_json(self) -> str:
        """Return the manifest as JSON text."""
        return json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Read a manifest written by `to_json`; raise BackupError for anything else."""
        try:
            data = json.loads(text)
            if data.get("format_version") != FORMAT_VERSION:
                raise BackupError(
                    _("Unknown backup format %(version)s (this Otklik reads format %(known)s).")
                    % {"version": data.get("format_version"), "known": FORMAT_VERSION}
                )
            return cls(
                format_version=data["format_version"],
                otklik_version=str(data["otklik_version"]),
                created_at=str(data["created_at"]),
                engine=str(data["engine"]),
                database=str(data["database"]),
                migrations=[(str(app), str(name)) for app, name in data["migrations"]],
                counts={str(k): int(v) for k, v in data["counts"].items()},
                files=[BackupFile(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in data["files"]],
                storage_included=bool(data.get("storage_included", True)),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BackupError(
                _("manifest.json is not a valid backup manifest (%(error)s).") % {"error": error}
            ) from None


@dataclass(frozen=True)
class RestoreReport:
    """What a restore did: the backup it read and the installation it left."""

    manifest: Manifest
    counts: dict[str, int]
    migrations_applied: list[tuple[str, str]] = field(default_factory=list)
    files_restored: int = 0


# -- backup ---------------------------------------------------------------------------------------------


def backup_create(target: Path) -> Manifest:
    """Write a complete backup of this installation into `target`, which must be new or empty."""
    target = Path(target).absolute()
    _check_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        engine = _engine()
        dump = work / DUMP_NAMES[engine]
        # The database first, the files second: a file uploaded meanwhile is merely unreferenced, while
        # every attachment the dump names was written before its row was committed.
        if engine == "sqlite":
            migrations, counts = _sqlite_backup(dump)
        else:
            migrations, counts = _pg_backup(dump)
        files = [_describe(work, dump)]
        root = _storage_root()
        if root is not None:
            files += _copy_tree(root, work / FILES_DIR, base=work)
        mail_dir = _mail_dir()
        if mail_dir is not None:
            files += _copy_tree(mail_dir, work / MAIL_DIR, base=work)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            otklik_version=otklik.__version__,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            engine=engine,
            database=dump.name,
            migrations=migrations,
            counts=counts,
            files=files,
            storage_included=root is not None,
        )
        _write_durably(work / MANIFEST, manifest.to_json().encode())
        if target.exists():
            target.rmdir()  # checked empty above
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


def _check_target(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(
            _("%(path)s already exists and is not an empty directory: give a new or empty directory.")
            % {"path": target}
        )


def _engine() -> str:
    vendor = connections["default"].vendor
    if vendor not in DUMP_NAMES:
        raise BackupError(_("Backups support SQLite and PostgreSQL, not %(engine)s.") % {"engine": vendor})
    return vendor


def _sqlite_path() -> Path:
    return Path(str(connections["default"].settings_dict["NAME"]))


def _sqlite_backup(dump: Path) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """Copy the live database with SQLite's online backup: one read snapshot, writers carry on (WAL)."""
    source = sqlite3.connect(_sqlite_path())
    copy = sqlite3.connect(dump)
    try:
        source.backup(copy)  # all pages in one step, so the copy is one consistent state
        copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file, no -wal beside it
        return _migrations(copy.cursor()), _counts(copy.cursor())
    finally:
        copy.close()
        source.close()


def _pg_backup(dump: Path) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """Dump with pg_dump inside an exported snapshot, and count rows in that same snapshot."""
    snapshot_holder = connections.create_connection("default")
    try:
        snapshot_holder.ensure_connection()
        snapshot_holder.set_autocommit(False)
        with snapshot_holder.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            _run_pg(PG_DUMP, ["--format=custom", f"--snapshot={snapshot}", f"--file={dump}"])
            return _migrations(cursor), _counts(cursor)
    finally:
        if snapshot_holder.connection is not None:
            snapshot_holder.rollback()
        snapshot_holder.close()


def _pg_env() -> dict[str, str]:
    """Connection parameters for the PostgreSQL client tools, all in the environment (never in argv)."""
    database = connections["default"].settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for variable, key in (("PGDATABASE", "NAME"), ("PGUSER", "USER"), ("PGHOST", "HOST"), ("PGPORT", "PORT")):
        if database.get(key):
            env[variable] = str(database[key])
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = str(database["PASSWORD"])
    if sslmode := database.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = str(sslmode)
    return env


def _run_pg(program: str, arguments: list[str]) -> None:
    env = _pg_env()
    if program == PG_RESTORE:
        arguments = [*arguments, f"--dbname={env['PGDATABASE']}"]
    try:
        result = subprocess.run(
            [program, "--no-password", *arguments], env=env, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise BackupError(
            _("%(program)s is not installed (Debian: apt install postgresql-client).") % {"program": program}
        ) from None
    if result.returncode != 0:
        raise BackupError(
            _("%(program)s failed: %(error)s")
            % {"program": Path(program).name, "error": result.stderr.strip()}
        )


def _table(label: str) -> str:
    from django.apps import apps

    return apps.get_model(label)._meta.db_table


def _migrations(cursor: Any) -> list[tuple[str, str]]:
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
    return [(app, name) for app, name in cursor.fetchall()]


def _counts(cursor: Any) -> dict[str, int]:
    counts = {}
    for label in COUNTED_MODELS:
        cursor.execute(f'SELECT COUNT(*) FROM "{_table(label)}"')  # table names from our own models
        counts[label] = int(cursor.fetchone()[0])
    return counts


def _default_storage() -> Any:
    """Return the default file storage (where attachments are kept)."""
    from django.core.files.storage import storages

    return storages["default"]


def _storage_root() -> Path | None:
    """Return the folder holding uploaded files, or None when the default storage is not a local folder."""
    location = getattr(_default_storage(), "location", None)
    return Path(location) if location else None


def _mail_dir() -> Path | None:
    """Return the folder the file mail backend writes to, when that backend is in use."""
    if settings.EMAIL_BACKEND != "django.core.mail.backends.filebased.EmailBackend":
        return None
    return Path(settings.EMAIL_FILE_PATH)


def _walk(root: Path) -> Iterator[Path]:
    """Yield every regular file under `root` in a stable order (links are not followed)."""
    if not root.is_dir():
        return
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _copy_tree(root: Path, destination: Path, *, base: Path) -> list[BackupFile]:
    """Copy every file under `root` to `destination`, hashing each as it is copied."""
    described = []
    for source in _walk(root):
        copy = destination / source.relative_to(root)
        copy.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        with source.open("rb") as reader, copy.open("wb") as writer:
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                writer.write(chunk)
                size += len(chunk)
        described.append(BackupFile(copy.relative_to(base).as_posix(), size, digest.hexdigest()))
    return described


def _describe(base: Path, path: Path) -> BackupFile:
    size, digest = _hash(path)
    return BackupFile(path.relative_to(base).as_posix(), size, digest)


def _hash(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as reader:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _write_durably(path: Path, data: bytes) -> None:
    with path.open("wb") as writer:
        writer.write(data)
        writer.flush()
        os.fsync(writer.fileno())


# -- restore --------------------------------------------------------------------------------------------


def backup_verify(source: Path) -> Manifest:
    """Read `source`'s manifest and check every file's size and SHA-256; raise BackupError naming a bad one."""
    source = Path(source)
    manifest_path = source / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(_("%(path)s is not a complete backup: it has no manifest.json.") % {"path": source})
    manifest = Manifest.from_json(manifest_path.read_text(encoding="utf-8"))
    for entry in manifest.files:
        path = source / entry.path
        if ".." in Path(entry.path).parts or Path(entry.path).is_absolute():
            raise BackupError(
                _("The manifest names a file outside the backup: %(file)s.") % {"file": entry.path}
            )
        if not path.is_file():
            raise BackupError(_("The backup is damaged: %(file)s is missing.") % {"file": entry.path})
        size, digest = _hash(path)
        if (size, digest) != (entry.size, entry.sha256):
            raise BackupError(
                _("The backup is damaged: %(file)s does not match its checksum in manifest.json.")
                % {"file": entry.path}
            )
    if manifest.database not in {Path(f.path).name for f in manifest.files if "/" not in f.path}:
        raise BackupError(_("The backup is damaged: the database dump is not listed in manifest.json."))
    return manifest


def backup_restore(source: Path) -> RestoreReport:
    """Restore the backup in `source` into this installation, which must be empty, then migrate it."""
    source = Path(source).absolute()
    manifest = backup_verify(source)
    engine = _engine()
    if manifest.engine != engine:
        raise BackupError(
            _(
                "This backup is of a %(backup)s database and this installation uses %(target)s. "
                "Restoring across database engines is not supported: restore into a %(backup)s installation."
            )
            % {"backup": manifest.engine, "target": engine}
        )
    _check_known_migrations(manifest)
    _check_empty()
    root = _storage_root()
    stored = [f for f in manifest.files if f.path.startswith(f"{FILES_DIR}/")]
    if stored and root is None:
        raise BackupError(
            _("The backup holds uploaded files but this installation's storage is not a local folder.")
        )
    if root is not None and any(_walk(root)):
        raise BackupError(
            _("The target installation is not empty: %(path)s already holds files.") % {"path": root}
        )
    dump = source / manifest.database
    if engine == "sqlite":
        _sqlite_restore(dump)
    else:
        _pg_restore(dump)
    restored = 0
    if root is not None:
        mode = getattr(_default_storage(), "file_permissions_mode", None)
        restored += _restore_files(source, manifest, FILES_DIR, root, mode=mode)
    restored += _restore_files(source, manifest, MAIL_DIR, Path(settings.EMAIL_FILE_PATH))
    before = set(_applied())
    call_command("migrate", verbosity=0, interactive=False)
    applied = [m for m in _applied() if m not in before]
    with connections["default"].cursor() as cursor:
        counts = _counts(cursor)
    return RestoreReport(
        manifest=manifest, counts=counts, migrations_applied=applied, files_restored=restored
    )


def _check_empty() -> None:
    """Refuse unless the database has no Otklik tables, or has them without users, tickets or mail."""
    connection = connections["default"]
    existing = set(connection.introspection.table_names())
    occupied = {}
    with connection.cursor() as cursor:
        for label in OCCUPIED_MODELS:
            table = _table(label)
            if table in existing:
                cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
                occupied[label] = int(cursor.fetchone()[0])
    if any(occupied.values()):
        raise BackupError(
            _(
                "The target installation is not empty (%(rows)s). Restore only into an empty installation: "
                "a database without Otklik's tables, or a migrated one without users, tickets or mail."
            )
            % {"rows": ", ".join(f"{label}: {count}" for label, count in occupied.items() if count)}
        )


def _sqlite_restore(dump: Path) -> None:
    """Replace the target database's content with the dump's, through SQLite's backup API.

    Unlike copying the file over, this takes SQLite's locks and rewrites the -wal beside the file, so a
    stale -wal cannot be replayed over the restored pages. The target must still not be in use.
    """
    connections["default"].close()
    target = _sqlite_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"{dump.as_uri()}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=WAL")
    finally:
        copy.close()
        source.close()


def _pg_restore(dump: Path) -> None:
    """Drop the (row-less) Otklik tables a migrated target has, then pg_restore the dump into it."""
    connection = connections["default"]
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    if "django_migrations" in connection.introspection.table_names():
        tables.append("django_migrations")
    if tables:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
    connection.close()
    _run_pg(PG_RESTORE, ["--no-owner", "--no-privileges", "--exit-on-error", str(dump)])


def _restore_files(
    source: Path, manifest: Manifest, folder: str, destination: Path, *, mode: int | None = None
) -> int:
    """Copy the files the manifest lists under `folder` (checked, nothing else) into `destination`."""
    count = 0
    for entry in manifest.files:
        if not entry.path.startswith(f"{folder}/"):
            continue
        copy = destination / entry.path.removeprefix(f"{folder}/")
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / entry.path, copy)
        if mode is not None:
            copy.chmod(mode)
        count += 1
    return count


def _check_known_migrations(manifest: Manifest) -> None:
    """Refuse a backup made by a newer Otklik: its database has migrations this code does not know."""
    from django.db.migrations.loader import MigrationLoader

    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = [f"{app}.{name}" for app, name in manifest.migrations if (app, name) not in known]
    if unknown:
        raise BackupError(
            _(
                "The backup comes from a newer Otklik (%(version)s): this installation does not know its "
                "migrations %(migrations)s. Install that version or a newer one, then restore."
            )
            % {"version": manifest.otklik_version, "migrations": ", ".join(unknown[:5])}
        )


def _applied() -> list[tuple[str, str]]:
    with connections["default"].cursor() as cursor:
        return _migrations(cursor)
