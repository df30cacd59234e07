"""The process diagram: a standalone, safe, deterministic SVG of a definition (F-30)."""

from __future__ import annotations

import copy
import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import otklik.workflow
from otklik.workflow import diagram
from otklik.workflow.definition import process_parse
from otklik.workflow.diagram import process_svg

SVG = "{http://www.w3.org/2000/svg}"
SHIPPED = json.loads(
    (Path(otklik.workflow.__file__).parent / "shipped" / "three-tier.json").read_text(encoding="utf-8")
)
ROLE_NAMES = {
    language: {code: role["name"][language] for code, role in SHIPPED["roles"].items()}
    for language in ("ru", "en")
}


def _svg(data=SHIPPED, **kwargs) -> str:
    kwargs.setdefault("language", "en")
    kwargs.setdefault("role_names", ROLE_NAMES[kwargs["language"]])
    return process_svg(process_parse(data), **kwargs)


def _texts(root: ET.Element) -> str:
    return "\n".join(t.text or "" for t in root.iter(f"{SVG}text"))


def _group(root: ET.Element, state: str) -> ET.Element:
    return next(g for g in root.iter(f"{SVG}g") if g.get("data-state") == state)


@pytest.mark.parametrize("language", ["ru", "en"])
def test_process_svg_shipped_names_every_state_and_transition_in_the_language(language):
    root = ET.fromstring(_svg(language=language))
    words = " ".join(_texts(root).split())
    for code, state in SHIPPED["states"].items():
        assert " ".join(state["name"][language].split()) in words, code
        assert _group(root, code) is not None
    drawn = [g.get("data-transition") for g in root.iter(f"{SVG}g") if g.get("data-transition")]
    assert sorted(drawn) == sorted(t["code"] for t in SHIPPED["transitions"])
    for transition in SHIPPED["transitions"]:
        assert " ".join(transition["name"][language].split()) in words, transition["code"]
    for name in ROLE_NAMES[language].values():
        assert name in words


def test_process_svg_roles_label_each_transition():
    root = ET.fromstring(_svg(language="en"))
    escalate = next(g for g in root.iter(f"{SVG}g") if g.get("data-transition") == "escalate")
    assert "L1 operator" in _texts(escalate)
    # Parallel moves share one arrow; their common roles are written once, after every name.
    closing = next(
        g for g in root.iter(f"{SVG}g") if g.get("data-from") == "l1" and g.get("data-to") == "closed"
    )
    text = _texts(closing)
    assert all(name in text for name in ("Profanity", "Off-topic question", "The answer is in the FAQ"))
    assert text.count("L1 operator") == 1
    done = next(g for g in root.iter(f"{SVG}g") if g.get("data-transition") == "done")
    assert "IT operator, Developer, Integrator" in " ".join(_texts(done).split())


def test_process_svg_marks_final_voting_and_current_states():
    root = ET.fromstring(_svg(current="board"))
    assert "final" in _group(root, "closed").get("class").split()
    board = _group(root, "board").get("class").split()
    assert {"voting", "current"} <= set(board)
    assert _group(root, "board").get("aria-current") == "step"
    assert "quorum 2" in _texts(_group(root, "board"))
    assert [g.get("data-state") for g in root.iter(f"{SVG}g") if "current" in (g.get("class") or "")] == [
        "board"
    ]


def test_process_svg_without_current_highlights_nothing():
    assert 'class="state current' not in _svg() and "aria-current" not in _svg()


def test_process_svg_escapes_a_malicious_name():
    data = copy.deepcopy(SHIPPED)
    data["states"]["l1"]["name"] = {"ru": "<script>alert(1)</script>", "en": "<script>alert(1)</script>"}
    data["transitions"][0]["name"] = {"ru": 'x" onload="alert(2)', "en": 'x" onload="alert(2)\\N&amp;'}
    svg = _svg(data, role_names={"l1_operator": "<img src=x onerror=alert(3)>"})
    root = ET.fromstring(svg)  # still well-formed XML
    assert "<script" not in svg and "<img" not in svg and "onload=" not in svg.replace('onload="', "")
    assert not list(root.iter(f"{SVG}script"))
    assert "<script>alert(1)</script>" in _texts(root)
    assert "&amp;lt;" not in svg and "&lt;script&gt;" in svg
    assert 'x" onload="alert(2)\\N&amp;' in _texts(root)
    for element in root.iter():
        assert not any(name.startswith("on") or "href" in name for name in element.attrib)


def test_process_svg_control_characters_keep_the_document_well_formed():
    data = copy.deepcopy(SHIPPED)
    # NUL and lone surrogates never get this far (process_parse refuses them); the rest XML forbids.
    data["states"]["work"]["name"] = {"ru": "В\x01 ра\x1bботе\ufffe", "en": "In\x07 work\uffff"}
    root = ET.fromstring(_svg(data))
    assert "In\ufffd work\ufffd" in _texts(root)
    assert ET.fromstring(diagram.svg_inline(_svg(data, language="ru"))) is not None


def test_process_svg_is_deterministic():
    first = _svg(current="work")
    diagram._cache.clear()
    assert _svg(current="work") == first


def test_process_svg_of_the_same_states_in_another_order_is_its_own_drawing():
    # The order of the states is the order dot ranks them in: a cache keyed without it would hand one
    # definition the other's layout.
    data = copy.deepcopy(SHIPPED)
    data["states"] = dict(reversed(list(data["states"].items())))
    _svg(current="work")
    reordered = _svg(data, current="work")
    diagram._cache.clear()
    assert _svg(data, current="work") == reordered


def test_process_svg_shipped_is_fast():
    diagram._graphviz_module()  # compiled once per machine and kept on disk; not part of a drawing
    diagram._cache.clear()
    started = time.perf_counter()
    _svg(language="ru", current="triage")
    assert time.perf_counter() - started < 0.5
    started = time.perf_counter()
    _svg(language="ru", current="triage")
    assert time.perf_counter() - started < 0.05  # cached


def test_process_svg_draws_a_definition_with_missing_states():
    data = copy.deepcopy(SHIPPED)
    data["transitions"].append({"code": "lost", "from": "l1", "to": "nowhere", "roles": ["l1_operator"]})
    data["start"] = "gone"
    root = ET.fromstring(_svg(data))
    assert "lost" not in [g.get("data-transition") for g in root.iter(f"{SVG}g")]


@pytest.mark.django_db
def test_process_svg_reads_role_names_from_configured_roles():
    from otklik.workflow.models import Role

    Role.objects.filter(code="tester").update(name_en="Quality checker")
    root = ET.fromstring(process_svg(process_parse(SHIPPED), language="en"))
    assert "Quality checker" in _texts(root)


def test_graphviz_module_is_compiled_once_and_kept_on_disk(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    diagram._compiled = None
    try:
        diagram._graphviz_module()
        kept = list((tmp_path / "cache").glob("graphviz-*.cwasm"))
        assert len(kept) == 1
        diagram._compiled = None
        started = time.perf_counter()
        diagram._graphviz_module()  # loaded from the file, not compiled again
        assert time.perf_counter() - started < 0.5
        assert list((tmp_path / "cache").glob("graphviz-*")) == kept
        kept[0].write_bytes(b"torn")  # a broken file is compiled afresh, not fatal
        diagram._compiled = None
        diagram._cache.clear()
        assert "<svg" in _svg()
    finally:
        diagram._compiled = None
