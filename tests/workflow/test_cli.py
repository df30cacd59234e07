"""`otklik workflow validate | import | export | diagram`, and validation naming every problem (F-30)."""

from __future__ import annotations

import copy
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from otklik.workflow.models import ProcessVersion
from otklik.workflow.services import definition_problems

from .test_diagram import SHIPPED


def workflow(*args: str) -> str:
    out = io.StringIO()
    with translation.override("en"):  # the problems are written in the active language
        call_command("workflow", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def workflow_error(*args: str) -> tuple[CommandError, str]:
    out = io.StringIO()
    with pytest.raises(CommandError) as caught, translation.override("en"):
        call_command("workflow", *args, stdout=out, stderr=io.StringIO())
    return caught.value, out.getvalue()


def _file(tmp_path: Path, data, name: str = "process.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def _broken(change) -> dict:
    data = copy.deepcopy(SHIPPED)
    change(data)
    return data


def _transition(data: dict, source: str, code: str) -> dict:
    return next(t for t in data["transitions"] if t["from"] == source and t["code"] == code)


def _unreachable(data):
    data["states"]["limbo"] = {"name": {"ru": "Лимб", "en": "Limbo"}, "role": "tester"}
    data["transitions"].append({"code": "out", "from": "limbo", "to": "closed", "roles": ["tester"]})


def _dead_end(data):
    data["transitions"] = [t for t in data["transitions"] if t["from"] != "testing"]
    # testing stays reachable from work, but nothing leaves it


def _no_role(data):
    _transition(data, "work", "done")["roles"] = []


def _unknown_action(data):
    _transition(data, "triage", "accident")["actions"].append({"type": "launch_rocket"})


def _unknown_field(data):
    _transition(data, "planning", "plan")["fields"].append({"name": "horoscope", "required": True})


BROKEN = [
    pytest.param(_unreachable, ["limbo", "unreachable"], id="unreachable-state"),
    pytest.param(_dead_end, ["testing", "dead end"], id="dead-end"),
    pytest.param(_no_role, ["work.done", "no role"], id="transition-without-role"),
    pytest.param(
        _unknown_action, ["triage.accident", "unknown action", "launch_rocket"], id="unknown-action"
    ),
    pytest.param(_unknown_field, ["planning.plan", "unknown field", "horoscope"], id="unknown-field"),
]


@pytest.mark.parametrize(("change", "words"), BROKEN)
def test_definition_problems_broken_definition_names_the_culprit(change, words):
    with translation.override("en"):
        problems = definition_problems(_broken(change))
    assert any(all(word in problem for word in words) for problem in problems), problems


@pytest.mark.parametrize(("change", "words"), BROKEN)
def test_validate_broken_definition_exits_1_naming_the_culprit(tmp_path, change, words):
    error, out = workflow_error("validate", _file(tmp_path, _broken(change)))
    assert error.returncode == 1
    lines = [line for line in out.splitlines() if line.startswith("- ")]
    assert any(all(word in line for word in words) for line in lines), out


def test_validate_lists_every_problem(tmp_path):
    data = _broken(lambda d: [f(d) for f in (_unreachable, _no_role, _unknown_action, _unknown_field)])
    error, out = workflow_error("validate", _file(tmp_path, data))
    assert error.returncode == 1 and f"{len(definition_problems(data))} problem(s)" in str(error)
    for word in ("limbo", "work.done", "launch_rocket", "horoscope"):
        assert word in out
    assert len([line for line in out.splitlines() if line.startswith("- ")]) == len(definition_problems(data))


def test_validate_shipped_definition_says_ok(tmp_path):
    assert workflow("validate", _file(tmp_path, SHIPPED)).strip().endswith(": OK")


def test_validate_not_json_exits_1(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    error, _ = workflow_error("validate", str(path))
    assert error.returncode == 1 and "JSON" in str(error)


def test_validate_deeply_nested_json_exits_1(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000, encoding="utf-8")
    error, _ = workflow_error("validate", str(path))
    assert error.returncode == 1 and "JSON" in str(error)


def test_validate_missing_file_fails(tmp_path):
    error, _ = workflow_error("validate", str(tmp_path / "nope.json"))
    assert "Cannot read" in str(error)


@pytest.mark.django_db
def test_import_changed_definition_saves_next_version_and_activates_it(tmp_path):
    data = copy.deepcopy(SHIPPED)
    data["states"]["testing"]["name"]["en"] = "Quality check"
    out = workflow("import", _file(tmp_path, data))
    assert out.strip() == "three-tier version 2 (active)"
    active = ProcessVersion.objects.get(code="three-tier", active=True)
    assert active.version == 2 and active.starts_new_tickets
    assert not ProcessVersion.objects.get(code="three-tier", version=1).active


@pytest.mark.django_db
def test_import_same_definition_again_keeps_the_version(tmp_path):
    assert workflow("import", _file(tmp_path, SHIPPED)).strip() == "three-tier version 1 (active)"
    assert ProcessVersion.objects.filter(code="three-tier").count() == 1


@pytest.mark.django_db
def test_import_broken_definition_saves_nothing_and_lists_problems(tmp_path):
    error, out = workflow_error("import", _file(tmp_path, _broken(_unknown_field)))
    assert error.returncode == 1 and "horoscope" in out
    assert ProcessVersion.objects.filter(code="three-tier").count() == 1


@pytest.mark.django_db
def test_import_inactive_keeps_the_active_version(tmp_path):
    data = copy.deepcopy(SHIPPED)
    data["states"]["work"]["name"]["en"] = "Being worked on"
    assert (
        workflow("import", "--inactive", _file(tmp_path, data)).strip() == "three-tier version 2 (inactive)"
    )
    assert ProcessVersion.objects.get(code="three-tier", active=True).version == 1


@pytest.mark.django_db
def test_export_prints_active_version_that_imports_back_unchanged(tmp_path):
    exported = workflow("export", "three-tier")
    assert json.loads(exported) == ProcessVersion.objects.get(code="three-tier", active=True).definition
    path = tmp_path / "exported.json"
    path.write_text(exported, encoding="utf-8")
    assert workflow("validate", str(path)).strip().endswith(": OK")
    assert workflow("import", str(path)).strip() == "three-tier version 1 (active)"


@pytest.mark.django_db
def test_export_unknown_code_fails_naming_known_ones():
    error, _ = workflow_error("export", "nope")
    assert "nope" in str(error) and "three-tier" in str(error)


@pytest.mark.django_db
def test_diagram_prints_svg_in_the_language_with_current_state():
    svg = workflow("diagram", "three-tier", "--current", "testing", "--language", "en")
    root = ET.fromstring(svg)
    current = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if "current" in (g.get("class") or "")]
    assert [g.get("data-state") for g in current] == ["testing"]
    assert "Tester" in svg and "Change board" in svg
    assert "Коллегия RfC" in workflow("diagram", "three-tier")


@pytest.mark.django_db
def test_diagram_unknown_state_fails_naming_states():
    error, _ = workflow_error("diagram", "three-tier", "--current", "mars")
    assert "mars" in str(error) and "triage" in str(error)


@pytest.mark.django_db
def test_activate_refuses_a_version_naming_a_deleted_role(cast):
    from otklik.core.errors import ValidationFailed
    from otklik.workflow.models import Role
    from otklik.workflow.services import process_version_activate, process_version_save, role_delete

    data = copy.deepcopy(SHIPPED)
    data["roles"]["auditor"] = {"name": {"ru": "Аудитор", "en": "Auditor"}}
    next(t for t in data["transitions"] if t["code"] == "verified")["roles"].append("auditor")
    version = process_version_save(actor=cast.admin, data=data, activate=False)
    role_delete(actor=cast.admin, role=Role.objects.get(code="auditor"))  # no active process names it
    with pytest.raises(ValidationFailed) as caught:
        process_version_activate(actor=cast.admin, version=version)
    assert any("auditor" in problem for problem in caught.value.errors["definition"])
    version.refresh_from_db()
    assert not version.active
    assert ProcessVersion.objects.get(code="three-tier", active=True).version == 1


def test_validate_in_russian_still_names_the_codes(tmp_path):
    out = io.StringIO()
    with pytest.raises(CommandError), translation.override("ru"):
        call_command(
            "workflow", "validate", _file(tmp_path, _broken(_no_role)), stdout=out, stderr=io.StringIO()
        )
    assert "work.done" in out.getvalue()


FUZZ = settings(max_examples=300, deadline=None, database=None)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
PLACES = [
    ("code",), ("name",), ("start",), ("reopen",), ("description",), ("roles",), ("roles", "l1_operator"),
    ("roles", "l1_operator", "name"), ("states",), ("states", "l1"), ("states", "l1", "name"),
    ("states", "l1", "vote"), ("states", "board", "vote", "quorum"), ("transitions",),
    ("transitions", 0), ("transitions", 0, "fields"), ("transitions", 0, "actions"),
    ("transitions", 0, "needs"), ("transitions", 0, "roles"), ("transitions", 0, "name"),
]  # fmt: skip


@FUZZ
@given(place=st.sampled_from(PLACES), value=JSON | st.sampled_from(["\x00", "\ud800", "x" * 300, "я" * 41]))
def test_definition_problems_of_any_damaged_definition_are_a_list(place, value):
    data = copy.deepcopy(SHIPPED)
    target = data
    for key in place[:-1]:
        target = target[key]
    target[place[-1]] = value
    problems = definition_problems(data)
    assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)


@FUZZ
@given(data=JSON)
def test_definition_problems_of_any_json_are_a_list(data):
    assert isinstance(definition_problems(data), list)
