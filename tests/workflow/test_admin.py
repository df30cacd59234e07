"""The support process's configuration pages (F-30): roles, versions with their diagram, upload, activate."""

from __future__ import annotations

import copy
import html as html_lib
import json
import xml.etree.ElementTree as ET

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from otklik.workflow.models import ProcessVersion, Role
from otklik.workflow.selectors import role_codes_of, role_members, version_for_new_tickets
from otklik.workflow.services import process_version_save
from tests.conftest import logged_in

from .test_cli import BROKEN, _broken
from .test_diagram import SHIPPED

VERSIONS = reverse("admin:workflow_processversion_changelist")
UPLOAD = reverse("admin:workflow_processversion_upload")
ROLES = reverse("admin:workflow_role_changelist")


@pytest.fixture
def admin(cast) -> Client:
    return logged_in(cast.admin)


def page(response) -> str:
    return response.content.decode()


def shipped() -> ProcessVersion:
    return ProcessVersion.objects.get(code="three-tier", version=1)


def _changed(**names) -> dict:
    data = copy.deepcopy(SHIPPED)
    for state, name in names.items():
        data["states"][state]["name"]["en"] = name
    return data


def test_version_list_shows_code_version_active_and_new_tickets(admin):
    text = page(admin.get(VERSIONS))
    assert "three-tier" in text and "Three-tier support" in text
    assert UPLOAD in text


def test_version_page_shows_diagram_inline_and_json(admin):
    response = admin.get(reverse("admin:workflow_processversion_change", args=[shipped().pk]))
    assert response.status_code == 200
    text = page(response)
    start = text.index('<div class="diagram-frame" id="process-diagram">') + len(
        '<div class="diagram-frame" id="process-diagram">'
    )
    svg = text[start : text.index("</svg>", start) + len("</svg>")]
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "Change board" in svg and "Incident manager" in svg
    assert "<script" not in svg
    definition = text[text.index('id="process-definition">') :]
    assert html_lib.escape('"code": "three-tier"', quote=True) in definition or '"code": "three-tier"' in (
        html_lib.unescape(definition)
    )
    assert reverse("admin:workflow_processversion_edit", args=[shipped().pk]) in text


def test_version_page_escapes_malicious_names(admin, cast):
    data = copy.deepcopy(SHIPPED)
    data["states"]["triage"]["name"] = {"ru": "<script>alert(1)</script>", "en": "<script>alert(1)</script>"}
    version = process_version_save(actor=cast.admin, data=data, activate=False)
    text = page(admin.get(reverse("admin:workflow_processversion_change", args=[version.pk])))
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;alert(1)" in text


def test_version_diagram_svg_is_served_as_image(admin):
    response = admin.get(
        reverse("admin:workflow_processversion_diagram", args=[shipped().pk]) + "?current=board"
    )
    assert response["Content-Type"].startswith("image/svg+xml")
    assert 'data-state="board" aria-current="step"' in page(response)


def test_version_json_downloads_the_definition(admin):
    response = admin.get(reverse("admin:workflow_processversion_json", args=[shipped().pk]))
    assert json.loads(response.content) == shipped().definition
    assert "attachment" in response["Content-Disposition"]


def test_version_is_immutable_in_admin(admin):
    version = shipped()
    change = reverse("admin:workflow_processversion_change", args=[version.pk])
    admin.post(change, {"definition": "{}", "active": ""})
    version.refresh_from_db()
    assert version.definition == SHIPPED and version.active
    assert admin.get(reverse("admin:workflow_processversion_add")).status_code in (403, 302, 404)
    assert admin.post(reverse("admin:workflow_processversion_delete", args=[version.pk])).status_code in (
        403,
        302,
        404,
    )
    assert ProcessVersion.objects.filter(pk=version.pk).exists()


@pytest.mark.parametrize(("change", "words"), BROKEN)
def test_upload_broken_definition_lists_the_problem_and_saves_nothing(admin, change, words):
    data = _broken(change)
    response = admin.post(UPLOAD, {"definition": json.dumps(data), "activate": "on", "_save": "1"})
    assert response.status_code == 200
    text = html_lib.unescape(page(response))
    problems = text[text.index('id="definition-problems"') :]
    problems = problems[: problems.index("</ul>")]
    assert any(all(word in item for word in words) for item in problems.split("<li>")), problems
    assert ProcessVersion.objects.filter(code="three-tier").count() == 1


def test_upload_lists_every_problem(admin):
    from otklik.workflow.services import definition_problems

    from .test_cli import _no_role, _unknown_action, _unknown_field, _unreachable

    data = _broken(lambda d: [f(d) for f in (_unreachable, _no_role, _unknown_action, _unknown_field)])
    text = page(admin.post(UPLOAD, {"definition": json.dumps(data), "_save": "1"}))
    problems = text[text.index('id="definition-problems"') :]
    problems = problems[: problems.index("</ul>")]
    assert problems.count("<li>") == len(definition_problems(data)) >= 4


def test_upload_not_json_says_so(admin):
    text = page(admin.post(UPLOAD, {"definition": "{oops", "_save": "1"}))
    assert "not valid JSON" in text
    assert ProcessVersion.objects.count() == 1


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a": ' * 50_000, "\x00{}", "x" * 1_000_001])
def test_upload_of_a_pathological_text_says_what_is_wrong(admin, text):
    response = admin.post(UPLOAD, {"definition": text, "_save": "1"})
    assert response.status_code == 200
    assert 'class="problems"' in page(response)
    assert ProcessVersion.objects.count() == 1


