"""The desk's filter bar: a dimension, a period (created between, in the viewer's days), an SLA, a staff group."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from otklik.reports.period import PeriodFilters, period_error
from otklik.reports.selectors import DIMENSIONS, DeskFilters


class DeskForm(forms.Form):
    by = forms.ChoiceField(label=_("Rows"), required=False)
    created_from = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label=_("Created to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sla = forms.ChoiceField(label=_("SLA"), required=False)
    group = forms.ChoiceField(label=_("Staff group"), required=False)

    def __init__(self, *args, dimensions: dict[str, str], slas, groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["by"].choices = [(name, dimensions[name]) for name in DIMENSIONS]
        self.fields["sla"].choices = [("", "—")] + [(str(s.pk), s.name) for s in slas]
        self.fields["group"].choices = [("", "—")] + [(str(g.pk), g.name) for g in groups]
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "input")

    def clean(self):
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", _("The end of the period is before its start."))
        return data

    def parsed(self) -> tuple[DeskFilters, str]:
        """Return the filters and the dimension of the valid data."""
        d = self.cleaned_data
        filters = DeskFilters(
            created_from=d.get("created_from"),
            created_to=d.get("created_to"),
            sla=int(d["sla"]) if d.get("sla") else None,
            group=int(d["group"]) if d.get("group") else None,
        )
        return filters, d.get("by") or "responsible"


class PeriodForm(forms.Form):
    """The filter bar of the reports over a period: from, to, step (day/week/month), SLA, staff group."""

    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    grain = forms.ChoiceField(
        label=_("Step"), choices=[("day", _("Day")), ("week", _("Week")), ("month", _("Month"))]
    )
    sla = forms.ChoiceField(label=_("SLA"), required=False)
    group = forms.ChoiceField(label=_("Staff group"), required=False)

    def __init__(self, data, *, slas, groups, **kwargs):
        default = PeriodFilters.default()
        initial = default.params()
        # Missing parameters take the defaults, so a bookmark with only `grain=week` still works.
        merged = {**initial, **{k: v for k, v in (data or {}).items() if v not in (None, "")}}
        super().__init__(merged, **kwargs)
        self.fields["sla"].choices = [("", "—")] + [(str(s.pk), s.name) for s in slas]
        self.fields["group"].choices = [("", "—")] + [(str(g.pk), g.name) for g in groups]
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "input")

    def clean(self):
        data = super().clean()
        start, end, grain = data.get("date_from"), data.get("date_to"), data.get("grain")
        if start and end and grain:
            problem = period_error(start, end, grain)
            if problem:
                self.add_error("date_to", problem)
        return data

    def filters(self) -> PeriodFilters:
        """Return the filters of valid data, or the defaults when the data is not valid."""
        if not self.is_valid():
            return PeriodFilters.default()
        d = self.cleaned_data
        return PeriodFilters(
            date_from=d["date_from"],
            date_to=d["date_to"],
            grain=d["grain"],
            sla=int(d["sla"]) if d.get("sla") else None,
            group=int(d["group"]) if d.get("group") else None,
        )
