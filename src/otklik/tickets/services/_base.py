"""What the ticket services share: constants, input cleaning, files, message numbers, the change log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.db import transaction
from django.db.models import Max
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.core import clock
from otklik.core.bulk import insert_rows
from otklik.core.errors import ValidationFailed
from otklik.sla.models import SlaLevel
from otklik.tickets import files as file_checks
from otklik.tickets.activity import Change, TicketActivity, ticket_activity_announce
from otklik.tickets.fields import (
    BODY_MAX,
    DICTIONARY_FIELDS,
    MINUTES_MAX,
    PROMPTS,
    STAFF_ONLY_FIELDS,
    TITLE_MAX,
)
from otklik.tickets.history import events_chain, history_head
from otklik.tickets.loglines import change_item, log_text_default, log_value, value_text
from otklik.tickets.models import (
    Attachment,
    DictionaryEntry,
    Message,
    MessageKind,
    Ticket,
    TicketEvent,
)
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import (
    SLA_LIMITED_KINDS,
    config_relations_attach,
    options_cached,
    sla_allows,
)


@dataclass
class _ChangeSet:
    changes: list[Change] = field(default_factory=list)

    def add(self, name: str, old: Any, new: Any) -> None:
        self.changes.append(Change(name, log_value(old), log_value(new), name in STAFF_ONLY_FIELDS))


# -- helpers ---------------------------------------------------------------------------------
def _policy(actor: User) -> TicketPolicy:
    policy = TicketPolicy(actor)
    policy.check_can_write()
    return policy


# The people a write reads anyway (notifications): joined. Dictionary entries and the SLA come from the
# configuration cache; joining them too costs PostgreSQL more planning than the queries it saves.
LOCK_RELATIONS = ("author__profile", "responsible__profile")


def _lock(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock so concurrent writers serialise (numbers, counters).

    Only the ticket's row is locked (`of`); the people come in the same query, the configuration from
    the cache.
    """
    rows = Ticket.objects.select_for_update(of=("self",)).select_related(*LOCK_RELATIONS)
    return config_relations_attach(rows.get(pk=ticket.pk))


def _dictionary_entry(value: Any, kind: str, field_name: str) -> DictionaryEntry | None:
    if value in (None, "", 0):
        return None
    if isinstance(value, DictionaryEntry):
        entry = value
    else:
        try:
            entry = DictionaryEntry.objects.get(pk=int(value))
        except (DictionaryEntry.DoesNotExist, ValueError, TypeError):
            raise ValidationFailed(_("Choose a valid value."), field=field_name) from None
    if entry.kind != kind or not entry.active:
        raise ValidationFailed(_("Choose a valid value."), field=field_name)
    return entry


def _support_user(value: Any, field_name: str = "responsible") -> User | None:
    """Resolve a responsible: exactly one person with staff or admin rights, or nobody."""
    if value in (None, "", 0):
        return None
    user = (
        value
        if isinstance(value, User)
        else User.objects.filter(pk=_int(value, field_name), is_active=True).first()
    )
    # A user object passed in may be deactivated: check it the same way as a looked-up id.
    if user is None or not user.is_active or not TicketPolicy(user).is_support:
        raise ValidationFailed(
            _("Only a user with staff or admin rights can be responsible."), field=field_name
        )
    return user


