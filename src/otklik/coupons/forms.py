"""The coupons' admin forms: parse and present; `coupon_generate` decides what is valid."""

from __future__ import annotations

from datetime import date, datetime, time

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otklik.coupons.services import COUNT_MAX, DAYS_MAX, USES_MAX, CouponSpec
from otklik.sla.models import SlaLevel


class CouponGenerateForm(forms.Form):
    sla = forms.ModelChoiceField(label=_("SLA level"), queryset=SlaLevel.objects.none())
    uses = forms.IntegerField(
        label=_("Uses per coupon"),
        min_value=1,
        max_value=USES_MAX,
        initial=15,
        help_text=_("Tickets each coupon buys."),
    )
    count = forms.IntegerField(label=_("Number of coupons"), min_value=1, max_value=COUNT_MAX, initial=1)
    days = forms.IntegerField(
        label=_("Valid for, days"),
        min_value=1,
        max_value=DAYS_MAX,
        required=False,
        initial=365,
        help_text=_("From today. Leave empty to give the dates below instead (or no end at all)."),
    )
    active_from = forms.DateField(
        label=_("Active from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    active_to = forms.DateField(
        label=_("Active to (inclusive)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=255,
        help_text=_("Whom the coupons are for, for what licence."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["sla"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = SlaLevel.objects.order_by("-priority", "pk")
        special = SlaLevel.objects.filter(code="special").first()
        if special is not None and not self.is_bound:
            self.initial.setdefault("sla", special.pk)

    def spec(self, mask: str) -> CouponSpec:
        """Return the valid data as `coupon_generate` takes it; the dates are whole days in the admin's zone."""
        d = self.cleaned_data
        return CouponSpec(
            sla=d["sla"],
            uses=d["uses"],
            count=d["count"],
            days=d.get("days"),
            active_from=_day_start(d.get("active_from")),
            active_to=_day_end(d.get("active_to")),
            mask=mask,
            note=d.get("note") or "",
        )


def _day_start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _day_end(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.max, tzinfo=timezone.get_current_timezone())
