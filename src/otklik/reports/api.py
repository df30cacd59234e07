"""The reports as JSON: GET /api/v1/reports/{name} (F-25).

Every report counts only the tickets the caller may see (TicketPolicy.visible) and is for support staff:
a client's token is refused with 403. Dates are whole days in the caller's time zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from otklik.core.api_errors import ErrorOut
from otklik.core.errors import PermissionDenied, ValidationFailed
from otklik.reports import selectors
from otklik.tickets.policies import TicketPolicy

router = Router(tags=["reports"])

Dimension = Literal[selectors.DIMENSIONS]  # type: ignore[valid-type]  # the selector's list, one source


class DeskQuery(Schema):
    by: Dimension = Field(
        "responsible",
        description="What a row is: the responsible (key: user id), a dictionary (key: the entry's symbolic "
        "code, or its id when it has none), the SLA (key: id), the workflow state or the L1 outcome.",
    )
    created_from: dt.date | None = Field(
        None, description="Created on or after this day (caller's time zone)."
    )
    created_to: dt.date | None = Field(
        None, description="Created on or before this day (caller's time zone)."
    )
    sla: int | None = Field(None, ge=1, le=2**63 - 1, description="Only tickets of this SLA (id).")
    group: int | None = Field(
        None, ge=1, le=2**63 - 1, description="Only tickets whose responsible is in this staff group (id)."
    )


class DeskCountsOut(Schema):
    open_client_last: int = Field(description="Open, the client's message last (Bitrix: red).")
    open_support_last: int = Field(description="Open, support's message last (Bitrix: green).")
    open: int
    closed: int
    total: int


class DeskRowOut(DeskCountsOut):
    key: str | int | None = Field(description="The row's value; null: tickets without one.")
    name: str = Field(description="In the caller's language.")


class DeskOut(Schema):
    by: Dimension
    rows: list[DeskRowOut]
    totals: DeskCountsOut


@router.get(
    "/reports/desk",
    response={200: DeskOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="Support desk",
)
def desk(request: HttpRequest, query: Query[DeskQuery]):
    """Count the visible tickets per value of `by`: open with the client or support last, closed, total."""
    policy = TicketPolicy(request.user)
    if not policy.sees_support_view:
        raise PermissionDenied(_("The reports are for support staff."))
    if query.created_from and query.created_to and query.created_from > query.created_to:
        raise ValidationFailed(_("The end of the period is before its start."), field="created_to")
    filters = selectors.DeskFilters(
        created_from=query.created_from, created_to=query.created_to, sla=query.sla, group=query.group
    )
    result = selectors.desk(policy, filters, query.by, none_name=_("(none)"))
    counts = selectors.COUNTS
    return {
        "by": result.by,
        "rows": [{"key": r.key, "name": r.name, **{n: r.counts[n] for n in counts}} for r in result.rows],
        "totals": {n: result.totals[n] for n in counts},
    }
