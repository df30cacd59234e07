"""Mail of the support process (F-30, F-11 workflow events): exact recipients through the outbox."""

from __future__ import annotations

from django.utils import translation

from otklik.accounts.models import AccessLevel, Profile
from otklik.notifications import catalog
from otklik.notifications.models import MailTemplate, OutboxMessage
from otklik.workflow.models import Role
from otklik.workflow.services import workflow_transition
from tests.conftest import make_user
from tests.helpers import fresh

PROCESS_EVENTS = (catalog.PROCESS_TURN, catalog.PROCESS_ALERT)


def move(actor, ticket, transition, **values):
    """Take a move; return the outbox rows it wrote."""
    last = OutboxMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0
    workflow_transition(actor=actor, ticket=fresh(ticket), transition=transition, values=values)
    return list(OutboxMessage.objects.filter(id__gt=last).order_by("id"))


def process_mail(rows) -> dict[str, set[str]]:
    """{event: every recipient} of the support process mail among `rows`."""
    found: dict[str, set[str]] = {}
    for row in rows:
        if row.event in PROCESS_EVENTS:
            found.setdefault(row.event, set()).update(row.recipients)
    return found


def test_escalation_tells_the_incident_managers_only(crew, cast, make_ticket):
    ticket = make_ticket()
    rows = move(crew.l1, ticket, "escalate", comment="The export fails for every report")
    assert process_mail(rows) == {catalog.PROCESS_TURN: {"manager@example.com"}}
    # The move changed only the process's bookkeeping (stage, tier): no "ticket changed" mail besides.
    assert [r.event for r in rows] == [catalog.PROCESS_TURN]
    [mail] = [r for r in rows if r.event == catalog.PROCESS_TURN]
    assert mail.subject.startswith(f"[TID#{ticket.pk}] ")
    assert mail.language == "ru" and "Разбор менеджером инцидентов" in mail.subject
    assert "The export fails for every report" in mail.body_text


def test_accident_alerts_it_operators_and_admins_and_tells_the_role_next(crew, cast, make_ticket):
    second = make_user("manager2", AccessLevel.STAFF)
    Role.objects.get(code="incident_manager").users.add(second)
    Profile.objects.filter(user=crew.itop).update(language="en")
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="The site is down")
    rows = move(crew.manager, ticket, "accident", comment="Down for everyone")
    assert process_mail(rows) == {
        # The accident state waits for the incident managers; the one who moved is not told.
        catalog.PROCESS_TURN: {"manager2@example.com"},
        catalog.PROCESS_ALERT: {"itop@example.com", "admin@example.com"},
    }
    alerts = {r.language: r for r in rows if r.event == catalog.PROCESS_ALERT}
    assert set(alerts) == {"ru", "en"}  # each recipient in their own language
    assert alerts["en"].to == ["itop@example.com"] and alerts["en"].subject.startswith(
        f"[TID#{ticket.pk}] Alert"
    )
    assert alerts["ru"].to == ["admin@example.com"] and "Тревога" in alerts["ru"].subject


def test_final_close_tells_nobody_in_the_process_and_the_author_gets_the_close_mail(crew, cast, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "solve", comment="Cleared the cache")
    rows = move(crew.l1, ticket, "close", reply="Please try again now.")
    assert process_mail(rows) == {}
    author_mail = [r for r in rows if "client@example.com" in r.recipients]
    assert {r.event for r in author_mail} == {catalog.CHANGED_BY_SUPPORT_FOR_AUTHOR}
    assert fresh(ticket).closed_at is not None


def test_process_templates_are_editable_like_the_others(crew, cast, make_ticket):
    from otklik.notifications.services import mail_template_save

    assert catalog.PROCESS_TURN in catalog.EVENT_LABELS and catalog.PROCESS_ALERT in catalog.EVENT_LABELS
    mail_template_save(
        actor=cast.admin,
        event=catalog.PROCESS_TURN,
        language="ru",
        subject="Ход роли {{ process_role }}",
        body="{{ process_move }} -> {{ process_state }}",
    )
    assert MailTemplate.objects.filter(event=catalog.PROCESS_TURN).count() == 1
    ticket = make_ticket()
    rows = move(crew.l1, ticket, "escalate", comment="why")
    [mail] = [r for r in rows if r.event == catalog.PROCESS_TURN]
    with translation.override("ru"):
        assert mail.subject == f"[TID#{ticket.pk}] Ход роли Менеджер инцидентов"
    assert "-> Разбор менеджером инцидентов" in mail.body_text


def test_reopen_by_the_client_tells_the_first_line(crew, cast, make_ticket):
    from otklik.tickets import services

    ticket = make_ticket()
    move(crew.l1, ticket, "solve", comment="Cleared the cache")
    move(crew.l1, ticket, "close", reply="Please try again now.")
    last = OutboxMessage.objects.order_by("-id").values_list("id", flat=True).first()
    services.ticket_reopen(actor=cast.client, ticket=fresh(ticket))
    rows = OutboxMessage.objects.filter(id__gt=last)
    assert process_mail(rows) == {catalog.PROCESS_TURN: {"l1@example.com"}}


def test_process_mailing_rules_skip_the_actor_and_tell_each_person_once():
    from otklik.notifications.recipients import Person, mailings_for_process_move

    ann, bob, cid = (Person(f"{n}@x.example", n, user_id=i) for i, n in enumerate(("ann", "bob", "cid"), 1))
    mailings = mailings_for_process_move(turn=(ann, bob), alerted=(bob, cid, cid), actor_id=ann.user_id)
    assert [(m.event, [p.email for p in m.to]) for m in mailings] == [
        (catalog.PROCESS_TURN, ["bob@x.example"]),
        (catalog.PROCESS_ALERT, ["cid@x.example"]),
    ]
    assert mailings_for_process_move(turn=(), alerted=(), actor_id=None) == []
