"""The choice of a new ticket's responsible (F-10).

Manual choice wins; otherwise the configured order ("seed": SLA, category, criticality, source, module
default; "bitrix": category, criticality, source, SLA, module default) gives the first candidate who is
active and has staff or admin rights, and the skipped ones are logged. First the pure decision as a
table, then through ticket_create, the ticket page, the two "set the default responsible" buttons and
the module options page.
"""

from __future__ import annotations

import pytest
from django import forms
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import translation

from otklik.accounts.models import AccessLevel
from otklik.dictionaries.models import DictionaryEntry
from otklik.routing.decisions import (
    CATEGORY,
    CRITICALITY,
    DEFAULT,
    MANUAL,
    ORDER_BITRIX,
    ORDER_SEED,
    ORDERS,
    POOL,
    SLA,
    SOURCE,
    Candidate,
    Decision,
    candidate_skip_describe,
    decision_describe,
    decision_reason,
    responsible_choose,
)
from otklik.sla.models import SlaLevel
from otklik.tickets import services
from otklik.tickets.models import ModuleOptions, TicketEvent
from otklik.tickets.selectors import options_get
from otklik.tickets.services import module_options_ensure, responsible_for_new_ticket
from tests.conftest import logged_in, make_user, ticket_inputs

AUTOMATIC = (SLA, CATEGORY, CRITICALITY, SOURCE, DEFAULT)
LABELS = {SLA: "VIP", CATEGORY: "Billing", CRITICALITY: "High", SOURCE: "E-mail", DEFAULT: ""}


# -- the pure decision ------------------------------------------------------------------------
def cand(source: str, user_id: int | None = None, *, active: bool = True, support: bool = True) -> Candidate:
    """A candidate named after its source: user 1 for SLA, 2 for category and so on."""
    uid = user_id if user_id is not None else AUTOMATIC.index(source) + 1 if source in AUTOMATIC else 99
    return Candidate(source, uid, f"User {uid}", label=LABELS.get(source, ""), active=active, support=support)


def test_orders_criticality_and_source_follow_category_in_both():
    # A matching assignment pool (issue 18, P7; tests/test_fair_assignment.py) comes right after manual.
    assert ORDERS[ORDER_SEED] == (MANUAL, POOL, SLA, CATEGORY, CRITICALITY, SOURCE, DEFAULT)
    assert ORDERS[ORDER_BITRIX] == (MANUAL, POOL, CATEGORY, CRITICALITY, SOURCE, SLA, DEFAULT)


@pytest.mark.parametrize("order", [ORDER_SEED, ORDER_BITRIX])
@pytest.mark.parametrize("source", AUTOMATIC)
def test_responsible_choose_only_source_configured_chooses_it(order, source):
    decision = responsible_choose(order=order, candidates=[cand(source)])
    assert decision.chosen == cand(source) and decision.source == source and decision.skipped == ()


@pytest.mark.parametrize(
    ("order", "skipped_count"),
    [(order, n) for order in (ORDER_SEED, ORDER_BITRIX) for n in range(len(AUTOMATIC) + 1)],
)
def test_responsible_choose_first_ineligible_skipped_in_order_next_chosen(order, skipped_count):
    sequence = [s for s in ORDERS[order] if s not in (MANUAL, POOL)]
    ineligible = set(sequence[:skipped_count])
    # Given in reverse on purpose: the order, not the input, decides.
    candidates = [cand(s, support=s not in ineligible) for s in reversed(AUTOMATIC)]
    decision = responsible_choose(order=order, candidates=candidates)
    assert [c.source for c in decision.skipped] == sequence[:skipped_count]
    if skipped_count == len(sequence):
        assert decision.chosen is None and decision.user_id is None
    else:
        assert decision.source == sequence[skipped_count]
        assert decision.user_id == AUTOMATIC.index(sequence[skipped_count]) + 1


@pytest.mark.parametrize(("order", "first"), [(ORDER_SEED, SLA), (ORDER_BITRIX, CATEGORY)])
def test_responsible_choose_all_eligible_first_of_order_chosen(order, first):
    decision = responsible_choose(order=order, candidates=[cand(s) for s in AUTOMATIC])
    assert decision.source == first and decision.label == LABELS[first] and decision.skipped == ()


