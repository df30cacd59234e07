"""Coupon codes from a mask (F-21): pure functions, no database.

A mask is the code's pattern: every `#` becomes one random character, everything else stays as written
(upper-cased), so `SUP-COU-##########` gives codes like `SUP-COU-7KQ2M9XH4C`. At least six `#` keep the
codes unguessable. The module option that holds the mask lives in tickets, which sits above coupons: the
callers pass the mask in, and tickets installs a reader of its option here (`mask_source_set`) for the
coupons' own admin page and command.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MASK_DEFAULT = "SUP-COU-##########"
RANDOM = "#"
MIN_RANDOM = 6
CODE_MAX = 64
# No 0/O, 1/I/L: a code is read from a letter or a screen and typed by hand.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

_mask_source: Callable[[], str] = lambda: MASK_DEFAULT  # noqa: E731


def mask_problem(mask: str) -> str | None:
    """Return what is wrong with `mask` in words, or None when it makes good codes."""
    if not mask or any(ch.isspace() for ch in mask):
        return _("The mask must not be empty or contain spaces.")
    if len(mask) > CODE_MAX:
        return _("The mask must not be longer than %(max)d characters.") % {"max": CODE_MAX}
    if not mask.isascii() or not mask.isprintable():
        return _("Use Latin letters, digits, punctuation and # in the mask.")
    if mask.count(RANDOM) < MIN_RANDOM:
        return _("The mask needs at least %(min)d # characters (each becomes a random character).") % {
            "min": MIN_RANDOM
        }
    return None


def mask_validate(mask: str) -> None:
    """Raise Django's ValidationError with the mask's problem (a model field's validator)."""
    problem = mask_problem(mask)
    if problem:
        raise ValidationError(problem, code="coupon_mask")


def code_from_mask(mask: str, choice: Callable[[str], str] = secrets.choice) -> str:
    """Return one code made from `mask`: each # a random character of ALPHABET, the rest upper-cased."""
    return "".join(choice(ALPHABET) if ch == RANDOM else ch.upper() for ch in mask)


def code_normalize(code: str) -> str:
    """Return a code as typed by a person, in the form it is stored: no surrounding spaces, upper case."""
    return (code or "").strip().upper()


def mask_source_set(source: Callable[[], str]) -> None:
    """Install the reader of the mask option (tickets does, when the apps are ready)."""
    global _mask_source
    _mask_source = source


def mask_current() -> str:
    """Return the mask new coupons are made from (the module option, or the default)."""
    return _mask_source() or MASK_DEFAULT
