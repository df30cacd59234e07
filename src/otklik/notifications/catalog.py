"""The notification events (F-11) and the placeholders their templates may use."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

NEW_FOR_AUTHOR = "ticket_new_for_author"
NEW_FOR_SUPPORT = "ticket_new_for_support"
CHANGED_BY_SUPPORT_FOR_AUTHOR = "ticket_changed_by_support_for_author"
CHANGED_BY_AUTHOR_FOR_AUTHOR = "ticket_changed_by_author_for_author"
CHANGED_FOR_SUPPORT = "ticket_changed_for_support"
REMINDER = "ticket_reminder"
OVERDUE = "ticket_overdue"
COUPON_USED = "coupon_used"
# The support process (F-30, F-11 workflow events): the role that must act next, and roles alerted at once.
PROCESS_TURN = "process_turn"
PROCESS_ALERT = "process_alert"

EVENTS = (
    (NEW_FOR_AUTHOR, _("New ticket (for the author)")),
    (NEW_FOR_SUPPORT, _("New ticket (for support)")),
    (CHANGED_BY_SUPPORT_FOR_AUTHOR, _("Changed by support (for the author)")),
    (CHANGED_BY_AUTHOR_FOR_AUTHOR, _("Changed by the author (copy for the author)")),
    (CHANGED_FOR_SUPPORT, _("Changed (for support)")),
    (REMINDER, _("Reminder: time to answer")),
    (OVERDUE, _("Overdue")),
    (COUPON_USED, _("Coupon used")),
    (PROCESS_TURN, _("Support process: your role must act")),
    (PROCESS_ALERT, _("Support process: alert")),
)
# Mail about a person's account (not a ticket): Otklik's built-in texts in both languages, not editable,
# not in the model's choices (their placeholders are not a ticket's).
ADDRESS_CONFIRM = "address_confirm"
ADDRESS_REGISTERED_AGAIN = "address_registered_again"
PASSWORD_RESET = "password_reset"
ACCOUNT_EVENTS = (
    (ADDRESS_CONFIRM, _("Confirm your e-mail address")),
    (ADDRESS_REGISTERED_AGAIN, _("A new account with your address")),
    (PASSWORD_RESET, _("Password reset")),
)
EVENT_LABELS = dict(EVENTS)
# Mail to the ticket's author side: links lead to the client's page, hidden content never appears.
AUTHOR_EVENTS = frozenset({NEW_FOR_AUTHOR, CHANGED_BY_SUPPORT_FOR_AUTHOR, CHANGED_BY_AUTHOR_FOR_AUTHOR})

# Placeholders every ticket template may use, documented on the template's edit page.
PLACEHOLDERS = (
    ("ticket_id", _("the ticket's number")),
    ("title", _("the ticket's title")),
    (
        "ticket_url",
        _("the link to the ticket (the client's page for the author, the staff page for support)"),
    ),
    ("status", _("status")),
    ("category", _("category")),
    ("criticality", _("criticality")),
    ("responsible", _("the responsible, or empty")),
    ("sla", _("the service level")),
    ("deadline", _("the response deadline, or empty")),
    ("author", _("the ticket's author")),
    ("actor", _("who made the change")),
    ("message", _("the new message's text (never a hidden message in the author's mail)")),
    ("message_author", _("the new message's author")),
    ("changes", _("the changed fields, one per line: “field: old → new”")),
    ("created_at", _("when the ticket was created")),
    ("site_name", _("the helpdesk's name")),
    ("coupon", _("the coupon's code (coupon used)")),
    (
        "rate_url",
        _("the link to rate the answers, in the author's mail about a solved or closed ticket not rated yet"),
    ),
    ("process_move", _("the move of the support process just taken (support process mail)")),
    ("process_state", _("the state the ticket is in now (support process mail)")),
    ("process_role", _("the role that must act now (support process mail)")),
    ("process_comment", _("the comment given with the move (support process mail)")),
)
