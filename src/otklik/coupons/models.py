"""Coupons for special tickets and their usage log (F-21)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import models
from django.utils.translation import gettext_lazy as _

from otklik.coupons.masks import CODE_MAX
from otklik.sla.models import SlaLevel


class Coupon(models.Model):
    """A code that buys special tickets: each ticket filed with it spends one use and gets its SLA."""

    code = models.CharField(_("code"), max_length=CODE_MAX, unique=True)
    sla = models.ForeignKey(
        SlaLevel, on_delete=models.PROTECT, related_name="coupons", verbose_name=_("SLA level")
    )
    uses_left = models.PositiveIntegerField(_("uses left"))
    used_count = models.PositiveIntegerField(_("used"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    active_from = models.DateTimeField(_("active from"), null=True, blank=True)
    active_to = models.DateTimeField(_("active to"), null=True, blank=True)
    note = models.CharField(
        _("note"), max_length=255, blank=True, help_text=_("Whom the coupon was given to, for what licence.")
    )
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")

    def __str__(self) -> str:
        return self.code


class CouponUse(models.Model):
    """One attempt to file a ticket with an existing coupon: spent, or refused and why.

    The ticket is kept as its number, not a foreign key: coupons sit below tickets (ARCHITECTURE §2), and
    the log is an audit trail that outlives a deleted ticket.
    """

    class Reason(models.TextChoices):
        USED = "used", _("used")
        INACTIVE = "inactive", _("deactivated")
        NOT_STARTED = "not_started", _("not active yet")
        EXPIRED = "expired", _("expired")
        SPENT = "spent", _("no uses left")

    coupon = models.ForeignKey(
        Coupon, on_delete=models.CASCADE, related_name="uses", verbose_name=_("coupon")
    )
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("user")
    )
    # The sender of a mail known only by address (no account).
    email = models.EmailField(_("e-mail"), blank=True)
    at = models.DateTimeField(_("when"))
    ticket_number = models.PositiveBigIntegerField(_("ticket"), null=True, blank=True)
    success = models.BooleanField(_("success"))
    reason = models.CharField(_("result"), max_length=20, choices=Reason.choices)
    uses_left_after = models.PositiveIntegerField(_("uses left after"))
    via = models.CharField(_("channel"), max_length=20, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["coupon", "-at"], name="coupon_use_coupon_at")]
        verbose_name = _("coupon use")
        verbose_name_plural = _("coupon uses")

    def __str__(self) -> str:
        return f"{self.coupon_id} {self.at:%Y-%m-%d %H:%M} {self.reason}"
