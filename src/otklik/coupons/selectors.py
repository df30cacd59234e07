"""Read coupons and their usage log (F-21) for the admin pages and the command line."""

from __future__ import annotations

from django.db.models import QuerySet

from otklik.coupons.models import Coupon, CouponUse


def coupon_list() -> QuerySet[Coupon]:
    """Return every coupon with its SLA level, newest first."""
    return Coupon.objects.select_related("sla", "created_by")


def coupon_uses(coupon: Coupon) -> QuerySet[CouponUse]:
    """Return the coupon's usage log, newest first, with who tried."""
    return coupon.uses.select_related("user").order_by("-at", "-id")
