"""The support wizard's pure core (F-20): steps over the section tree, answers, the prefilled ticket.

Plain data in, plain data out, no database: the selectors turn the visible sections into a `Tree`, the
views keep the path and the answers in the session and call these functions.

A step is one level of the tree. Step N offers the sections of level N (the top-level sections, or the
children of the section chosen at step N-1); once one is chosen the step also shows its description and its
questions. A path that ends on a leaf therefore takes exactly as many steps as the path is deep, and its
last step says "Done"; a path that ends above a leaf has one more step to go (the next level's choice).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import override

from otklik.core.text_input import unstorable_text_message
from otklik.tickets.fields import TITLE_MAX

# Bounds that keep the state in the session small and the ticket's message readable.
TEXT_MAX = 500
TEXTAREA_MAX = 5000
MULTITEXT_LINES = 20
COUPON_MAX = 64
PATH_MAX = 20

KINDS = ("text", "textarea", "checkbox", "select", "radio", "multitext")
ARROW = " → "


@dataclass(frozen=True)
class Choice:
    """One choice of a list or radio question: its value in forms and its label in each language."""

    value: str
    ru: str
    en: str

    def label(self, lang: str) -> str:
        return (self.en or self.ru) if lang == "en" else (self.ru or self.en)


def parse_choices(text: str) -> tuple[Choice, ...]:
    """Read the choices kept one per line as "Russian | English" (one text without "|" serves both).

    A choice's value is its position (1, 2, ...), so a form never carries the label itself.
    """
    result: list[Choice] = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        ru, _sep, en = line.partition("|")
        ru, en = ru.strip(), en.strip()
        result.append(Choice(value=str(len(result) + 1), ru=ru or en, en=en or ru))
    return tuple(result)


@dataclass(frozen=True)
class QuestionSpec:
    id: int
    kind: str
    label_ru: str
    label_en: str
    required: bool = False
    choices: tuple[Choice, ...] = ()

    def label(self, lang: str) -> str:
        return (self.label_en or self.label_ru) if lang == "en" else (self.label_ru or self.label_en)

    @property
    def field_name(self) -> str:
        return f"q{self.id}"


@dataclass(frozen=True)
class SectionSpec:
    id: int
    parent_id: int | None
    title_ru: str
    title_en: str = ""
    description_ru: str = ""
    description_en: str = ""
    category_id: int | None = None
    ask_title: bool = False
    ask_coupon: bool = False
    questions: tuple[QuestionSpec, ...] = ()

    def title(self, lang: str) -> str:
        return (self.title_en or self.title_ru) if lang == "en" else (self.title_ru or self.title_en)

    def description(self, lang: str) -> str:
        if lang == "en":
            return self.description_en or self.description_ru
        return self.description_ru or self.description_en


class Tree:
    """The sections a wizard may show, in their order; a section whose parent is missing is unreachable."""

    def __init__(self, sections: Iterable[SectionSpec]):
        given = list(sections)
        known = {s.id for s in given}
        self._children: dict[int | None, list[SectionSpec]] = {}
        for section in given:
            if section.parent_id is None or section.parent_id in known:
                self._children.setdefault(section.parent_id, []).append(section)
        # Only what hangs from a top-level section is reachable (a hidden section hides its subtree).
        self._by_id: dict[int, SectionSpec] = {}
        stack = list(self._children.get(None, []))
        while stack:
            section = stack.pop()
            if section.id in self._by_id:
                continue
            self._by_id[section.id] = section
            stack.extend(self._children.get(section.id, []))

    def get(self, section_id: int) -> SectionSpec | None:
        return self._by_id.get(section_id)

    def __contains__(self, section_id: object) -> bool:
        return section_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def options(self, parent_id: int | None) -> tuple[SectionSpec, ...]:
        """Return the sections to choose from under `parent_id` (None: the top level)."""
        if parent_id is not None and parent_id not in self._by_id:
            return ()
        return tuple(self._children.get(parent_id, []))

    def is_leaf(self, section_id: int) -> bool:
        return not self._children.get(section_id)

    def valid_path(self, path: Sequence[object]) -> list[int]:
        """Return the longest prefix of `path` that walks down the tree from the top level."""
        result: list[int] = []
        parent: int | None = None
        for item in list(path)[:PATH_MAX]:
            if not isinstance(item, int) or isinstance(item, bool):
                break
            section = self._by_id.get(item)
            if section is None or section.parent_id != parent:
                break
            result.append(item)
            parent = item
        return result


@dataclass(frozen=True)
class Step:
    """One level of the wizard: what to choose from, what was chosen, whether it ends the wizard."""

    number: int
    options: tuple[SectionSpec, ...]
    chosen: SectionSpec | None
    options_below: tuple[SectionSpec, ...] = ()

    @property
    def final(self) -> bool:
        """A chosen leaf: the step's button says "Done"."""
        return self.chosen is not None and not self.options_below


