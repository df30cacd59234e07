"""The reports as JSON: GET /api/v1/reports/{name} (F-25).

Every report counts only the tickets the caller may see (TicketPolicy.visible) and is for support staff:
a client's token is refused with 403. Dates are whole days in the caller's time zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from otklik.core.api_errors import ErrorOut
from otklik.core.db_routing import replica_reads
from otklik.core.errors import PermissionDenied, ValidationFailed
from otklik.reports import deflection as deflection_selectors
from otklik.reports import funnel as funnel_selectors
from otklik.reports import load as load_selectors
from otklik.reports import selectors, sla_times
from otklik.reports.period import DEFAULT_DAYS, PeriodFilters, day_error, period_error
from otklik.tickets.policies import TicketPolicy

router = Router(tags=["reports"])
# Reports read from the read replica when one is set and fresh enough (core.db_routing).
router.add_decorator(replica_reads)

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


# -- The load report and the distributions of the tickets closed in a period (reports.load) -------------


class PeriodQuery(Schema):
    date_from: dt.date | None = Field(
        None, description="The period's first day (caller's time zone); default: 29 days before date_to."
    )
    date_to: dt.date | None = Field(None, description="The period's last day, inclusive; default: today.")
    grain: Literal["day", "week", "month"] = Field(
        "day", description="The step: day, week (from Monday) or month."
    )
    sla: int | None = Field(None, ge=1, le=2**63 - 1, description="Only tickets of this SLA (id).")
    group: int | None = Field(
        None, ge=1, le=2**63 - 1, description="Only tickets whose responsible is in this staff group (id)."
    )


def _period(request: HttpRequest, query: PeriodQuery) -> tuple[TicketPolicy, PeriodFilters]:
    """Refuse a caller who is not support staff; return the period's filters or a 422 naming the field."""
    policy = TicketPolicy(request.user)
    if not policy.sees_support_view:
        raise PermissionDenied(_("The reports are for support staff."))
    for name, day in (("date_from", query.date_from), ("date_to", query.date_to)):
        if day is not None and (problem := day_error(day)):
            raise ValidationFailed(problem, field=name)
    date_to = query.date_to or timezone.localdate()
    date_from = query.date_from or date_to - dt.timedelta(days=DEFAULT_DAYS - 1)
    problem = period_error(date_from, date_to, query.grain)
    if problem:
        raise ValidationFailed(problem, field="date_to")
    return policy, PeriodFilters(date_from, date_to, query.grain, query.sla, query.group)


class LoadBucketOut(Schema):
    start: dt.date = Field(description="The bucket's first day (a Monday for weeks, the 1st for months).")
    created: int = Field(description="Tickets created in the bucket.")
    open_at_end: int = Field(
        description="Tickets open at the end of the bucket's last day (or of the period, if earlier)."
    )
    closed: int = Field(description="Closings in the bucket (a ticket closed twice counts twice).")
    reopened: int = Field(description="Reopenings in the bucket.")
    messages: int = Field(description="Public conversation messages written in the bucket.")
    overdue: int = Field(description="Response deadlines that passed in the bucket.")


class LoadOut(Schema):
    grain: Literal["day", "week", "month"]
    buckets: list[LoadBucketOut]


class DistributionRowOut(Schema):
    key: str | None = Field(description="The class (see the endpoint); null: tickets without a mark.")
    name: str = Field(description="In the caller's language.")
    count: int


class DistributionBucketOut(Schema):
    start: dt.date
    counts: list[int] = Field(description="The bucket's tickets per class, in the order of `rows`.")


class DistributionOut(Schema):
    grain: Literal["day", "week", "month"]
    rows: list[DistributionRowOut] = Field(description="The whole period's tickets per class.")
    buckets: list[DistributionBucketOut] = Field(description="The same per bucket of the closing.")


def _distribution_out(result: load_selectors.Distribution) -> dict:
    return {
        "grain": result.grain,
        "rows": [{"key": r.key, "name": r.name, "count": r.count} for r in result.rows],
        "buckets": [{"start": day, "counts": counts} for day, counts in result.buckets],
    }


_ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut}


@router.get("/reports/load", response={200: LoadOut, **_ERRORS}, summary="Load")
def load(request: HttpRequest, query: Query[PeriodQuery]):
    """Per day, week or month: tickets created, open at the end, closed, reopened, messages, overdue.

    Open at the end of a bucket = open at the end of the previous one + created − closed + reopened.
    """
    policy, filters = _period(request, query)
    result = load_selectors.load(policy, filters)
    return {"grain": result.grain, "buckets": [{"start": b.start, **b.counts()} for b in result.buckets]}


@router.get("/reports/solve-time", response={200: DistributionOut, **_ERRORS}, summary="Time to solve")
def solve_time(request: HttpRequest, query: Query[PeriodQuery]):
    """Tickets whose last closing falls in the period, by calendar time from creation to closing.

    Keys: `lt1` (under 24 hours), `1-2`, `2-3`, … `6-7` (days, the upper bound excluded), `gt7` (7 days
    or more).
    """
    policy, filters = _period(request, query)
    return _distribution_out(load_selectors.solve_time(policy, filters))


@router.get(
    "/reports/solve-messages", response={200: DistributionOut, **_ERRORS}, summary="Messages needed to solve"
)
def solve_messages(request: HttpRequest, query: Query[PeriodQuery]):
    """Tickets whose last closing falls in the period, by their public conversation's messages.

    Keys: `le2` (2 or fewer), `3` … `9`, `ge10` (10 or more).
    """
    policy, filters = _period(request, query)
    return _distribution_out(load_selectors.solve_messages(policy, filters))


@router.get("/reports/marks", response={200: DistributionOut, **_ERRORS}, summary="Marks")
def marks(request: HttpRequest, query: Query[PeriodQuery]):
    """Tickets whose last closing falls in the period, by their mark.

    Keys: the mark's symbolic code (its id when it has none); null: no mark (the last row). Every active
    mark has a row, with 0 when no ticket has it.
    """
    policy, filters = _period(request, query)
    return _distribution_out(load_selectors.marks(policy, filters))


# --- SLA compliance and response times (working hours of each ticket's SLA timetable) ---------------------

SlaDimension = Literal["sla", "responsible", "category", "period"]


class SlaQuery(PeriodQuery):
    by: SlaDimension = Field(
        "sla",
        description="What a row is: the SLA whose deadline applied (key: id), the ticket's responsible (key: "
        "user id), its category (key: id), or a step of the period (key: its first day).",
    )


class ComplianceRowOut(Schema):
    key: str | int | dt.date | None = Field(description="The row's value; null: answers without one.")
    name: str
    answered: int = Field(description="Support answers given against a deadline.")
    within: int = Field(description="Of those, given by the deadline.")
    breached: int = Field(description="Of those, given after the deadline.")
    share: float | None = Field(description="within / answered; null when nothing was answered.")
    late_working_minutes: int = Field(description="Working minutes past the deadlines, summed.")


class ComplianceOut(Schema):
    by: SlaDimension
    rows: list[ComplianceRowOut]
    totals: ComplianceRowOut


def _compliance_row_out(row) -> dict:
    return {
        "key": row.key,
        "name": str(row.name),
        "answered": row.answered,
        "within": row.within,
        "breached": row.breached,
        "share": row.share,
        "late_working_minutes": row.late_working_seconds // 60,
    }


@router.get("/reports/sla-compliance", response={200: ComplianceOut, **_ERRORS}, summary="SLA compliance")
def sla_compliance(request: HttpRequest, query: Query[SlaQuery]):
    """Support answers of the period (by the answer's time) against the deadline in force when given.

    Answers given while the SLA had no response time are left out. Late time is in working minutes of
    the ticket's SLA timetable (its weekends and holidays do not count).
    """
    policy, filters = _period(request, query)
    report = sla_times.compliance(policy, filters, query.by, none_name=_("(none)"))
    totals = _compliance_row_out(report.totals)
    totals["name"] = _("Total")
    return {"by": report.by, "rows": [_compliance_row_out(r) for r in report.rows], "totals": totals}


