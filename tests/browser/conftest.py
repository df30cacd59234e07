"""Browser tests: Playwright (sync API) driving Debian's chromium against pytest-django's live server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio loop in this thread; Django's async-safety check would then refuse
# the ORM calls the tests make between browser steps. The tests never share a connection across loops.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def pytest_collection_modifyitems(items):
    """Run the browser tests that flush without serialized rollback after those that use it.

    A plain transactional test's flush recreates the content types (post_migrate) under new ids; a later
    test's serialized rollback then loads the original rows and clashes with them (IntegrityError). A
    stable sort keeps every other test where it was (pytest-django then puts transactional tests last).
    """

    def flushes_plainly(item) -> bool:
        marker = item.get_closest_marker("django_db")
        if item.get_closest_marker("browser") is None or marker is None:
            return False
        return bool(marker.kwargs.get("transaction")) and not marker.kwargs.get("serialized_rollback")

    items.sort(key=flushes_plainly)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Registration and login hash passwords; the production hasher would cost seconds here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def chromium():
    """Launch headless chromium once per module (fail on CI, skip loudly elsewhere when it is missing)."""
    if not CHROMIUM.exists():
        reason = f"BROWSER TESTS NOT RUN: {CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    try:
        browser = manager.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        manager.stop()


@pytest.fixture
def new_context(chromium):
    """Open isolated browser contexts (separate cookies: one per person) and close them after the test."""
    contexts = []

    def _open():
        context = chromium.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def artifacts() -> Path:
    """The directory for screenshots (test-artifacts/browser at the repository root, git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(autouse=True, scope="session")
def _screenshots_retry_a_failed_capture():
    """Retry a screenshot once when chromium answers "Unable to capture screenshot".

    Under two parallel workers chromium now and then fails to capture a tall full-page picture (a protocol
    error, not a page error); the picture is evidence for people, so one retry after a short pause is
    fair, and a second failure still fails the test.
    """
    import time

    from playwright.sync_api import Error, Page

    original = Page.screenshot

    def screenshot(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        except Error as error:
            if "Unable to capture screenshot" not in str(error):
                raise
            time.sleep(0.5)
            return original(self, *args, **kwargs)

    Page.screenshot = screenshot  # type: ignore[method-assign]
    yield
    Page.screenshot = original  # type: ignore[method-assign]
