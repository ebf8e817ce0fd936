"""The workflow diagram as inline SVG, drawn from the declaration in ``tracker.domain.workflow``.

Open states stand in a row, in declaration order; closed states below them. Steps between
neighbours in the row are arrows across, steps into and out of the closed row are arrows down
and up, anything else an arc above the row. Every label comes from the declaration, translated.
"""

from __future__ import annotations

from flask_babel import gettext as _
from markupsafe import Markup, escape

from tracker.domain import workflow

BOX_W, BOX_H = 180, 78  # a state
GAP = 170  # between two states of the row: room for a step's label
ROW_GAP = 140  # between the rows: room for the arrows down and up
MARGIN, SIDE, RIGHT = 16, 110, 70  # room on the left (right) for labels of arrows up (down)
FONT = 15
CHAR = 0.6 * FONT  # an estimate of a character's width, for wrapping labels


def _wrap(text: str, width: float) -> list[str]:
    """Break ``text`` into lines of at most ``width`` units at spaces."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1] + " " + word) * CHAR <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _text(x: float, y: float, lines: list[str], anchor: str = "middle", cls: str = "") -> str:
    """Return a <text> element with one <tspan> per line, the first line's baseline at ``y``."""
    spans = "".join(
        f'<tspan x="{x:g}" dy="{0 if i == 0 else FONT + 3}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text x="{x:g}" y="{y:g}" text-anchor="{anchor}" class="{cls}">{spans}</text>'


def svg(current: str | None = None) -> Markup:
    """Draw the whole workflow, every step from every state, with ``current`` marked."""
    top = [s for s in workflow.STATES if s.is_open]
    bottom = [s for s in workflow.STATES if not s.is_open]
    width = SIDE + len(top) * BOX_W + (len(top) - 1) * GAP + RIGHT
    row = [s.name for s in top]
    arcs = 60 * any(  # room above the row for arcs between states that are not neighbours
        src in row and t.dest in row and abs(row.index(src) - row.index(t.dest)) != 1
        for t in workflow.TRANSITIONS
        for src in t.source
    )
    y_top = MARGIN + arcs
    y_bottom = y_top + BOX_H + ROW_GAP
    height = y_bottom + BOX_H + MARGIN
    boxes: dict[str, tuple[float, float, float]] = {}  # name -> x, y, box width
    for i, state in enumerate(top):
        boxes[state.name] = (SIDE + i * (BOX_W + GAP), y_top, BOX_W)
    span = (width - SIDE - RIGHT - (len(bottom) - 1) * GAP) / max(len(bottom), 1)
    for i, state in enumerate(bottom):
        boxes[state.name] = (SIDE + i * (span + GAP), y_bottom, span)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" '
        f'class="diagram__svg" role="img" aria-labelledby="diagramm-titel" '
        f'aria-describedby="diagramm-text" font-size="{FONT}">',
        '<defs><marker id="pfeil" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" '
        'class="diagram__head"/></marker></defs>',
    ]
    for state in workflow.STATES:
        x, y, w = boxes[state.name]
        here = state.name == current
        parts.append(
            f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{BOX_H}" rx="8" '
            f'class="diagram__box{" diagram__box--current" if here else ""}"/>'
        )
        lines = [(str(state.label), "diagram__label")]
        if state.target_workdays:
            target = _("Ziel: %(num)d Arbeitstage", num=state.target_workdays)
            lines.append((target, "diagram__small"))
        if here:
            lines.append((_("aktueller Stand"), "diagram__small diagram__small--here"))
        first = y + BOX_H / 2 - (len(lines) - 1) * (FONT + 3) / 2 + FONT / 3
        for i, (line, cls) in enumerate(lines):
            parts.append(_text(x + w / 2, first + i * (FONT + 3), [line], cls=cls))

    down_up: dict[str, int] = {}  # how many vertical arrows a state already has
    for t in workflow.TRANSITIONS:
        for source in t.source:
            parts.extend(_edge(boxes, top, source, t.dest, str(t.label), down_up))
    parts.append("</svg>")
    return Markup("".join(parts))


def _edge(boxes, top, source: str, dest: str, label: str, down_up: dict) -> list[str]:
    """Return the arrow from ``source`` to ``dest`` with its label."""
    sx, sy, sw = boxes[source]
    dx, dy, dw = boxes[dest]
    row = [s.name for s in top]
    line = 'class="diagram__edge" marker-end="url(#pfeil)"'
    if sy == dy and source in row and abs(row.index(source) - row.index(dest)) == 1:
        y = sy + BOX_H / 2
        x1, x2 = (sx + sw, dx) if dx > sx else (sx, dx + dw)
        lines = _wrap(label, GAP - 16)
        return [
            f'<path d="M{x1:g} {y:g}H{x2:g}" {line}/>',
            _text((x1 + x2) / 2, y - 8 - (len(lines) - 1) * (FONT + 3), lines),
        ]
    if sy != dy:  # between the rows: straight down (or up) from the open state
        open_x, open_w = (sx, sw) if sy < dy else (dx, dw)
        going_down = sy < dy
        x = open_x + open_w / 2 + (30 if going_down else -30)
        y1, y2 = (sy + BOX_H, dy) if going_down else (sy, dy + BOX_H)
        mid = (y1 + y2) / 2
        lines = _wrap(label, (GAP if going_down else SIDE) - 10)
        text = (
            _text(x + 8, mid, lines, anchor="start")
            if going_down
            else _text(x - 8, mid, lines, anchor="end")
        )
        return [f'<path d="M{x:g} {y1:g}V{y2:g}" {line}/>', text]
    # states of the same row that are not neighbours: an arc above the row
    x1, x2 = sx + sw / 2, dx + dw / 2
    top_y = sy - 40
    return [
        f'<path d="M{x1:g} {sy:g}C{x1:g} {top_y:g} {x2:g} {top_y:g} {x2:g} {sy:g}" {line} '
        'fill="none"/>',
        _text((x1 + x2) / 2, top_y + 6, [label]),
    ]
