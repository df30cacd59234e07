"""What the ticket views share: the request's policy, error pages, paging, uploads."""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import cached_property
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from otklik.accounts.selectors import support_user_list
from otklik.core.db_routing import on_replica
from otklik.core.errors import DomainError, NotFound, PermissionDenied, ReadOnlyAccess
from otklik.sla.models import SlaLevel
from otklik.tickets import selectors
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services import Upload

PAGE_SIZES = (20, 50, 100, 200)
# Counting every row of a big list costs more than showing a page; past this many we say "10,000+".
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """A paginator that counts at most COUNT_CAP + 1 rows (the pages past the cap need a narrower filter)."""

    capped = False

    @cached_property
    def count(self) -> int:
        # Without ORDER BY the capped count stops at the first COUNT_CAP + 1 rows instead of sorting them.
        # The total may come from the read replica (a few seconds old at most; the rows do not).
        counted = on_replica(self.object_list.order_by()[: COUNT_CAP + 1].count)
        self.capped = counted > COUNT_CAP
        return min(counted, COUNT_CAP)


def policy_for(request: HttpRequest) -> TicketPolicy:
    """Return the request's TicketPolicy (built once per request)."""
    policy = getattr(request, "_ticket_policy", None)
    if policy is None or policy.user is not request.user:
        policy = TicketPolicy(request.user)
        request._ticket_policy = policy
    return policy


def domain_errors(view):
    """Turn domain errors into pages: not found -> 404, demo writes -> a notice, forbidden -> 403."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404() from None
        except ReadOnlyAccess as exc:
            messages.warning(request, exc.message)
            back = request.META.get("HTTP_REFERER") or ""
            if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
                back = ""  # never bounce to another site
            return redirect(back or "home")
        except DomainError as exc:
            return render(request, "ui/error.html", {"message": exc.message}, status=exc.status)

    return wrapper


def uploads_from(request: HttpRequest, field: str = "files") -> list[Upload]:
    return [Upload(name=f.name, fileobj=f) for f in request.FILES.getlist(field)]


class CountedPaginator(CappedPaginator):
    """A capped paginator whose rows are counted by `counter(limit)` up to `cap` (issue 19).

    A full-text search counts its matches first (selectors.ticket_search_count) and says "more than
    1000" sooner: the list's own count joined every match to every visible ticket.
    """

    def __init__(self, object_list, per_page: int, *, counter: Callable[[int], int], cap: int):
        super().__init__(object_list, per_page)
        self.counter, self.cap = counter, cap

    @cached_property
    def count(self) -> int:
        counted = on_replica(lambda: self.counter(self.cap + 1))  # the replica when set and fresh
        self.capped = counted > self.cap
        return min(counted, self.cap)


def paginate(
    request: HttpRequest,
    queryset,
    default_size: int,
    *,
    counter: Callable[[int], int] | None = None,
    cap: int = COUNT_CAP,
) -> tuple[Page, int]:
    """Return the requested page (clamped into range) and the page size in use.

    `counter(limit)`, when given, counts the rows (at most `limit`) instead of the queryset's capped count.
    """
    try:
        size = int(request.GET.get("size", default_size))
    except ValueError:
        size = default_size
    size = size if size in PAGE_SIZES else default_size
    paginator = (
        CappedPaginator(queryset, size)
        if counter is None
        else CountedPaginator(queryset, size, counter=counter, cap=cap)
    )
    number = request.GET.get("page", 1)
    try:
        page = paginator.page(number)
    except PageNotAnInteger:
        page = paginator.page(1)
    except EmptyPage:
        page = paginator.page(paginator.num_pages)
    return page, size


def query_without(request: HttpRequest, *drop: str) -> str:
    """Return the current query string without the named parameters (for sort and page links)."""
    pairs = [(k, v) for k, values in request.GET.lists() if k not in drop for v in values]
    return urlencode(pairs)


def list_links(request: HttpRequest, size: int) -> dict:
    """Query strings a paged, sorted list needs for its links."""
    return {
        "size": size,
        "page_sizes": PAGE_SIZES,
        "query_sortless": query_without(request, "sort", "page"),
        "query_pageless": query_without(request, "page"),
        "query_sizeless": query_without(request, "size", "page"),
    }


# Bumped when what the live regions render changes shape, so browsers do not keep an older answer's ETag.
LIVE_VERSION = "1"


def live_etag(request: HttpRequest, *parts: object) -> str:
    """Return the ETag of a live region: what it shows depends on the parts, the user, the query, the
    language and the time zone (the counts and rows are the user's own)."""
    import hashlib

    from django.utils import timezone, translation

    key = "|".join(
        [
            LIVE_VERSION,
            str(request.user.pk),
            request.get_full_path(),
            translation.get_language() or "",
            str(timezone.get_current_timezone()),
            *(str(p) for p in parts),
        ]
    )
    return '"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"'


def live_unchanged(request: HttpRequest, etag: str) -> bool:
    """Tell whether the browser already has the answer with this ETag."""
    return etag in request.headers.get("If-None-Match", "")


# A live region is rendered again at least this often even when no ticket changed (a colleague joined a
# group, an option changed): the stamp covers the tickets, not the whole configuration.
LIVE_MAX_AGE_SECONDS = 600


def require_staff_view(request: HttpRequest):
    """Return the request's ticket policy, refusing anyone who is not support staff."""
    policy = policy_for(request)
    if not policy.sees_support_view:
        raise PermissionDenied(_("The staff workspace is for support staff."))
    return policy


def staff_form_context() -> dict:
    """Choices every staff form needs, one query each (never per row)."""
    return {
        "dictionaries": selectors.dictionaries_for_forms(),
        "support_users": list(support_user_list()),
        "slas": list(SlaLevel.objects.filter(active=True)),
    }


def choice_text(field, raw: str) -> str:
    """Return how a form field shows a submitted value: its choice's label, or the value itself."""
    choices = {str(key): label for key, label in getattr(field, "choices", ())}
    return str(choices.get(raw, raw))
