"""Server-side sequence diagrams for lesson Markdown.

Lessons describe message flows in a tiny text DSL inside a fenced block::

    ```sequence
    title: Naive dual write
    participant S as Order service
    participant B as Broker
    S -> B: publish OrderCreated
    B --> S: ack
    S -x B: lost message
    note over S, B: text
    == later ==
    ```

``render_sequence()`` turns that into a self-contained, accessible ``<svg>``
string (no JavaScript, no external assets), and ``SequenceDiagramExtension``
plugs it into Python-Markdown.

The code is split into a parser (text -> small dataclasses), a column layout
(where each lifeline goes) and a renderer (dataclasses -> SVG markup).
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass, field

import markdown
from markdown.preprocessors import Preprocessor

__all__ = [
    "DiagramError",
    "SequenceDiagramExtension",
    "parse_sequence",
    "render_sequence",
]


class DiagramError(ValueError):
    """Bad diagram source; ``line`` is 1-based, or None if not tied to a line."""

    def __init__(self, reason: str, line: int | None = None):
        self.reason = reason
        self.line = line
        super().__init__(f"line {line}: {reason}" if line is not None else reason)


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------

REQUEST, REPLY, LOST = "request", "reply", "lost"
ARROWS = {"->": REQUEST, "-->": REPLY, "-x": LOST}


@dataclass(frozen=True)
class Participant:
    id: str
    label: str


@dataclass(frozen=True)
class Message:
    source: str
    target: str
    text: str
    kind: str  # REQUEST, REPLY or LOST

    @property
    def is_self(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True)
class Note:
    position: str  # "over", "left" or "right"
    participants: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Divider:
    text: str


Step = Message | Note | Divider


@dataclass
class Diagram:
    title: str | None = None
    participants: list[Participant] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)


# --------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------

# IDs exclude "-" and ">" so that "A->B" needs no spaces around the arrow.
_ID = r"[\w.]+"
_TITLE_RE = re.compile(r"title\s*:\s*(?P<text>.*\S)")
_PARTICIPANT_RE = re.compile(rf"participant\s+(?P<id>{_ID})(?:\s+as\s+(?P<label>.*\S))?")
_MESSAGE_RE = re.compile(
    rf"(?P<source>{_ID})\s*(?P<arrow>-->|->|-x)\s*(?P<target>{_ID})(?:\s*:\s*(?P<text>.*))?"
)
_NOTE_RE = re.compile(
    rf"note\s+(?P<position>over|left\s+of|right\s+of)\s+"
    rf"(?P<who>{_ID}(?:\s*,\s*{_ID})*)\s*:\s*(?P<text>.*)"
)
_DIVIDER_RE = re.compile(r"==\s*(?P<text>.*?)\s*==")

# What to suggest when a line cannot be parsed, keyed by its first word.
_EXPECTED = {
    "title": '"title: text"',
    "participant": '"participant ID" or "participant ID as Label" '
    "(IDs use letters, digits, _ and .)",
    "note": '"note over A: text", "note over A, B: text", '
    '"note left of A: text" or "note right of A: text"',
}
_EXPECTED_DEFAULT = (
    '"A -> B: text", "A --> B: text" (reply), "A -x B: text" (lost), '
    '"participant A as Label", "note over A: text", "== text ==" or "title: text"'
)


def parse_sequence(source: str) -> Diagram:
    """Parse the DSL into a Diagram, raising DiagramError on the first bad line."""
    diagram = Diagram()
    index: dict[str, Participant] = {}
    introduced_on: dict[str, int] = {}
    explicit: set[str] = set()
    title_line = 0

    def use(pid: str, lineno: int) -> None:
        if pid not in index:
            index[pid] = Participant(pid, pid)
            introduced_on[pid] = lineno
            diagram.participants.append(index[pid])

    # Split like Markdown does (not str.splitlines, which also breaks on
    # \x0c, \u2028, ...) so line numbers match what the author sees.
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "%%")):
            continue

        if m := _TITLE_RE.fullmatch(line):
            if diagram.title is not None:
                raise DiagramError(f"title already set on line {title_line}", lineno)
            diagram.title, title_line = m["text"], lineno

        elif m := _PARTICIPANT_RE.fullmatch(line):
            pid = m["id"]
            if pid in explicit:
                raise DiagramError(
                    f'participant "{pid}" already declared on line {introduced_on[pid]}', lineno
                )
            if pid in index:
                # Accepting it would keep the participant at its first-use
                # column, not where the author declared it.
                raise DiagramError(
                    f'participant "{pid}" is declared after its first use on line '
                    f"{introduced_on[pid]}; move the declaration up",
                    lineno,
                )
            index[pid] = Participant(pid, m["label"] or pid)
            introduced_on[pid] = lineno
            explicit.add(pid)
            diagram.participants.append(index[pid])

        elif m := _NOTE_RE.fullmatch(line):
            position = m["position"].split()[0]
            who = tuple(dict.fromkeys(p.strip() for p in m["who"].split(",")))
            if position != "over" and len(who) > 1:
                raise DiagramError(
                    f'"note {position} of" takes one participant, got {len(who)}: "{line}"',
                    lineno,
                )
            for pid in who:
                use(pid, lineno)
            diagram.steps.append(Note(position, who, m["text"].strip()))

        elif m := _DIVIDER_RE.fullmatch(line):
            diagram.steps.append(Divider(m["text"]))

        elif m := _MESSAGE_RE.fullmatch(line):
            use(m["source"], lineno)
            use(m["target"], lineno)
            diagram.steps.append(
                Message(m["source"], m["target"], (m["text"] or "").strip(), ARROWS[m["arrow"]])
            )

        else:
            first_word = line.split()[0].rstrip(":").lower()
            expected = _EXPECTED.get(first_word, _EXPECTED_DEFAULT)
            raise DiagramError(f'cannot parse "{line}": expected {expected}', lineno)

    if not diagram.participants:
        raise DiagramError("sequence diagram is empty: add a participant or a message")
    return diagram


# --------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------

FONT_SIZE = 13
# Focusable, because on a phone the figure scrolls sideways and a keyboard must reach it.
FIGURE_OPEN = '<figure class="diagram" tabindex="0" role="group" aria-label="Diagram; on a narrow screen it scrolls sideways">'
TITLE_SIZE = 15
MARGIN = 16
TITLE_H = 30

BOX_H = 34
BOX_PAD_X = 14
BOX_MIN_W = 80
BOX_GAP = 28  # minimum air between neighbouring participant boxes

LABEL_PAD = 14  # keeps a message label clear of the lifelines it sits between
ROW_GAP = 14
ARROW_LEN = 9
ARROW_HALF = 4.5
LOST_SHORT = 30  # a lost message visibly fails to reach its target
CROSS = 5

SELF_W = 36
SELF_H = 20
SELF_TEXT_X = 8

NOTE_H = 28
NOTE_PAD_X = 10
NOTE_MIN_W = 60
NOTE_OVERHANG = 18  # how far a spanning note reaches past its outer lifelines
NOTE_OFFSET = 10  # gap between a lifeline and a note left/right of it
NOTE_CLEAR = 12  # keeps a note's edge away from a neighbouring lifeline

DIVIDER_H = 22
DIVIDER_PAD_X = 12

_NARROW = set("ijl.,:;'!|")
_SEMI_NARROW = set("frtI ()[]{}/\\`-")
_WIDE = set("mwMW@%&\u2014")


def text_width(text: str, size: float = FONT_SIZE, bold: bool = False) -> float:
    """Estimate rendered width without font metrics.

    The reader's system-ui font is unknown, so the per-character averages
    (in em) are fitted to DejaVu Sans, one of the widest common fallbacks
    (within ~5% on mixed text); narrower fonts just get a little extra air.
    A typical lowercase letter at 13px comes out at ~7.8px.
    """
    units = 0.0
    for ch in text:
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            units += 1.0
        elif ch in _NARROW:
            units += 0.3
        elif ch in _SEMI_NARROW:
            units += 0.4
        elif ch in _WIDE:
            units += 0.95
        elif ch.isupper() or ch.isdigit():
            units += 0.7
        else:
            units += 0.6
    return units * size * (1.12 if bold else 1.0)


def _box_width(p: Participant) -> float:
    return max(BOX_MIN_W, text_width(p.label, bold=True) + 2 * BOX_PAD_X)


def _note_width(note: Note) -> float:
    return max(NOTE_MIN_W, text_width(note.text) + 2 * NOTE_PAD_X)


def _divider_width(divider: Divider) -> float:
    return text_width(divider.text, bold=True) + 2 * DIVIDER_PAD_X if divider.text else 0


@dataclass
class _Columns:
    """Horizontal layout: lifeline x positions and the content's outer edges."""

    xs: list[float]
    box_widths: list[float]
    col: dict[str, int]
    left: float
    right: float

    def note_span(self, note: Note) -> tuple[float, float]:
        cols = sorted(self.col[p] for p in note.participants)
        lo, hi = self.xs[cols[0]], self.xs[cols[-1]]
        width = _note_width(note)
        if note.position == "left":
            return lo - NOTE_OFFSET - width, lo - NOTE_OFFSET
        if note.position == "right":
            return lo + NOTE_OFFSET, lo + NOTE_OFFSET + width
        if lo == hi:
            return lo - width / 2, lo + width / 2
        left, right = lo - NOTE_OVERHANG, hi + NOTE_OVERHANG
        grow = max(0.0, width - (right - left)) / 2
        return left - grow, right + grow

    def self_message_right(self, msg: Message) -> float:
        x = self.xs[self.col[msg.source]]
        return x + max(SELF_W, SELF_TEXT_X + text_width(msg.text))