class TimeStatsOut(Schema):
    count: int
    mean_hours: float | None = Field(description="Mean, in working hours of the ticket's SLA timetable.")
    median_hours: float | None = Field(description="Median (interpolated), working hours.")
    p90_hours: float | None = Field(description="90th percentile (interpolated), working hours.")
    calendar_mean_hours: float | None = Field(description="Mean, calendar hours.")
    calendar_median_hours: float | None = Field(description="Median, calendar hours.")


class TimesRowOut(Schema):
    key: str | int | dt.date | None
    name: str
    first_response: TimeStatsOut = Field(description="Creation (or the clock's start) to the first answer.")
    resolution: TimeStatsOut = Field(description="Creation to the last closing, closed in the period.")


class TimesOut(Schema):
    by: SlaDimension
    target_hours: float = Field(description='The regulation\'s public target: "about 4 working hours".')
    rows: list[TimesRowOut]
    totals: TimesRowOut


def _stats_out(stats) -> dict:
    def h(seconds):
        return None if seconds is None else round(seconds / 3600, 3)

    return {
        "count": stats.count,
        "mean_hours": h(stats.mean),
        "median_hours": h(stats.median),
        "p90_hours": h(stats.p90),
        "calendar_mean_hours": h(stats.calendar_mean),
        "calendar_median_hours": h(stats.calendar_median),
    }


def _times_row_out(row, name: str | None = None) -> dict:
    return {
        "key": row.key,
        "name": name if name is not None else str(row.name),
        "first_response": _stats_out(row.first_response),
        "resolution": _stats_out(row.resolution),
    }


@router.get("/reports/response-times", response={200: TimesOut, **_ERRORS}, summary="Response times")
def response_times(request: HttpRequest, query: Query[SlaQuery]):
    """First-response times (first answers given in the period) and resolution times (tickets whose last
    closing falls in the period) in working hours of each ticket's SLA, with calendar hours beside."""
    policy, filters = _period(request, query)
    report = sla_times.response_times(policy, filters, query.by, none_name=_("(none)"))
    return {
        "by": report.by,
        "target_hours": sla_times.TARGET_HOURS,
        "rows": [_times_row_out(r) for r in report.rows],
        "totals": _times_row_out(report.totals, _("Total")),
    }


# --- The three-tier funnel and knowledge-base deflection (reports.funnel, reports.deflection) -------------


class FunnelStagesOut(Schema):
    entered: int = Field(description="Tickets created in the period that entered the support process.")
    solved_l1: int = Field(description="Closed without ever reaching L2 or L3.")
    open_l1: int = Field(description="Open, never escalated: still with the first line.")
    escalated: int = Field(description="Reached L2 or L3 at least once.")
    escalated_l2: int = Field(description="Reached L2 at least once.")
    escalated_l3: int = Field(description="Reached L3 at least once.")


class FunnelOutcomeOut(FunnelStagesOut):
    key: str | None = Field(description="The L1 outcome's code; null: not classified yet.")
    name: str = Field(description="From the process definition, in the caller's language.")


class FunnelTypesOut(Schema):
    accident: int
    incident: int
    change_request: int


class FunnelChangesOut(Schema):
    approved: int = Field(description="Tickets the change board approved.")
    rejected: int = Field(description="Tickets the change board rejected.")
    awaiting: int = Field(description="Tickets waiting for the board's decision now.")


class FunnelTierOut(Schema):
    tier: str
    tickets: int = Field(description="Tickets that spent time in the tier.")
    hours: float = Field(description="Calendar hours spent in the tier, summed over those tickets.")
    average_hours: float | None = Field(description="hours / tickets; null when no ticket was there.")


class FunnelBucketOut(Schema):
    start: dt.date = Field(description="The first day of the step (of the tickets' creation).")
    solved_l1: int
    open_l1: int
    escalated: int


