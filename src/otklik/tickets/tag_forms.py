"""Form parts of the tag filter (P4): the names typed or repeated in the query, and how they combine."""

from __future__ import annotations

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from otklik.tickets.tag_selectors import TAG_FILTER_MAX, tag_filter_names

TAG_MODE_CHOICES = [
    ("", "—"),
    ("any", _("any of them")),
    ("all", _("all of them")),
    ("none", _("none of them")),
]
# The datalist the list page fills with suggestions while one types a tag (tickets:tags_suggest).
TAG_SUGGESTIONS_ID = "tag-filter-suggestions"


class TagNamesInput(forms.TextInput):
    """A text field for tag names: reads every value of its name (`?tag=a&tag=b`) and shows them joined."""

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)

    def format_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value if v) or None
        return super().format_value(value)


class TagNamesField(forms.Field):
    """Tag names, repeated or comma-separated; at most TAG_FILTER_MAX of them."""

    def __init__(self, **kwargs):
        attrs = {
            "list": TAG_SUGGESTIONS_ID,
            "autocomplete": "off",
            "placeholder": _("vip, billing"),
            "hx-get": reverse_lazy("tickets:tags_suggest"),
            "hx-trigger": "focus once, input changed delay:150ms",
            "hx-target": f"#{TAG_SUGGESTIONS_ID}",
            "hx-swap": "innerHTML",
            "hx-sync": "this:replace",
        }
        kwargs.setdefault("widget", TagNamesInput(attrs=attrs))
        super().__init__(**kwargs)

    def to_python(self, value):
        names = tag_filter_names(value if isinstance(value, (list, tuple)) else [value or ""])
        if len(names) > TAG_FILTER_MAX:
            raise forms.ValidationError(
                _("Filter by at most %(n)d tags.") % {"n": TAG_FILTER_MAX}, code="too_many"
            )
        return names