def _layout_columns(diagram: Diagram) -> _Columns:
    col = {p.id: i for i, p in enumerate(diagram.participants)}
    widths = [_box_width(p) for p in diagram.participants]
    n = len(widths)
    gaps = [widths[i] / 2 + widths[i + 1] / 2 + BOX_GAP for i in range(n - 1)]

    # Each requirement says "lifelines i..j must be at least `need` apart".
    needs: list[tuple[int, int, float]] = []
    for step in diagram.steps:
        if isinstance(step, Message):
            a, b = sorted((col[step.source], col[step.target]))
            if a != b:
                needs.append((a, b, text_width(step.text) + 2 * LABEL_PAD))
            elif a < n - 1:
                label = max(SELF_W, SELF_TEXT_X + text_width(step.text))
                needs.append((a, a + 1, label + LABEL_PAD))
        elif isinstance(step, Note):
            cols = sorted(col[p] for p in step.participants)
            a, b = cols[0], cols[-1]
            width = _note_width(step)
            if step.position == "over" and a != b:
                needs.append((a, b, width - 2 * NOTE_OVERHANG))
            elif step.position == "over":
                if a > 0:
                    needs.append((a - 1, a, width / 2 + NOTE_CLEAR))
                if a < n - 1:
                    needs.append((a, a + 1, width / 2 + NOTE_CLEAR))
            elif step.position == "left" and a > 0:
                needs.append((a - 1, a, width + NOTE_OFFSET + NOTE_CLEAR))
            elif step.position == "right" and a < n - 1:
                needs.append((a, a + 1, width + NOTE_OFFSET + NOTE_CLEAR))

    # Satisfy narrow spans first so wide spans see the gaps they already got;
    # spreading the shortfall evenly keeps the columns balanced.
    for a, b, need in sorted(needs, key=lambda t: t[1] - t[0]):
        have = sum(gaps[a:b])
        if have < need:
            extra = (need - have) / (b - a)
            for k in range(a, b):
                gaps[k] += extra

    xs = [0.0]
    for gap in gaps:
        xs.append(xs[-1] + gap)
    columns = _Columns(xs, widths, col, xs[0] - widths[0] / 2, xs[-1] + widths[-1] / 2)

    # Things that may stick out past the outermost participant boxes.
    left, right = columns.left, columns.right
    for step in diagram.steps:
        if isinstance(step, Note):
            note_left, note_right = columns.note_span(step)
            left, right = min(left, note_left), max(right, note_right)
        elif isinstance(step, Message) and step.is_self:
            right = max(right, columns.self_message_right(step))

    # Centred text (title, divider labels) grows the canvas evenly on both sides.
    centred = [_divider_width(s) + 40 for s in diagram.steps if isinstance(s, Divider)]
    if diagram.title:
        centred.append(text_width(diagram.title, TITLE_SIZE, bold=True))
    shortfall = max([0.0] + [w - (right - left) for w in centred])
    columns.left, columns.right = left - shortfall / 2, right + shortfall / 2

    # Shift so the leftmost content sits at MARGIN.
    shift = MARGIN - columns.left
    columns.xs = [x + shift for x in columns.xs]
    columns.left += shift
    columns.right += shift
    return columns


