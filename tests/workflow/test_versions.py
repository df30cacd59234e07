"""Process definitions are versioned data: an edit is a new version, running tickets stay on theirs (F-30)."""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.utils import translation

import otklik.workflow
from otklik.core.errors import ValidationFailed
from otklik.dictionaries.models import DictionaryEntry
from otklik.tickets.models import Message, MessageKind
from otklik.workflow.models import ProcessVersion, Role, TicketProcess
from otklik.workflow.services import process_version_save, workflow_transition
from tests.helpers import fresh

SHIPPED = Path(otklik.workflow.__file__).parent / "shipped" / "three-tier.json"


def shipped() -> dict:
    return json.loads(SHIPPED.read_text(encoding="utf-8"))


def test_the_shipped_process_is_installed_for_new_tickets(db):
    version = ProcessVersion.objects.get(code="three-tier")
    assert (version.version, version.active, version.starts_new_tickets) == (1, True, True)
    assert version.definition == shipped()
    # In the order the file gives: the order of the states is the admin's (lists, diagram, export).
    assert list(version.definition["states"]) == list(shipped()["states"])
    assert set(Role.objects.values_list("code", flat=True)) >= {
        "l1_operator", "incident_manager", "tester", "it_operator", "developer", "change_board", "integrator",
    }  # fmt: skip
    assert all(role.instructions and role.instructions_en for role in Role.objects.all())


def test_an_edited_definition_is_a_new_version_and_running_tickets_stay_on_theirs(crew, cast, make_ticket):
    before = make_ticket(title="Started on version 1")
    edited = shipped()
    edited["transitions"] = [t for t in edited["transitions"] if t["code"] != "solve"]  # no solving at L1
    version = process_version_save(actor=cast.admin, data=edited)
    assert version.version == 2 and version.active and version.starts_new_tickets
    assert not ProcessVersion.objects.get(code="three-tier", version=1).active
    after = make_ticket(title="Started on version 2")
    assert TicketProcess.objects.get(ticket=before).version.version == 1
    assert TicketProcess.objects.get(ticket=after).version == version
    workflow_transition(actor=crew.l1, ticket=fresh(before), transition="solve", values={})
    from otklik.core.errors import Conflict

    with pytest.raises(Conflict):
        workflow_transition(actor=crew.l1, ticket=fresh(after), transition="solve", values={})
    assert process_version_save(actor=cast.admin, data=edited) == version  # the same text: no new version


def test_a_definition_keeps_the_order_of_its_states_and_a_new_order_is_a_new_version(cast):
    data = shipped()
    data["states"] = dict(reversed(list(data["states"].items())))
    version = process_version_save(actor=cast.admin, data=data)
    assert version.version == 2
    stored = ProcessVersion.objects.get(pk=version.pk).definition
    assert list(stored["states"]) == list(data["states"])
    assert list(stored["states"]["l1"]) == list(data["states"]["l1"])


def test_the_upgrade_gives_the_shipped_version_its_order_back(db):
    # What PostgreSQL's jsonb left before definitions were kept as text: the keys re-sorted.
    scrambled = shipped()
    scrambled["states"] = dict(sorted(scrambled["states"].items(), key=lambda item: (len(item[0]), item[0])))
    ProcessVersion.objects.filter(code="three-tier").update(definition=scrambled)
    migration = importlib.import_module("otklik.workflow.migrations.0003_definition_keeps_order")
    migration.shipped_order_restore(django_apps, SimpleNamespace(connection=SimpleNamespace(alias="default")))
    version = ProcessVersion.objects.get(code="three-tier")
    assert list(version.definition["states"]) == list(shipped()["states"])


