"""The support wizard's run: its state in the session, a step's form, and what a step's buttons do.

Shared by the client's pages (kb/wizard_views.py) and the admin's preview (kb/wizard_admin.py). The state
is one small dict in the session, checked against the visible tree on every request: a tampered or stale
value is dropped, never trusted. Nothing here writes to the database; the views call the services.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from otklik.core.markdown import render_markdown
from otklik.kb.wizard import (
    COUPON_MAX,
    MULTITEXT_LINES,
    TEXT_MAX,
    TEXTAREA_MAX,
    Answer,
    Prefill,
    SectionSpec,
    Step,
    StepInput,
    Tree,
    clean_answer,
    clean_step,
    prefill,
    wizard_steps,
)
from otklik.tickets.fields import TITLE_MAX
from otklik.tickets.forms import NEW_TICKET_PREFILL_KEY
from otklik.ui.forms import KeyboardFriendlyMixin

# The client's run and the admin's preview run live under separate keys: a preview never touches a run.
STATE_KEY = "kb.wizard"
PREVIEW_KEY = "kb.wizard.preview"
# A run untouched this long counts as abandoned when the next one starts (instead of being resumed).
IDLE_SECONDS = 2 * 3600
ANSWERS_MAX = 200

__all__ = ["NEW_TICKET_PREFILL_KEY", "STATE_KEY", "PREVIEW_KEY", "RunState", "StepForm"]


@dataclass
class RunState:
    """One walk through the wizard: the sections chosen per level, the answers, the title and coupon."""

    run: str = field(default_factory=lambda: secrets.token_hex(6))
    path: list[int] = field(default_factory=list)
    answers: dict[int, Answer | None] = field(default_factory=dict)
    title: str = ""
    coupon: str = ""
    step: int = 1
    touched: float = field(default_factory=time.time)
    handed_over: bool = False  # "Done": the prefilled form is waiting in the session

    @property
    def idle(self) -> bool:
        return time.time() - self.touched > IDLE_SECONDS

    def dump(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "path": list(self.path),
            "answers": {str(k): v for k, v in self.answers.items()},
            "title": self.title,
            "coupon": self.coupon,
            "step": self.step,
            "touched": self.touched,
            "handed_over": self.handed_over,
        }


def _answer_ok(value: object) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, str):
        return len(value) <= TEXTAREA_MAX
    if isinstance(value, list):
        return len(value) <= MULTITEXT_LINES and all(isinstance(v, str) and len(v) <= TEXT_MAX for v in value)
    return False


def state_load(session: Mapping[str, Any], key: str, tree: Tree) -> RunState | None:
    """Return the run kept under `key`, cut down to what the tree still offers; None when there is none."""
    raw = session.get(key)
    if not isinstance(raw, dict):
        return None
    state = RunState()
    run = raw.get("run")
    if isinstance(run, str) and 0 < len(run) <= 32:
        state.run = run
    path = raw.get("path")
    state.path = tree.valid_path(path if isinstance(path, list) else [])
    asked = {q.id for s in (tree.get(i) for i in state.path) if s for q in s.questions}
    answers = raw.get("answers")
    if isinstance(answers, dict):
        for k, v in list(answers.items())[:ANSWERS_MAX]:
            if isinstance(k, str) and k.isdigit() and int(k) in asked and _answer_ok(v):
                state.answers[int(k)] = v
    for name, limit in (("title", TITLE_MAX), ("coupon", COUPON_MAX)):
        value = raw.get(name)
        if isinstance(value, str) and len(value) <= limit:
            setattr(state, name, value)
    step = raw.get("step")
    if isinstance(step, int) and not isinstance(step, bool):
        state.step = step
    touched = raw.get("touched")
    if isinstance(touched, (int, float)) and not isinstance(touched, bool):
        state.touched = float(touched)
    state.handed_over = raw.get("handed_over") is True
    return state


def state_save(session, key: str, state: RunState) -> None:
    state.touched = time.time()
    session[key] = state.dump()


def state_clear(session, key: str) -> None:
    session.pop(key, None)


def steps_of(tree: Tree, state: RunState) -> list[Step]:
    return wizard_steps(tree, state.path)


def keep_path(state: RunState, tree: Tree, path: list[int]) -> None:
    """Take a new path and forget the answers of questions no longer on it."""
    state.path = path
    asked = {q.id for s in (tree.get(i) for i in path) if s for q in s.questions}
    state.answers = {k: v for k, v in state.answers.items() if k in asked}


def take_input(state: RunState, section: SectionSpec, given: StepInput) -> None:
    """Keep a step's answers (and its title and coupon when the step asked them)."""
    state.answers.update(given.answers)
    if section.ask_title and given.title is not None:
        state.title = given.title
    if section.ask_coupon and given.coupon is not None:
        state.coupon = given.coupon