@pytest.mark.parametrize("order", [ORDER_SEED, ORDER_BITRIX])
def test_responsible_choose_nothing_configured_nobody(order):
    assert responsible_choose(order=order, candidates=[]) == Decision(chosen=None, skipped=())


@pytest.mark.parametrize("order", [ORDER_SEED, ORDER_BITRIX])
def test_responsible_choose_manual_given_wins_over_everything(order):
    manual = cand(MANUAL, 42)
    decision = responsible_choose(order=order, candidates=[*(cand(s) for s in AUTOMATIC), manual])
    assert decision.chosen == manual and decision.skipped == ()


def test_responsible_choose_inactive_user_skipped_like_one_without_rights():
    decision = responsible_choose(order=ORDER_SEED, candidates=[cand(SLA, active=False), cand(DEFAULT)])
    assert decision.source == DEFAULT and decision.skipped == (cand(SLA, active=False),)


def test_responsible_choose_unknown_order_falls_back_to_seed():
    decision = responsible_choose(order="", candidates=[cand(CATEGORY), cand(SLA)])
    assert decision.source == SLA


def test_responsible_choose_same_person_ineligible_skipped_once_per_setting():
    candidates = [cand(SLA, 7, support=False), cand(CATEGORY, 7, support=False), cand(DEFAULT, 3)]
    decision = responsible_choose(order=ORDER_SEED, candidates=candidates)
    assert decision.user_id == 3 and [c.source for c in decision.skipped] == [SLA, CATEGORY]


@pytest.mark.parametrize(
    ("source", "text"),
    [
        (MANUAL, "chosen by support"),
        (SLA, "from SLA “VIP”"),
        (CATEGORY, "from category “Billing”"),
        (CRITICALITY, "from criticality “High”"),
        (SOURCE, "from source “E-mail”"),
        (DEFAULT, "module default"),
    ],
)
def test_decision_reason_each_source_english_text(source, text):
    with translation.override("en"):
        assert decision_reason(Decision(chosen=cand(source))) == text


def test_decision_describe_chosen_after_skips_names_both():
    skipped = (cand(SLA, support=False), cand(CATEGORY, active=False))
    decision = Decision(chosen=cand(DEFAULT), skipped=skipped)
    with translation.override("en"):
        assert decision_describe(decision) == (
            "User 5 (module default); "
            "SLA “VIP”: User 1 has no staff or admin rights, skipped; "
            "category “Billing”: User 2 is deactivated, skipped"
        )


def test_decision_describe_nobody_english_text():
    with translation.override("en"):
        assert decision_describe(Decision(chosen=None)) == "nobody, the ticket stays unassigned"


def test_decision_describe_russian_is_translated():
    decision = Decision(chosen=cand(CATEGORY), skipped=(cand(SLA, support=False),))
    with translation.override("ru"):
        text = decision_describe(decision)
        assert text == (
            "User 2 (по категории «Billing»); "
            "SLA «VIP»: кандидат User 1 не имеет прав сотрудника или администратора, пропущен"
        )
        assert decision_reason(Decision(chosen=None)) == "никто, обращение остаётся без ответственного"
        assert "деактивирован" in candidate_skip_describe(cand(SOURCE, active=False))


# -- through ticket_create ---------------------------------------------------------------------
def entry(kind: str, code: str) -> DictionaryEntry:
    return DictionaryEntry.objects.get(kind=kind, code=code)


def order_set(order: str) -> None:
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(responsible_order=order)


@pytest.fixture
def people(db) -> dict[str, User]:
    """One support person per setting, so the chosen one tells where it came from."""
    return {
        name: make_user(name, AccessLevel.STAFF, last_name=name.capitalize())
        for name in ("slaman", "catman", "critman", "srcman", "defman")
    }


@pytest.fixture
def world(cast, people) -> dict:
    """Every setting names its own responsible: the VIP level, Order payment, High, E-mail, the module."""
    vip = SlaLevel.objects.create(name="VIP", priority=60, response_time=1, responsible=people["slaman"])
    entries = {
        "category": entry("category", "payment"),
        "criticality": entry("criticality", "high"),
        "source": entry("source", "email"),
    }
    for kind, name in (("category", "catman"), ("criticality", "critman"), ("source", "srcman")):
        DictionaryEntry.objects.filter(pk=entries[kind].pk).update(responsible=people[name])
        entries[kind].refresh_from_db()
    ModuleOptions.objects.filter(pk=module_options_ensure().pk).update(default_responsible=people["defman"])
    return {"sla": vip, **entries}