def wizard_steps(tree: Tree, path: Sequence[int]) -> list[Step]:
    """Return the steps of a path: one per level it went through, plus the next level when not at a leaf.

    `path` must be valid (`Tree.valid_path`). A path ending on a leaf gives exactly len(path) steps.
    """
    steps: list[Step] = []
    parent: int | None = None
    for number, section_id in enumerate(path, start=1):
        chosen = tree.get(section_id)
        steps.append(
            Step(
                number=number,
                options=tree.options(parent),
                chosen=chosen,
                options_below=tree.options(section_id),
            )
        )
        parent = section_id
    below = tree.options(parent)
    if below:
        steps.append(Step(number=len(path) + 1, options=below, chosen=None))
    return steps


def path_depth(tree: Tree, path: Sequence[int]) -> int:
    """Return how many levels a path goes down (the nesting depth of its last section)."""
    return len(tree.valid_path(path))


# -- answers ---------------------------------------------------------------------------------------
Answer = str | bool | list[str]


def _text_problem(value: str, limit: int) -> str | None:
    problem = unstorable_text_message(value)
    if problem:
        return problem
    if len(value) > limit:
        return _("Enter at most %(n)s characters.") % {"n": limit}
    return None


def clean_answer(question: QuestionSpec, raw: Sequence[str]) -> tuple[Answer | None, str | None]:
    """Return (answer, None) or (None, the field message) for the values a form sent for one question.

    Unanswered is None (a checkbox is never unanswered: it is yes or no). Required questions need an
    answer; a list or radio answer must be one of the choices; several lines keep their non-empty lines.
    """
    values = [v for v in raw if isinstance(v, str)]
    first = values[0] if values else ""
    kind = question.kind
    if kind == "checkbox":
        checked = first.lower() in ("on", "1", "true", "yes")
        if question.required and not checked:
            return None, _("Tick this box to go on.")
        return checked, None
    if kind in ("select", "radio"):
        value = first.strip()
        if not value:
            return (None, _("Choose one of the options.")) if question.required else (None, None)
        if value not in {c.value for c in question.choices}:
            return None, _("Choose one of the options.")
        return value, None
    if kind == "multitext":
        text = "\n".join(values).replace("\r\n", "\n").replace("\r", "\n")
        problem = _text_problem(text, TEXTAREA_MAX)
        if problem:
            return None, problem
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        if len(lines) > MULTITEXT_LINES:
            return None, _("Enter at most %(n)s lines.") % {"n": MULTITEXT_LINES}
        if any(len(line) > TEXT_MAX for line in lines):
            return None, _("Each line may have at most %(n)s characters.") % {"n": TEXT_MAX}
        if not lines:
            return (None, _("This question is required.")) if question.required else (None, None)
        return lines, None
    limit = TEXTAREA_MAX if kind == "textarea" else TEXT_MAX
    text = first.replace("\r\n", "\n").strip()
    if kind != "textarea":
        text = " ".join(text.split())
    problem = _text_problem(text, limit)
    if problem:
        return None, problem
    if not text:
        return (None, _("This question is required.")) if question.required else (None, None)
    return text, None


@dataclass
class StepInput:
    """What a step's form gave: its clean answers by question id, the title and coupon, the messages."""

    answers: dict[int, Answer | None] = field(default_factory=dict)
    title: str | None = None
    coupon: str | None = None
    errors: dict[str, str] = field(default_factory=dict)


