"""The rules' configuration pages: admins only, the service's checks, the dry-run on the page and as an action."""

import pytest
from django.urls import reverse

from otklik.automation.models import AutomationRule
from otklik.automation.services import rule_create
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Refunds",
    "active": "on",
    "order": "10",
    "event": "created",
    "hours": "",
    "match": "all",
    "conditions": '[{"field": "message", "op": "contains", "value": "refund"}]',
    "actions": '{"add_tags": ["refund"]}',
}


def test_admin_adds_a_rule_through_the_form(cast):
    page = logged_in(cast.admin)
    response = page.post(reverse("admin:automation_automationrule_add"), {**FORM, "run_as": cast.admin.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = AutomationRule.objects.get()
    assert rule.actions == {"add_tags": ["refund"]} and rule.run_as == cast.admin


def test_admin_form_shows_the_services_field_messages(cast):
    page = logged_in(cast.admin)
    bad = {**FORM, "conditions": '[{"field": "colour", "op": "is", "value": 1}]', "run_as": cast.admin.pk}
    response = page.post(reverse("admin:automation_automationrule_add"), bad)
    assert response.status_code == 200
    assert "unknown field" in response.content.decode()
    assert not AutomationRule.objects.exists()


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
