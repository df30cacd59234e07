"""Form widgets of the shared look."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext


class SearchableSelectMultiple(forms.SelectMultiple):
    """Choose several values on one screen: the chosen ones as chips, the others in a list filtered by typing.

    It renders a plain <select multiple>, which is what a browser without JavaScript shows and what the form
    posts; otklik/multiselect.js (vendored, no network) lays the chips, a filter box and a list of check
    boxes over it and keeps the select in step. The page's texts travel in data- attributes, translated.
    """

    template_name = "ui/widgets/multiselect.html"

    class Media:
        css = {"all": ["otklik/multiselect.css"]}
        js = ["otklik/multiselect.js"]

    def __init__(self, attrs=None, choices=(), *, size: int = 8):
        super().__init__({"size": size, **(attrs or {})}, choices)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].update(
            {
                "data-multiselect": "",
                "data-ms-search": gettext("Type to filter…"),
                "data-ms-chosen": gettext("Chosen"),
                "data-ms-remove": gettext("Remove"),
                # %(shown)s and %(total)s are filled in by the script.
                "data-ms-count": gettext("%(shown)s of %(total)s shown"),
                "data-ms-nomatch": gettext("Nothing matches"),
            }
        )
        return context
