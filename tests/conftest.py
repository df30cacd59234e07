"""Shared fixtures: one user per role, a ticket factory, isolated file storage."""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.test import Client

from otklik.accounts.models import AccessLevel, SupportGroup
from otklik.accounts.services import support_group_add_member, user_create
from otklik.tickets import services
from otklik.tickets.models import Ticket
from tests.dovecot import dovecot_server, mailbox_user  # noqa: F401  (fixtures for the mail tests)


def pytest_collection_modifyitems(config, items) -> None:
    """Run the long scenarios (marked `slow`) first.

    With `-n 2 --dist loadgroup` a scenario that waits minutes for its own processes (bench.scale_out, the
    streaming replica) holds one worker; started first, the other worker's share of the suite hides it,
    while collected in file order it came last and added its whole length to the run.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_configure(config) -> None:
    """Give the SQLite test database a file, as a real deployment has, instead of shared-cache memory.

    An in-memory database shared between threads fails a second writer at once ("database table is
    locked") where a file waits for the first (busy_timeout, IMMEDIATE transactions): the race tests run
    on both databases only with a file. Django deletes the file when the run ends.
    """
    import os
    import tempfile

    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        folder = os.environ.get("OTKLIK_DATA_DIR") or tempfile.gettempdir()
        # One file per test run: two runs at once (a developer's and an editor's) must not share it.
        database.setdefault("TEST", {})["NAME"] = os.path.join(folder, f"test-{os.getpid()}.sqlite3")


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def storages_in(folder) -> dict:
    """Return STORAGES that keep uploads in `folder` and serve static files plainly."""
    from django.conf import settings

    return {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _isolated_storage(settings, tmp_path):
    """Every test writes uploads into its own directory; passwords hash fast (tests create many users)."""
    settings.PASSWORD_HASHERS = FAST_HASHERS
    settings.STORAGES = storages_in(tmp_path / "files")


@pytest.fixture(autouse=True)
def _jobs_in_memory(monkeypatch):
    """Queue background jobs in memory: committed changes in tests must not fill the data dir's queue."""
    from huey.contrib.djhuey import HUEY
    from huey.storage import MemoryStorage

    monkeypatch.setattr(HUEY, "storage", MemoryStorage(HUEY.name))
    return HUEY


@pytest.fixture(autouse=True)
def _no_config_cache(settings):
    """Read configuration fresh: tests change it with queryset updates, which no signal reports.

    tests/test_config_cache.py turns the cache on and checks it.
    """
    from otklik.core.config_cache import config_forget

    settings.OTKLIK_CONFIG_CACHE_SECONDS = 0
    config_forget()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Start with an empty cache: rate limits (password reset, confirmation mail) count in it."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_working_calendars():
    """Forget cached working calendars: rolled-back tests reuse ids and revisions, which key the cache."""
    from otklik.sla.selectors import calendars_forget

    calendars_forget()
    yield
    calendars_forget()


@dataclass
class Cast:
    """The people of the permission matrix."""

    client: User
    colleague: User  # same client company as `client`, may view the group's tickets
    other_client: User  # another company
    staff: User
    staff2: User
    demo: User
    admin: User
    anonymous: AnonymousUser


def make_user(username: str, *levels: str, **extra) -> User:
    """Create a user whose address is confirmed (as staff-created users are): mail from it is theirs."""
    extra.setdefault("email_confirmed", True)
    return user_create(
        username=username, email=f"{username}@example.com", password="pass-Word-123", levels=levels, **extra
    )


@pytest.fixture
def cast(db) -> Cast:
    return cast_create()


def cast_create() -> Cast:
    """Create the people of the permission matrix (the `cast` fixture; modules sharing rows call it once)."""
    client = make_user("client", AccessLevel.CLIENT, first_name="Ivan", last_name="Petrov")
    colleague = make_user("colleague", AccessLevel.CLIENT)
    other = make_user("other", AccessLevel.CLIENT)
    company = SupportGroup.objects.create(name="Romashka LLC", kind=SupportGroup.Kind.CLIENT)
    support_group_add_member(group=company, user=client)
    support_group_add_member(group=company, user=colleague)
    return Cast(
        client=client,
        colleague=colleague,
        other_client=other,
        staff=make_user("staff", AccessLevel.STAFF),
        staff2=make_user("staff2", AccessLevel.STAFF),
        demo=make_user("demo", AccessLevel.DEMO),
        admin=make_user("admin", AccessLevel.ADMIN),
        anonymous=AnonymousUser(),
    )


@pytest.fixture
def make_ticket(cast):
    """Create a ticket through the service, as the client by default."""

    def _make(
        actor: User | None = None,
        title: str = "Cannot log in",
        message: str = "The login page says error 500.",
        **kw,
    ) -> Ticket:
        return services.ticket_create(
            actor=actor or cast.client, **ticket_inputs(title=title, message=message, **kw)
        )

    return _make


def ticket_inputs(**kw: Any) -> dict[str, Any]:
    """Split keyword arguments into ticket_create's draft, staff fields and mail origin (a test convenience)."""
    groups: dict[str, Any] = {}
    for key, cls in (
        ("draft", services.TicketDraft),
        ("staff", services.StaffFields),
        ("origin", services.MailOrigin),
    ):
        names = {f.name for f in dataclasses.fields(cls)} - set().union(*(g.keys() for g in groups.values()))
        given = {name: kw.pop(name) for name in list(kw) if name in names}
        if given or key == "draft":
            groups[key] = given
    if kw:
        raise TypeError(f"unknown ticket_create inputs: {sorted(kw)}")
    return {
        "draft": services.TicketDraft(**groups["draft"]),
        "staff": services.StaffFields(**groups["staff"]) if "staff" in groups else None,
        "origin": services.MailOrigin(**groups["origin"]) if "origin" in groups else None,
    }


def upload(name: str, data: bytes) -> services.Upload:
    return services.Upload(name=name, fileobj=io.BytesIO(data))


@pytest.fixture
def frozen():
    """Freeze the clock now; the test moves it with `frozen.advance(seconds=...)`."""
    from django.utils import timezone

    from otklik.core import clock

    with clock.frozen(timezone.now()) as mover:
        yield mover


def logged_in(user: User, language: str = "en") -> Client:
    """Return a test client logged in as `user`, whose interface language is `language`."""
    from otklik.accounts.models import Profile

    Profile.objects.filter(user=user).update(language=language)
    client = Client()
    client.force_login(user)
    return client
