"""The directory where prometheus-client's multiprocess mode keeps each process's counters.

Every web worker (granian runs several) writes its request counters and histograms into its own files
there; a scrape of /metrics, whichever worker answers it, sums all of them. Files of workers that exited
stay and keep counting in the sums (a counter must not go down when granian respawns a worker), so the
directory is emptied only when the web server starts afresh (`otklik start`): Prometheus reads that as
a counter reset, which rate() and increase() handle. Files of processes still running are kept: several
web instances (systemd `otklik-web@N`) may share one data directory, and restarting one must not wipe the
counters of the others.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings


def metrics_dir_reset(directory: Path | None = None) -> int:
    """Delete the multiprocess files left by a previous run; return how many were deleted.

    Call it before any web worker starts: a live process keeps writing into the file it opened, so
    deleting that file would hide its counters until it exits.
    """
    directory = directory or getattr(settings, "METRICS_DIR", None)
    if directory is None:  # settings without the metrics directory: nothing was written
        return 0
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    deleted = 0
    for path in directory.glob("*.db"):
        if _writer_alive(path):
            continue  # another web instance sharing the data directory is counting into it
        path.unlink(missing_ok=True)
        deleted += 1
    return deleted


def _writer_alive(path: Path) -> bool:
    """Say whether the process that writes the file (its name ends in `_<pid>.db`) is still running."""
    pid_text = path.stem.rpartition("_")[2]
    if not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except PermissionError:
        return True  # alive, owned by another user
    except (ProcessLookupError, OverflowError):
        return False
    return True
