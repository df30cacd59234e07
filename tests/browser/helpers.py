"""Steps the browser tests share."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

PASSWORD = "pass-Word-123"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def publish_screenshot(shot: Path, name: str) -> None:
    """Copy a test's screenshot to docs/screenshots/<name>.png when OTKLIK_DOCS_SCREENSHOTS=1 is set.

    The README's pictures are refreshed on purpose (`OTKLIK_DOCS_SCREENSHOTS=1 make test`), never as a
    side effect of a test run: a plain run leaves the working tree as it was. The shot must be a real
    picture either way.
    """
    assert shot.stat().st_size > 1000, f"{shot} is not a screenshot"
    if os.environ.get("OTKLIK_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS / f"{name}.png")


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