class FunnelOut(Schema):
    date_from: dt.date
    date_to: dt.date
    hours: Literal["calendar"] = Field(description="Times are calendar hours, up to now for open tickets.")
    stages: FunnelStagesOut
    l1_outcomes: list[FunnelOutcomeOut]
    types: FunnelTypesOut = Field(description="Tickets by the type the incident manager gave them.")
    changes: FunnelChangesOut
    tiers: list[FunnelTierOut]
    buckets: list[FunnelBucketOut] = Field(description="The stages per step (grain) of creation.")


@router.get("/reports/funnel", response={200: FunnelOut, **_ERRORS}, summary="Three-tier funnel")
def funnel(request: HttpRequest, query: Query[PeriodQuery]):
    """Where the visible tickets created in the period went in the three-tier process (F-30): solved at
    L1 by L1 outcome, escalated to L2 and L3, accidents / incidents / change requests, the board's
    decisions, and calendar hours per tier."""
    policy, filters = _period(request, query)
    result = funnel_selectors.funnel(policy, filters, none_name=_("(not classified yet)"))
    return {
        "date_from": filters.date_from,
        "date_to": filters.date_to,
        "hours": "calendar",
        "stages": result.stages,
        "l1_outcomes": [{"key": r.key, "name": r.name, **r.counts} for r in result.outcomes],
        "types": result.types,
        "changes": result.changes,
        "tiers": [vars(t) for t in result.tiers],
        "buckets": [vars(b) for b in result.buckets],
    }


class DeflectionQuery(Schema):
    date_from: dt.date | None = PeriodQuery.model_fields["date_from"]
    date_to: dt.date | None = PeriodQuery.model_fields["date_to"]
    grain: Literal["day", "week", "month"] = PeriodQuery.model_fields["grain"]


class DeflectionCountsOut(Schema):
    wizard_answered: int = Field(description='The wizard\'s "this answered my question".')
    article_answered: int = Field(description='An article\'s "this answered my question".')
    suggestion_left: int = Field(
        description="Left after opening a suggested article, without a ticket within two hours."
    )
    abandoned: int = Field(description="The wizard left without a ticket (not a deflection).")
    deflected: int = Field(description="wizard_answered + article_answered + suggestion_left.")
    tickets: int = Field(description="Visible tickets created in the period, in the section's category.")
    share: float | None = Field(description="deflected / (deflected + tickets); null when both are 0.")


class DeflectionRowOut(DeflectionCountsOut):
    key: int | None = Field(description="The section's id; null: no section (see the endpoint).")
    name: str = Field(description="The section's path, in the caller's language.")


class DeflectionBucketOut(Schema):
    start: dt.date
    deflected: int
    tickets: int


class DeflectionReportOut(Schema):
    date_from: dt.date
    date_to: dt.date
    rows: list[DeflectionRowOut]
    totals: DeflectionCountsOut
    buckets: list[DeflectionBucketOut] = Field(description="Deflected questions and tickets per step.")


@router.get(
    "/reports/deflection", response={200: DeflectionReportOut, **_ERRORS}, summary="Knowledge base deflection"
)
def deflection(request: HttpRequest, query: Query[DeflectionQuery]):
    """Questions the knowledge base answered without a ticket, per section, against the tickets filed.

    A row is a section that maps to a ticket category (the wizard files its tickets there): the answers
    given beneath it and the tickets of its category. Answers under a top-level section with no mapped
    section stay in that section's row; tickets in a category no section maps (or none) and answers whose
    section was deleted are the row with key null.
    """
    policy, filters = _period(
        request, PeriodQuery(date_from=query.date_from, date_to=query.date_to, grain=query.grain)
    )
    result = deflection_selectors.deflection(
        policy,
        filters,
        language=get_language() or "ru",
        none_name=_("(no section)"),
        hidden_name=_("(a section you cannot read)"),
    )
    return {
        "date_from": filters.date_from,
        "date_to": filters.date_to,
        "rows": [{"key": r.key, "name": r.name, **r.counts, "share": r.share} for r in result.rows],
        "totals": {**result.totals, "share": result.share},
        "buckets": [vars(b) for b in result.buckets],
    }
