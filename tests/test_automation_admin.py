"""The rules' configuration pages: admins only, the service's checks, the dry-run on the page and as an action."""

import html

import pytest
from django.urls import reverse

from otklik.automation.models import AutomationRule
from otklik.automation.services import rule_create
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Refunds",
    "active": "on",
    "order": "10",
    "event": "created",
    "hours": "",
    "match": "all",
    "conditions-rows": "1",
    "conditions-0-field": "message",
    "conditions-0-op": "contains",
    "conditions-0-text": "refund",
    "add_tags": "refund",
}


def entry(kind: str, en: str, ru: str = "") -> DictionaryEntry:
    return DictionaryEntry.objects.create(kind=kind, name_en=en, name_ru=ru or en)


def rows(*conditions: dict, empty: int = 3) -> dict:
    """The posted rows of the conditions' widget: the given ones, then empty ones as the page sends."""
    data = {"conditions-rows": str(len(conditions) + empty)}
    for i, condition in enumerate(conditions):
        data.update({f"conditions-{i}-{key}": value for key, value in condition.items()})
    for i in range(len(conditions), len(conditions) + empty):
        data.update({f"conditions-{i}-field": "", f"conditions-{i}-op": "is"})
    return data


def test_admin_adds_a_rule_through_the_form(cast):
    page = logged_in(cast.admin)
    response = page.post(reverse("admin:automation_automationrule_add"), {**FORM, "run_as": cast.admin.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = AutomationRule.objects.get()
    assert rule.actions == {"add_tags": ["refund"]} and rule.run_as == cast.admin
    assert rule.conditions == [{"field": "message", "op": "contains", "value": "refund"}]


def test_admin_form_rows_and_fields_build_the_rules_json(cast):
    high = entry(DictionaryKind.CRITICALITY, "High", "Высокая")
    billing = entry(DictionaryKind.CATEGORY, "Billing", "Оплата")
    refunds = entry(DictionaryKind.CATEGORY, "Refunds", "Возвраты")
    data = {
        **{k: v for k, v in FORM.items() if not k.startswith("conditions") and k != "add_tags"},
        **rows(
            {"field": "criticality", "op": "is", "choice": f"criticality:{high.pk}"},
            # "is one of" takes names (any letter case) or ids in the text.
            {"field": "category", "op": "in", "text": f"billing, {refunds.pk}"},
        ),
        "match": "any",
        "set_responsible": "none",
        "add_tags": "vip, money",
        "notify_users": [str(cast.staff.pk)],
        "notify_responsible": "on",
        "notify_text": "Look at it",
        "run_as": cast.admin.pk,
    }
    response = logged_in(cast.admin).post(reverse("admin:automation_automationrule_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = AutomationRule.objects.get()
    assert rule.match == "any"
    assert rule.conditions == [
        {"field": "criticality", "op": "is", "value": high.pk},
        {"field": "category", "op": "in", "value": [billing.pk, refunds.pk]},
    ]
    assert rule.actions == {
        "changes": {"responsible": None},
        "add_tags": ["vip", "money"],
        "notify": {"users": [cast.staff.pk], "responsible": True, "text": "Look at it"},
    }


def test_admin_change_form_shows_the_rules_rows_and_fields_back(cast):
    high = entry(DictionaryKind.CRITICALITY, "High", "Высокая")
    billing = entry(DictionaryKind.CATEGORY, "Billing", "Оплата")
    rule = rule_create(
        actor=cast.admin,
        data={
            "name": "VIP first",
            "event": "created",
            "conditions": [
                {"field": "criticality", "op": "is", "value": high.pk},
                {"field": "category", "op": "not_in", "value": [billing.pk]},
                {"field": "title", "op": "contains", "value": "refund"},
            ],
            "actions": {"changes": {"criticality": high.pk}, "add_tags": ["vip"], "transition": "escalate"},
        },
    )
    body = (
        logged_in(cast.admin, "ru")
        .get(reverse("admin:automation_automationrule_change", args=[rule.pk]))
        .content.decode()
    )
    assert f'<option value="criticality:{high.pk}" selected>Высокая</option>' in body
    assert 'name="conditions-1-text" value="Оплата"' in body
    assert '<option value="not_in" selected>' in body
    assert 'name="conditions-2-text" value="refund"' in body
    assert 'name="conditions-rows" value="6"' in body  # three rows and three empty ones
    assert f'<option value="{high.pk}" selected>Высокая</option>' in body  # set criticality
    assert 'name="add_tags" value="vip"' in body and 'value="escalate"' in body


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"field": "criticality", "op": "is", "choice": "criticality:999999"},
            "Condition 1: no such criticality.",
        ),
        (
            {"field": "is_postponed", "op": "contains", "choice": "is_postponed:true"},
            "Condition 1: the field “is_postponed” takes one of: is, is_not.",
        ),
        (
            {"field": "criticality", "op": "is", "text": "Nonexistent"},
            "Condition 1: enter an id (a whole number).",
        ),
    ],
)
def test_admin_form_bad_row_shows_the_services_message_and_saves_nothing(cast, row, message):
    data = {**{k: v for k, v in FORM.items() if not k.startswith("conditions")}, **rows(row)}
    response = logged_in(cast.admin).post(
        reverse("admin:automation_automationrule_add"), {**data, "run_as": cast.admin.pk}
    )
    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    assert not AutomationRule.objects.exists()


