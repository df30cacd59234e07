"""Fetch mail from IMAP and POP3 mailboxes with a cursor that survives restarts.

Messages are stored (and the mailbox's cursor moved past them) in one transaction, then processed; so a
poll that dies half-way neither loses a message nor takes one twice: the next poll starts after the last
stored one, and a stored message not yet processed is picked up by `mail_process_pending`. IMAP fetches
and stores in batches bounded by count and size (one round trip and one commit for many small mails);
POP3 has no such command and takes one message at a time.
"""

from __future__ import annotations

import imaplib
import logging
import poplib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, connections, transaction

from otklik.core import clock
from otklik.core.bulk import insert_rows
from otklik.core.tls import mail_tls_context
from otklik.mail.batches import balanced, related_groups
from otklik.mail.models import InboundMail, Mailbox, Outcome, PopSeen
from otklik.mail.parsing import ParsedMail, mail_parse
from otklik.mail.services import IngestResult, commit_without_waiting, gateway_user, mail_process
from otklik.mail.threading import subject_patterns
from otklik.tickets.selectors import options_cached

log = logging.getLogger(__name__)
TIMEOUT = 60  # seconds a server may stay silent before the poll gives up (and tries again next time)
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


@dataclass
class PollReport:
    fetched: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    error: str = ""


def mailbox_poll(mailbox: Mailbox, *, limit: int | None = None) -> PollReport:
    """Fetch what is new in the mailbox and take it in; record the time and the error, if any, on it."""
    report = PollReport()
    try:
        if mailbox.protocol == Mailbox.Protocol.IMAP:
            _imap_poll(mailbox, report, limit)
        elif mailbox.protocol == Mailbox.Protocol.POP3:
            _pop3_poll(mailbox, report, limit)
        else:
            raise ValueError(f"{mailbox.protocol} mailboxes are not polled")
    except Exception as exc:  # the server went away, refused us, or spoke nonsense: try again next time
        report.error = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning(
            "mailbox %s: poll stopped after %d messages: %s", mailbox.code, report.fetched, report.error
        )
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=clock.now(), last_error=report.error)
    return report


def mailboxes_poll_all() -> int:
    """Poll every active polled mailbox, one after another; then process stored mail never processed.

    Return how many messages were fetched. The periodic job in `otklik.schedule` runs this every minute.
    """
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


def _take(mailbox: Mailbox, fetched: list[tuple[bytes, str]], report: PollReport, *, cursor: dict) -> None:
    """Store the (raw, source) messages and move the cursor past them in one transaction, then process each."""
    now = clock.now()
    with transaction.atomic():
        commit_without_waiting()  # the cursor moves in this transaction: see its docstring
        stored = [
            InboundMail(mailbox=mailbox, source=source, raw=raw, size=len(raw), received_at=now)
            for raw, source in fetched
        ]
        insert_rows(stored)
        if "uid" in cursor:
            Mailbox.objects.filter(pk=mailbox.pk).update(
                last_uid=cursor["uid"], uid_validity=cursor["validity"]
            )
            mailbox.last_uid, mailbox.uid_validity = cursor["uid"], cursor["validity"]
        if "uidl" in cursor:
            PopSeen.objects.create(mailbox=mailbox, uidl=cursor["uidl"])
    report.fetched += len(stored)
    for result in _process_stored(
        mailbox, [(inbound, raw) for inbound, (raw, _source) in zip(stored, fetched, strict=True)]
    ):
        report.outcomes[result.outcome] = report.outcomes.get(result.outcome, 0) + 1


