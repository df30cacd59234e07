"""`otklik backup DIR`: write a consistent backup of the database and the files into a new directory."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from otklik.core.backup import BackupError, backup_create


class Command(BaseCommand):
    # The model checks have nothing to say about a copy of the data; they only slow an operator's job down.
    requires_system_checks: list[str] = []
    help = "Back up the database, the uploaded files and the mail store into a new or empty directory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path, help="a new or empty directory to write the backup into")

    def handle(self, *args, directory: Path, **options) -> None:
        try:
            manifest = backup_create(directory)
        except BackupError as error:
            raise CommandError(str(error)) from None
        size = sum(f.size for f in manifest.files)
        self.stdout.write(
            _("Backup written to %(path)s: %(engine)s database, %(files)s files, %(size)s bytes.")
            % {"path": directory, "engine": manifest.engine, "files": len(manifest.files), "size": size}
        )
        self.stdout.write(", ".join(f"{label}: {count}" for label, count in manifest.counts.items()))
        if not manifest.storage_included:
            self.stderr.write(
                _(
                    "Uploaded files are not in a local folder and are not in the backup: back up the storage itself."
                )
            )