def clean_step(
    section: SectionSpec, data: Mapping[str, Sequence[str]], *, lenient: bool = False
) -> StepInput:
    """Check a step's form: each question of the section, and the title and coupon when it asks them.

    `lenient` keeps what is valid and drops the rest without messages (going back must not be refused).
    """
    result = StepInput()
    for question in section.questions:
        value, problem = clean_answer(question, data.get(question.field_name, ()))
        if problem and lenient:
            value, problem = (None, None) if question.kind != "checkbox" else (False, None)
        if problem:
            result.errors[question.field_name] = problem
        else:
            result.answers[question.id] = value
    for name, asked, limit in (
        ("title", section.ask_title, TITLE_MAX),
        ("coupon", section.ask_coupon, COUPON_MAX),
    ):
        if not asked:
            continue
        values = data.get(name, ())
        text = " ".join((values[0] if values else "").split())
        problem = _text_problem(text, limit)
        if name == "title" and not text and not lenient:
            problem = _("Enter a short title for your question.")
        if problem and not lenient:
            result.errors[name] = problem
        elif not problem:
            setattr(result, name, text)
    return result


# -- the prefilled ticket --------------------------------------------------------------------------
@dataclass(frozen=True)
class Prefill:
    """The new-ticket form's initial values the wizard hands over."""

    title: str
    message: str
    category: int | None
    coupon: str

    def as_initial(self) -> dict[str, str]:
        return {
            "title": self.title,
            "message": self.message,
            "category": str(self.category) if self.category else "",
            "coupon": self.coupon,
        }


def answer_text(question: QuestionSpec, answer: Answer | None, lang: str) -> str:
    """Write an answer for the ticket's message in `lang`: "not set" when there is none."""
    with override(lang):
        if question.kind == "checkbox":
            return _("yes") if answer is True else _("no") if answer is False else _("not set")
        if answer is None or answer == "" or answer == []:
            return _("not set")
        if question.kind in ("select", "radio"):
            choice = next((c for c in question.choices if c.value == answer), None)
            return choice.label(lang) if choice is not None else _("not set")
        if isinstance(answer, list):
            return "\n".join(f"  {line}" for line in answer)
        return str(answer)


def path_text(tree: Tree, path: Sequence[int], lang: str) -> str:
    """Return the path as the client saw it: "Payments → Card payments → Refunds"."""
    return ARROW.join(s.title(lang) for s in (tree.get(i) for i in path) if s is not None)


def prefill(
    tree: Tree,
    path: Sequence[int],
    answers: Mapping[int, Answer | None],
    *,
    lang: str,
    title: str = "",
    coupon: str = "",
) -> Prefill:
    """Build the ticket the wizard hands to the new-ticket form, in the client's language `lang`.

    The message lists the path, then every question of every section on the path with its answer
    ("not set" when unanswered). The title and coupon count only when a section on the path asked for
    them; the category is the one of the deepest section on the path mapped to a category.
    """
    sections = [s for s in (tree.get(i) for i in tree.valid_path(path)) if s is not None]
    with override(lang):
        lines = [_("Path: %(path)s") % {"path": ARROW.join(s.title(lang) for s in sections)}]
        for section in sections:
            if not section.questions:
                continue
            lines.append("")
            lines.append(section.title(lang))
            for question in section.questions:
                text = answer_text(question, answers.get(question.id), lang)
                label = question.label(lang)
                # "Did you pay?: yes" reads badly: a label ending in "?" or ":" takes no colon of its own.
                head = f"- {label}" if label.endswith(("?", ":")) else f"- {label}:"
                lines.append(f"{head}\n{text}" if "\n" in text else f"{head} {text}")
    category = next((s.category_id for s in reversed(sections) if s.category_id), None)
    asked_title = any(s.ask_title for s in sections)
    asked_coupon = any(s.ask_coupon for s in sections)
    return Prefill(
        title=(title or "") if asked_title else "",
        message="\n".join(lines),
        category=category,
        coupon=(coupon or "") if asked_coupon else "",
    )
