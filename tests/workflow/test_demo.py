"""`otklik demo` and the support process: a user per role, tickets in every state, real history and votes."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from otklik.workflow.demo import ROLE_USERS
from otklik.workflow.models import Move, TicketProcess, Vote
from otklik.workflow.selectors import process_of, role_codes_of, version_for_new_tickets


@pytest.mark.django_db
def test_demo_puts_tickets_in_every_state_and_users_in_every_role(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = io.StringIO()
    call_command("demo", "--tickets", "10", stdout=out)
    printed = out.getvalue()

    process = process_of(version_for_new_tickets())
    held = set(TicketProcess.objects.values_list("state", flat=True))
    assert set(process.states) <= held, f"states without a demo ticket: {set(process.states) - held}"
    for person in ROLE_USERS:
        user = User.objects.get(username=person.username)
        assert person.role in role_codes_of(user), person.username
        match = re.search(rf"^\s+{person.username}\s+(\S+)\s+\(", printed, re.MULTILINE)
        assert match and user.check_password(match.group(1)), f"no password printed for {person.username}"
    # The history is real: moves by the role users, votes kept on the board ticket and the decided ones.
    assert Move.objects.filter(actor__username="manager", transition="accident").exists()
    board = TicketProcess.objects.get(state="board")
    assert Vote.objects.filter(ticket_id=board.ticket_id).count() == 2
    assert Move.objects.filter(transition="failed").exists()

    again = io.StringIO()
    call_command("demo", "--tickets", "10", stdout=again)
    assert "Passwords are shown" not in again.getvalue()
    assert TicketProcess.objects.filter(state="board").count() == 1  # the stories are played once
