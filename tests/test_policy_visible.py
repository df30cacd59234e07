"""Who sees which tickets (F-01): `TicketPolicy.visible()` and `can_view` over five tickets, exactly.

Kept apart from the permission matrix, whose module shares one world's rows among its tests: here the
visible set is compared with the whole table, so no other ticket may exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User

from otklik.accounts.models import SupportGroup
from otklik.accounts.services import support_group_add_member
from otklik.core.errors import NotFound, ReadOnlyAccess
from otklik.tickets import services
from otklik.tickets.models import ModuleOptions, Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import options_get
from otklik.tickets.services import module_options_ensure


# -- visibility (F-01) ----------------------------------------------------------------------------
@dataclass
class Board:
    cast: object
    tickets: dict[str, Ticket]


@pytest.fixture
def board(cast) -> Board:
    """t1 client unassigned; t2 client -> staff; t3 other -> staff2; t4 other unassigned; t5 colleague -> staff2."""
    admin = cast.admin

    def make(author, responsible, title):
        t = services.ticket_create(
            actor=author, draft=services.TicketDraft(title=title, message=f"Body of {title}")
        )
        if responsible is not None:
            t = services.ticket_update(actor=admin, ticket=t, changes={"responsible": responsible})
        return t

    return Board(
        cast=cast,
        tickets={
            "t1": make(cast.client, None, "t1"),
            "t2": make(cast.client, cast.staff, "t2"),
            "t3": make(cast.other_client, cast.staff2, "t3"),
            "t4": make(cast.other_client, None, "t4"),
            "t5": make(cast.colleague, cast.staff2, "t5"),
        },
    )


ALL = {"t1", "t2", "t3", "t4", "t5"}
VISIBLE_UNASSIGNED_ON = {
    "client": {"t1", "t2", "t5"},
    "colleague": {"t1", "t2", "t5"},
    "other_client": {"t3", "t4"},
    "staff": {"t1", "t2", "t4"},
    "staff2": {"t1", "t3", "t4", "t5"},
    "demo": ALL,
    "admin": ALL,
    "anonymous": set(),
}
VISIBLE_UNASSIGNED_OFF = {**VISIBLE_UNASSIGNED_ON, "staff": {"t2"}, "staff2": {"t3", "t5"}}


def _names(board: Board, qs) -> set[str]:
    by_pk = {t.pk: name for name, t in board.tickets.items()}
    return {by_pk[pk] for pk in qs.values_list("pk", flat=True)}


def _assert_visibility(board: Board, who: str, expected: set[str]) -> None:
    user = getattr(board.cast, who)
    policy = TicketPolicy(user)
    assert _names(board, policy.visible()) == expected
    for name, ticket in board.tickets.items():
        assert TicketPolicy(user).can_view(ticket) is (name in expected), f"can_view({who}, {name})"
        if name not in expected:
            with pytest.raises(NotFound):
                TicketPolicy(user).get_or_404(ticket.pk)
        else:
            assert TicketPolicy(user).get_or_404(ticket.pk) == ticket


@pytest.mark.parametrize(("who", "expected"), sorted(VISIBLE_UNASSIGNED_ON.items()))
def test_policy_visible_unassigned_queue_on_matches_table(board, who, expected):
    assert options_get().staff_see_unassigned is True  # the SPEC's default
    _assert_visibility(board, who, expected)


@pytest.mark.parametrize(("who", "expected"), sorted(VISIBLE_UNASSIGNED_OFF.items()))
def test_policy_visible_unassigned_queue_off_hides_unassigned_from_staff(board, who, expected):
    options = options_get()
    options.staff_see_unassigned = False
    options.save()
    _assert_visibility(board, who, expected)


def test_policy_visible_staff_group_member_with_can_view_sees_colleagues_tickets(board):
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(staff_see_unassigned=False)
    team = SupportGroup.objects.create(name="Night shift", kind=SupportGroup.Kind.STAFF)
    support_group_add_member(group=team, user=board.cast.staff, can_view=True)
    support_group_add_member(group=team, user=board.cast.staff2, can_view=False)
    _assert_visibility(board, "staff", {"t2", "t3", "t5"})
    _assert_visibility(board, "staff2", {"t3", "t5"})


def test_policy_visible_client_group_member_without_can_view_sees_only_own(board):
    company = SupportGroup.objects.get(name="Romashka LLC")
    support_group_add_member(group=company, user=board.cast.colleague, can_view=False)
    _assert_visibility(board, "colleague", {"t5"})
    _assert_visibility(board, "client", {"t1", "t2", "t5"})


def test_policy_visible_staff_group_of_kind_client_grants_staff_nothing_extra(board):
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(staff_see_unassigned=False)
    wrong_kind = SupportGroup.objects.create(name="Mixed", kind=SupportGroup.Kind.CLIENT)
    support_group_add_member(group=wrong_kind, user=board.cast.staff)
    support_group_add_member(group=wrong_kind, user=board.cast.staff2)
    # A client group links authors, not responsibles: staff still sees only its own responsibility.
    _assert_visibility(board, "staff", {"t2"})


def test_policy_visible_superuser_without_groups_is_admin_and_sees_all(board):
    root = User.objects.create_superuser("root", "root@example.com", "pass-Word-123")
    policy = TicketPolicy(root)
    assert policy.is_admin and not policy.is_staff
    assert _names(board, policy.visible()) == ALL


def test_policy_demo_sees_every_ticket_and_support_view_but_writes_nothing(board):
    demo = TicketPolicy(board.cast.demo)
    assert demo.is_demo and demo.sees_support_view and not demo.sees_hidden and not demo.is_support
    assert demo.can_view_admin_comment()
    t = board.tickets["t3"]
    assert not demo.can_post_message(t) and not demo.can_close(t) and not demo.can_split(t)
    assert demo.editable_fields(t) == frozenset() and demo.message_options(t) == frozenset()
    with pytest.raises(ReadOnlyAccess):
        services.ticket_create(actor=board.cast.demo, draft=services.TicketDraft(title="Demo", message="Try"))
    with pytest.raises(ReadOnlyAccess):
        demo.check_can_write()
    services.presence_touch(user=board.cast.demo, ticket=t)
    assert not t.presence.exists()
