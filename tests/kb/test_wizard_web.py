"""The support wizard's pages (F-20): steps through the web, the prefilled ticket, deflections, bad input."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from otklik.dictionaries.models import DictionaryEntry
from otklik.kb.models import Deflection, DeflectionKind, Question, Section, Visibility
from otklik.kb.wizard_flow import STATE_KEY
from otklik.sla.models import SlaLevel
from otklik.tickets.forms import NEW_TICKET_PREFILL_KEY
from otklik.tickets.models import ModuleOptions, Ticket
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


def category(code: str) -> DictionaryEntry:
    return DictionaryEntry.objects.get(kind="category", code=code)


@pytest.fixture
def tree(db):
    """payments(payment) > card > refunds (leaf, asks title and coupon); payments > invoices; delivery > tracking."""
    s = {}

    def add(key, parent, ru, en, **kw):
        s[key] = Section.objects.create(
            parent=s.get(parent), slug=key, title_ru=ru, title_en=en, sort=len(s), **kw
        )

    add(
        "payments",
        None,
        "Оплата",
        "Payments",
        category=category("payment"),
        description_en="About **paying**.",
    )
    add("card", "payments", "Оплата картой", "Card payments")
    add("refunds", "card", "Возвраты", "Refunds", ask_title=True, ask_coupon=True)
    add("invoices", "payments", "Счета", "Invoices")
    add("delivery", None, "Доставка", "Delivery", category=category("delivery"))
    add("tracking", "delivery", "Отслеживание", "Tracking")
    add("internal", None, "Внутреннее", "Internal", visibility=Visibility.STAFF)
    add("hidden", None, "Скрытое", "Hidden", in_wizard=False)
    q = {
        "how": Question.objects.create(
            section=s["payments"],
            kind="radio",
            label_ru="Как",
            label_en="How did you pay",
            choices="Сайт | Website\nПриложение | App",
            required=True,
        ),
        "twice": Question.objects.create(
            section=s["card"], kind="checkbox", label_ru="Дважды", label_en="Charged twice"
        ),
        "order": Question.objects.create(
            section=s["refunds"], kind="text", label_ru="Номер заказа", label_en="Order number", required=True
        ),
        "items": Question.objects.create(
            section=s["refunds"], kind="multitext", label_ru="Товары", label_en="Items"
        ),
    }
    return s, q


def pick(client, number, section):
    return client.post(reverse("kb:wizard_step", args=[number]), {"pick": section.pk})


def act(client, number, action, **data):
    return client.post(reverse("kb:wizard_step", args=[number]), {"action": action, **data})


def walk_to_refunds(client, tree):
    s, q = tree
    assert client.get(reverse("kb:wizard"))["Location"] == reverse("kb:wizard_step", args=[1])
    assert pick(client, 1, s["payments"]).status_code == 302
    assert act(client, 1, "next", **{f"q{q['how'].pk}": "2"})["Location"] == reverse(
        "kb:wizard_step", args=[2]
    )
    pick(client, 2, s["card"])
    assert act(client, 2, "next", **{f"q{q['twice'].pk}": "on"}).status_code == 302
    pick(client, 3, s["refunds"])


def test_wizard_web_depth_three_path_takes_three_steps_and_files_the_prefilled_ticket(cast, tree):
    s, q = tree
    client = logged_in(cast.client)
    walk_to_refunds(client, tree)
    page = client.get(reverse("kb:wizard_step", args=[3]))
    assert page.status_code == 200 and page.context["step"].final
    assert 'value="done"' in page.content.decode()
    done = act(client, 3, "done", **{f"q{q['order'].pk}": "A-42", "title": "Refund please", "coupon": ""})
    assert done["Location"] == reverse("tickets:client_new") + "?wizard=1"
    form = client.get(done["Location"]).context["form"]
    assert form.initial["title"] == "Refund please"
    assert form.initial["category"] == str(category("payment").pk)
    message = form.initial["message"]
    assert message.startswith("Path: Payments → Card payments → Refunds")
    assert "- How did you pay: App" in message and "- Charged twice: yes" in message
    assert "- Order number: A-42" in message and "- Items: not set" in message
    filed = client.post(
        done["Location"],
        {"title": form.initial["title"], "message": message, "category": form.initial["category"]},
    )
    ticket = Ticket.objects.get()
    assert filed["Location"] == reverse("tickets:client_detail", args=[ticket.pk])
    assert ticket.category == category("payment") and ticket.title == "Refund please"
    assert "Payments → Card payments → Refunds" in ticket.messages.first().body
    assert NEW_TICKET_PREFILL_KEY not in client.session
    # The run ended in a ticket: starting again records no abandonment.
    client.get(reverse("kb:wizard"))
    assert not Deflection.objects.exists()


def test_wizard_web_depth_two_path_ends_on_step_two(cast, tree):
    s, _q = tree
    client = logged_in(cast.client)
    client.get(reverse("kb:wizard"))
    pick(client, 1, s["delivery"])
    act(client, 1, "next")
    pick(client, 2, s["tracking"])
    page = client.get(reverse("kb:wizard_step", args=[2]))
    assert page.context["step"].final and len(page.context["page"].steps) == 2
    assert client.get(reverse("kb:wizard_step", args=[3]))["Location"] == reverse("kb:wizard_step", args=[2])


def test_wizard_web_russian_prefill_uses_the_clients_language(cast, tree):
    s, _q = tree
    client = logged_in(cast.client, language="ru")
    client.get(reverse("kb:wizard"))
    pick(client, 1, s["delivery"])
    act(client, 1, "next")
    pick(client, 2, s["tracking"])
    act(client, 2, "done")
    assert "Доставка → Отслеживание" in client.session[NEW_TICKET_PREFILL_KEY]["message"]


def test_wizard_web_required_question_unanswered_answers_400_with_field_message(cast, tree):
    s, q = tree
    client = logged_in(cast.client)
    client.get(reverse("kb:wizard"))
    pick(client, 1, s["payments"])
    response = act(client, 1, "next")
    assert response.status_code == 400
    assert response.context["form"].errors[f"q{q['how'].pk}"] == ["Choose one of the options."]
    assert client.session[STATE_KEY]["step"] == 1


def test_wizard_web_hides_staff_only_and_out_of_wizard_sections_from_clients(cast, tree):
    client = logged_in(cast.client)
    client.get(reverse("kb:wizard"))
    titles = [t for _id, t, _c in client.get(reverse("kb:wizard_step", args=[1])).context["options"]]
    assert titles == ["Payments", "Delivery"]
    response = pick(client, 1, tree[0]["internal"])
    assert response.status_code == 400


def test_wizard_web_hides_sections_mapped_to_categories_the_sla_does_not_allow(cast, tree):
    group = Group.objects.create(name="delivery-only")
    group.user_set.add(cast.client)
    sla = SlaLevel.objects.create(name_ru="Доставка", name_en="Delivery only", priority=50)
    sla.groups.add(group)
    sla.categories.add(category("delivery"))
    client = logged_in(cast.client)
    client.get(reverse("kb:wizard"))
    titles = [t for _id, t, _c in client.get(reverse("kb:wizard_step", args=[1])).context["options"]]
    assert titles == ["Delivery"]
    assert pick(client, 1, tree[0]["payments"]).status_code == 400
    # Another client without that SLA still sees payments.
    other = logged_in(cast.other_client)
    other.get(reverse("kb:wizard"))
    assert len(other.get(reverse("kb:wizard_step", args=[1])).context["options"]) == 2


@pytest.mark.parametrize(
    "state",
    [
        "not a dict",
        {"path": ["1", None, {"x": 1}], "answers": {"zz": "a"}, "step": "3"},
        {"path": [999999, 5], "answers": {"1": "x" * 100000}, "title": 5, "touched": "yesterday"},
        {"path": [], "answers": [], "step": True, "run": "x" * 500},
    ],
)
def test_wizard_web_tampered_state_is_dropped_never_a_500(cast, tree, state):
    client = logged_in(cast.client)
    session = client.session
    session[STATE_KEY] = state
    session.save()
    for number in (1, 2, 9):
        assert client.get(reverse("kb:wizard_step", args=[number])).status_code in (200, 302)
    assert client.get(reverse("kb:wizard")).status_code == 302


@pytest.mark.parametrize("value", ["abc", "999999", "", "1e3", "\x00"])
def test_wizard_web_unknown_section_pick_answers_400(cast, tree, value):
    client = logged_in(cast.client)
    client.get(reverse("kb:wizard"))
    response = client.post(reverse("kb:wizard_step", args=[1]), {"pick": value})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("value", "message"),
    [("x" * 600, "Enter at most 500 characters."), ("A\x00B", "Null characters are not allowed.")],
)
def test_wizard_web_huge_or_nul_answer_is_a_field_message(cast, tree, value, message):
    s, q = tree
    client = logged_in(cast.client)
    walk_to_refunds(client, tree)
    response = act(client, 3, "done", **{f"q{q['order'].pk}": value, "title": "T"})
    assert response.status_code == 400
    assert response.context["form"].errors[f"q{q['order'].pk}"] == [message]
    assert NEW_TICKET_PREFILL_KEY not in client.session


def test_wizard_web_unknown_action_and_bad_step_answer_4xx_or_redirect(cast, tree):
    client = logged_in(cast.client)
    client.get(reverse("kb:wizard"))
    assert client.post(reverse("kb:wizard_step", args=[1]), {"action": "explode"}).status_code == 400
    assert client.post(reverse("kb:wizard_step", args=[42]), {"action": "next"}).status_code == 302


def test_wizard_web_answered_records_a_deflection_and_thanks(cast, tree):
    s, _q = tree
    client = logged_in(cast.client)
    client.get(reverse("kb:wizard"))
    pick(client, 1, s["payments"])
    response = act(client, 1, "answered")
    assert response["Location"] == reverse("kb:wizard_thanks")
    assert client.get(response["Location"]).status_code == 200
    record = Deflection.objects.get()
    assert (record.kind, record.section, record.user) == (
        DeflectionKind.WIZARD_ANSWERED,
        s["payments"],
        cast.client,
    )
    assert STATE_KEY not in client.session


def test_wizard_web_cancel_records_abandoned_at_the_deepest_section(cast, tree):
    s, q = tree
    client = logged_in(cast.client)
    walk_to_refunds(client, tree)
    assert act(client, 3, "cancel").status_code == 302
    record = Deflection.objects.get()
    assert (record.kind, record.section) == (DeflectionKind.WIZARD_ABANDONED, s["refunds"])


def test_wizard_web_start_over_records_the_earlier_run_abandoned(cast, tree):
    s, _q = tree
    client = logged_in(cast.client)
    client.get(reverse("kb:wizard"))
    pick(client, 1, s["delivery"])
    act(client, 1, "restart")
    assert Deflection.objects.get().kind == DeflectionKind.WIZARD_ABANDONED
    assert client.session[STATE_KEY]["path"] == []


def test_wizard_web_prefilled_form_left_unfiled_counts_abandoned_at_the_next_start(cast, tree):
    s, _q = tree
    client = logged_in(cast.client)
    client.get(reverse("kb:wizard"))
    pick(client, 1, s["delivery"])
    act(client, 1, "next")
    pick(client, 2, s["tracking"])
    act(client, 2, "done")
    client.get(reverse("kb:wizard"))
    record = Deflection.objects.get()
    assert (record.kind, record.section) == (DeflectionKind.WIZARD_ABANDONED, s["tracking"])
    assert NEW_TICKET_PREFILL_KEY not in client.session


def test_wizard_web_skip_forgets_the_run_without_a_record(cast, tree):
    s, _q = tree
    client = logged_in(cast.client)
    client.get(reverse("kb:wizard"))
    pick(client, 1, s["delivery"])
    response = client.get(reverse("kb:wizard_skip"))
    assert response["Location"] == reverse("tickets:client_new") + "?skip_wizard=1"
    assert client.get(response["Location"]).status_code == 200
    client.get(reverse("kb:wizard"))
    assert not Deflection.objects.exists()


def test_wizard_web_demo_access_walks_but_records_nothing(cast, tree):
    client = logged_in(cast.demo)
    client.get(reverse("kb:wizard"))
    pick(client, 1, tree[0]["delivery"])
    assert act(client, 1, "answered").status_code == 302
    assert not Deflection.objects.exists()


def test_wizard_web_without_sections_goes_to_the_plain_form(cast):
    response = logged_in(cast.client).get(reverse("kb:wizard"))
    assert response["Location"] == reverse("tickets:client_new") + "?skip_wizard=1"


@pytest.mark.parametrize(("enabled", "link"), [(True, "/wizard/"), (False, "/tickets/new/")])
def test_module_option_wizard_enabled_decides_where_ask_a_question_goes(cast, tree, enabled, link):
    ModuleOptions.objects.update_or_create(pk=1, defaults={"wizard_enabled": enabled})
    page = logged_in(cast.client).get(reverse("tickets:client_list")).content.decode()
    assert f'href="{link}"' in page
    assert 'href="/wizard/"' not in logged_in(cast.staff).get(reverse("tickets:staff_list")).content.decode()


def test_wizard_admin_pages_and_preview_render_for_an_admin(cast, tree):
    s, q = tree
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", "root@example.com", "pass-Word-123")
    client = logged_in(admin)
    for url in (
        reverse("admin:kb_question_changelist"),
        reverse("admin:kb_question_add"),
        reverse("admin:kb_question_change", args=[q["how"].pk]),
        reverse("admin:kb_section_change", args=[s["refunds"].pk]),
        reverse("admin:tickets_moduleoptions_changelist"),
    ):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
    assert (
        b"wizard_enabled"
        in client.get(reverse("admin:tickets_moduleoptions_changelist"), follow=True).content
    )
    assert (
        b"questions-TOTAL_FORMS"
        in client.get(reverse("admin:kb_section_change", args=[s["refunds"].pk])).content
    )


def test_wizard_admin_preview_walks_as_an_sla_without_filing_or_recording(cast, tree):
    s, q = tree
    sla = SlaLevel.objects.create(name_ru="Доставка", name_en="Delivery only")
    sla.categories.add(category("delivery"))
    client = logged_in(cast.admin)
    base = reverse("admin:kb_wizard_preview")
    page = client.get(base, {"sla": sla.pk})
    assert page.status_code == 200
    assert [t for _i, t, _c in page.context["options"]] == ["Delivery"]
    url = f"{base}?sla={sla.pk}&step=1"
    assert client.post(url, {"pick": s["delivery"].pk}).status_code == 302
    client.post(url, {"action": "next"})
    client.post(f"{base}?sla={sla.pk}&step=2", {"pick": s["tracking"].pk})
    done = client.post(f"{base}?sla={sla.pk}&step=2", {"action": "done"})
    assert done.status_code == 200 and done.context["result"].category == category("delivery").pk
    assert b"Delivery \xe2\x86\x92 Tracking" in done.content
    answered = client.post(f"{base}?sla={sla.pk}&step=2", {"action": "answered"})
    assert answered.status_code == 200 and answered.context["notice"]
    assert not Deflection.objects.exists() and not Ticket.objects.exists()
    assert STATE_KEY not in client.session
    assert client.get(base, {"sla": "junk", "step": "x"}).status_code == 200


def test_wizard_admin_question_add_refuses_a_list_without_choices(cast, tree):
    s, _q = tree
    client = logged_in(cast.admin)
    response = client.post(
        reverse("admin:kb_question_add"),
        {
            "section": s["tracking"].pk,
            "kind": "select",
            "label_ru": "Что",
            "label_en": "",
            "choices": "",
            "sort": 1,
        },
    )
    assert response.status_code == 200 and response.context["adminform"].form.errors["choices"]
    ok = client.post(
        reverse("admin:kb_question_add"),
        {
            "section": s["tracking"].pk,
            "kind": "select",
            "label_ru": "Что",
            "choices": "А | A\nБ | B",
            "sort": 1,
        },
    )
    assert ok.status_code == 302 and Question.objects.filter(section=s["tracking"], kind="select").exists()


def test_wizard_demo_is_idempotent_and_deep_enough(db):
    from otklik.kb.wizard_demo import wizard_demo
    from otklik.kb.wizard_selectors import wizard_tree

    assert wizard_demo()["questions"] > 0
    assert wizard_demo()["questions"] == 0
    tree = wizard_tree(sla=None)
    refunds = Section.objects.get(slug="refunds")
    path = tree.valid_path([refunds.parent.parent_id, refunds.parent_id, refunds.pk])
    assert len(path) == 3 and tree.is_leaf(refunds.pk)
    kinds = set(Question.objects.values_list("kind", flat=True))
    assert kinds == {"text", "textarea", "checkbox", "select", "radio", "multitext"}
    assert Section.objects.get(slug="refunds").ask_coupon
