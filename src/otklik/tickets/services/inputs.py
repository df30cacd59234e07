"""Typed inputs of the ticket services: what a caller hands `ticket_create` and `message_post`.

A caller builds a small frozen value instead of a long keyword list, so the signatures say who may pass
what: a `TicketDraft` or `MessageDraft` anyone may write, `StaffFields` only staff may set (F-13), and a
`MailOrigin` only the mail channel uses (F-15). References to users, dictionary entries and SLA levels may
be objects or their ids (forms and the API pass ids as ints or strings); the service resolves and checks them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import BinaryIO

from django.contrib.auth.models import User

from otklik.dictionaries.models import DictionaryEntry
from otklik.sla.models import SlaLevel

# An id as a form or the API sends it: a number, or its text.
Id = int | str
EntryRef = DictionaryEntry | Id | None
UserRef = User | Id | None
SlaRef = SlaLevel | Id | None


@dataclass
class Upload:
    """A file handed to a service: its name and a binary file object (a Django upload or an open file)."""

    name: str
    fileobj: BinaryIO


@dataclass(frozen=True)
class TicketDraft:
    """What the author of a new ticket writes: the words, the files and the client's choices (F-02, F-12).

    `coupon` is a coupon's code (F-21): the service spends one of its uses, gives the ticket the coupon's
    SLA and marks it special, or refuses the whole ticket. `coupon_sla` is the SLA of a coupon the caller
    has already redeemed itself; `notify_author=False` files the ticket without the "ticket accepted" mail.
    """

    title: str
    message: str
    category: EntryRef = None
    criticality: EntryRef = None
    prompts: Mapping[str, str] | None = None
    files: Sequence[Upload] = ()
    coupon: str = ""
    coupon_sla: SlaLevel | None = None
    notify_author: bool = True


@dataclass(frozen=True)
class StaffFields:
    """The attributes only support staff may set on a new ticket (F-13 "on new").

    `author` files the ticket for someone else; `hidden`, `not_change_status` and `minutes` are the
    first message's staff options.
    """

    author: UserRef = None
    source: EntryRef = None
    status: EntryRef = None
    difficulty: EntryRef = None
    responsible: UserRef = None
    sla: SlaRef = None
    admin_comment: str = ""
    auto_close_days: int | str | None = None
    is_postponed: bool = False
    hidden: bool = False
    not_change_status: bool = False
    minutes: int | str = 0
    ticket_type: str = ""
    tier: str = ""

    def used(self) -> dict[str, object]:
        """Return every field by name with its value (unset ones too), for the permission check."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class MailOrigin:
    """Where a mail's words come from; only the mail channel and support pass it (F-15).

    The words are `sender`'s (a registered user who may see the ticket), else `author_address`'s (a person
    known only by e-mail). `quoted` is the history the mail quoted, kept beside the text;
    `accept_any_file_type` keeps every attachment type, as mail needs.
    """

    sender: User | None = None
    author_address: str = ""
    quoted: str = ""
    accept_any_file_type: bool = True


@dataclass(frozen=True)
class MessageDraft:
    """A message to add to a ticket (F-03); `hidden`, `not_change_status`, `minutes` and `on_behalf_of`
    are staff options (F-13); `notify_author=False` adds it without telling the author.

    `signed=True` adds the support author's signature under a message the client sees; it is ignored for
    hidden messages, messages written for someone else and authors without a signature.
    """

    body: str
    files: Sequence[Upload] = ()
    hidden: bool = False
    not_change_status: bool = False
    minutes: int | str = 0
    on_behalf_of: UserRef = None
    notify_author: bool = True
    signed: bool = False