@pytest.mark.parametrize("escape", ["\\ud800", "\\u0000"])
def test_upload_of_a_name_no_database_stores_is_a_problem_not_a_crash(admin, escape):
    text = json.dumps(SHIPPED, ensure_ascii=False).replace(
        "Incident manager's triage", f"Incident manager's tri{escape}age", 1
    )
    assert escape in text
    response = admin.post(UPLOAD, {"definition": text, "_save": "1"})
    assert response.status_code == 200
    assert "triage" in page(response) and 'class="problems"' in page(response)
    assert ProcessVersion.objects.count() == 1


def test_upload_check_saves_nothing(admin):
    text = page(admin.post(UPLOAD, {"definition": json.dumps(_changed(work="Hammering")), "_check": "1"}))
    assert 'id="definition-ok"' in text
    assert ProcessVersion.objects.count() == 1


def test_upload_valid_file_saves_next_version_and_activates_it(admin, cast):
    upload = SimpleUploadedFile(
        "p.json", json.dumps(_changed(work="Hammering")).encode(), content_type="application/json"
    )
    response = admin.post(UPLOAD, {"definition": "", "file": upload, "activate": "on", "_save": "1"})
    version = ProcessVersion.objects.get(code="three-tier", version=2)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:workflow_processversion_change", args=[version.pk])
    assert version.active and version.starts_new_tickets and version.created_by == cast.admin
    assert version_for_new_tickets() == version  # the configuration cache was told
    assert not shipped().active


def test_edit_as_new_version_starts_from_the_json(admin):
    text = page(admin.get(reverse("admin:workflow_processversion_edit", args=[shipped().pk])))
    assert (
        html_lib.escape('"start": "l1"', quote=False) in text or "&quot;start&quot;: &quot;l1&quot;" in text
    )


def test_activate_older_version_and_new_tickets_start_there(admin, cast):
    newer = process_version_save(actor=cast.admin, data=_changed(work="Hammering"))
    assert version_for_new_tickets() == newer
    old = shipped()
    response = admin.post(
        reverse("admin:workflow_processversion_activate", args=[old.pk]), {"starts_new_tickets": "1"}
    )
    assert response.status_code == 302
    old.refresh_from_db()
    newer.refresh_from_db()
    assert old.active and old.starts_new_tickets and not newer.active
    assert version_for_new_tickets() == old


def test_activate_get_leads_to_the_version_page(admin):
    version = shipped()
    response = admin.get(reverse("admin:workflow_processversion_activate", args=[version.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:workflow_processversion_change", args=[version.pk])


def test_demo_reads_and_checks_but_saves_and_activates_nothing(cast, admin):
    newer = process_version_save(actor=cast.admin, data=_changed(work="Hammering"))
    demo = logged_in(cast.demo)
    old = shipped()
    demo.post(reverse("admin:workflow_processversion_activate", args=[old.pk]), {"starts_new_tickets": "1"})
    old.refresh_from_db()
    assert not old.active and version_for_new_tickets() == newer
    form = page(demo.get(UPLOAD))
    assert 'name="_check"' in form and 'name="_save"' not in form
    checked = page(demo.post(UPLOAD, {"definition": json.dumps(_changed(work="Drilling")), "_check": "1"}))
    assert 'id="definition-ok"' in checked
    demo.post(UPLOAD, {"definition": json.dumps(_changed(work="Drilling")), "_save": "1"})
    assert ProcessVersion.objects.filter(code="three-tier").count() == 2


def test_staff_without_admin_cannot_reach_the_pages(cast):
    staff = logged_in(cast.staff)
    for url in (VERSIONS, UPLOAD, ROLES):
        assert staff.get(url).status_code in (302, 403)


def test_role_list_shows_holders_and_states(admin, cast):
    role = Role.objects.get(code="tester")
    role.users.add(cast.staff)
    text = page(admin.get(ROLES))
    assert "tester" in text and "testing" in text
    text = page(admin.get(reverse("admin:workflow_role_change", args=[role.pk])))
    assert "Testing" in text or "testing" in text
    assert reverse("admin:workflow_processversion_change", args=[shipped().pk]) in text


def test_role_save_sets_holders_and_forgets_cached_roles(admin, cast):
    role = Role.objects.get(code="tester")
    group = Group.objects.create(name="QA")
    assert "tester" not in role_codes_of(cast.staff)
    response = admin.post(
        reverse("admin:workflow_role_change", args=[role.pk]),
        {
            "name": "Тестировщик",
            "name_en": "Quality checker",
            "sort": "10",
            "users": [str(cast.staff.pk)],
            "groups": [str(group.pk)],
            "instructions": "Проверьте.",
            "instructions_en": "Check it.",
        },
    )
    assert response.status_code == 302, page(response)
    role.refresh_from_db()
    assert role.name_en == "Quality checker" and role.instructions_en == "Check it."
    assert list(role.users.all()) == [cast.staff] and list(role.groups.all()) == [group]
    assert "tester" in role_codes_of(cast.staff)
    assert list(role_members("tester")) == [cast.staff]


def test_role_named_by_the_active_process_cannot_be_deleted(admin):
    role = Role.objects.get(code="integrator")
    assert (
        admin.post(reverse("admin:workflow_role_delete", args=[role.pk]), {"post": "yes"}).status_code == 403
    )
    admin.post(ROLES, {"action": "delete_selected", "_selected_action": [str(role.pk)], "post": "yes"})
    assert Role.objects.filter(code="integrator").exists()


def test_role_nobody_names_is_deleted(admin):
    role = Role.objects.create(code="spare", name="Запасная")
    response = admin.post(reverse("admin:workflow_role_delete", args=[role.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Role.objects.filter(code="spare").exists()
