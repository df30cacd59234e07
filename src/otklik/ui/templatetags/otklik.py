"""Template helpers: message markup, user names, indicators, sort links, file sizes."""

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from otklik.core.text import render_markup

register = template.Library()

INDICATOR_LABELS = {
    "grey": _("closed"),
    "green": _("you answered last"),
    "green_s": _("support answered last"),
    "red": _("your move"),
    "yellow": _("waiting for support"),
}
CLIENT_INDICATOR_LABELS = {
    "grey": _("closed"),
    "red": _("support answered: your move"),
    "green": _("waiting for support"),
}


@register.filter
def markup(text: str):
    return render_markup(text)


@register.filter
def user_name(user) -> str:
    """Return 'First Last' or the login (as accounts.selectors.display_name; ui cannot import accounts)."""
    if user is None:
        return ""
    return user.get_full_name() or user.username


@register.simple_tag
def indicator(value: str, client_view: bool = False):
    labels = CLIENT_INDICATOR_LABELS if client_view else INDICATOR_LABELS
    label = labels.get(value, value)
    return format_html(
        '<span class="ind ind-{}" title="{}" role="img" aria-label="{}"></span>', value, label, label
    )


@register.simple_tag
def sort_link(label: str, key: str, current: str, query: str):
    """Render a column header that sorts by `key`, toggling the direction when it is the current key."""
    if current == key:
        target, arrow = f"-{key}", " ↑"
    elif current == f"-{key}":
        target, arrow = key, " ↓"
    else:
        target, arrow = key, ""
    href = f"?{query}&sort={target}" if query else f"?sort={target}"
    return format_html('<a href="{}" class="sort">{}{}</a>', href, label, arrow)


FILE_SIZE_UNITS = (_("B"), _("KB"), _("MB"), _("GB"))


@register.filter
def filesize(size: int) -> str:
    """Show a byte count in the largest unit that keeps it at least 1, with translated unit names."""
    value = float(size or 0)
    for index, unit in enumerate(FILE_SIZE_UNITS):
        if value < 1024 or index == len(FILE_SIZE_UNITS) - 1:
            return f"{value:.0f} {unit}" if index == 0 else f"{value:.1f} {unit}"
        value /= 1024
    return ""


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None