def test_an_invalid_definition_is_never_saved_and_every_problem_is_named(cast):
    broken = shipped()
    broken["states"]["orphan"] = {"name": {"ru": "Сирота", "en": "Orphan"}, "role": "tester"}
    broken["transitions"][0]["roles"] = []
    with (
        translation.override("en"),
        pytest.raises(ValidationFailed) as error,
    ):  # the messages are read in English
        process_version_save(actor=cast.admin, data=broken)
    problems = error.value.errors["definition"]
    assert any("orphan" in p and "unreachable" in p for p in problems)
    assert any("orphan" in p and "dead end" in p for p in problems)
    assert any("l1.to_administration" in p and "no role" in p for p in problems)
    assert ProcessVersion.objects.filter(code="three-tier").count() == 1


def test_a_refused_definition_creates_none_of_the_roles_it_describes(cast):
    broken = shipped()
    broken["roles"]["auditor"] = {"name": {"ru": "Аудитор", "en": "Auditor"}}
    broken["roles"]["Not A Code!" * 5] = {"name": "Nameless"}
    broken["states"]["l1"]["role"] = "auditor"
    with translation.override("en"), pytest.raises(ValidationFailed) as error:
        process_version_save(actor=cast.admin, data=broken)
    problems = error.value.errors["definition"]
    assert any("Not A Code!" in p and "1 to 40 lowercase" in p for p in problems)
    assert any("Not A Code!" in p and '{"ru": ..., "en": ...}' in p for p in problems)
    assert not Role.objects.filter(code="auditor").exists()
    del broken["roles"]["Not A Code!" * 5]
    assert process_version_save(actor=cast.admin, data=broken).version == 2
    assert Role.objects.filter(code="auditor").exists()


def test_a_custom_process_sets_fields_posts_a_hidden_note_and_takes_the_status(cast, make_ticket):
    status = DictionaryEntry.objects.filter(kind="status", active=True).order_by("sort").last()
    definition = {
        "code": "tiny",
        "name": {"ru": "Малый", "en": "Tiny"},
        "start": "new",
        "roles": {"desk": {"name": {"ru": "Стойка", "en": "Desk"}, "instructions": {"ru": "Отвечайте.", "en": "Answer."}}},
        "states": {
            "new": {"name": {"ru": "Новое", "en": "New"}, "stage": {"ru": "Принято", "en": "Received"}, "role": "desk", "tier": "L1"},
            "done": {"name": {"ru": "Готово", "en": "Done"}, "final": True},
        },
        "transitions": [
            {
                "code": "finish", "from": "new", "to": "done", "name": {"ru": "Завершить", "en": "Finish"},
                "roles": ["desk"], "fields": [{"name": "note", "required": True}, "status", "responsible"],
                "actions": [{"type": "note"}, {"type": "set", "field": "ticket_type", "value": "incident"}, {"type": "close"}],
            }
        ],
    }  # fmt: skip
    version = process_version_save(actor=cast.admin, data=copy.deepcopy(definition), starts_new_tickets=True)
    assert version.starts_new_tickets and Role.objects.get(code="desk").name_en == "Desk"
    Role.objects.get(code="desk").users.add(cast.staff)
    ticket = make_ticket()
    assert TicketProcess.objects.get(ticket=ticket).version == version and fresh(ticket).tier == "L1"
    workflow_transition(
        actor=cast.staff,
        ticket=fresh(ticket),
        transition="finish",
        values={"note": "Internal: duplicate of #1", "status": status.pk, "responsible": cast.staff2.pk},
    )
    ticket = fresh(ticket)
    assert ticket.status == status and ticket.responsible == cast.staff2 and ticket.ticket_type == "incident"
    assert ticket.closed_at is not None
    note = Message.objects.filter(ticket=ticket, kind=MessageKind.HIDDEN).get()
    assert note.body == "Internal: duplicate of #1"


def test_a_definition_survives_a_dump_and_a_load_in_its_order(db):
    from django.core import serializers

    version = ProcessVersion.objects.get(code="three-tier")
    [loaded] = serializers.deserialize("json", serializers.serialize("json", [version]))
    assert loaded.object.definition == version.definition
    assert list(loaded.object.definition["states"]) == list(shipped()["states"])
