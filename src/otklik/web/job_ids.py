"""Job ids that carry the time the job was enqueued, so /metrics can tell how long the oldest job waits.

Huey's queue keeps no enqueue time (a Redis list of pickled messages, or rows without a timestamp in
SqliteHuey). Every job enqueued by any process of Otklik gets a time-ordered UUID (version 7: the first
48 bits are the Unix time in milliseconds) as its id when Huey announces it (SIGNAL_ENQUEUED, before the
message is serialised), and the age of the job at the head of the queue is read from that id. A job
that already has such an id keeps it: a retry or a scheduled job moved to the queue counts from its
first enqueue, and its age is taken from its eta when that is later.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime

from huey.signals import SIGNAL_ENQUEUED

_VERSION = 7


def job_id_new(now: float | None = None) -> str:
    """Return a version 7 UUID (RFC 9562) stamped with `now` (Unix seconds; the current time by default)."""
    millis = int((time.time() if now is None else now) * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis << 80) | (_VERSION << 76) | ((rand >> 64) & 0xFFF) << 64 | (0b10 << 62)
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def job_enqueued_at(job_id: str) -> float | None:
    """Return the Unix time stamped in a version 7 job id, or None for any other id (uuid4, foreign)."""
    try:
        parsed = uuid.UUID(str(job_id))
    except ValueError:
        return None
    if parsed.version != _VERSION:
        return None
    return (parsed.int >> 80) / 1000


def job_waiting_since(message) -> float | None:
    """Return when a queued Huey message became runnable: its enqueue time, or its eta when later."""
    enqueued = job_enqueued_at(getattr(message, "id", ""))
    if enqueued is None:
        return None
    eta = getattr(message, "eta", None)
    if isinstance(eta, datetime):
        eta_ts = (eta if eta.tzinfo else eta.replace(tzinfo=UTC)).timestamp()
        return max(enqueued, eta_ts)
    return enqueued


def _stamp(signal, task, *args, **kwargs) -> None:
    if job_enqueued_at(task.id) is None:
        task.id = job_id_new()


def job_ids_install(huey) -> None:
    """Stamp every job `huey` enqueues from this process with a time-ordered id (idempotent)."""
    try:
        huey.disconnect_signal(_stamp, SIGNAL_ENQUEUED)
    except KeyError:  # nothing connected to that signal yet
        pass
    huey.signal(SIGNAL_ENQUEUED)(_stamp)