def missing_required(tree: Tree, state: RunState) -> int | None:
    """Return the number of the first step whose required questions are not all answered, or None."""
    for number, section_id in enumerate(state.path, start=1):
        section = tree.get(section_id)
        if section is None:
            continue
        for question in section.questions:
            answer = state.answers.get(question.id)
            raw = ["on"] if answer is True else [] if answer in (None, False) else answer
            raw = raw if isinstance(raw, list) else [str(raw)]
            if question.required and clean_answer(question, raw)[1]:
                return number
        if section.ask_title and not state.title:
            return number
    return None


@dataclass(frozen=True)
class StepAction:
    """What a step's POST asks, once decided on the run (which `step_act` has updated).

    `kind` is "show" (the step again, with `error` and/or the form's field messages), "go" (to step
    `number`), "cancel", "restart", "answered" (on `section`) or "done" (the prefilled `ticket`). The client's
    pages and the admin's preview apply it each their own way (records and messages, or notices only).
    """

    kind: str
    number: int = 1
    error: str = ""
    section: SectionSpec | None = None
    ticket: Prefill | None = None


def step_act(
    post: Mapping[str, Any], tree: Tree, state: RunState, steps: list[Step], number: int, lang: str
) -> StepAction:
    """Decide what the POST of step `number` asks and apply it to the run's path and answers."""
    step = steps[number - 1]
    picked, action = post.get("pick"), post.get("action", "")
    choose = str(_("Choose one of the sections offered."))
    if picked is not None:
        section_id = int(picked) if str(picked).isdigit() else 0
        if section_id not in {s.id for s in step.options}:
            return StepAction("show", error=choose)
        if state.path[number - 1 : number] != [section_id]:
            keep_path(state, tree, state.path[: number - 1] + [section_id])
        return StepAction("go", number)
    if action in ("cancel", "restart"):
        return StepAction(action)
    if action == "back":
        if step.chosen is not None:  # keep what was typed, even half-valid
            form = StepForm(post, section=step.chosen, lang=lang, lenient=True)
            form.is_valid()
            take_input(state, step.chosen, form.step_input)
        return StepAction("go", max(1, number - 1))
    if step.chosen is None:
        return StepAction("show", error=choose)
    if action == "answered":
        return StepAction("answered", section=step.chosen)
    if action not in ("next", "done"):
        return StepAction("show", error=str(_("Unknown action.")))
    form = StepForm(post, section=step.chosen, lang=lang)
    if not form.is_valid():
        return StepAction("show")
    take_input(state, step.chosen, form.step_input)
    if action == "next":
        if step.final:
            return StepAction("show", error=str(_("This is the last step.")))
        return StepAction("go", number + 1)
    if not step.final:
        return StepAction("show", error=choose)
    unanswered = missing_required(tree, state)
    if unanswered is not None:
        return StepAction(
            "go", unanswered, error=str(_("Please answer the required questions of this step."))
        )
    ticket = prefill(tree, state.path, state.answers, lang=lang, title=state.title, coupon=state.coupon)
    return StepAction("done", ticket=ticket)


