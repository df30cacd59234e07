"""What apps above tickets add to the ticket pages and the staff list, without tickets importing them.

The support process (workflow) sits above tickets (ARCHITECTURE §2): it registers here from its
AppConfig.ready, like `policies.visibility_grant_register`, and the ticket views ask.

- a *panel* renders a piece of the staff or the client ticket page (the process card, the client's stage);
- a *queue* answers which tickets wait for this staff member (the "my queue" filter of the staff list);
- a *list filter* adds a filter of the staff list over what the app keeps (the process's state), so the
  reports' numbers can link to a list of exactly their tickets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from django.db.models import Q
from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe

Page = Literal["staff", "client"]
# panel(request, policy, ticket) -> the HTML to show ("" for nothing); the policy is the request's TicketPolicy.
Panel = Callable[[HttpRequest, object, object], str]
# queue(user) -> the tickets waiting for the user as a Q, or None when nothing waits for them.
Queue = Callable[[object], Q | None]

_panels: dict[str, list[Panel]] = {"staff": [], "client": []}
_queues: list[Queue] = []


def ticket_panel_register(page: Page, panel: Panel) -> None:
    """Add `panel` to the staff or the client ticket page (once)."""
    if panel not in _panels[page]:
        _panels[page].append(panel)


def ticket_panels(page: Page, request: HttpRequest, policy, ticket) -> list[SafeString]:
    """Render the panels registered for the page, in registration order, leaving out the empty ones."""
    rendered = (panel(request, policy, ticket) for panel in _panels[page])
    return [mark_safe(html) for html in rendered if html]  # noqa: S308 - panels render templates


def queue_register(queue: Queue) -> None:
    """Let `queue(user)` say which tickets wait for a staff member (once)."""
    if queue not in _queues:
        _queues.append(queue)


def queue_available() -> bool:
    """Tell whether anything defines a queue (the staff list shows the "my queue" filter only then)."""
    return bool(_queues)


def queue_q(user) -> Q:
    """Return the tickets waiting for `user` by every registered queue (none when nothing waits)."""
    found = Q(pk__in=[])
    for queue in _queues:
        q = queue(user)
        if q is not None:
            found |= q
    return found


@dataclass(frozen=True)
class ListFilter:
    """A filter of the staff list that an app above tickets defines: the GET parameter's `name`, its
    `label` and `choices` (value, label) in the active language, and the condition `q(value)` selects.
    The value "none" means tickets without one; `q` receives it like any other value."""

    name: str
    label: Callable[[], str]
    choices: Callable[[], list[tuple[str, str]]]
    q: Callable[[str], Q]


_list_filters: dict[str, ListFilter] = {}


def list_filter_register(list_filter: ListFilter) -> None:
    """Add a filter to the staff list (a second registration under the same name replaces the first)."""
    _list_filters[list_filter.name] = list_filter


def list_filters() -> list[ListFilter]:
    """Return the registered filters of the staff list, in registration order."""
    return list(_list_filters.values())


def list_filter_q(name: str, value: str) -> Q:
    """Return the condition of a registered filter's value; nothing matches an unknown filter."""
    found = _list_filters.get(name)
    return found.q(value) if found is not None else Q(pk__in=[])
