"""The one seam through which Otklik reads the time, so tests can freeze and move it."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.utils import timezone

_frozen: datetime | None = None


def now() -> datetime:
    """Return the current aware UTC instant (or the frozen one in tests)."""
    return _frozen if _frozen is not None else timezone.now()


@contextmanager
def frozen(at: datetime) -> Iterator["_Mover"]:
    """Freeze `now()` at `at` for the block; the yielded mover shifts it forward."""
    global _frozen
    previous = _frozen
    _frozen = at
    try:
        yield _Mover()
    finally:
        _frozen = previous


class _Mover:
    def advance(self, **delta: float) -> datetime:
        """Move the frozen clock forward by a timedelta given as keywords."""
        global _frozen
        assert _frozen is not None
        _frozen = _frozen + timedelta(**delta)
        return _frozen
