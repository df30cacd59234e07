"""Background jobs of the mail channel: poll the mailboxes, finish what a dead process left half-done."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from otklik.mail.models import Mailbox
from otklik.mail.transports import mail_process_pending, mailbox_poll

log = logging.getLogger(__name__)


# Every minute: fetch new mail from every active IMAP and POP3 mailbox (F-15), one mailbox after another
# under one lock, so two consumers never fetch the same mailbox at once.
@db_periodic_task(crontab(minute="*"))
@lock_task("otklik-mail-poll")
def mail_poll_all_task() -> int:
    """Poll every active polled mailbox; then process stored mail whose processing never ran."""
    fetched = 0
    for mailbox in Mailbox.objects.filter(
        active=True, protocol__in=[Mailbox.Protocol.IMAP, Mailbox.Protocol.POP3]
    ):
        report = mailbox_poll(mailbox)
        fetched += report.fetched
        if report.fetched or report.error:
            log.info("mailbox %s: %d fetched %s", mailbox.code, report.fetched, report.error)
    mail_process_pending()
    return fetched