def filed(cast, world: dict, **kw):
    """File a ticket as staff for the client with all four settings (the ones in `kw` override)."""
    values = {
        "sla": world["sla"],
        "category": world["category"],
        "criticality": world["criticality"],
        "source": world["source"],
        **kw,
    }
    return services.ticket_create(
        actor=cast.staff, **ticket_inputs(author=cast.client, title="x", message="y", **values)
    )


def created_line(ticket, language: str = "en") -> str:
    """Return the creation line as a reader of `language` sees it (it is kept in both languages)."""
    with translation.override(language):
        return TicketEvent.objects.get(ticket=ticket, field="created").new_shown


def demote(user: User) -> None:
    """Take staff rights away (the user stays active)."""
    from otklik.accounts.roles import forget_levels

    user.groups.clear()
    forget_levels(user)


@pytest.mark.parametrize(
    ("order", "unset", "expected"),
    [
        (ORDER_SEED, (), "slaman"),
        (ORDER_SEED, ("sla",), "catman"),
        (ORDER_SEED, ("sla", "category"), "critman"),
        (ORDER_SEED, ("sla", "category", "criticality"), "srcman"),
        (ORDER_SEED, ("sla", "category", "criticality", "source"), "defman"),
        (ORDER_BITRIX, (), "catman"),
        (ORDER_BITRIX, ("category",), "critman"),
        (ORDER_BITRIX, ("category", "criticality"), "srcman"),
        (ORDER_BITRIX, ("category", "criticality", "source"), "slaman"),
        (ORDER_BITRIX, ("category", "criticality", "source", "sla"), "defman"),
    ],
)
def test_ticket_create_order_and_settings_choose_expected_responsible(
    cast, people, world, order, unset, expected
):
    order_set(order)
    ticket = filed(cast, world, **{name: None for name in unset})
    assert ticket.responsible == people[expected]


@pytest.mark.parametrize(("order", "expected"), [(ORDER_SEED, "catman"), (ORDER_BITRIX, "critman")])
def test_ticket_create_first_without_rights_skipped_and_skip_logged(cast, people, world, order, expected):
    order_set(order)
    first = "slaman" if order == ORDER_SEED else "catman"
    demote(people[first])
    with translation.override("en"):
        ticket = filed(cast, world)
    assert ticket.responsible == people[expected]
    line = created_line(ticket)
    assert f"{first.capitalize()} has no staff or admin rights, skipped" in line
    where = "SLA “VIP”" if order == ORDER_SEED else "category “Order payment”"
    assert f"{where}: {first.capitalize()} has no" in line


def test_ticket_create_deactivated_responsible_skipped_and_logged(cast, people, world):
    User.objects.filter(pk=people["slaman"].pk).update(is_active=False)
    with translation.override("en"):
        ticket = filed(cast, world)
    assert ticket.responsible == people["catman"]
    assert "SLA “VIP”: Slaman is deactivated, skipped" in created_line(ticket)


def test_ticket_create_reason_logged_in_creation_line(cast, people, world):
    with translation.override("en"):
        ticket = filed(cast, world)
    assert created_line(ticket) == (
        f"#{ticket.pk}; SLA: VIP (chosen by support); Responsible: Slaman (from SLA “VIP”)"
    )


def test_ticket_create_reason_logged_in_both_languages_whatever_the_writers(cast, people, world):
    with translation.override("en"):
        ticket = filed(cast, world, sla=None)
    assert "Ответственный: Catman (по категории «Оплата заказа»)" in created_line(ticket, "ru")
    assert "Responsible: Catman (from category “Order payment”)" in created_line(ticket, "en")


def test_ticket_create_everyone_without_rights_unassigned_and_logged(cast, people, world):
    for person in people.values():
        demote(person)
    with translation.override("en"):
        ticket = filed(cast, world)
    assert ticket.responsible is None
    line = created_line(ticket)
    assert "Responsible: nobody, the ticket stays unassigned" in line
    assert line.count("skipped") == 5


def test_ticket_create_nothing_configured_unassigned_line_unchanged(cast, make_ticket):
    ticket = make_ticket()
    assert ticket.responsible is None
    assert created_line(ticket) == f"#{ticket.pk}"


