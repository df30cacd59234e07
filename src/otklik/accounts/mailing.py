"""What accounts announce for mail (notifications sends it) and the signed confirmation links (F-12)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.urls import reverse

CONFIRM_SALT = "otklik.accounts.address-confirmation"


@dataclass(frozen=True)
class ConfirmationMail:
    """A link confirming `email` for `user`; `other_accounts` name accounts already using the address."""

    user: User
    email: str
    confirm_url: str
    reset_url: str
    days: int
    other_accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class PasswordResetMail:
    """A password reset link for `user`, to `email` (the user's address)."""

    user: User
    email: str
    reset_url: str
    days: int


@dataclass(frozen=True)
class AddressConfirmed:
    """`email` became `user`'s confirmed address; `actor` is who confirmed it (the user, or staff)."""

    user: User
    email: str
    actor: User | None = None


def site_url(path: str) -> str:
    """Return the absolute link to a path of this site, for mail."""
    return settings.OTKLIK_SITE_URL.rstrip("/") + path


def confirm_days() -> int:
    return int(settings.OTKLIK_CONFIRM_DAYS)


def confirmation_token(user: User, email: str) -> str:
    """Sign (user id, address): the link proves the reader holds the mailbox the link was sent to."""
    return signing.dumps({"u": user.pk, "e": email.strip().lower()}, salt=CONFIRM_SALT, compress=True)


def confirmation_read(token: str) -> tuple[int, str] | None:
    """Return (user id, address) from a valid, unexpired token, or None."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=confirm_days() * 24 * 3600)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("e"), str):
        return None
    return data["u"], data["e"]


def confirmation_url(user: User, email: str) -> str:
    return site_url(reverse("accounts:confirm", args=[confirmation_token(user, email)]))
