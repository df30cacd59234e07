"""The console commands: demo, token, ticket show, and a real `otklik start` in a subprocess."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError

from otklik.accounts.models import AccessLevel, SupportGroup
from otklik.accounts.roles import forget_levels, levels_of
from otklik.accounts.services import token_authenticate
from otklik.automation.models import AutomationRule
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.sla.models import CalendarException, SlaLevel, Timetable
from otklik.tickets import services
from otklik.tickets.demo_data.agents_day import COLOURED_TAGS
from otklik.tickets.models import Macro, Message, MessageKind, Tag, Ticket, TicketLink, TicketTag
from otklik.workflow.demo import STORIES
from tests.helpers import otklik_start_process

from .conftest import upload

CYRILLIC = re.compile("[а-яА-ЯёЁ]")


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# -- demo ------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=False)
def test_demo_run_twice_creates_everything_once(settings):
    # Hashing six passwords with the production hasher costs seconds; the test is about the data.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    first = _run("demo")
    agents_day = _agents_day_counts()

    counts = (
        User.objects.count(),
        Ticket.objects.count(),
        Message.objects.count(),
        SlaLevel.objects.count(),
        SupportGroup.objects.count(),
        DictionaryEntry.objects.count(),
        Timetable.objects.count(),
        CalendarException.objects.count(),
        Group.objects.count(),
    )
    # The generated tickets, and the support process's own demo tickets (workflow.demo).
    assert Ticket.objects.count() == 200 + len(STORIES)
    # Every login's password is printed once, and it is the real password.
    for username in ("admin", "staff", "staff2", "demo", "client", "client2"):
        match = re.search(rf"^\s+{username}\s+(\S+)\s+\(", first, re.MULTILINE)
        assert match, f"no password printed for {username}:\n{first}"
        assert User.objects.get(username=username).check_password(match.group(1))

    second = _run("demo")
    assert counts == (
        User.objects.count(),
        Ticket.objects.count(),
        Message.objects.count(),
        SlaLevel.objects.count(),
        SupportGroup.objects.count(),
        DictionaryEntry.objects.count(),
        Timetable.objects.count(),
        CalendarException.objects.count(),
        Group.objects.count(),
    )
    assert "already exists" in second and "Passwords are shown" not in second
    assert _agents_day_counts() == agents_day
    assert "The agent's day:" in first and "The agent's day:" not in second
    assert "Automation: the rule" in first and "Automation: the rule" not in second
    assert "no tickets were added" in second

    users = {
        u.username: u
        for u in User.objects.filter(username__in=["admin", "staff", "staff2", "demo", "client", "client2"])
    }
    for user in users.values():
        forget_levels(user)
    assert AccessLevel.ADMIN in levels_of(users["admin"])
    assert levels_of(users["staff"]) == {AccessLevel.STAFF} == levels_of(users["staff2"])
    assert levels_of(users["demo"]) == {AccessLevel.DEMO}
    assert levels_of(users["client"]) == {AccessLevel.CLIENT} == levels_of(users["client2"])

    def companies(user: User) -> set[int]:
        return set(
            user.support_memberships.filter(group__kind=SupportGroup.Kind.CLIENT, can_view=True).values_list(
                "group_id", flat=True
            )
        )

    assert len(companies(users["client"])) == 1 and len(companies(users["client2"])) == 1
    assert companies(users["client"]).isdisjoint(companies(users["client2"]))
    team = SupportGroup.objects.get(kind=SupportGroup.Kind.STAFF, name="Support team")
    assert set(team.memberships.values_list("user__username", flat=True)) == {"staff", "staff2"}

    # The regulation's SLA table, the default and the clients' level.
    hours = sorted(sla.response_seconds // 60 for sla in SlaLevel.objects.all())
    assert hours == [60, 120, 180, 240, 300, 360, 1440]
    assert set(SlaLevel.objects.values_list("code", flat=True)) == {
        "noncommercial", "clients-standard", "clients-operative", "clients-vip",
        "partners-standard", "partners-operative", "special",
    }  # fmt: skip
    assert SlaLevel.objects.get(is_default=True).response_seconds == 24 * 3600
    clients_sla = SlaLevel.objects.get(response_time=6, response_unit="hours")
    assert Ticket.objects.filter(author=users["client"]).exclude(sla=clients_sla).count() == 0
    # client2's company has the VIP contract (a user group), so all its tickets get the 2-hour level.
    vip_sla = SlaLevel.objects.get(response_time=2, response_unit="hours")
    assert Ticket.objects.filter(author=users["client2"]).exclude(sla=vip_sla).count() == 0
    # Every level runs on one of the regulation's two timetables (special tickets around the clock).
    assert set(Timetable.objects.values_list("code", flat=True)) == {"msk-workdays-10-19", "24x7"}
    assert not SlaLevel.objects.filter(timetable__isnull=True).exists()
    assert SlaLevel.objects.get(response_time=1, response_unit="hours").timetable.code == "24x7"
    answers = DictionaryEntry.objects.filter(kind=DictionaryKind.FREQUENT_ANSWER)
    assert answers.count() >= 5
    assert all(a.description_ru and a.description_en for a in answers)

    # The tickets: both languages, the variety the demo promises.
    titles = list(Ticket.objects.values_list("title", flat=True))
    assert sum(bool(CYRILLIC.search(t)) for t in titles) >= 40
    assert sum(not CYRILLIC.search(t) for t in titles) >= 40
    tickets = Ticket.objects.all()
    assert tickets.filter(closed_at__isnull=False).count() >= 20
    assert tickets.filter(closed_at__isnull=True).count() >= 20
    assert tickets.filter(responsible__isnull=True).exists()
    assert tickets.filter(mark__isnull=False).exists()
    assert tickets.filter(is_postponed=True).exists()
    assert tickets.filter(spam="possible").exists()
    assert Message.objects.filter(kind=MessageKind.HIDDEN).exists()
    assert Message.objects.filter(kind=MessageKind.PUBLIC, by_support=True).exists()
    assert tickets.exclude(author__username="client").exclude(author__username="client2").exists()
    assert {t.category.code for t in tickets.select_related("category")} >= {"errors", "payment", "delivery"}
    spread = (
        tickets.order_by("created_at").first().created_at,
        tickets.order_by("-created_at").first().created_at,
    )
    assert (spread[1] - spread[0]).days >= 30
    # Counters are what the services computed: message_count counts the client-visible messages.
    sample = tickets.order_by("pk")[:20]
    for ticket in sample:
        visible = ticket.messages.filter(kind__in=[MessageKind.PUBLIC, MessageKind.NO_STATUS]).count()
        assert ticket.message_count == visible

    # The agent's day (issue 18): coloured tags on about a fifth of the tickets, macros, links, one rule.
    assert dict(Tag.objects.filter(name__in=COLOURED_TAGS).values_list("name", "colour")) == COLOURED_TAGS
    tagged = Ticket.objects.filter(tags__isnull=False).distinct().count()
    assert 20 <= tagged <= 60, tagged
    vip_tags = TicketTag.objects.filter(tag__name="vip")
    assert vip_tags.exists()
    assert not vip_tags.exclude(ticket__author__username__in=["client2", "eclark"]).exists()
    shared = {m.name: m for m in Macro.objects.filter(owner__isnull=True)}
    assert set(shared) == {"Ask for details", "Solved: close"}
    assert shared["Ask for details"].actions["add_tags"] == ["needs-info"]
    assert "{author.name}" in shared["Ask for details"].reply
    assert shared["Solved: close"].actions["close"] is True
    assert list(Macro.objects.filter(owner__username="staff").values_list("name", flat=True)) == [
        "Запросить скриншот"
    ]
    assert sorted(TicketLink.objects.values_list("kind", flat=True)) == ["parent", "related"]
    rule = AutomationRule.objects.get(active=True)
    assert rule.run_as == users["admin"] and rule.event == "created"
    # The rule is narrow: it fires on "urgent" in any letter case, and only then.
    for message, fires in (("URGENT: the shop is down", True), ("The shop is slow", False)):
        ticket = services.ticket_create(
            actor=users["client"], draft=services.TicketDraft(title="Shop", message=message)
        )
        ticket.refresh_from_db()
        assert ("urgent" in services.ticket_tag_names(ticket)) is fires
        assert (ticket.criticality.code == "high") is fires


def _agents_day_counts() -> tuple[int, ...]:
    return (
        Macro.objects.count(),
        Tag.objects.count(),
        TicketTag.objects.count(),
        TicketLink.objects.count(),
        AutomationRule.objects.count(),
    )


@pytest.mark.django_db(transaction=False)
def test_demo_without_tickets_makes_the_macros_but_no_rule_tags_or_links(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _run("demo", "--tickets", "0")
    assert Macro.objects.count() == 3
    # The rule engine's benchmark uses this run as its baseline: no rule may act on its tickets.
    assert not AutomationRule.objects.exists()
    assert not TicketTag.objects.exists() and not TicketLink.objects.exists()


# -- token -----------------------------------------------------------------------------------
def test_token_create_prints_a_token_that_authenticates(cast):
    token = _run("token", "create", "client", "--name", "ci script").strip()
    assert token.startswith("otk_") and "\n" not in token
    assert token_authenticate(token) == cast.client
    listing = _run("token", "list", "client")
    assert token[:12] in listing and "ci script" in listing


def test_token_create_unknown_user_fails_with_a_clear_message(db):
    with pytest.raises(CommandError, match="'nobody' does not exist") as info:
        call_command("token", "create", "nobody", stdout=io.StringIO())
    assert info.value.returncode != 0


# -- ticket show -----------------------------------------------------------------------------
def test_ticket_show_json_lists_every_message_with_hidden_ones(cast, make_ticket):
    ticket = make_ticket(
        title="Не работает оплата", message="Платёж отклонён", files=[upload("error.log", b"boom\n")]
    )
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Проверить шлюз", hidden=True)
    )
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"responsible": cast.staff})
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Обновите ключ"))

    data = json.loads(_run("ticket", "show", str(ticket.pk), "--json"))

    assert data["id"] == ticket.pk and data["title"] == "Не работает оплата"
    assert data["author"] == "client" and data["category"]["code"]
    kinds = [m["kind"] for m in data["messages"]]
    assert MessageKind.HIDDEN in kinds and MessageKind.LOG in kinds
    assert [m["number"] for m in data["messages"]] == sorted(m["number"] for m in data["messages"])
    first = data["messages"][0]
    assert first["body"] == "Платёж отклонён" and first["attachments"] == ["error.log"]
    assert first["author"] == "client" and first["created_at"]
    hidden = next(m for m in data["messages"] if m["kind"] == MessageKind.HIDDEN)
    assert hidden["author"] == "staff" and hidden["body"] == "Проверить шлюз"


def test_ticket_show_as_client_hides_staff_only_messages(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="internal", hidden=True)
    )
    data = json.loads(_run("ticket", "show", str(ticket.pk), "--json", "--as", "client"))
    assert {m["kind"] for m in data["messages"]} == {MessageKind.PUBLIC}
    with pytest.raises(CommandError):
        _run("ticket", "show", str(ticket.pk), "--json", "--as", "other")


def test_ticket_show_unknown_id_fails(db):
    with pytest.raises(CommandError, match="does not exist"):
        _run("ticket", "show", "999999", "--json")


def test_ticket_show_text_output(cast, make_ticket):
    ticket = make_ticket(title="Printer on fire")
    out = _run("ticket", "show", str(ticket.pk))
    assert f"#{ticket.pk} Printer on fire" in out and "The login page says error 500." in out


# -- start: a real server process ------------------------------------------------------------
def _get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _wait_until_serving(proc: subprocess.Popen, url: str, deadline: float) -> tuple[int, bytes]:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            pytest.fail(f"otklik start exited early with {proc.returncode}:\n{output}")
        try:
            return _get(url)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(0.2)
    pytest.fail(f"otklik start did not answer {url} in time")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _stop(proc: subprocess.Popen, sig: int) -> str:
    proc.send_signal(sig)
    try:
        output, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("otklik start did not stop within 15 s")
    return output.decode(errors="replace")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); it is gone for our purpose.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


@pytest.mark.xdist_group("server")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and POSIX signals")
def test_start_migrates_serves_static_files_and_stops_on_sigterm(tmp_path):
    proc, port = otklik_start_process(tmp_path / "data", "--no-jobs")
    try:
        status, body = _wait_until_serving(
            proc, f"http://127.0.0.1:{port}/static/admin/css/base.css", time.monotonic() + 60
        )
        assert status == 200 and b"{" in body
        assert (tmp_path / "data" / "otklik.sqlite3").exists()  # migrated before serving
        children = _children(proc.pid)
        assert len(children) == 1  # granian only: --no-jobs
    finally:
        output = _stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, output
    assert all(_gone(pid) for pid in children)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


@pytest.mark.xdist_group("server")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and POSIX signals")
def test_start_runs_the_job_consumer_and_stops_it_with_the_server(tmp_path):
    proc, port = otklik_start_process(tmp_path / "data", "--no-migrate")
    try:
        _wait_until_serving(proc, f"http://127.0.0.1:{port}/static/admin/css/base.css", time.monotonic() + 60)
        children = _children(proc.pid)
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ") for pid in children]
        assert any(b"otklik worker" in c for c in commands) and any(b"granian" in c for c in commands)
    finally:
        output = _stop(proc, signal.SIGINT)
    assert proc.returncode == 0, output
    assert all(_gone(pid) for pid in children)