def test_ticket_create_by_client_source_and_default_criticality_consulted(cast, people, world):
    # A client files through the web: no SLA, no source, the default criticality (Medium).
    DictionaryEntry.objects.filter(pk=entry("criticality", "middle").pk).update(responsible=people["critman"])
    DictionaryEntry.objects.filter(kind="category").update(responsible=None)
    SlaLevel.objects.update(responsible=None)
    ticket = services.ticket_create(actor=cast.client, draft=services.TicketDraft(title="x", message="y"))
    assert ticket.criticality == entry("criticality", "middle")
    assert ticket.responsible == people["critman"]


@pytest.mark.parametrize("order", [ORDER_SEED, ORDER_BITRIX])
def test_ticket_create_manual_responsible_wins_and_is_logged(cast, world, order):
    order_set(order)
    with translation.override("en"):
        ticket = filed(cast, world, responsible=cast.staff2)
    assert ticket.responsible == cast.staff2
    assert "Responsible: staff2 (chosen by support)" in created_line(ticket)


def test_responsible_for_new_ticket_all_settings_few_queries(
    cast, people, world, django_assert_max_num_queries
):
    for name in ("category", "criticality", "source"):
        DictionaryEntry.objects.filter(pk=world[name].pk).update(responsible=people["slaman"])
        world[name].refresh_from_db()
    with django_assert_max_num_queries(4):
        choice = responsible_for_new_ticket(
            sla=world["sla"],
            category=world["category"],
            criticality=world["criticality"],
            source=world["source"],
        )
    assert choice.user == people["slaman"] and choice.decision.source == SLA


def test_responsible_for_new_ticket_returns_user_object_of_decision(cast, people, world):
    order_set(ORDER_BITRIX)
    choice = responsible_for_new_ticket(sla=world["sla"], category=world["category"])
    assert choice.user == people["catman"] and choice.decision.user_id == people["catman"].pk


# -- web: the ticket page, the buttons, the module options -------------------------------------


def test_staff_detail_shows_responsible_reason_and_skip(cast, people, world):
    demote(people["slaman"])
    with translation.override("en"):
        ticket = filed(cast, world)
    html = logged_in(people["catman"]).get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    assert "Responsible: Catman (from category “Order payment”)" in html
    assert "SLA “VIP”: Slaman has no staff or admin rights, skipped" in html


@pytest.mark.parametrize(
    ("action", "holder"), [("set_sla_responsible", "slaman"), ("set_category_responsible", "catman")]
)
def test_staff_action_set_default_responsible_button_assigns_and_logs(cast, people, world, action, holder):
    ticket = filed(cast, world, responsible=cast.staff)
    url = reverse("tickets:staff_action", args=[ticket.pk])
    response = logged_in(cast.staff).post(url, {"action": action})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.responsible == people[holder]
    event = TicketEvent.objects.get(ticket=ticket, field="responsible")
    assert (event.old, event.new, event.actor) == ("staff", holder.capitalize(), cast.staff)
    # The change is a log line of the discussion, which the new responsible sees on the ticket page.
    html = logged_in(people[holder]).get(reverse("tickets:staff_detail", args=[ticket.pk])).content.decode()
    assert f"set responsible to {holder.capitalize()}" in html


@pytest.mark.parametrize(
    ("action", "holder"), [("set_sla_responsible", "slaman"), ("set_category_responsible", "catman")]
)
def test_staff_action_set_default_responsible_without_rights_refused_with_message(
    cast, people, world, action, holder
):
    ticket = filed(cast, world, responsible=cast.staff)
    demote(people[holder])
    response = logged_in(cast.staff).post(
        reverse("tickets:staff_action", args=[ticket.pk]), {"action": action}, follow=True
    )
    assert response.status_code == 200
    assert "Only a user with staff or admin rights can be responsible." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.responsible == cast.staff
    assert not TicketEvent.objects.filter(ticket=ticket, field="responsible").exists()


def test_module_options_admin_page_changes_order(cast):
    options = options_get()
    browser = logged_in(cast.admin)
    url = reverse("admin:tickets_moduleoptions_change", args=[options.pk])
    page = browser.get(url)
    html = page.content.decode()
    assert 'name="responsible_order"' in html and 'value="bitrix"' in html
    # Post the form back as shown, with only the order changed (the other options keep their values).
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    data["responsible_order"] = ORDER_BITRIX
    response = browser.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert options_get().responsible_order == ORDER_BITRIX