# --------------------------------------------------------------------------
# SVG rendering
# --------------------------------------------------------------------------

# Styles live in static/css/diagrams.css: a <style> inside the SVG would need 'unsafe-inline' in the CSP.


# Characters XML 1.0 forbids even when escaped; dropping them keeps the SVG
# well-formed whatever an author pastes in.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _esc(text: str) -> str:
    return html.escape(_XML_INVALID.sub("", text), quote=True)


def _num(value: float) -> str:
    """Short, stable number formatting so output is byte-for-byte repeatable."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _attrs(**attrs: float | str) -> str:
    parts = []
    for name, value in attrs.items():
        value = _num(value) if isinstance(value, (int, float)) else _esc(value)
        parts.append(f'{name.rstrip("_").replace("_", "-")}="{value}"')
    return " ".join(parts)


def _text(x: float, y: float, content: str, **attrs: float | str) -> str:
    return f"<text {_attrs(x=x, y=y, **attrs)}>{_esc(content)}</text>"


def _baseline(top: float, height: float, size: float = FONT_SIZE) -> float:
    """Baseline that visually centres one line of text in a box."""
    return top + height / 2 + size * 0.35


def _pt(x: float, y: float) -> str:
    return f"{_num(x)},{_num(y)}"


def _arrowhead(tip_x: float, y: float, direction: int) -> str:
    base = tip_x - direction * ARROW_LEN
    points = f"{_pt(tip_x, y)} {_pt(base, y - ARROW_HALF)} {_pt(base, y + ARROW_HALF)}"
    return f'<polygon points="{points}"/>'


def _cross(x: float, y: float) -> str:
    lo_x, hi_x, lo_y, hi_y = x - CROSS, x + CROSS, y - CROSS, y + CROSS
    d = f"M{_pt(lo_x, lo_y)} L{_pt(hi_x, hi_y)} M{_pt(lo_x, hi_y)} L{_pt(hi_x, lo_y)}"
    return f'<path class="seq-cross" d="{d}"/>'


_MESSAGE_CLASS = {
    REQUEST: "seq-message",
    REPLY: "seq-message seq-reply",
    LOST: "seq-message seq-lost",
}


def _render_message(msg: Message, cols: _Columns, y: float) -> tuple[list[str], float]:
    x1 = cols.xs[cols.col[msg.source]]
    x2 = cols.xs[cols.col[msg.target]]
    out = [f'<g class="{_MESSAGE_CLASS[msg.kind]}">']
    label_y = y + FONT_SIZE
    line_y = label_y + 8 if msg.text else y + 4

    if msg.is_self:
        top, bottom = line_y - 1, line_y - 1 + SELF_H
        if msg.text:
            out.append(_text(x1 + SELF_TEXT_X, label_y, msg.text, class_="seq-label"))
        if msg.kind == LOST:
            end = x1 + SELF_W / 2
        else:
            end = x1 + ARROW_LEN
        d = f"M{_num(x1)},{_num(top)} H{_num(x1 + SELF_W)} V{_num(bottom)} H{_num(end)}"
        out.append(f'<path d="{d}"/>')
        out.append(_cross(end, bottom) if msg.kind == LOST else _arrowhead(x1, bottom, -1))
        out.append("</g>")
        return out, bottom

    direction = 1 if x2 > x1 else -1
    if msg.kind == LOST:
        end = x2 - direction * LOST_SHORT
    else:
        end = x2 - direction * ARROW_LEN  # the arrowhead covers the rest
    if msg.text:
        out.append(
            _text((x1 + x2) / 2, label_y, msg.text, class_="seq-label", text_anchor="middle")
        )
    out.append(f"<line {_attrs(x1=x1, y1=line_y, x2=end, y2=line_y)}/>")
    out.append(_cross(end, line_y) if msg.kind == LOST else _arrowhead(x2, line_y, direction))
    out.append("</g>")
    return out, line_y


def _render_note(note: Note, cols: _Columns, y: float) -> tuple[list[str], float]:
    left, right = cols.note_span(note)
    return [
        '<g class="seq-note">',
        f"<rect {_attrs(x=left, y=y, width=right - left, height=NOTE_H, rx=3)}/>",
        _text((left + right) / 2, _baseline(y, NOTE_H), note.text, text_anchor="middle"),
        "</g>",
    ], y + NOTE_H


def _render_divider(divider: Divider, cols: _Columns, y: float) -> tuple[list[str], float]:
    mid_y = y + DIVIDER_H / 2
    out = [
        '<g class="seq-divider">',
        f"<line {_attrs(x1=cols.left, y1=mid_y, x2=cols.right, y2=mid_y)}/>",
    ]
    if divider.text:
        width = _divider_width(divider)
        centre = (cols.left + cols.right) / 2
        box = _attrs(x=centre - width / 2, y=y, width=width, height=DIVIDER_H, rx=DIVIDER_H / 2)
        out.append(f"<rect {box}/>")
        out.append(_text(centre, _baseline(y, DIVIDER_H), divider.text, text_anchor="middle"))
    out.append("</g>")
    return out, y + DIVIDER_H


def _render_actors(diagram: Diagram, cols: _Columns, y: float) -> list[str]:
    out = []
    for p, x, w in zip(diagram.participants, cols.xs, cols.box_widths):
        out.append('<g class="seq-actor">')
        out.append(f"<rect {_attrs(x=x - w / 2, y=y, width=w, height=BOX_H, rx=4)}/>")
        out.append(_text(x, _baseline(y, BOX_H), p.label, text_anchor="middle"))
        out.append("</g>")
    return out


def describe(diagram: Diagram) -> str:
    """Plain-text version of the diagram for screen readers."""
    label = {p.id: p.label for p in diagram.participants}

    def with_text(prefix: str, text: str, suffix: str = "") -> str:
        return f"{prefix}: {text}{suffix}" if text else f"{prefix}{suffix}"

    sentences = []
    for step in diagram.steps:
        if isinstance(step, Message):
            target = "itself" if step.is_self else label[step.target]
            suffix = " (lost)" if step.kind == LOST else " (reply)" if step.kind == REPLY else ""
            sentences.append(with_text(f"{label[step.source]} to {target}", step.text, suffix))
        elif isinstance(step, Note):
            names = " and ".join(label[p] for p in step.participants)
            where = {"over": "over", "left": "left of", "right": "right of"}[step.position]
            sentences.append(with_text(f"Note {where} {names}", step.text))
        else:
            sentences.append(with_text("Section", step.text))

    parts = ["Participants: " + ", ".join(p.label for p in diagram.participants) + "."]
    for number, sentence in enumerate(sentences, start=1):
        end = "" if sentence.endswith((".", "!", "?")) else "."
        parts.append(f"{number}. {sentence}{end}")
    return " ".join(parts)


def render(diagram: Diagram, uid: str = "seq") -> str:
    """Render a parsed diagram; ``uid`` prefixes the ids used for ARIA."""
    cols = _layout_columns(diagram)
    body: list[str] = []
    y = MARGIN

    if diagram.title:
        centre = (cols.left + cols.right) / 2
        body.append(
            _text(centre, y + TITLE_SIZE, diagram.title, class_="seq-title", text_anchor="middle")
        )
        y += TITLE_H

    top_boxes_y = y
    y += BOX_H + ROW_GAP + 4
    for step in diagram.steps:
        if isinstance(step, Message):
            parts, bottom = _render_message(step, cols, y)
        elif isinstance(step, Note):
            parts, bottom = _render_note(step, cols, y)
        else:
            parts, bottom = _render_divider(step, cols, y)
        body.extend(parts)
        y = bottom + ROW_GAP
    bottom_boxes_y = y + 4

    lifeline_top = top_boxes_y + BOX_H
    lifelines = [
        f"<line {_attrs(class_='seq-lifeline', x1=x, y1=lifeline_top, x2=x, y2=bottom_boxes_y)}/>"
        for x in cols.xs
    ]
    actors = _render_actors(diagram, cols, top_boxes_y) + _render_actors(
        diagram, cols, bottom_boxes_y
    )

    width = cols.right + MARGIN
    height = bottom_boxes_y + BOX_H + MARGIN
    title = diagram.title or "Sequence diagram"
    svg_attrs = _attrs(
        xmlns="http://www.w3.org/2000/svg",
        class_="seq-diagram",
        viewBox=f"0 0 {_num(width)} {_num(height)}",
        # The natural size; the stylesheet's max-width: 100% and height: auto shrink it to fit a phone.
        width=width,
        height=height,
        role="img",
        aria_labelledby=f"{uid}-title",
        aria_describedby=f"{uid}-desc",
    )
    return "\n".join(
        [
            f"<svg {svg_attrs}>",
            f'<title id="{_esc(uid)}-title">{_esc(title)}</title>',
            f'<desc id="{_esc(uid)}-desc">{_esc(describe(diagram))}</desc>',
            f"<rect {_attrs(class_='seq-bg', x=0, y=0, width=width, height=height)}/>",
            *lifelines,
            *actors,
            *body,
            "</svg>",
        ]
    )


def render_sequence(source: str) -> str:
    """Render DSL source to a standalone ``<svg>`` string (deterministically)."""
    diagram = parse_sequence(source)
    # ids must be unique within a page; deriving them from the source keeps the
    # output deterministic while separating different diagrams.
    uid = "seq-" + hashlib.sha256(source.encode("utf-8")).hexdigest()[:10]
    return render(diagram, uid)


# --------------------------------------------------------------------------
# Python-Markdown extension
# --------------------------------------------------------------------------


class SequenceDiagramPreprocessor(Preprocessor):
    """Replace ```sequence fences with stashed <figure> SVG before fenced_code runs."""

    # Mirrors fenced_code's fence syntax: the closing fence repeats the opening.
    FENCE_RE = re.compile(
        r"^(?P<fence>`{3,}|~{3,})[ ]*(?P<info>[^\n`]*)\n(?P<body>.*?)(?<=\n)(?P=fence)[ ]*$",
        re.MULTILINE | re.DOTALL,
    )

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        out: list[str] = []
        pos = 0
        # Walk every fence in order, not just sequence ones, so that a
        # ```sequence example quoted inside a longer ````markdown fence stays
        # literal text.
        for m in self.FENCE_RE.finditer(text):
            if m["info"].strip().lstrip(".") != "sequence":
                continue
            first_line = text.count("\n", 0, m.start("body")) + 1
            try:
                svg = render_sequence(m["body"])
            except DiagramError as err:
                # Report positions in the Markdown document, not the block.
                line = first_line + err.line - 1 if err.line is not None else first_line - 1
                raise DiagramError(f"sequence diagram: {err.reason}", line) from err
            placeholder = self.md.htmlStash.store(f"{FIGURE_OPEN}{svg}</figure>")
            # Blank lines make the placeholder its own block, even when the
            # fence directly follows a paragraph.
            out.append(text[pos : m.start()])
            out.append(f"\n{placeholder}\n")
            pos = m.end()
        out.append(text[pos:])
        return "".join(out).split("\n")


class SequenceDiagramExtension(markdown.Extension):
    """Render ```sequence fenced blocks as inline SVG sequence diagrams."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # After normalize_whitespace (30), before fenced_code_block (25).
        md.preprocessors.register(SequenceDiagramPreprocessor(md), "sequence_diagram", 28)


def makeExtension(**kwargs) -> SequenceDiagramExtension:  # noqa: N802 - Markdown's API name
    """Lets Markdown load this module by name: extensions=["lessons.diagrams"]."""
    return SequenceDiagramExtension(**kwargs)
