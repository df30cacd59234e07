"""`otklik restore DIR`: check a backup and restore it into an empty installation, then migrate."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from otklik.core.backup import BackupError, backup_restore


class Command(BaseCommand):
    # The model checks have nothing to say about a copy of the data; they only slow an operator's job down.
    requires_system_checks: list[str] = []
    help = (
        "Restore a backup made by `otklik backup` into an empty installation (stop Otklik first), "
        "then apply any newer migrations."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path, help="the backup directory (with manifest.json)")

    def handle(self, *args, directory: Path, **options) -> None:
        try:
            report = backup_restore(directory)
        except BackupError as error:
            raise CommandError(str(error)) from None
        manifest = report.manifest
        self.stdout.write(
            _("Restored the backup of %(created)s (Otklik %(version)s, %(engine)s): %(files)s files.")
            % {
                "created": manifest.created_at,
                "version": manifest.otklik_version,
                "engine": manifest.engine,
                "files": report.files_restored,
            }
        )
        self.stdout.write(", ".join(f"{label}: {count}" for label, count in report.counts.items()))
        self.stdout.write(
            _("Migrations applied after the restore: %(count)s.") % {"count": len(report.migrations_applied)}
        )
