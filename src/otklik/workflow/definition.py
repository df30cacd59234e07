"""A support process as data (F-30): parse a definition, check it, and answer questions about it.

Pure code over plain data, no database: the admin pages, `otklik workflow validate`, the import and the
engine all read a definition through `process_parse`, and nothing can be activated while
`process_problems` finds anything. The JSON shape (the shipped `shipped/three-tier.json` is the example):

    {"code": "three-tier", "name": {"ru": ..., "en": ...}, "description": {...},
     "start": "l1", "reopen": "l1",
     "states": {"l1": {"name": {...}, "stage": {...}, "role": "l1_operator", "tier": "L1"},
                "work": {"name": {...}, "stage": {...}, "role": null, ...},     # null: set by the move in
                "board": {..., "vote": {"quorum": 2}},                           # members vote first
                "closed": {"name": {...}, "stage": {...}, "final": true}},
     "transitions": [{"code": "escalate", "from": "l1", "to": "triage", "name": {...},
                      "roles": ["l1_operator"], "fields": [{"name": "comment", "required": true}],
                      "actions": [{"type": "set", "field": "ticket_type", "value": "incident"}],
                      "outcome": "technical", "role_next": "developer", "decision": "approve"}]}

`stage` is what the client reads ("with the second line"); `name` is what staff read. A transition's
`outcome` is stored as the ticket's L1 outcome; `role_next` names who must act in the target state when
that state names no role; `decision` ("approve" / "reject") makes the move wait for the state's vote.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from otklik.core.text_input import unstorable_text_message

CODE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
DECISIONS = ("approve", "reject")
VOTES = DECISIONS
# Role words that are not role codes: the role a ticket was last assigned to (a failed test sends the work
# back to it) and the support admins (alerts).
ASSIGNED = "@assigned"
ADMINS = "@admins"
SPECIAL_ROLES = frozenset({ASSIGNED, ADMINS})


@dataclass(frozen=True)
class Text:
    """A name or text in both languages."""

    ru: str
    en: str

    def get(self, language: str | None) -> str:
        """Return the text in `language` (the other one when it is missing)."""
        first, second = (self.en, self.ru) if (language or "ru").startswith("en") else (self.ru, self.en)
        return first or second

    def as_dict(self) -> dict[str, str]:
        return {"ru": self.ru, "en": self.en}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    required: bool = False


@dataclass(frozen=True)
class ActionSpec:
    type: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.params}


@dataclass(frozen=True)
class Transition:
    code: str
    source: str
    target: str
    name: Text
    roles: tuple[str, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    actions: tuple[ActionSpec, ...] = ()
    outcome: str = ""
    role_next: str = ""
    decision: str = ""
    needs: tuple[str, ...] = ()  # ticket attributes an earlier move must have set (plan before assigning)

    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


@dataclass(frozen=True)
class State:
    code: str
    name: Text
    stage: Text
    role: str = ""
    tier: str = ""
    final: bool = False
    quorum: int = 0  # > 0: the state's role votes, and the decision waits for this many votes

    @property
    def votes(self) -> bool:
        return self.quorum > 0


@dataclass(frozen=True)
class Process:
    code: str
    name: Text
    description: Text
    start: str
    reopen: str
    states: dict[str, State]
    transitions: tuple[Transition, ...]

    def state(self, code: str) -> State | None:
        return self.states.get(code)

    def transitions_from(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if t.source == state]

    def transition(self, state: str, code: str) -> Transition | None:
        return next((t for t in self.transitions if t.source == state and t.code == code), None)

    def roles(self) -> set[str]:
        """Return every role the definition names (states, transitions, actions); not the @ words."""
        found = {s.role for s in self.states.values() if s.role}
        for t in self.transitions:
            found.update(t.roles)
            if t.role_next:
                found.add(t.role_next)
            for action in t.actions:
                for key in ("role", "roles"):
                    value = action.params.get(key)
                    found.update([value] if isinstance(value, str) else value or [])
        return {role for role in found if not role.startswith("@")}

    def as_dict(self) -> dict[str, Any]:
        """Return the definition as the JSON shape `process_parse` reads (export, versions)."""
        return {
            "code": self.code,
            "name": self.name.as_dict(),
            "description": self.description.as_dict(),
            "start": self.start,
            "reopen": self.reopen,
            "states": {
                s.code: {
                    "name": s.name.as_dict(),
                    "stage": s.stage.as_dict(),
                    **({"role": s.role} if s.role else {}),
                    **({"tier": s.tier} if s.tier else {}),
                    **({"final": True} if s.final else {}),
                    **({"vote": {"quorum": s.quorum}} if s.quorum else {}),
                }
                for s in self.states.values()
            },
            "transitions": [
                {
                    "code": t.code,
                    "from": t.source,
                    "to": t.target,
                    "name": t.name.as_dict(),
                    "roles": list(t.roles),
                    **(
                        {"fields": [{"name": f.name, "required": f.required} for f in t.fields]}
                        if t.fields
                        else {}
                    ),
                    **({"actions": [a.as_dict() for a in t.actions]} if t.actions else {}),
                    **({"outcome": t.outcome} if t.outcome else {}),
                    **({"role_next": t.role_next} if t.role_next else {}),
                    **({"decision": t.decision} if t.decision else {}),
                    **({"needs": list(t.needs)} if t.needs else {}),
                }
                for t in self.transitions
            ],
        }


class DefinitionError(ValueError):
    """The definition cannot be read at all (not an object, a state that is not an object...)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _text(value: Any, where: str, problems: list[str]) -> Text:
    if isinstance(value, str):
        return Text(value, value)
    if isinstance(value, dict) and all(isinstance(value.get(k, ""), str) for k in ("ru", "en")):
        ru, en = value.get("ru", ""), value.get("en", "")
        if ru or en:
            return Text(ru or en, en or ru)
    problems.append(_('%(where)s: give a name as {"ru": ..., "en": ...}.') % {"where": where})
    return Text("", "")


