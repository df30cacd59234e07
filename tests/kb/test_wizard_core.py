"""The support wizard's pure core (F-20): steps per level, answers per kind, the prefilled ticket. No DB."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otklik.kb.wizard import (
    TEXT_MAX,
    Choice,
    QuestionSpec,
    SectionSpec,
    Tree,
    clean_answer,
    clean_step,
    parse_choices,
    path_depth,
    prefill,
    wizard_steps,
)

# -- a tree like the demo's: payments > card-payments > refunds, payments > invoices, delivery > tracking
CARD = QuestionSpec(2, "select", "Карта", "Card", choices=parse_choices("Visa | Visa\nМир | Mir"))
ORDER = QuestionSpec(3, "text", "Номер заказа", "Order number", required=True)
ITEMS = QuestionSpec(4, "multitext", "Товары", "Items")
BANK = QuestionSpec(5, "checkbox", "Обращались в банк", "Contacted the bank")
HOW = QuestionSpec(
    6, "radio", "Как платили", "How you paid", choices=parse_choices("Сайт | Website\nПриложение | App")
)
STORY = QuestionSpec(7, "textarea", "Что случилось", "What happened")
SECTIONS = [
    SectionSpec(1, None, "Оплата", "Payments", description_ru="Про оплату", questions=(HOW,), category_id=20),
    SectionSpec(2, 1, "Оплата картой", "Card payments", questions=(CARD, BANK)),
    SectionSpec(
        3, 2, "Возвраты", "Refunds", questions=(ORDER, ITEMS, STORY), ask_title=True, ask_coupon=True
    ),
    SectionSpec(4, 1, "Счета", "Invoices", category_id=21),
    SectionSpec(5, None, "Доставка", "Delivery", category_id=30),
    SectionSpec(6, 5, "Отслеживание", "Tracking"),
]
TREE = Tree(SECTIONS)


@pytest.mark.parametrize(
    ("path", "steps", "final"),
    [
        ([], 1, False),  # nothing chosen: the first level to choose from
        ([1], 2, False),  # payments has children: one more step to go
        ([1, 2], 3, False),
        ([1, 2, 3], 3, True),  # refunds is a leaf: depth 3, three steps, "Done"
        ([1, 4], 2, True),
        ([5, 6], 2, True),
    ],
)
def test_wizard_steps_path_gives_one_step_per_level(path, steps, final):
    result = wizard_steps(TREE, path)
    assert len(result) == steps
    assert [s.number for s in result] == list(range(1, steps + 1))
    assert result[-1].final is final
    if final:
        assert len(result) == path_depth(TREE, path)


def test_wizard_steps_each_step_offers_the_level_below_the_previous_choice():
    first, second, third = wizard_steps(TREE, [1, 2, 3])
    assert [s.id for s in first.options] == [1, 5]
    assert [s.id for s in second.options] == [2, 4]
    assert [s.id for s in third.options] == [3]
    assert (first.chosen.id, second.chosen.id, third.chosen.id) == (1, 2, 3)


@pytest.mark.parametrize(
    ("path", "valid"),
    [
        ([1, 2, 3], [1, 2, 3]),
        ([2, 3], []),
        ([1, 6], [1]),
        ([999], []),
        (["1", 2], []),
        ([True], []),
        ([1, 2, 3, 4], [1, 2, 3]),
    ],
)
def test_tree_valid_path_tampered_path_cut_to_the_walkable_prefix(path, valid):
    assert TREE.valid_path(path) == valid


def test_tree_section_under_a_hidden_parent_is_unreachable():
    tree = Tree([s for s in SECTIONS if s.id != 2])  # card payments hidden: refunds goes with it
    assert 3 not in tree
    assert [s.id for s in tree.options(1)] == [4]


@st.composite
def trees(draw):
    """A random forest (up to 6 levels deep) and a random walk from the top to one of its leaves."""
    count = draw(st.integers(min_value=1, max_value=30))
    sections, depth_of = [], {}
    for i in range(1, count + 1):
        parents = [None] + [p for p in depth_of if depth_of[p] < 6]
        parent = draw(st.sampled_from(parents))
        depth_of[i] = 1 if parent is None else depth_of[parent] + 1
        sections.append(SectionSpec(i, parent, f"S{i}"))
    tree = Tree(sections)
    path, parent = [], None
    while options := tree.options(parent):
        parent = draw(st.sampled_from(options)).id
        path.append(parent)
    return tree, path, depth_of


@settings(max_examples=200, deadline=None)
@given(trees())
def test_wizard_steps_random_trees_step_count_equals_the_depth_of_the_path(data):
    tree, path, depth_of = data
    steps = wizard_steps(tree, path)
    assert len(steps) == len(path) == depth_of[path[-1]]
    assert steps[-1].final and not any(s.final for s in steps[:-1])
    # Every prefix stops one step further than it went.
    for cut in range(len(path)):
        assert len(wizard_steps(tree, path[:cut])) == cut + 1


# -- answers ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "raw", "value", "error"),
    [
        (ORDER, ["  12 345 "], "12 345", None),
        (ORDER, [""], None, "This question is required."),
        (ORDER, ["x" * (TEXT_MAX + 1)], None, "Enter at most 500 characters."),
        (ORDER, ["a\x00b"], None, "Null characters are not allowed."),
        (CARD, ["2"], "2", None),
        (CARD, [""], None, None),
        (CARD, ["7"], None, "Choose one of the options."),
        (HOW, ["<script>"], None, "Choose one of the options."),
        (BANK, ["on"], True, None),
        (BANK, [], False, None),
        (
            QuestionSpec(9, "checkbox", "Согласен", "I agree", required=True),
            [],
            None,
            "Tick this box to go on.",
        ),
        (ITEMS, ["a\r\n\r\n b \nc"], ["a", "b", "c"], None),
        (ITEMS, ["\n".join("x" for _ in range(21))], None, "Enter at most 20 lines."),
        (STORY, ["line 1\n  line 2"], "line 1\n  line 2", None),
    ],
)
def test_clean_answer_kinds_value_or_field_message(question, raw, value, error):
    from django.utils import translation

    with translation.override("en"):
        assert clean_answer(question, raw) == (value, error)


def test_clean_step_required_and_title_messages_lenient_drops_them():
    section = SECTIONS[2]
    strict = clean_step(section, {"q3": [""], "title": [""]})
    assert set(strict.errors) == {"q3", "title"}
    lenient = clean_step(section, {"q3": [""], "q7": ["story"], "title": [""]}, lenient=True)
    assert lenient.errors == {} and lenient.answers[7] == "story"


def test_parse_choices_one_language_line_serves_both():
    assert parse_choices("Да | Yes\nVisa\n\n") == (Choice("1", "Да", "Yes"), Choice("2", "Visa", "Visa"))


# -- the prefilled ticket ---------------------------------------------------------------------------
ANSWERS = {6: "2", 2: None, 5: True, 3: "A-42", 4: ["chair", "lamp"], 7: None}


def test_prefill_english_lists_path_and_every_answer_not_set_when_unanswered():
    ticket = prefill(TREE, [1, 2, 3], ANSWERS, lang="en", title="Refund", coupon="SUP-COU-1")
    assert ticket.message == (
        "Path: Payments → Card payments → Refunds\n"
        "\n"
        "Payments\n"
        "- How you paid: App\n"
        "\n"
        "Card payments\n"
        "- Card: not set\n"
        "- Contacted the bank: yes\n"
        "\n"
        "Refunds\n"
        "- Order number: A-42\n"
        "- Items:\n  chair\n  lamp\n"
        "- What happened: not set"
    )
    assert (ticket.title, ticket.coupon, ticket.category) == ("Refund", "SUP-COU-1", 20)


def test_prefill_russian_same_path_in_the_clients_language():
    from django.utils import translation

    with translation.override("ru"):  # the catalog's words, whatever the active language is
        path, not_set = translation.gettext("Path: %(path)s"), translation.gettext("not set")
    ticket = prefill(TREE, [1, 2, 3], ANSWERS, lang="ru")
    assert ticket.message.startswith(path % {"path": "Оплата → Оплата картой → Возвраты"} + "\n")
    assert f"- Карта: {not_set}" in ticket.message
    assert "- Обращались в банк: да" in ticket.message
    assert "- Как платили: Приложение" in ticket.message


def test_prefill_question_ending_in_a_question_mark_takes_no_colon():
    section = SectionSpec(1, None, "A", "A", questions=(QuestionSpec(1, "checkbox", "Оплачено?", "Paid?"),))
    assert prefill(Tree([section]), [1], {1: True}, lang="en").message.endswith("- Paid? yes")


def test_prefill_category_from_the_deepest_mapped_section_title_and_coupon_only_when_asked():
    assert prefill(TREE, [1, 4], {}, lang="en", title="x", coupon="y").category == 21
    assert prefill(TREE, [1, 2], {}, lang="en").category == 20  # card payments is not mapped: payments is
    asked_not = prefill(TREE, [5, 6], {}, lang="en", title="ignored", coupon="ignored")
    assert (asked_not.title, asked_not.coupon, asked_not.category) == ("", "", 30)
    assert asked_not.as_initial() == {
        "title": "",
        "message": "Path: Delivery → Tracking",
        "category": "30",
        "coupon": "",
    }
