"""The notification events (F-11) and the placeholders their templates may use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

# -- In-app notifications and each person's choices (issue 17) ---------------------------------------
# What the bell tells a staff member about; every kind links to the staff ticket page, as the mail does.
INAPP_ASSIGNED = "assigned"
INAPP_CLIENT_REPLIED = "client_replied"
INAPP_REMINDER = "reminder"
INAPP_OVERDUE = "overdue"
INAPP_MENTION = "mention"
INAPP_KINDS = (
    (INAPP_ASSIGNED, _("Assigned to you")),
    (INAPP_CLIENT_REPLIED, _("The client replied")),
    (INAPP_REMINDER, _("Reminder: time to answer")),
    (INAPP_OVERDUE, _("Overdue")),
    (INAPP_MENTION, _("Mentioned in a hidden note")),
)
CHANNEL_MAIL = "mail"
CHANNEL_INAPP = "in_app"
CHANNELS = (CHANNEL_MAIL, CHANNEL_INAPP)


@dataclass(frozen=True)
class Topic:
    """One row of the notification settings: what it is about, the mail events its "mail" switch mutes
    and the in-app kind its "in-app" switch mutes (None where that channel does not exist for it)."""

    key: str
    label: Any
    mail_events: frozenset[str] = frozenset()
    inapp_kind: str | None = None
    staff: bool = True  # shown to staff; False: shown to clients

    @property
    def has_mail(self) -> bool:
        return bool(self.mail_events)

    @property
    def has_inapp(self) -> bool:
        return self.inapp_kind is not None


# Every switch is on by default: the mail rules of F-11 as they were, and the bell on.
TOPICS = (
    Topic("ticket_new", _("New ticket for you or for the admins"), frozenset({NEW_FOR_SUPPORT})),
    Topic("assigned", _("A ticket is assigned to you"), inapp_kind=INAPP_ASSIGNED),
    Topic("ticket_changed", _("A ticket you are responsible for changed"), frozenset({CHANGED_FOR_SUPPORT})),
    Topic(
        "client_replied",
        _("The client replied on a ticket you are responsible for"),
        inapp_kind=INAPP_CLIENT_REPLIED,
    ),
    Topic("reminder", _("Reminder: time to answer"), frozenset({REMINDER}), INAPP_REMINDER),
    Topic("overdue", _("A ticket is overdue"), frozenset({OVERDUE}), INAPP_OVERDUE),
    Topic("mention", _("Somebody mentioned you (@username) in a hidden note"), inapp_kind=INAPP_MENTION),
    Topic(
        "process",
        _("Support process: your role must act, or an alert"),
        frozenset({PROCESS_TURN, PROCESS_ALERT}),
    ),
    Topic("coupon_used", _("A coupon was used"), frozenset({COUPON_USED})),
    # A client's one optional mail: the copy of what they themselves wrote or changed. The acceptance of a
    # new ticket (it carries the number) and support's answers always go out.
    Topic(
        "own_copy",
        _("A copy of my own messages and changes"),
        frozenset({CHANGED_BY_AUTHOR_FOR_AUTHOR}),
        staff=False,
    ),
)
TOPIC_BY_KEY = {topic.key: topic for topic in TOPICS}
TOPIC_OF_EVENT = {event: topic.key for topic in TOPICS for event in topic.mail_events}
TOPIC_OF_INAPP_KIND = {topic.inapp_kind: topic.key for topic in TOPICS if topic.inapp_kind}