def definition_load(text: str | bytes) -> Any:
    """Read a definition file's text as JSON; raise DefinitionError saying where it is broken."""
    import json

    try:
        return json.loads(text)
    except ValueError as exc:
        raise DefinitionError([_("The definition is not valid JSON: %(error)s") % {"error": exc}]) from None
    except RecursionError:  # the decoder recurses per level: "[[[[…" would otherwise be a crash
        raise DefinitionError([_("The definition is not valid JSON: it is nested too deeply.")]) from None


def _unstorable_texts(value: Any, where: str) -> list[str]:
    """Name every text (a key or a value) no database can store: a NUL or a lone surrogate."""
    found: list[str] = []
    if isinstance(value, str):
        if reason := unstorable_text_message(value):
            found.append(_("%(where)s: %(reason)s") % {"where": where or _("the process"), "reason": reason})
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if reason := unstorable_text_message(str(key)):
                found.append(_("%(where)s: %(reason)s") % {"where": ascii(path), "reason": reason})
            else:
                found.extend(_unstorable_texts(item, path))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_unstorable_texts(item, f"{where}[{index}]"))
    return found


ROLE_CODE = re.compile(r"^[a-z0-9_-]{1,40}$")


def _described_roles_problems(roles: Any) -> list[str]:
    """Check the roles a definition describes (created on import): codes, names and instructions."""
    if roles is None:
        return []
    if not isinstance(roles, dict):
        return [_('"roles" must be an object of roles by code.')]
    problems = []
    for code, info in roles.items():
        where = _("role %(code)s") % {"code": code}
        if not ROLE_CODE.match(str(code)):
            problems.append(
                _("%(where)s: a code is 1 to 40 lowercase letters, digits, - or _.") % {"where": where}
            )
        if not isinstance(info, dict):
            problems.append(_("%(where)s: must be an object.") % {"where": where})
            continue
        for key in ("name", "instructions"):
            value = info.get(key)
            if value is not None and not (
                isinstance(value, dict) and all(isinstance(value.get(k, ""), str) for k in ("ru", "en"))
            ):
                problems.append(
                    _('%(where)s: give %(key)s as {"ru": ..., "en": ...}.') % {"where": where, "key": key}
                )
    return problems


