"""Who may open the configuration pages, who may change them and who may only look.

The rules are the access levels of `accounts`, which sits above `ui`: accounts installs them here when the
apps are ready (`admin_access_set`), so the admin site and its mixins ask without importing upward.
Until then only active superusers get in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AdminAccess:
    """Three questions about a user the configuration pages ask."""

    may_look: Callable[[Any], bool]
    may_change: Callable[[Any], bool]
    looks_only: Callable[[Any], bool]


def _superuser(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False))


_access = AdminAccess(may_look=_superuser, may_change=_superuser, looks_only=lambda user: False)


def admin_access_set(access: AdminAccess) -> None:
    """Install the rules the configuration pages follow (called once, from accounts' AppConfig.ready)."""
    global _access
    _access = access


def admin_access() -> AdminAccess:
    """Return the rules the configuration pages follow."""
    return _access
