"""The rules' conditions as plain data: checked and evaluated without the database (table-driven)."""

import pytest

from otklik.automation.conditions import Condition, conditions_clean, conditions_hold
from otklik.core.errors import ValidationFailed

FACTS = {
    "category": 3,
    "criticality": None,
    "status": 7,
    "source": None,
    "sla": 2,
    "responsible": 11,
    "client_group": frozenset({5, 6}),
    "tag": frozenset({"VIP", "billing"}),
    "title": "Cannot log in",
    "message": "The login page says ОШИБКА 500",
    "tier": "L2",
    "is_postponed": False,
}


@pytest.mark.parametrize(
    ("field", "op", "value", "holds"),
    [
        ("category", "is", 3, True),
        ("category", "is", 4, False),
        ("category", "is_not", 4, True),
        ("category", "in", [1, 3], True),
        ("category", "not_in", [1, 3], False),
        ("criticality", "is_empty", True, True),
        ("criticality", "is", 1, False),
        ("criticality", "is_not", 1, True),
        ("responsible", "is_empty", False, True),
        ("client_group", "is", 5, True),
        ("client_group", "is_not", 5, False),
        ("client_group", "in", [9, 6], True),
        ("client_group", "not_in", [9, 8], True),
        ("tag", "contains", "vip", True),
        ("tag", "not_contains", "vip", False),
        ("tag", "in", ["x", "BILLING"], True),
        ("tag", "is_empty", True, False),
        ("title", "contains", "LOG IN", True),
        ("title", "not_contains", "password", True),
        ("title", "is", "cannot log in", True),
        ("message", "contains", "ошибка", True),  # letter case folded in every alphabet
        ("message", "not_contains", "ошибка", False),
        ("tier", "in", ["l1", "l2"], True),
        ("is_postponed", "is", False, True),
        ("is_postponed", "is_not", False, False),
    ],
)
def test_condition_holds_by_table(field, op, value, holds):
    [condition] = conditions_clean([{"field": field, "op": op, "value": value}])
    assert conditions_hold([condition], "all", FACTS) is holds


def test_conditions_all_and_any():
    yes = Condition("category", "is", 3)
    no = Condition("status", "is", 1)
    assert conditions_hold([yes, no], "any", FACTS)
    assert not conditions_hold([yes, no], "all", FACTS)
    assert conditions_hold([], "all", FACTS)


def test_conditions_missing_facts_count_as_empty():
    assert conditions_hold([Condition("tag", "is_empty", True)], "all", {})
    assert not conditions_hold([Condition("title", "contains", "x")], "all", {})


def test_conditions_clean_accepts_comma_list_and_strings_of_ids():
    [condition] = conditions_clean([{"field": "category", "op": "in", "value": "1, 2,3"}])
    assert condition.value == [1, 2, 3]
    [condition] = conditions_clean([{"field": "is_postponed", "op": "is", "value": "true"}])
    assert condition.value is True


@pytest.mark.parametrize(
    "data",
    [
        "category is 3",
        [{"field": "nope", "op": "is", "value": 1}],
        [{"field": "category", "op": "contains", "value": 1}],
        [{"field": "category", "op": "is", "value": "abc"}],
        [{"field": "category", "op": "is", "value": True}],
        [{"field": "category", "op": "in", "value": []}],
        [{"field": "title", "op": "contains", "value": ""}],
        [{"field": "title", "op": "contains", "value": "x" * 501}],
        [{"field": "is_postponed", "op": "contains", "value": True}],
        [{"field": "title", "op": "is", "value": "x", "extra": 1}],
        ["not an object"],
        [{"field": "tag", "op": "is", "value": "a"}] * 31,
    ],
)
def test_conditions_clean_bad_input_refused_with_a_field_message(data):
    with pytest.raises(ValidationFailed) as caught:
        conditions_clean(data)
    assert caught.value.errors["conditions"]