def _int(value: Any, field_name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Enter a whole number."), field=field_name) from None


def _sla(value: Any) -> SlaLevel | None:
    if value in (None, "", 0):
        return None
    sla = (
        value
        if isinstance(value, SlaLevel)
        else SlaLevel.objects.filter(pk=_int(value, "sla"), active=True).first()
    )
    if sla is None:
        raise ValidationFailed(_("Choose a valid value."), field="sla")
    return sla


# F-06: an SLA limits the categories, criticalities and marks of its tickets; one message per field.
SLA_REFUSALS = {
    "category": gettext_lazy("The service level “%(sla)s” does not offer this category: choose another."),
    "criticality": gettext_lazy(
        "The service level “%(sla)s” does not offer this criticality: choose another."
    ),
    "mark": gettext_lazy("The service level “%(sla)s” does not offer this mark: choose another."),
}
SLA_LIMITED_FIELDS = tuple(name for name, kind in DICTIONARY_FIELDS.items() if kind in SLA_LIMITED_KINDS)


def _entries_outside_sla(
    sla: SlaLevel | None, entries: dict[str, Any], *, ticket: Ticket | None = None
) -> dict[str, list[str]]:
    """Return field errors for the chosen entries the SLA does not allow (F-06).

    Only author-facing choices go through this: staff and admins may pick any entry (F-13). A value the
    ticket already has is let through unchanged, so an untouched form never fails on what staff set.
    """
    errors: dict[str, list[str]] = {}
    for name in SLA_LIMITED_FIELDS:
        entry = entries.get(name)
        if not isinstance(entry, DictionaryEntry):
            continue
        if ticket is not None and getattr(ticket, f"{name}_id") == entry.pk:
            continue
        if not sla_allows(sla, entry):
            errors[name] = [str(SLA_REFUSALS[name]) % {"sla": sla.name if sla else ""}]
    return errors


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationFailed(_("Enter a title."), field="title")
    if len(title) > TITLE_MAX:
        raise ValidationFailed(
            _("The title must be at most %(n)s characters.") % {"n": TITLE_MAX}, field="title"
        )
    return title


def _clean_body(body: str, field_name: str = "message") -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise ValidationFailed(_("Enter the text of the message."), field=field_name)
    if len(body) > BODY_MAX:
        raise ValidationFailed(
            _("The message must be at most %(n)s characters.") % {"n": BODY_MAX}, field=field_name
        )
    return body


def _clean_minutes(minutes: Any) -> int:
    value = _int(minutes or 0, "minutes")
    if value < 0 or value > MINUTES_MAX:
        raise ValidationFailed(_("Enter a number of minutes from 0 to 100000."), field="minutes")
    return value


def compose_prompts(body: str, prompts: Mapping[str, str] | None) -> str:
    """Append the regulation's structured prompts (F-12) that were answered to the message."""
    parts = [body.strip()] if body and body.strip() else []
    for key, label in PROMPTS:
        answer = ((prompts or {}).get(key) or "").strip()
        if answer:
            parts.append(f"[b]{label}:[/b]\n{answer}")
    return "\n\n".join(parts)


def upload_limits(policy: TicketPolicy) -> file_checks.UploadLimits:
    options = options_cached()
    if policy.is_support or policy.is_mail_principal:  # mail has its own size limit (F-15)
        cap = options.staff_file_limit_mb * file_checks.MB
        return file_checks.UploadLimits(per_file=cap, per_message=cap * 10)
    return file_checks.UploadLimits(
        per_file=options.client_file_limit_mb * file_checks.MB,
        per_message=options.client_message_limit_mb * file_checks.MB,
    )


def _store_files(message: Message, uploads: Sequence[file_checks.CheckedUpload]) -> list[Attachment]:
    stored = []
    for up in uploads:
        up.fileobj.seek(0)
        attachment = Attachment(
            message=message,
            ticket_id=message.ticket_id,
            name=up.name,
            size=up.size,
            content_type=up.content_type,
            sha256=up.sha256,
            created_at=message.created_at,
        )
        attachment.file.save(up.name, File(up.fileobj), save=False)
        attachment.save()
        stored.append(attachment)
    return stored


def _delete_files_after_commit(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    def _delete():
        for name in names:
            try:
                default_storage.delete(name)
            except OSError:
                pass

    transaction.on_commit(_delete)


def _next_number(ticket: Ticket) -> int:
    current = Message.objects.filter(ticket=ticket).aggregate(n=Max("number"))["n"] or 0
    return current + 1


def _new_message(
    ticket: Ticket,
    *,
    kind: str,
    body: str,
    author: User | None,
    author_email: str = "",
    posted_by: User | None = None,
    by_support: bool,
    via: str,
    minutes: int = 0,
    source: DictionaryEntry | None = None,
    at=None,
    number: int | None = None,
    quoted: str = "",
    data: list | None = None,
) -> Message:
    message = Message(
        ticket=ticket,
        number=number or _next_number(ticket),
        kind=kind,
        body=body,
        quoted=quoted,
        data=data,
        author=author,
        author_email=author_email,
        posted_by=posted_by,
        by_support=by_support,
        via=via,
        minutes=minutes,
        source=source,
        created_at=at or clock.now(),
    )
    insert_rows([message])
    return message


def _record(
    ticket: Ticket, actor: User | None, via: str, changeset: _ChangeSet, *, at=None, actor_email: str = ""
) -> Message | None:
    """Write the changes as events and one log message listing them (ARCHITECTURE rule 5).

    `actor_email` names an actor known only by address (a sender through the mail channel). The events
    are chained to the ticket's history (`otklik.tickets.history`); the caller holds the ticket's lock.
    """
    if not changeset.changes:
        return None
    at = at or clock.now()
    data = [change_item(c.field, c.old, c.new) for c in changeset.changes]
    log = _new_message(
        ticket,
        kind=MessageKind.LOG,
        body=log_text_default(data),
        data=data,
        author=actor,
        author_email=actor_email,
        by_support=True,
        via=via,
        at=at,
    )
    # The events keep their values as text in the site's language; readers get them from the log data.
    with translation.override(settings.LANGUAGE_CODE):
        events = [
            TicketEvent(
                ticket=ticket,
                actor=actor,
                actor_email=actor_email,
                at=at,
                via=via,
                field=c.field,
                old=value_text(c.old),
                new=value_text(c.new),
                staff_only=c.staff_only,
                message=log,
                data={"old": c.old, "new": c.new},
            )
            for c in changeset.changes
        ]
    events_chain(history_head(ticket.pk), events)
    TicketEvent.objects.bulk_create(events)
    return log


@dataclass(frozen=True)
class HistoryActor:
    """Who the history names for a write: a user, or a sender known only by address."""

    user: User | None
    email: str = ""


def _history_actor(
    policy: TicketPolicy, actor: User, *, author: Any = None, address: str = ""
) -> HistoryActor:
    """Name the actor of a write: the caller, or for the mail principal the sender it writes for."""
    if policy.is_mail_principal:
        if isinstance(author, User):
            return HistoryActor(author)
        return HistoryActor(None, address)
    return HistoryActor(actor)


def _announce(
    ticket: Ticket,
    actor: User | None,
    via: str,
    *,
    created: bool = False,
    message: Message | None = None,
    changes: _ChangeSet | None = None,
    notify_author: bool = True,
    actor_email: str = "",
) -> None:
    """Tell the listeners (notifications) what this call did, inside its transaction (ARCHITECTURE rule 4)."""
    ticket_activity_announce(
        TicketActivity(
            ticket=ticket,
            actor=actor,
            actor_email=actor_email,
            via=via,
            created=created,
            message=message,
            changes=tuple(changes.changes) if changes else (),
            notify_author=notify_author,
        )
    )


TOUCHED_FIELDS = ("modified_at", "modified_by", "modified_via")  # what _touch changes


def _touch(ticket: Ticket, actor: User | None, via: str, at=None) -> None:
    ticket.modified_at = at or clock.now()
    ticket.modified_by = actor
    ticket.modified_via = via


# -- derived state (F-03, F-08 first paragraph) ------------------------------------------------
