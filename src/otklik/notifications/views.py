"""The bell (count, panel, open, mark all read), the list of one's notifications, and the settings page."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from otklik.core import clock
from otklik.notifications import catalog
from otklik.notifications.selectors import (
    notification_preferences_get,
    notification_text,
    notifications_list,
    notifications_unread_count,
)
from otklik.notifications.services import (
    notification_open,
    notification_preferences_save,
    notifications_mark_all_read,
)
from otklik.tickets.policies import TicketPolicy

PANEL_SIZE = 20
PAGE_SIZE = 30


def _policy(request: HttpRequest) -> TicketPolicy:
    policy = getattr(request, "_ticket_policy", None)
    if policy is None or policy.user is not request.user:
        policy = TicketPolicy(request.user)
        request._ticket_policy = policy  # type: ignore[attr-defined]  # shared with the context processor
    return policy


def _bell_user(request: HttpRequest):
    """Return the user when they have a bell (the staff workspace); refuse everybody else.

    Anonymous visitors never get here: LoginRequiredMiddleware sends them to the login page.
    """
    if not _policy(request).sees_support_view:
        raise PermissionDenied
    return request.user


def _rows(notifications) -> list[dict]:
    """Pair each notification with its text in the reader's language, its age and its link."""
    now = clock.now()
    return [
        {
            "n": n,
            "text": notification_text(n),
            "ago": _ago(n.created_at, now),
            "url": reverse("notifications:open", args=[n.pk]),
        }
        for n in notifications
    ]


def _ago(at, now) -> str:
    if now - at < timedelta(minutes=1):
        return _("just now")
    return _("%(time)s ago") % {"time": timesince(at, now, depth=1)}


@require_GET
def bell_count(request: HttpRequest) -> HttpResponse:
    """Answer the badge: one indexed count; an ETag lets an unchanged badge cost no body."""
    user = _bell_user(request)
    count = notifications_unread_count(user=user)
    etag = f'"bell-{count}-{translation.get_language()}"'
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = render(request, "notifications/_bell_count.html", {"count": count})
    response["ETag"] = etag
    # Ask again each time (the poll's point); the browser then sends If-None-Match by itself.
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Cookie, Accept-Language"
    return response


@require_GET
def bell_panel(request: HttpRequest) -> HttpResponse:
    """Render the dropdown: the latest notifications, unread first."""
    return _panel(request, _bell_user(request))


def _panel(request: HttpRequest, user) -> HttpResponse:
    rows = _rows(notifications_list(user=user, unread_first=True)[:PANEL_SIZE])
    return render(request, "notifications/_bell_panel.html", {"rows": rows})


@require_GET
def open_notification(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark the notification read and go to its ticket's staff page (the page its mail links to)."""
    user = _bell_user(request)
    notification = notification_open(user=user, notification_id=notification_id)
    if notification is None:  # not this user's: never say whose it is
        raise Http404
    if notification.ticket_id is None:
        return redirect("notifications:list")
    return redirect("tickets:staff_detail", ticket_id=notification.ticket_id)


@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    """Mark every notification read; htmx gets the panel again (and the badge is told to refresh)."""
    user = _bell_user(request)
    notifications_mark_all_read(user=user)
    if request.headers.get("HX-Request"):
        response = _panel(request, user)
        response["HX-Trigger"] = "notifications-changed"
        return response
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("notifications:list")
    return redirect(back)


@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """Show all of one's notifications, newest first, a page at a time."""
    user = _bell_user(request)
    page = Paginator(notifications_list(user=user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/list.html",
        {
            "page": page,
            "rows": _rows(page.object_list),
            "unread": notifications_unread_count(user=user),
            "query": "",
            "query_sizeless": "",
            "page_sizes": (),
        },
    )


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """Let a person choose which notifications reach them by mail and under the bell."""
    policy = _policy(request)
    staff = policy.sees_support_view
    topics = [topic for topic in catalog.TOPICS if topic.staff == staff]
    if request.method == "POST" and policy.is_demo:
        messages.warning(request, _("Demo access: you can look at everything, but nothing you do is saved."))
        return redirect("notifications:preferences")
    if request.method == "POST":
        switches = {
            topic.key: {
                channel: f"{topic.key}:{channel}" in request.POST
                for channel, present in (
                    (catalog.CHANNEL_MAIL, topic.has_mail),
                    (catalog.CHANNEL_INAPP, topic.has_inapp and staff),
                )
                if present
            }
            for topic in topics
        }
        notification_preferences_save(user=request.user, switches=switches)
        messages.success(request, _("Your notification settings are saved."))
        return redirect("notifications:preferences")
    current = notification_preferences_get(user=request.user)
    rows = [{"topic": topic, **current[topic.key]} for topic in topics]
    return render(request, "notifications/preferences.html", {"rows": rows, "staff": staff})
