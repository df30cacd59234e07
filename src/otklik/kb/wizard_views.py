"""The support wizard's pages (F-20): one step per level of the section tree, then the prefilled ticket.

Every POST answers with a redirect to a GET page (or the same step with field messages and 400), so the
browser's back button and a reload never repeat an action; htmx (hx-boost) only swaps the step in place.

How a run ends:
- "Done" on a leaf hands the prefilled ticket to the new-ticket form through the session
  (tickets.forms.NEW_TICKET_PREFILL_KEY) and marks the run handed over; filing the ticket removes the key.
- "This answered my question" records a wizard_answered deflection for the step's section.
- "Cancel" records wizard_abandoned for the deepest section reached.
- Starting over, or coming back to the wizard after the run was left idle for IDLE_SECONDS or after the
  prefilled form was left unfiled, records the earlier run as wizard_abandoned first.
A run that is simply left (the tab closed, the session expired, a logout) is not seen by the server and is
not counted: no row exists for a run in progress.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from otklik.core.errors import DomainError, ReadOnlyAccess
from otklik.kb.models import DeflectionKind, Section, active_language
from otklik.kb.wizard import Step, Tree
from otklik.kb.wizard_flow import (
    NEW_TICKET_PREFILL_KEY,
    STATE_KEY,
    RunState,
    state_clear,
    state_load,
    state_save,
    step_act,
    step_context,
    step_page,
    steps_of,
)
from otklik.kb.wizard_selectors import wizard_tree_for
from otklik.kb.wizard_services import wizard_outcome_record


def _record(request: HttpRequest, kind: str, section_id: int | None, *, quiet: bool = False) -> None:
    """Record a wizard outcome; demo access gets a notice (or nothing, when the outcome is implicit)."""
    if section_id is None:
        return
    section = Section.objects.filter(pk=section_id).first()
    try:
        wizard_outcome_record(actor=request.user, kind=kind, section=section)
    except ReadOnlyAccess as exc:
        if not quiet:
            messages.warning(request, exc.message)
    except DomainError:
        if not quiet:
            raise


def _end_earlier_run(request: HttpRequest, state: RunState) -> None:
    """Count an earlier run that never ended as abandoned, then forget it."""
    session = request.session
    if state.handed_over:
        handed = session.get(NEW_TICKET_PREFILL_KEY)
        if isinstance(handed, dict) and handed.get("wizard_run") == state.run:
            # The prefilled form was opened but no ticket was filed from it.
            _record(
                request, DeflectionKind.WIZARD_ABANDONED, state.path[-1] if state.path else None, quiet=True
            )
            session.pop(NEW_TICKET_PREFILL_KEY, None)
    elif state.path:
        _record(request, DeflectionKind.WIZARD_ABANDONED, state.path[-1], quiet=True)
    state_clear(session, STATE_KEY)


def _step_url(number: int) -> str:
    return reverse("kb:wizard_step", args=[number])


@require_http_methods(["GET", "POST"])
def wizard_start(request: HttpRequest) -> HttpResponse:
    """Resume the run in progress, or start one (counting a finished-but-unfiled or stale one abandoned).

    POST starts over: the run in progress counts as abandoned.
    """
    tree = wizard_tree_for(request.user)
    state = state_load(request.session, STATE_KEY, tree)
    if state is not None and (request.method == "POST" or state.handed_over or state.idle):
        _end_earlier_run(request, state)
        state = None
    if not len(tree):
        return redirect(reverse("tickets:client_new") + "?skip_wizard=1")
    if state is None:
        state = RunState()
        state_save(request.session, STATE_KEY, state)
    last = len(steps_of(tree, state))
    return redirect(_step_url(max(1, min(state.step, last))))


@require_http_methods(["GET", "POST"])
def wizard_step(request: HttpRequest, number: int) -> HttpResponse:
    """Show step `number` (GET) or do what its buttons ask (POST)."""
    tree = wizard_tree_for(request.user)
    state = state_load(request.session, STATE_KEY, tree)
    if state is None or state.handed_over:
        return redirect("kb:wizard")
    steps = steps_of(tree, state)
    if not steps:
        return redirect("kb:wizard")
    if not 1 <= number <= len(steps):
        return redirect(_step_url(len(steps)))
    lang = active_language()
    if request.method == "POST":
        response = _act(request, tree, state, steps, number, lang)
        if response is not None:
            return response
        steps = steps_of(tree, state)
    page = step_page(
        tree, state, steps, number, lang, data=request.POST if request.method == "POST" else None
    )
    state.step = number
    state_save(request.session, STATE_KEY, state)
    status = 400 if (page.form is not None and page.form.errors) or request.method == "POST" else 200
    context = step_context(page, lang, url_for=_step_url, preview=False)
    return render(request, "kb/wizard_step.html", context, status=status)


def _act(
    request: HttpRequest, tree: Tree, state: RunState, steps: list[Step], number: int, lang: str
) -> HttpResponse | None:
    """Do what a step's POST asks; return the redirect, or None to show the step again with messages."""
    act = step_act(request.POST, tree, state, steps, number, lang)
    if act.error:
        messages.error(request, act.error)
    if act.kind == "go":
        state.step = act.number
        state_save(request.session, STATE_KEY, state)
        return redirect(_step_url(act.number))
    if act.kind == "cancel":
        _record(request, DeflectionKind.WIZARD_ABANDONED, state.path[-1] if state.path else None)
        state_clear(request.session, STATE_KEY)
        messages.info(request, _("The wizard is closed. You can start it again at any time."))
        return redirect("home")
    if act.kind == "restart":
        _end_earlier_run(request, state)
        state_save(request.session, STATE_KEY, RunState())
        return redirect(_step_url(1))
    if act.kind == "answered" and act.section is not None:
        _record(request, DeflectionKind.WIZARD_ANSWERED, act.section.id)
        state_clear(request.session, STATE_KEY)
        return redirect("kb:wizard_thanks")
    if act.kind == "done" and act.ticket is not None:
        request.session[NEW_TICKET_PREFILL_KEY] = {**act.ticket.as_initial(), "wizard_run": state.run}
        state.handed_over = True
        state_save(request.session, STATE_KEY, state)
        return redirect(reverse("tickets:client_new") + "?wizard=1")
    return None


@require_http_methods(["GET"])
def wizard_thanks(request: HttpRequest) -> HttpResponse:
    """Thank the client whose question the wizard answered."""
    return render(request, "kb/wizard_thanks.html")


@require_http_methods(["GET", "POST"])
def wizard_skip(request: HttpRequest) -> HttpResponse:
    """Leave the wizard for the plain new-ticket form; the run is neither answered nor abandoned.

    A link (GET) on purpose: it only forgets the run kept in the session, and a ticket usually follows.
    """
    state_clear(request.session, STATE_KEY)
    return redirect(reverse("tickets:client_new") + "?skip_wizard=1")
