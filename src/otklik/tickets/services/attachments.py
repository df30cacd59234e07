"""Store and delete a message's files, within the limits the caller's role allows (F-04)."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.files import File
from django.db import transaction

from otklik.tickets import files as file_checks
from otklik.tickets.models import (
    Attachment,
    Message,
)
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import options_cached


def upload_limits(policy: TicketPolicy) -> file_checks.UploadLimits:
    """Return the size limits for files this caller uploads: staff and mail have their own (F-04, F-15)."""
    options = options_cached()
    if policy.is_support or policy.is_mail_principal:  # mail has its own size limit (F-15)
        cap = options.staff_file_limit_mb * file_checks.MB
        return file_checks.UploadLimits(per_file=cap, per_message=cap * 10)
    return file_checks.UploadLimits(
        per_file=options.client_file_limit_mb * file_checks.MB,
        per_message=options.client_message_limit_mb * file_checks.MB,
    )


def attachments_store(message: Message, uploads: Sequence[file_checks.CheckedUpload]) -> list[Attachment]:
    """Save the checked uploads as the message's attachments."""
    stored = []
    for up in uploads:
        up.fileobj.seek(0)
        attachment = Attachment(
            message=message,
            ticket_id=message.ticket_id,
            name=up.name,
            size=up.size,
            content_type=up.content_type,
            sha256=up.sha256,
            created_at=message.created_at,
        )
        attachment.file.save(up.name, File(up.fileobj), save=False)
        attachment.save()
        stored.append(attachment)
    return stored


def files_delete_after_commit(names: list[str]) -> None:
    """Delete the stored files once the transaction commits: a rollback keeps them."""
    from django.core.files.storage import default_storage

    def _delete():
        for name in names:
            try:
                default_storage.delete(name)
            except OSError:
                pass

    transaction.on_commit(_delete)
