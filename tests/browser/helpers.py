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