def process_parse(data: Any) -> Process:
    """Read a definition from its JSON shape; raise DefinitionError when its shape is unreadable.

    Only the shape is checked here; `process_problems` checks the meaning.
    """
    if not isinstance(data, dict):
        raise DefinitionError([_("The definition must be a JSON object.")])
    problems = _unstorable_texts(data, "") + _described_roles_problems(data.get("roles"))
    states_data = data.get("states")
    transitions_data = data.get("transitions")
    if not isinstance(states_data, dict) or not states_data:
        problems.append(_('"states" must be an object of states by code.'))
        states_data = {}
    if not isinstance(transitions_data, list):
        problems.append(_('"transitions" must be a list.'))
        transitions_data = []
    states: dict[str, State] = {}
    for code, raw in states_data.items():
        where = _("state %(code)s") % {"code": code}
        if not isinstance(raw, dict):
            problems.append(_("%(where)s: must be an object.") % {"where": where})
            continue
        name = _text(raw.get("name", code), where, problems)
        vote = raw.get("vote") or {}
        quorum = vote.get("quorum", 2) if isinstance(vote, dict) and raw.get("vote") else 0
        if not isinstance(quorum, int) or isinstance(quorum, bool) or quorum < 0:
            problems.append(_("%(where)s: the quorum must be a whole number.") % {"where": where})
            quorum = 0
        states[str(code)] = State(
            code=str(code),
            name=name,
            stage=_text(raw.get("stage", raw.get("name", code)), where, problems),
            role=str(raw.get("role") or ""),
            tier=str(raw.get("tier") or ""),
            final=bool(raw.get("final", False)),
            quorum=quorum,
        )
    transitions: list[Transition] = []
    for index, raw in enumerate(transitions_data):
        if not isinstance(raw, dict):
            problems.append(_("transition %(n)s: must be an object.") % {"n": index + 1})
            continue
        code = str(raw.get("code") or "")
        where = _("transition %(code)s") % {"code": f"{raw.get('from', '?')}.{code or index + 1}"}
        fields_raw = raw.get("fields") or []
        actions_raw = raw.get("actions") or []
        roles_raw = raw.get("roles") or []
        needs_raw = raw.get("needs") or []
        if not all(isinstance(v, list) for v in (fields_raw, actions_raw, roles_raw, needs_raw)):
            problems.append(
                _("%(where)s: roles, fields, actions and needs must be lists.") % {"where": where}
            )
            continue
        fields: list[FieldSpec] = []
        for item in fields_raw:
            if isinstance(item, str):
                fields.append(FieldSpec(item))
            elif isinstance(item, dict) and isinstance(item.get("name"), str):
                fields.append(FieldSpec(item["name"], bool(item.get("required", False))))
            else:
                problems.append(_('%(where)s: a field must be a name or {"name": ...}.') % {"where": where})
        actions: list[ActionSpec] = []
        for item in actions_raw:
            if isinstance(item, dict) and isinstance(item.get("type"), str):
                actions.append(ActionSpec(item["type"], {k: v for k, v in item.items() if k != "type"}))
            else:
                problems.append(_('%(where)s: an action must be {"type": ...}.') % {"where": where})
        transitions.append(
            Transition(
                code=code,
                source=str(raw.get("from") or ""),
                target=str(raw.get("to") or ""),
                name=_text(raw.get("name", code), where, problems),
                roles=tuple(str(r) for r in roles_raw),
                fields=tuple(fields),
                actions=tuple(actions),
                outcome=str(raw.get("outcome") or ""),
                role_next=str(raw.get("role_next") or ""),
                decision=str(raw.get("decision") or ""),
                needs=tuple(str(n) for n in needs_raw),
            )
        )
    if problems:
        raise DefinitionError(problems)
    return Process(
        code=str(data.get("code") or ""),
        name=_text(data.get("name", data.get("code", "")), _("the process"), []),
        description=Text(**{k: str((data.get("description") or {}).get(k, "")) for k in ("ru", "en")})
        if isinstance(data.get("description"), dict)
        else Text(str(data.get("description") or ""), str(data.get("description") or "")),
        start=str(data.get("start") or ""),
        reopen=str(data.get("reopen") or data.get("start") or ""),
        states=states,
        transitions=tuple(transitions),
    )


