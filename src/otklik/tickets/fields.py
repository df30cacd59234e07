"""The ticket's field lists and limits, in one place for the API, the forms, the policy and the services.

F-13 decides who may set which field when; the lengths bound what a title or a message may hold.
Everything here is plain data: import it from anywhere in `tickets` and above.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from otklik.dictionaries.models import DictionaryKind

TITLE_MAX = 255
BODY_MAX = 100_000
# Time spent on a message, minutes (F-03).
MINUTES_MAX = 100_000
# The days after which a ticket waiting for its author closes itself (F-02).
AUTO_CLOSE_DAYS_MAX = 3650

# The regulation's prompts (F-12), in the order the form asks them.
PROMPTS = (
    ("looked", gettext_lazy("Where I already looked for an answer")),
    ("did", gettext_lazy("What I did")),
    ("expected", gettext_lazy("What I expected")),
    ("saw", gettext_lazy("What I saw (full error text)")),
)
PROMPT_FIELDS = tuple(key for key, _label in PROMPTS)

# The fields that refer to a dictionary entry, by the dictionary's kind.
DICTIONARY_FIELDS = {
    "category": DictionaryKind.CATEGORY,
    "criticality": DictionaryKind.CRITICALITY,
    "status": DictionaryKind.STATUS,
    "difficulty": DictionaryKind.DIFFICULTY,
    "mark": DictionaryKind.MARK,
    "source": DictionaryKind.SOURCE,
}

# Changes only staff see in the history (the author is not told about them).
# What a support-process move changes for its own bookkeeping (otklik.workflow): the process tells the
# role that must act next, so a move that changes only these causes no "ticket changed" mail.
PROCESS_FIELDS = frozenset(
    {"stage", "l1_outcome", "tier", "ticket_type", "planned_effort_minutes", "expected_date"}
)
# "stage": the support process's state (otklik.workflow); the client reads a plain-language stage instead.
STAFF_ONLY_FIELDS = frozenset(
    {
        "difficulty",
        "admin_comment",
        "spam",
        "message_edited",
        "message_deleted",
        "stage",
        "l1_outcome",
        "tags",
    }
)

# F-13: fields a client may set on a new ticket; staff may set these and STAFF_FIELDS.
CLIENT_CREATE_FIELDS = frozenset({"title", "message", "files", "category", "criticality", "coupon"})
# F-13: the author may change these later.
AUTHOR_LATER_FIELDS = frozenset({"criticality", "mark"})
# F-13: staff-only ticket attributes.
STAFF_FIELDS = frozenset(
    {
        "status",
        "difficulty",
        "responsible",
        "sla",
        "author",
        "source",
        "admin_comment",
        "auto_close_days",
        "is_postponed",
        "ticket_type",
        "tier",
        "planned_effort_minutes",
        "expected_date",
        "custom",
    }
)
# F-13: staff / responsible / admin may change these later (mark is the author's alone).
STAFF_LATER_FIELDS = STAFF_FIELDS | {"title", "category", "criticality"}
STAFF_MESSAGE_OPTIONS = frozenset({"hidden", "not_change_status", "minutes", "on_behalf"})
# The mail principal files a ticket for its sender (a user or an address), with the mailbox rule's fields.
MAIL_CREATE_FIELDS = frozenset(
    {
        "title",
        "message",
        "files",
        "category",
        "criticality",
        "source",
        "author",
        "author_address",
        "accept_any_file_type",
        "quoted",
    }
)
# ... and appends a message for its sender, hidden when the mailbox rule says so.
MAIL_MESSAGE_OPTIONS = frozenset({"hidden", "on_behalf"})
