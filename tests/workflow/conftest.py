"""The people of the three-tier process (F-30): one user per role, plus the shared cast."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User

from otklik.accounts.models import AccessLevel
from otklik.workflow.models import Role
from tests.conftest import make_user


@dataclass
class Crew:
    l1: User
    manager: User
    itop: User
    developer: User
    tester: User
    integrator: User
    admin_team: User
    content: User
    board1: User
    board2: User
    board3: User


ROLE_OF = {
    "l1": "l1_operator",
    "manager": "incident_manager",
    "itop": "it_operator",
    "developer": "developer",
    "tester": "tester",
    "integrator": "integrator",
    "admin_team": "administration",
    "content": "content_team",
    "board1": "change_board",
    "board2": "change_board",
    "board3": "change_board",
}


@pytest.fixture
def crew(cast) -> Crew:
    people = {}
    for name, role in ROLE_OF.items():
        user = make_user(name, AccessLevel.STAFF, first_name=name.capitalize(), last_name="Testov")
        Role.objects.get(code=role).users.add(user)
        people[name] = user
    return Crew(**people)
