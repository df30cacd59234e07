"""Template helpers: message markup, user names, indicators, sort links, file sizes."""

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

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


# Relative times: (below this many seconds, the unit in seconds, "in N" and "N ago" in both numbers).
RELATIVE_UNITS = (
    (
        3600,
        60,
        ngettext_lazy("in %(n)s min", "in %(n)s min", "n"),
        ngettext_lazy("%(n)s min ago", "%(n)s min ago", "n"),
    ),
    (
        86400,
        3600,
        ngettext_lazy("in %(n)s h", "in %(n)s h", "n"),
        ngettext_lazy("%(n)s h ago", "%(n)s h ago", "n"),
    ),
    (
        7 * 86400,
        86400,
        ngettext_lazy("in %(n)s day", "in %(n)s days", "n"),
        ngettext_lazy("%(n)s day ago", "%(n)s days ago", "n"),
    ),
)


@register.filter
def reltime(value) -> str:
    """Render an instant as a relative time ("12 min ago") with the exact local time on hover.

    Past a week it shows the date itself: "3 weeks ago" is less useful to an agent than the day. The browser
    keeps the text current (otklik/live.js); this is what a page without scripts shows.
    """
    from django.utils import timezone
    from django.utils.formats import date_format
    from django.utils.translation import gettext

    from otklik.core import clock

    if not value:
        return ""
    local = timezone.localtime(value)
    seconds = (clock.now() - value).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    text = gettext("in a moment") if future else gettext("just now")
    if seconds >= 60:
        text = date_format(local, "SHORT_DATE_FORMAT")
        for below, unit, ahead, ago in RELATIVE_UNITS:
            if seconds < below:
                n = int(seconds // unit)
                text = (ahead if future else ago) % {"n": n}
                break
    exact = date_format(local, "DATETIME_FORMAT")
    return format_html('<time datetime="{}" title="{}" data-rel>{}</time>', local.isoformat(), exact, text)


AVATAR_HUES = 12


@register.filter
def avatar(user, fallback: str = "") -> str:
    """Render a person's initials in a coloured circle (the colour is stable per person)."""
    import zlib

    if user is None and not fallback:
        return ""
    if user is not None:
        name = (user.get_full_name() or user.username or "").strip()
        key = str(user.pk)
    else:
        name, key = fallback, fallback
    words = [w for w in name.replace("@", " ").replace(".", " ").split() if w]
    initials = "".join(w[0] for w in words[:2]).upper() or "?"
    hue = zlib.crc32(key.encode()) % AVATAR_HUES
    return format_html('<span class="av av{}" aria-hidden="true">{}</span>', hue, initials)
