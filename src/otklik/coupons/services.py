"""Write coupons (F-21): generate them, spend one use on a new ticket, log every attempt, deactivate.

A coupon is spent only when a ticket is created: `otklik.tickets` checks it while it validates the new
ticket (`coupon_check`), spends one use right before it writes (`coupon_redeem`, one conditional UPDATE,
so two requests never spend the last use twice) and logs the use with the ticket's number
(`coupon_use_record`). A refusal rolls the whole creation back; its log line is written after that
rollback (`coupon_refusal_record`), so it survives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from otklik.core import clock
from otklik.core.errors import PermissionDenied, ValidationFailed
from otklik.coupons.masks import MASK_DEFAULT, code_from_mask, code_normalize, mask_problem
from otklik.coupons.models import Coupon, CouponUse
from otklik.sla.models import SlaLevel
from otklik.ui.admin_access import admin_access

COUNT_MAX = 1000  # coupons in one generation
USES_MAX = 100_000
DAYS_MAX = 3660  # ten years
_GENERATION_ROUNDS = 20  # fresh draws for codes that clash with existing ones, before giving up


def refusal_message() -> str:
    """Return the one answer to every refused coupon: it does not tell which codes exist."""
    return _("Coupon unknown or expired.")


# -- redemption -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CouponRefusal:
    """An attempt on an existing coupon that was refused, to be logged (F-21: every attempt is)."""

    coupon_id: int
    reason: str
    uses_left: int
    at: datetime
    user_id: int | None = None
    email: str = ""
    via: str = ""


class CouponRefused(ValidationFailed):
    """The coupon is unknown, deactivated, not active yet, expired or spent: the ticket is refused.

    `refusal` is what to log (None for an unknown code: there is no coupon to log it on). `errors` may
    carry the new ticket's other field errors beside the coupon's.
    """

    def __init__(self, refusal: CouponRefusal | None, errors: dict | None = None):
        super().__init__(refusal_message(), field="coupon", errors=errors)
        self.refusal = refusal


@dataclass(frozen=True)
class Redemption:
    """One use spent: the coupon (with its SLA level) and the uses it has left."""

    coupon: Coupon
    uses_left: int

    @property
    def sla(self) -> SlaLevel:
        return self.coupon.sla


def _redeemable(now: datetime) -> Q:
    """The condition a coupon must meet now to be spent (the UPDATE's WHERE)."""
    return (
        Q(is_active=True, uses_left__gt=0)
        & (Q(active_from__isnull=True) | Q(active_from__lte=now))
        & (Q(active_to__isnull=True) | Q(active_to__gte=now))
    )


def coupon_refusal_reason(coupon: Coupon, now: datetime) -> str | None:
    """Return why `coupon` cannot be spent at `now` (a CouponUse.Reason), or None when it can."""
    if not coupon.is_active:
        return CouponUse.Reason.INACTIVE
    if coupon.active_from is not None and now < coupon.active_from:
        return CouponUse.Reason.NOT_STARTED
    if coupon.active_to is not None and now > coupon.active_to:
        return CouponUse.Reason.EXPIRED
    if coupon.uses_left <= 0:
        return CouponUse.Reason.SPENT
    return None


def _refused(coupon: Coupon | None, reason: str, now: datetime, user: User | None, email: str, via: str):
    refusal = None
    if coupon is not None:
        refusal = CouponRefusal(
            coupon_id=coupon.pk,
            reason=reason,
            uses_left=coupon.uses_left,
            at=now,
            user_id=user.pk if user is not None else None,
            email=email,
            via=via,
        )
    return CouponRefused(refusal)


def coupon_check(*, code: str, user: User | None = None, email: str = "", via: str = "") -> Coupon:
    """Return the coupon with its SLA level if it could be spent now; raise CouponRefused if not.

    Read only: the ticket service asks while it validates, to choose the SLA and to report a refused
    coupon beside the other field errors. `user` / `email` and `via` only describe the attempt.
    """
    now = clock.now()
    coupon = Coupon.objects.select_related("sla").filter(code=code_normalize(code)).first()
    reason = coupon_refusal_reason(coupon, now) if coupon is not None else None
    if coupon is None or reason is not None:
        raise _refused(coupon, reason or "", now, user, email, via)
    return coupon


def coupon_redeem(*, code: str, user: User | None = None, email: str = "", via: str = "") -> Redemption:
    """Spend one use of the coupon, or raise CouponRefused; call inside the new ticket's transaction.

    One conditional UPDATE decides: it matches only while the coupon is active, in its dates and has a use
    left, and the database runs such UPDATEs on one row one after another (PostgreSQL re-checks the
    condition after waiting for the row's lock; SQLite has one writer), so the last use is spent once.
    """
    now = clock.now()
    code = code_normalize(code)
    spent = Coupon.objects.filter(_redeemable(now), code=code).update(
        uses_left=F("uses_left") - 1, used_count=F("used_count") + 1
    )
    # Read after the UPDATE, in its transaction: the row is ours until commit, the count is exact.
    coupon = Coupon.objects.select_related("sla").filter(code=code).first()
    if not spent or coupon is None:
        reason = coupon_refusal_reason(coupon, now) if coupon is not None else None
        raise _refused(coupon, reason or CouponUse.Reason.SPENT, now, user, email, via)
    return Redemption(coupon=coupon, uses_left=coupon.uses_left)


@transaction.atomic
def coupon_use_record(
    *, redemption: Redemption, ticket_id: int, user: User | None = None, email: str = "", via: str = ""
) -> CouponUse:
    """Log a spent use with the ticket it bought, in the ticket's transaction."""
    return CouponUse.objects.create(
        coupon=redemption.coupon,
        user=user,
        email=email[:254],
        at=clock.now(),
        ticket_number=ticket_id,
        success=True,
        reason=CouponUse.Reason.USED,
        uses_left_after=redemption.uses_left,
        via=via[:20],
    )


@transaction.atomic
def coupon_refusal_record(refused: CouponRefused) -> CouponUse | None:
    """Log a refused attempt; call it after the refused creation's transaction has rolled back.

    Nothing is logged for an unknown code (there is no coupon to log it on).
    """
    refusal = refused.refusal
    if refusal is None:
        return None
    return CouponUse.objects.create(
        coupon_id=refusal.coupon_id,
        user_id=refusal.user_id,
        email=refusal.email[:254],
        at=refusal.at,
        ticket_number=None,
        success=False,
        reason=refusal.reason,
        uses_left_after=refusal.uses_left,
        via=refusal.via[:20],
    )


# -- generation and deactivation --------------------------------------------------------------------
@dataclass(frozen=True)
class CouponSpec:
    """What coupons to generate: `count` coupons of `uses` uses each on `sla` (a level, its id or code).

    Valid `days` from now, or from `active_from` to `active_to` (either may be empty: no limit on that
    side). `mask` is the code pattern (the module option, passed in by the caller); `note` says whom the
    coupons are for.
    """

    sla: SlaLevel | int | str | None
    uses: int
    count: int = 1
    days: int | None = None
    active_from: datetime | None = None
    active_to: datetime | None = None
    mask: str = MASK_DEFAULT
    note: str = ""


def _sla_of(value: SlaLevel | int | str | None) -> SlaLevel | None:
    if isinstance(value, SlaLevel):
        return value
    if value in (None, ""):
        return None
    text = str(value).strip()
    sla = SlaLevel.objects.filter(code=text).first() if text else None
    if sla is None and text.isdigit():
        sla = SlaLevel.objects.filter(pk=int(text)).first()
    return sla


def _spec_errors(spec: CouponSpec, sla: SlaLevel | None, now: datetime) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if sla is None:
        add("sla", _("Choose an existing SLA level."))
    if not isinstance(spec.uses, int) or isinstance(spec.uses, bool) or not 1 <= spec.uses <= USES_MAX:
        add("uses", _("Enter a number of uses from 1 to %(max)d.") % {"max": USES_MAX})
    if not isinstance(spec.count, int) or isinstance(spec.count, bool) or not 1 <= spec.count <= COUNT_MAX:
        add("count", _("Enter a number of coupons from 1 to %(max)d.") % {"max": COUNT_MAX})
    if spec.days is not None:
        if not isinstance(spec.days, int) or isinstance(spec.days, bool) or not 1 <= spec.days <= DAYS_MAX:
            add("days", _("Enter a number of days from 1 to %(max)d.") % {"max": DAYS_MAX})
        elif spec.active_to is not None:
            add("days", _("Give either the number of days or the end date, not both."))
    if spec.active_from and spec.active_to and spec.active_to <= spec.active_from:
        add("active_to", _("The end must be after the start."))
    elif spec.active_to is not None and spec.active_to <= now:
        add("active_to", _("The end must be in the future."))
    problem = mask_problem(spec.mask)
    if problem:
        add("mask", problem)
    return errors


@transaction.atomic
def coupon_generate(*, spec: CouponSpec, actor: User | None) -> list[Coupon]:
    """Create `spec.count` coupons with unique random codes from `spec.mask`; return them.

    `actor` None is the system (the command line); a person must be allowed to change the configuration.
    Codes come from `secrets`; a code that clashes with an existing one is drawn again.
    """
    if actor is not None and not admin_access().may_change(actor):
        raise PermissionDenied(_("Only support administrators may create coupons."))
    now = clock.now()
    sla = _sla_of(spec.sla)
    errors = _spec_errors(spec, sla, now)
    if errors:
        raise ValidationFailed(errors=errors)
    assert sla is not None  # checked above
    active_from = spec.active_from
    active_to = spec.active_to
    if spec.days is not None:
        try:
            active_to = (active_from if active_from and active_from > now else now) + timedelta(
                days=spec.days
            )
        except OverflowError:  # a start near the end of the calendar
            raise ValidationFailed(_("Enter a start date closer to today."), field="active_from") from None
    codes = _fresh_codes(spec.mask, spec.count)
    coupons = [
        Coupon(
            code=code,
            sla=sla,
            uses_left=spec.uses,
            used_count=0,
            is_active=True,
            active_from=active_from,
            active_to=active_to,
            note=(spec.note or "").strip()[:255],
            created_at=now,
            created_by=actor if actor is not None and actor.pk else None,
        )
        for code in codes
    ]
    try:
        with transaction.atomic():
            Coupon.objects.bulk_create(coupons)
    except IntegrityError:
        # Another generation took one of the codes between our check and our INSERT: draw them all again.
        codes = _fresh_codes(spec.mask, spec.count)
        for coupon, code in zip(coupons, codes, strict=True):
            coupon.code = code
            coupon.pk = None
        Coupon.objects.bulk_create(coupons)
    return coupons


def _fresh_codes(mask: str, count: int) -> list[str]:
    """Draw `count` distinct codes that no coupon has yet (one query per round)."""
    codes: set[str] = set()
    for _round in range(_GENERATION_ROUNDS):
        wanted = count - len(codes)
        drawn = {code_from_mask(mask) for _ in range(wanted)} - codes
        taken = set(Coupon.objects.filter(code__in=drawn).values_list("code", flat=True))
        codes |= drawn - taken
        if len(codes) == count:
            return sorted(codes)
    raise ValidationFailed(
        _("The mask has too few random characters to make that many new codes: add # to it."), field="mask"
    )


@transaction.atomic
def coupon_deactivate(*, coupon: Coupon, actor: User | None) -> Coupon:
    """Switch the coupon off: tickets can no longer be filed with it (its log stays)."""
    if actor is not None and not admin_access().may_change(actor):
        raise PermissionDenied(_("Only support administrators may change coupons."))
    Coupon.objects.filter(pk=coupon.pk).update(is_active=False)
    coupon.is_active = False
    return coupon