def test_admin_form_value_from_another_fields_list_is_refused(cast):
    billing = entry(DictionaryKind.CATEGORY, "Billing")
    data = {
        **{k: v for k, v in FORM.items() if not k.startswith("conditions")},
        **rows({"field": "criticality", "op": "is", "choice": f"category:{billing.pk}"}),
    }
    response = logged_in(cast.admin).post(reverse("admin:automation_automationrule_add"), data)
    assert response.status_code == 200
    assert "Condition 1: choose a value from the list of “criticality”." in html.unescape(
        response.content.decode()
    )
    assert not AutomationRule.objects.exists()


def test_admin_form_without_actions_says_what_is_missing(cast):
    data = {k: v for k, v in FORM.items() if k != "add_tags"}
    response = logged_in(cast.admin).post(reverse("admin:automation_automationrule_add"), data)
    assert response.status_code == 200
    assert "Say what the rule does." in response.content.decode()
    assert not AutomationRule.objects.exists()


def test_admin_form_shows_the_services_field_messages(cast):
    page = logged_in(cast.admin)
    bad = {**FORM, "conditions-0-field": "colour", "run_as": cast.admin.pk}
    response = page.post(reverse("admin:automation_automationrule_add"), bad)
    assert response.status_code == 200
    assert "unknown field" in response.content.decode()
    assert not AutomationRule.objects.exists()


def test_demo_user_reads_the_rule_but_cannot_save_it(cast):
    high = entry(DictionaryKind.CRITICALITY, "High")
    rule = rule_create(
        actor=cast.admin,
        data={
            "name": "VIP first",
            "event": "created",
            "conditions": [{"field": "criticality", "op": "is", "value": high.pk}],
            "actions": {"add_tags": ["vip"]},
        },
    )
    page = logged_in(cast.demo)
    url = reverse("admin:automation_automationrule_change", args=[rule.pk])
    body = page.get(url).content.decode()
    assert "<li>criticality is High</li>" in body and "vip" in body
    assert 'name="conditions-rows"' not in body  # no form to fill
    response = page.post(url, {**FORM, "name": "Changed"})
    assert response.status_code in (302, 403)
    rule.refresh_from_db()
    assert rule.name == "VIP first" and rule.actions == {"add_tags": ["vip"]}
    add = page.post(reverse("admin:automation_automationrule_add"), FORM)
    assert add.status_code in (302, 403)
    assert AutomationRule.objects.count() == 1


def test_rule_page_shows_matching_tickets_and_firings(cast, make_ticket):
    rule = rule_create(
        actor=cast.admin,
        data={
            "name": "Refunds",
            "event": "client_replied",
            "conditions": [{"field": "message", "op": "contains", "value": "refund"}],
            "actions": {"add_tags": ["refund"]},
        },
    )
    ticket = make_ticket(title="Money back", message="Please refund me")
    body = (
        logged_in(cast.admin)
        .get(reverse("admin:automation_automationrule_change", args=[rule.pk]))
        .content.decode()
    )
    assert f"#{ticket.pk}" in body and "Money back" in body


def test_dry_run_action_lists_matches(cast, make_ticket):
    rule = rule_create(
        actor=cast.admin, data={"name": "All", "event": "created", "actions": {"add_tags": ["x"]}}
    )
    ticket = make_ticket(title="Seen by the dry-run")
    response = logged_in(cast.admin).post(
        reverse("admin:automation_automationrule_changelist"),
        {"action": "dry_run", "_selected_action": [rule.pk]},
        follow=True,
    )
    assert f"#{ticket.pk} Seen by the dry-run" in response.content.decode()


@pytest.mark.parametrize("who", ["staff", "client"])
def test_rule_pages_closed_to_non_admins(cast, who):
    response = logged_in(getattr(cast, who)).get(reverse("admin:automation_automationrule_changelist"))
    assert response.status_code in (302, 403)