def process_problems(
    process: Process,
    *,
    known_fields: frozenset[str] | set[str],
    known_actions: dict[str, frozenset[str]],
    known_roles: set[str] | None = None,
) -> list[str]:
    """Return every problem that keeps the definition from running, each naming its state or transition.

    `known_actions` maps an action type to the parameters it requires; `known_roles`, when given, are the
    role codes that exist (an import may name roles it creates, so the CLI passes None).
    """
    problems: list[str] = []

    def add(message: str, **names: Any) -> None:
        problems.append(message % names)

    if not CODE_RE.match(process.code):
        add(
            _("The process code %(code)s must be lower-case letters, digits, - or _."),
            code=repr(process.code),
        )
    for code in process.states:
        if not CODE_RE.match(code):
            add(_("state %(code)s: the code must be lower-case letters, digits, - or _."), code=code)
    if process.start not in process.states:
        add(_("The start state %(code)s does not exist."), code=process.start or "—")
    if process.reopen not in process.states:
        add(_("The reopen state %(code)s does not exist."), code=process.reopen or "—")
    elif process.states[process.reopen].final:
        add(_("The reopen state %(code)s is final."), code=process.reopen)
    if not any(s.final for s in process.states.values()):
        add(_("No state is final: a ticket could never leave the process."))
    seen: set[tuple[str, str]] = set()
    for t in process.transitions:
        where = f"{t.source}.{t.code}"
        if not CODE_RE.match(t.code):
            add(_("transition %(where)s: the code must be lower-case letters, digits, - or _."), where=where)
        if (t.source, t.code) in seen:
            add(_("transition %(where)s: the code is used twice from the same state."), where=where)
        seen.add((t.source, t.code))
        if t.source not in process.states:
            add(
                _("transition %(where)s: the state %(code)s it starts from does not exist."),
                where=where,
                code=t.source or "—",
            )
        elif process.states[t.source].final:
            add(_("transition %(where)s: it leaves the final state %(code)s."), where=where, code=t.source)
        if t.target not in process.states:
            add(
                _("transition %(where)s: the state %(code)s it leads to does not exist."),
                where=where,
                code=t.target or "—",
            )
        elif not process.states[t.target].final and not process.states[t.target].role and not t.role_next:
            add(
                _(
                    "transition %(where)s: state %(code)s names no role, so the move must say who acts next (role_next)."
                ),
                where=where,
                code=t.target,
            )
        if not t.roles:
            add(_("transition %(where)s: no role may take it."), where=where)
        for role in (*t.roles, *([t.role_next] if t.role_next else [])):
            if role in SPECIAL_ROLES:
                continue
            if known_roles is not None and role not in known_roles:
                add(_("transition %(where)s: unknown role %(role)s."), where=where, role=role)
        for name in t.needs:
            if name not in known_fields:
                add(_("transition %(where)s: unknown field %(field)s."), where=where, field=name)
        for spec in t.fields:
            if spec.name not in known_fields:
                add(_("transition %(where)s: unknown field %(field)s."), where=where, field=spec.name)
        for action in t.actions:
            required = known_actions.get(action.type)
            if required is None:
                add(_("transition %(where)s: unknown action %(action)s."), where=where, action=action.type)
                continue
            missing = sorted(required - set(action.params))
            if missing:
                add(
                    _("transition %(where)s: action %(action)s needs %(params)s."),
                    where=where,
                    action=action.type,
                    params=", ".join(missing),
                )
            for key in ("role", "roles"):
                value = action.params.get(key)
                for role in [value] if isinstance(value, str) else value or []:
                    if role not in SPECIAL_ROLES and known_roles is not None and role not in known_roles:
                        add(
                            _("transition %(where)s: action %(action)s names unknown role %(role)s."),
                            where=where,
                            action=action.type,
                            role=role,
                        )
            if action.type == "set" and action.params.get("field") not in known_fields:
                add(
                    _("transition %(where)s: action set names unknown field %(field)s."),
                    where=where,
                    field=action.params.get("field"),
                )
        if t.decision:
            if t.decision not in DECISIONS:
                add(_("transition %(where)s: the decision must be approve or reject."), where=where)
            elif t.source in process.states and not process.states[t.source].votes:
                add(_("transition %(where)s: a decision needs a state with a vote."), where=where)
    for state in process.states.values():
        if known_roles is not None and state.role and state.role not in known_roles:
            add(_("state %(code)s: unknown role %(role)s."), code=state.code, role=state.role)
        if not state.final and not process.transitions_from(state.code):
            add(_("state %(code)s: a dead end (no way out, and not final)."), code=state.code)
        if state.votes and not state.role:
            add(_("state %(code)s: a vote needs the role whose members vote."), code=state.code)
        if state.votes and {t.decision for t in process.transitions_from(state.code)} != set(DECISIONS):
            add(_("state %(code)s: a vote needs one approve and one reject decision."), code=state.code)
    for code in sorted(unreachable_states(process)):
        add(_("state %(code)s: unreachable from the start state."), code=code)
    return problems


def unreachable_states(process: Process) -> set[str]:
    """Return the states no chain of transitions reaches from the start (or the reopen) state."""
    reached: set[str] = set()
    queue = deque(code for code in (process.start, process.reopen) if code in process.states)
    while queue:
        code = queue.popleft()
        if code in reached:
            continue
        reached.add(code)
        queue.extend(t.target for t in process.transitions_from(code) if t.target in process.states)
    return set(process.states) - reached
