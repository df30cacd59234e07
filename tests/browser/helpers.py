"""Steps the browser tests share."""

from __future__ import annotations

import re

PASSWORD = "pass-Word-123"


def staff_login(context, base: str, username: str, password: str = PASSWORD):
    """Open a page in `context`, log in through the form and wait for the staff list (where staff land)."""
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/tickets/$"))
    return page


def client_and_agent():
    """Create the seeded dictionaries and the two people of the agent's-day tests: Ivan Petrov, a client
    (Russian interface), and Anna Smirnova, support staff (English interface). Return (ivan, anna)."""
    from otklik.accounts.models import AccessLevel
    from otklik.accounts.services import user_create
    from otklik.dictionaries.models import DictionaryEntry
    from otklik.dictionaries.seed import load_dictionaries

    load_dictionaries(DictionaryEntry)
    ivan = user_create(
        username="ivan", email="ivan@example.com", password=PASSWORD, levels=[AccessLevel.CLIENT],
        first_name="Ivan", last_name="Petrov",
    )  # fmt: skip
    anna = user_create(
        username="anna", email="anna@example.com", password=PASSWORD, levels=[AccessLevel.STAFF],
        first_name="Anna", last_name="Smirnova", language="en",
    )  # fmt: skip
    return ivan, anna
