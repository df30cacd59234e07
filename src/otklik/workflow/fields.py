"""The fields a move's form may ask for and the actions a move may run, by name (F-30).

A definition names them; `definition.process_problems` rejects any other. The engine
(`workflow.services`) applies them; the API and the process card describe them with `FIELD_TYPES`.
"""

from __future__ import annotations

# name -> the type a form or the API shows: text, dictionary:<kind>, choice, hours, date, user.
FIELD_TYPES: dict[str, str] = {
    "comment": "text",  # why; kept with the move and shown in the ticket's history
    "reply": "text",  # a public reply to the initiator
    "note": "text",  # a hidden note for staff
    "answer": "dictionary:answer",  # a frequent answer whose text becomes the public reply
    "criticality": "dictionary:criticality",
    "category": "dictionary:category",
    "difficulty": "dictionary:difficulty",
    "status": "dictionary:status",
    "ticket_type": "choice",
    "tier": "choice",
    "planned_effort": "hours",  # working hours on the SLA's timetable
    "expected_date": "date",
    "responsible": "user",
}
KNOWN_FIELDS = frozenset(FIELD_TYPES)

# Field name -> the ticket attribute it sets (the rest are kept with the move or posted as messages).
TICKET_ATTRIBUTES = {
    "criticality": "criticality",
    "category": "category",
    "difficulty": "difficulty",
    "status": "status",
    "ticket_type": "ticket_type",
    "tier": "tier",
    "planned_effort": "planned_effort_minutes",
    "expected_date": "expected_date",
    "responsible": "responsible",
}

TICKET_TYPES = ("accident", "incident", "change_request")
TIERS = ("L1", "L2", "L3")

# action type -> the parameters it must have.
ACTIONS: dict[str, frozenset[str]] = {
    "set": frozenset({"field", "value"}),  # set a ticket attribute; "@highest" for the top criticality
    "reply": frozenset(),  # post the move's `reply` (or the `answer` template) as a public reply
    "note": frozenset(),  # post the move's `note` as a hidden message
    "close": frozenset(),
    "spam": frozenset(),  # mark the ticket possible spam
    "notify": frozenset({"role"}),  # tell a role's members (besides the role that must act next)
    "alert": frozenset({"roles"}),  # tell several roles at once ("@admins": the support admins)
    "assign": frozenset({"role", "strategy"}),  # make a member of the role responsible
    "plan": frozenset(),  # expected date = planned effort on the SLA's timetable (unless given)
}
ASSIGN_STRATEGIES = ("round_robin", "least_loaded")