class StepForm(KeyboardFriendlyMixin, forms.Form):
    """The questions of a chosen section as form fields; the wizard's pure core checks the values.

    Every field is optional for Django: `clean_step` decides (required, choices, lengths, NUL) so that the
    web page and the tests share one set of rules.
    """

    def __init__(self, *args, section: SectionSpec, lang: str, lenient: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.section = section
        self.lenient = lenient
        self.step_input = StepInput()
        for q in section.questions:
            label = q.label(lang)
            attrs: dict[str, str] = {}
            if q.kind == "checkbox":
                self.fields[q.field_name] = forms.BooleanField(label=label, required=False)
                continue
            if q.kind in ("select", "radio"):
                choices = [(c.value, c.label(lang)) for c in q.choices]
                widget: forms.Widget
                if q.kind == "radio":
                    widget = forms.RadioSelect(choices=choices, attrs={"class": "wizard-radio"})
                else:
                    widget = forms.Select(choices=[("", "—"), *choices])
                f = forms.CharField(label=label, required=False, widget=widget)
            elif q.kind == "textarea":
                f = forms.CharField(
                    label=label, required=False, strip=False, widget=forms.Textarea({"rows": 3})
                )
            elif q.kind == "multitext":
                f = forms.CharField(
                    label=label,
                    required=False,
                    strip=False,
                    widget=forms.Textarea({"rows": 3}),
                    help_text=_("One item per line."),
                )
            else:
                attrs["maxlength"] = str(TEXT_MAX)
                f = forms.CharField(label=label, required=False, strip=False, widget=forms.TextInput(attrs))
            self.fields[q.field_name] = f
        if section.ask_title:
            self.fields["title"] = forms.CharField(
                label=_("Title of your question"),
                required=False,
                widget=forms.TextInput({"maxlength": str(TITLE_MAX)}),
            )
            self.fields["title"].wizard_required = True  # type: ignore[attr-defined]
        if section.ask_coupon:
            self.fields["coupon"] = forms.CharField(
                label=_("Coupon for a special ticket"),
                required=False,
                help_text=_("If you have one; it is checked when the ticket is filed."),
                widget=forms.TextInput({"maxlength": str(COUPON_MAX), "autocomplete": "off"}),
            )
        for q in section.questions:
            self.fields[q.field_name].wizard_required = q.required  # type: ignore[attr-defined]
        for f in self.fields.values():
            if getattr(f, "wizard_required", False):
                f.widget.attrs["aria-required"] = "true"

    def clean(self):
        data = self.data
        given = {
            name: data.getlist(name) if hasattr(data, "getlist") else [data.get(name, "")]
            for name in self.fields
        }
        self.step_input = clean_step(self.section, given, lenient=self.lenient)
        for name, message in self.step_input.errors.items():
            if name not in self.errors:  # Django's own check (NUL) may have said it already
                self.add_error(name, message)
        return self.cleaned_data


def initial_for(section: SectionSpec, state: RunState) -> dict[str, Any]:
    """Return a step form's initial values from the run's answers."""
    initial: dict[str, Any] = {}
    for q in section.questions:
        value = state.answers.get(q.id)
        if value is None:
            continue
        initial[q.field_name] = "\n".join(value) if isinstance(value, list) else value
    if section.ask_title:
        initial["title"] = state.title
    if section.ask_coupon:
        initial["coupon"] = state.coupon
    return initial


@dataclass
class StepPage:
    """What a step's template shows."""

    step: Step
    steps: list[Step]
    form: StepForm | None
    state: RunState


def step_page(
    tree: Tree, state: RunState, steps: list[Step], number: int, lang: str, *, data=None
) -> StepPage:
    step = steps[number - 1]
    form = None
    if step.chosen is not None:
        form = StepForm(data, section=step.chosen, lang=lang, initial=initial_for(step.chosen, state))
        if data is not None:
            form.is_valid()
    return StepPage(step=step, steps=steps, form=form, state=state)


def step_context(page: StepPage, lang: str, *, url_for: Callable[[int], str], preview: bool) -> dict:
    """Return what kb/_wizard_step.html shows (the client's page and the admin's preview)."""
    step = page.step
    chosen = step.chosen
    return {
        "page": page,
        "step": step,
        "trail": [
            (url_for(s.number), s.chosen.title(lang)) for s in page.steps[: step.number - 1] if s.chosen
        ],
        "options": [(s.id, s.title(lang), s.id == (chosen.id if chosen else None)) for s in step.options],
        "chosen_title": chosen.title(lang) if chosen else "",
        "description_html": render_markdown(chosen.description(lang)) if chosen else "",
        "form": page.form,
        "action_url": url_for(step.number),
        "preview": preview,
    }
