"""Split a batch of fetched mail into groups that must be processed in arrival order.

Processing on several threads is safe only between mails that cannot touch the same conversation: a
reply processed before the mail that opens its ticket would start a ticket of its own. Two mails are
related when they share the sender, when one names the other's Message-ID (In-Reply-To, References), or
when both point at the same ticket (a subject marker, or one of our own Message-IDs). Related mails end up
in one group, in arrival order; groups share nothing and may run side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from re import Pattern

from otklik.mail.parsing import ParsedMail
from otklik.mail.threading import own_ticket_id, ticket_id_from_subject


def related_groups(mails: Sequence[ParsedMail | None], patterns: Sequence[Pattern[str]]) -> list[list[int]]:
    """Return the indexes of `mails` grouped by relation, each group in arrival order.

    An unparseable mail (None) is a group of its own: processing only quarantines it.
    """
    parent = list(range(len(mails)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owner: dict[str, int] = {}  # relation key -> the first mail that had it
    for index, mail in enumerate(mails):
        if mail is None:
            continue
        for key in _keys(mail, patterns):
            first = owner.setdefault(key, index)
            parent[root(index)] = root(first)
    groups: dict[int, list[int]] = {}
    for index in range(len(mails)):
        groups.setdefault(root(index), []).append(index)
    return sorted(groups.values(), key=lambda group: group[0])


def _keys(mail: ParsedMail, patterns: Sequence[Pattern[str]]) -> set[str]:
    keys = set()
    if mail.sender_address:
        keys.add("from:" + mail.sender_address.lower())
    if mail.message_id:
        keys.add("id:" + mail.message_id)
    for reference in (*mail.in_reply_to, *mail.references):
        keys.add("id:" + reference)
        ticket_id = own_ticket_id(reference)
        if ticket_id is not None:
            keys.add(f"ticket:{ticket_id}")
    ticket_id = ticket_id_from_subject(mail.subject, patterns)
    if ticket_id is not None:
        keys.add(f"ticket:{ticket_id}")
    return keys


def balanced(groups: list[list[int]], workers: int) -> list[list[int]]:
    """Deal the groups out to at most `workers` lists of similar length, each list in arrival order."""
    loads: list[list[int]] = [[] for _ in range(max(1, min(workers, len(groups))))]
    for group in sorted(groups, key=len, reverse=True):
        min(loads, key=len).extend(group)
    return [sorted(load) for load in loads if load]