def processing_threads() -> int:
    """How many threads process a fetched batch: OTKLIK_MAIL_THREADS on PostgreSQL, always 1 on SQLite.

    Processing mostly waits for the database's answers, which threads overlap; SQLite writes one
    transaction at a time, so there threads would only queue for its lock. Inside a transaction (a
    caller's, or a test's) it is 1 as well: the threads' own connections could not see its writes and
    would wait for its locks.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return max(1, settings.MAIL_THREADS)


def _process_stored(mailbox: Mailbox, stored: list[tuple[InboundMail, bytes]]) -> list[IngestResult]:
    """Process stored mail; on several threads, related mail stays on one thread, in arrival order."""
    threads = processing_threads()
    if threads == 1 or len(stored) == 1:
        return [mail_process(inbound=inbound, raw=raw) for inbound, raw in stored]
    gateway_user()  # made once here, not raced for by the threads on first use
    parsed = [_parsed_or_none(raw) for _inbound, raw in stored]
    patterns = subject_patterns(mailbox.subject_patterns)
    loads = balanced(related_groups(parsed, patterns), threads)

    def process(load: list[int]) -> list[IngestResult]:
        return [mail_process(inbound=stored[i][0], raw=stored[i][1], parsed=parsed[i]) for i in load]

    if len(loads) == 1:
        return process(loads[0])

    def run(load: list[int]) -> list[IngestResult]:
        try:
            return process(load)
        finally:
            connections.close_all()  # this thread's connections; the pool's threads end with the batch

    with ThreadPoolExecutor(max_workers=len(loads), thread_name_prefix="mail") as pool:
        return [result for results in pool.map(run, loads) for result in results]


def _parsed_or_none(raw: bytes) -> ParsedMail | None:
    """Parse for grouping; a message over the size limit or unreadable is left to processing alone."""
    if len(raw) > options_cached().mail_max_size_mb * 1024 * 1024:
        return None
    try:
        return mail_parse(raw)
    except Exception:  # MailParseError or worse: processing meets it again and quarantines the mail
        return None


# -- IMAP ------------------------------------------------------------------------------------------------------
def _imap_connect(mailbox: Mailbox) -> imaplib.IMAP4:
    port = mailbox.port or (993 if mailbox.security == Mailbox.Security.TLS else 143)
    if mailbox.security == Mailbox.Security.TLS:
        conn = imaplib.IMAP4_SSL(mailbox.host, port, ssl_context=mail_tls_context(), timeout=TIMEOUT)
    else:
        conn = imaplib.IMAP4(mailbox.host, port, timeout=TIMEOUT)
        if mailbox.security == Mailbox.Security.STARTTLS:
            conn.starttls(mail_tls_context())
    conn.login(mailbox.username, mailbox.password)
    return conn


# A batch: at most this many messages and bytes (a message larger than the budget comes alone).
BATCH_MESSAGES = 50
BATCH_BYTES = 4 * 1024 * 1024
_FETCHED_SIZE = re.compile(rb"UID (\d+)|RFC822\.SIZE (\d+)")
_UID = re.compile(rb"UID (\d+)")


def _imap_poll(mailbox: Mailbox, report: PollReport, limit: int | None) -> None:
    conn = _imap_connect(mailbox)
    try:
        typ, _data = conn.select(_quoted(mailbox.folder or "INBOX"), readonly=not mailbox.delete_after_fetch)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"cannot open folder {mailbox.folder!r}")
        validity = _uid_validity(conn)
        last = mailbox.last_uid if mailbox.uid_validity == validity else 0  # a rebuilt folder starts over
        sizes = _imap_new_sizes(conn, last)
        uids = sorted(sizes)[:limit] if limit else sorted(sizes)
        for batch in _batches(uids, sizes):
            fetched = _imap_fetch(conn, batch)
            present = [uid for uid in batch if uid in fetched]  # an expunged one is simply gone
            cursor = {"uid": batch[-1], "validity": validity}
            _take(mailbox, [(fetched[uid], f"imap uid {uid}") for uid in present], report, cursor=cursor)
            if mailbox.delete_after_fetch and present:
                conn.uid("STORE", ",".join(map(str, present)), "+FLAGS.SILENT", r"(\Deleted)")
        if mailbox.delete_after_fetch:
            conn.expunge()
        if not uids and mailbox.uid_validity != validity:
            Mailbox.objects.filter(pk=mailbox.pk).update(uid_validity=validity, last_uid=0)
    finally:
        try:
            conn.logout()
        except Exception:  # a dropped connection cannot say goodbye
            pass


def _imap_new_sizes(conn: imaplib.IMAP4, last: int) -> dict[int, int]:
    """Return {uid: size} of the messages after UID `last`, in one round trip."""
    typ, data = conn.uid("FETCH", f"{last + 1}:*", "(RFC822.SIZE)")
    if typ != "OK":
        raise imaplib.IMAP4.error("FETCH of the message sizes failed")
    sizes = {}
    for line in data:
        if not isinstance(line, bytes):
            continue
        uid = size = None
        for uid_text, size_text in _FETCHED_SIZE.findall(line):
            uid = int(uid_text) if uid_text else uid
            size = int(size_text) if size_text else size
        # "N:*" also names the newest message when every UID is below N: keep only the new ones.
        if uid is not None and uid > last:
            sizes[uid] = size or 0
    return sizes


def _batches(uids: list[int], sizes: dict[int, int]):
    """Yield runs of consecutive new UIDs within the batch budget."""
    batch: list[int] = []
    weight = 0
    for uid in uids:
        if batch and (len(batch) >= BATCH_MESSAGES or weight + sizes[uid] > BATCH_BYTES):
            yield batch
            batch, weight = [], 0
        batch.append(uid)
        weight += sizes[uid]
    if batch:
        yield batch


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _uid_validity(conn: imaplib.IMAP4) -> int:
    _typ, data = conn.response("UIDVALIDITY")
    if data and data[0]:
        return int(data[0])
    _typ, data = conn.status("INBOX", "(UIDVALIDITY)")
    match = _UIDVALIDITY.search(data[0] or b"")
    return int(match.group(1)) if match else 0


def _imap_fetch(conn: imaplib.IMAP4, uids: list[int]) -> dict[int, bytes]:
    """Fetch whole messages without marking them read (BODY.PEEK); return {uid: raw}."""
    typ, data = conn.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"FETCH of UIDs {uids[0]}..{uids[-1]} failed")
    fetched = {}
    for index, part in enumerate(data):
        if isinstance(part, tuple) and len(part) == 2:
            # The UID comes before the literal ("* 3 FETCH (UID 7 BODY[] {n}") or after it (" UID 7)").
            after = data[index + 1] if index + 1 < len(data) else b""
            match = _UID.search(part[0]) or (_UID.search(after) if isinstance(after, bytes) else None)
            if match:
                fetched[int(match.group(1))] = part[1]
    return fetched


# -- POP3 ------------------------------------------------------------------------------------------------------
def _pop3_connect(mailbox: Mailbox) -> poplib.POP3:
    port = mailbox.port or (995 if mailbox.security == Mailbox.Security.TLS else 110)
    if mailbox.security == Mailbox.Security.TLS:
        conn = poplib.POP3_SSL(mailbox.host, port, context=mail_tls_context(), timeout=TIMEOUT)
    else:
        conn = poplib.POP3(mailbox.host, port, timeout=TIMEOUT)
        if mailbox.security == Mailbox.Security.STARTTLS:
            conn.stls(mail_tls_context())
    conn.user(mailbox.username)
    conn.pass_(mailbox.password)
    return conn


def _pop3_poll(mailbox: Mailbox, report: PollReport, limit: int | None) -> None:
    conn = _pop3_connect(mailbox)
    quit_cleanly = False
    try:
        _resp, listing, _octets = conn.uidl()
        on_server = []
        for line in listing:
            number, _sep, uidl = line.decode("ascii", "replace").partition(" ")
            on_server.append((int(number), uidl.strip()))
        seen = set(PopSeen.objects.filter(mailbox=mailbox).values_list("uidl", flat=True))
        taken = 0
        for number, uidl in on_server:
            if uidl in seen:
                if mailbox.delete_after_fetch:
                    conn.dele(number)  # stored before, its deletion was cut off
                continue
            if limit and taken >= limit:
                break
            _resp, lines, _octets = conn.retr(number)
            raw = b"\r\n".join(lines) + b"\r\n"
            _take(mailbox, [(raw, f"pop3 uidl {uidl}")], report, cursor={"uidl": uidl})
            taken += 1
            if mailbox.delete_after_fetch:
                conn.dele(number)
        # Forget the ids the server no longer has, so the table stays the size of the mailbox.
        gone = seen - {uidl for _n, uidl in on_server}
        if gone:
            PopSeen.objects.filter(mailbox=mailbox, uidl__in=gone).delete()
        quit_cleanly = True
    finally:
        try:
            if quit_cleanly:
                conn.quit()  # POP3 deletes at QUIT only
            else:
                conn.close()
        except Exception:
            pass


def mail_process_pending(*, older_than_seconds: int = 60) -> int:
    """Process stored messages whose processing never ran (the process died between the two steps)."""
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    pending = InboundMail.objects.filter(outcome=Outcome.RECEIVED, received_at__lt=cutoff).order_by("id")
    count = 0
    for inbound in pending.only("pk")[:1000]:
        mail_process(inbound=inbound)
        count += 1
    return count
