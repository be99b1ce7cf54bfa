"""Specification for lesson sequence diagrams (lessons/diagrams.py).

Diagrams are written in a small DSL inside ```sequence fences and rendered on
the server to accessible inline SVG.
"""

import re
from pathlib import Path
import xml.etree.ElementTree as ET

import markdown
import pytest

from lessons.diagrams import (
    FIGURE_OPEN,
    DiagramError,
    SequenceDiagramExtension,
    parse_sequence,
    render_sequence,
)

SVG_NS = "http://www.w3.org/2000/svg"
NS = {"svg": SVG_NS}
DIAGRAM_CSS = Path(__file__).resolve().parent.parent / "static" / "css" / "diagrams.css"

EXAMPLE = """\
title: Naive dual write — crash between commit and publish
participant C as Client
participant S as Order service
participant DB as Orders DB
participant B as Broker
C -> S: POST /orders
S -> DB: BEGIN; INSERT order; COMMIT
DB --> S: ok
S -x B: publish OrderCreated
note over S: process crashes here
note over DB, B: order exists, event never sent
== later ==
S -> S: retry timer
"""


# -- helpers ----------------------------------------------------------------


def svg_of(source: str) -> ET.Element:
    """Render and parse; parsing at all proves the SVG is well-formed XML."""
    root = ET.fromstring(render_sequence(source))
    assert root.tag == f"{{{SVG_NS}}}svg"
    return root


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{{{SVG_NS}}}g") if cls in classes(g)]


def texts(element: ET.Element) -> list[str]:
    return [t.text or "" for t in element.iter(f"{{{SVG_NS}}}text")]


def lifeline_xs(root: ET.Element) -> list[float]:
    return [
        float(line.get("x1"))
        for line in root.iter(f"{{{SVG_NS}}}line")
        if "seq-lifeline" in classes(line)
    ]


def top_actor_labels(root: ET.Element) -> list[str]:
    actors = groups(root, "seq-actor")
    return [texts(g)[0] for g in actors[: len(actors) // 2]]


def rect_width(group: ET.Element) -> float:
    return float(group.find("svg:rect", NS).get("width"))


def desc(root: ET.Element) -> str:
    return root.find("svg:desc", NS).text


# -- participants -----------------------------------------------------------


def test_declared_participants_keep_declaration_order_and_labels():
    root = svg_of("participant B as Broker\nparticipant A as Alice\nA -> B: hi")
    assert top_actor_labels(root) == ["Broker", "Alice"]


def test_participant_without_label_is_labelled_with_its_id():
    assert top_actor_labels(svg_of("participant Cache\nCache -> Cache: tick")) == ["Cache"]


def test_undeclared_participants_are_added_in_order_of_first_appearance():
    diagram = parse_sequence(
        "participant S as Server\nC -> S: req\nS -> DB: query\nnote over Q: hm"
    )
    assert [(p.id, p.label) for p in diagram.participants] == [
        ("S", "Server"),
        ("C", "C"),
        ("DB", "DB"),
        ("Q", "Q"),
    ]


def test_each_participant_has_a_box_at_the_top_and_bottom_of_its_lifeline():
    root = svg_of("A -> B: hi\nB -> C: hi")
    actors = groups(root, "seq-actor")
    assert [texts(g)[0] for g in actors] == ["A", "B", "C", "A", "B", "C"]

    top = [float(g.find("svg:rect", NS).get("y")) for g in actors[:3]]
    bottom = [float(g.find("svg:rect", NS).get("y")) for g in actors[3:]]
    assert len(set(top)) == len(set(bottom)) == 1 and bottom[0] > top[0]
    for line in root.iter(f"{{{SVG_NS}}}line"):
        if "seq-lifeline" in classes(line):
            assert float(line.get("y1")) == top[0] + 34  # starts under the top box
            assert float(line.get("y2")) == bottom[0]  # ends on the bottom box


def test_participant_boxes_grow_with_their_labels_and_never_overlap():
    root = svg_of("participant A\nparticipant B as A really quite long participant name\nA -> B")
    a, b = (g.find("svg:rect", NS) for g in groups(root, "seq-actor")[:2])
    assert float(b.get("width")) > float(a.get("width"))
    assert float(a.get("x")) + float(a.get("width")) < float(b.get("x"))


# -- messages ---------------------------------------------------------------


def test_request_is_a_solid_line_with_an_arrowhead_touching_the_target_lifeline():
    root = svg_of("A -> B: hello")
    (msg,) = groups(root, "seq-message")
    assert classes(msg) == {"seq-message"}
    assert texts(msg) == ["hello"]
    tip_x = float(msg.find("svg:polygon", NS).get("points").split()[0].split(",")[0])
    assert tip_x == lifeline_xs(root)[1]


def test_reply_is_dashed_and_points_back_to_the_caller():
    root = svg_of("A -> B: req\nB --> A: resp")
    reply = groups(root, "seq-message")[1]
    assert "seq-reply" in classes(reply)
    assert "seq-reply" in render_sequence("A --> B")
    assert re.search(r"\.seq-reply line[^{]*\{[^}]*stroke-dasharray", DIAGRAM_CSS.read_text())
    tip_x = float(reply.find("svg:polygon", NS).get("points").split()[0].split(",")[0])
    assert tip_x == lifeline_xs(root)[0]


def test_lost_message_stops_short_with_a_red_cross_instead_of_an_arrowhead():
    source = "A -x B: publish"
    root = svg_of(source)
    (msg,) = groups(root, "seq-message")
    assert "seq-lost" in classes(msg)
    assert msg.find("svg:polygon", NS) is None
    assert msg.find("svg:path[@class='seq-cross']", NS) is not None
    line_end = float(msg.find("svg:line", NS).get("x2"))
    a_x, b_x = lifeline_xs(root)
    assert a_x < line_end < b_x - 10
    assert re.search(r"\.seq-cross \{[^}]*stroke: #dc2626", DIAGRAM_CSS.read_text())


def test_self_message_draws_a_loop_back_to_its_own_lifeline():
    root = svg_of("A -> B: x\nA -> A: retry timer")
    loop = groups(root, "seq-message")[1]
    path = loop.find("svg:path", NS).get("d")
    a_x = lifeline_xs(root)[0]
    assert path.startswith(f"M{a_x:g},")
    tip_x = float(loop.find("svg:polygon", NS).get("points").split()[0].split(",")[0])
    assert tip_x == a_x
    assert texts(loop) == ["retry timer"]


def test_self_message_on_the_last_participant_widens_the_canvas_for_its_label():
    narrow = svg_of("A -> B: x")
    wide = svg_of("A -> B: x\nB -> B: a fairly long label for a self message")
    assert float(wide.get("viewBox").split()[2]) > float(narrow.get("viewBox").split()[2])


def test_message_text_is_optional():
    (msg,) = groups(svg_of("A -> B"), "seq-message")
    assert texts(msg) == []


def test_long_message_labels_push_lifelines_apart_so_text_fits():
    short = lifeline_xs(svg_of("A -> B: hi"))
    label = "a considerably longer message label than usual"
    long_ = lifeline_xs(svg_of(f"A -> B: {label}"))
    assert long_[1] - long_[0] > short[1] - short[0]
    assert long_[1] - long_[0] > len(label) * 7


# -- notes and dividers -----------------------------------------------------


def test_note_over_two_participants_spans_both_lifelines_and_is_wider_than_one():
    root = svg_of("A -> B: x\nB -> C: y\nnote over A: hi\nnote over A, C: hi")
    one, two = groups(root, "seq-note")
    assert rect_width(two) > rect_width(one)
    a_x, _, c_x = lifeline_xs(root)
    rect = two.find("svg:rect", NS)
    assert float(rect.get("x")) < a_x and float(rect.get("x")) + rect_width(two) > c_x


def test_note_over_accepts_participants_in_either_order():
    forward = groups(svg_of("A -> B\nnote over A, B: n"), "seq-note")[0]
    backward = groups(svg_of("A -> B\nnote over B, A: n"), "seq-note")[0]
    assert rect_width(forward) == rect_width(backward)


def test_notes_left_and_right_of_a_participant_sit_beside_its_lifeline():
    root = svg_of("A -> B\nnote left of B: before\nnote right of B: after")
    left, right = (g.find("svg:rect", NS) for g in groups(root, "seq-note"))
    b_x = lifeline_xs(root)[1]
    assert float(left.get("x")) + float(left.get("width")) < b_x
    assert float(right.get("x")) > b_x


def test_notes_use_the_soft_yellow_note_style():
    svg = render_sequence("note over A: hi")
    assert "seq-note" in svg
    assert re.search(r"\.seq-note rect \{[^}]*fill: #fef9c3", DIAGRAM_CSS.read_text())


def test_divider_crosses_every_lifeline_with_centred_text():
    root = svg_of("A -> B\nB -> C\n== later ==")
    (divider,) = groups(root, "seq-divider")
    line = divider.find("svg:line", NS)
    xs = lifeline_xs(root)
    assert float(line.get("x1")) < xs[0] and float(line.get("x2")) > xs[-1]
    label = divider.find("svg:text", NS)
    assert label.text == "later" and label.get("text-anchor") == "middle"
    centre = (float(line.get("x1")) + float(line.get("x2"))) / 2
    assert float(label.get("x")) == pytest.approx(centre)


def test_blank_lines_and_comments_are_ignored():
    plain = render_sequence("A -> B: hi")
    assert render_sequence("\n# a comment\n%% another\n   \nA -> B: hi\n\n") != plain  # ids differ
    diagram = parse_sequence("\n# a comment\n%% another\n   \nA -> B: hi\n\n")
    assert diagram == parse_sequence("A -> B: hi")


def test_the_lesson_example_parses_into_the_expected_steps():
    diagram = parse_sequence(EXAMPLE)
    assert diagram.title == "Naive dual write — crash between commit and publish"
    assert [p.id for p in diagram.participants] == ["C", "S", "DB", "B"]
    kinds = [type(step).__name__ + ":" + getattr(step, "kind", "") for step in diagram.steps]
    assert kinds == [
        "Message:request",
        "Message:request",
        "Message:reply",
        "Message:lost",
        "Note:",
        "Note:",
        "Divider:",
        "Message:request",
    ]


# -- accessibility and styling ----------------------------------------------


def test_svg_is_labelled_by_its_title_and_described_by_the_steps():
    root = svg_of(EXAMPLE)
    assert root.get("role") == "img"
    title = root.find("svg:title", NS)
    assert root.get("aria-labelledby") == title.get("id")
    assert title.text == "Naive dual write — crash between commit and publish"
    assert root.get("aria-describedby") == root.find("svg:desc", NS).get("id")
    assert list(root)[0] is title  # first child, as SVG accessibility expects


def test_untitled_diagram_is_called_sequence_diagram():
    assert svg_of("A -> B").find("svg:title", NS).text == "Sequence diagram"


def test_desc_lists_every_step_in_order_in_plain_text():
    text = desc(svg_of(EXAMPLE))
    assert text == (
        "Participants: Client, Order service, Orders DB, Broker. "
        "1. Client to Order service: POST /orders. "
        "2. Order service to Orders DB: BEGIN; INSERT order; COMMIT. "
        "3. Orders DB to Order service: ok (reply). "
        "4. Order service to Broker: publish OrderCreated (lost). "
        "5. Note over Order service: process crashes here. "
        "6. Note over Orders DB and Broker: order exists, event never sent. "
        "7. Section: later. "
        "8. Order service to itself: retry timer."
    )


def test_svg_scales_to_its_container():
    root = svg_of(EXAMPLE)
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    assert width > 0 and height > 0
    assert (float(root.get("width")), float(root.get("height"))) == (width, height)
    assert ".seq-diagram { max-width: 100%; height: auto; }" in DIAGRAM_CSS.read_text()


def test_styles_come_from_the_stylesheet_and_every_class_is_seq_prefixed():
    svg = render_sequence(EXAMPLE)
    root = ET.fromstring(svg)
    # No <style> and no style="": the page's Content-Security-Policy allows no inline styles.
    assert root.find("svg:style", NS) is None and all(el.get("style") is None for el in root.iter())
    style = DIAGRAM_CSS.read_text()
    assert "system-ui" in style and "sans-serif" in style
    used = {c for el in root.iter() for c in classes(el)}
    assert used and all(c.startswith("seq-") for c in used)
    assert used <= set(re.findall(r"\.([A-Za-z][\w-]*)", style))
    assert "<script" not in svg and "href" not in svg  # self-contained, no JS


def test_user_text_is_xml_escaped_everywhere():
    evil = "<script>alert('x & \"y\"')</script>"
    source = (
        f"title: {evil}\n"
        f"participant A as {evil}\n"
        f"A -> B: {evil}\n"
        f"note over B: {evil}\n"
        f"== {evil} =="
    )
    svg = render_sequence(source)
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg and "&amp;" in svg and "&quot;" in svg

    root = ET.fromstring(svg)
    assert root.find("svg:title", NS).text == evil
    assert texts(root).count(evil) == 6  # title, two actor boxes, message, note, divider
    assert evil in desc(root)


@pytest.mark.parametrize(
    "label",
    [
        "]]> <!-- --> <![CDATA[",
        "a\x00b\x08c\x1fd",  # control characters XML cannot carry at all
        "tab\there",
        "emoji 🚀 and 注文サービス",
        "&amp; &#x41; &unknown;",
        "'single' \"double\" `back`",
        "x" * 200,
    ],
)
def test_awkward_label_text_still_yields_well_formed_svg(label):
    source = f"participant A as X{label}\nA -> B: {label}\nnote over B: {label}\nB -> B: {label}"
    root = ET.fromstring(render_sequence(source))
    assert root.find("svg:desc", NS).text


# -- errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "A -> B: ok\n\n\n\n\n\nS => B",
            'line 7: cannot parse "S => B": expected "A -> B: text", "A --> B: text" (reply)',
        ),
        ("A -> B\nparticipant Order service", 'line 2: cannot parse "participant Order service"'),
        ("note A: hmm", 'line 1: cannot parse "note A: hmm": expected "note over A: text"'),
        ("title: One\ntitle: Two", "line 2: title already set on line 1"),
        (
            "participant A\nparticipant A as Again",
            'line 2: participant "A" already declared on line 1',
        ),
        (
            "A -> B\nparticipant B as Bob",
            'line 2: participant "B" is declared after its first use on line 1',
        ),
        ("A -> B\nnote left of A, B: x", 'line 2: "note left of" takes one participant'),
        ("A -> B\n== unfinished", 'line 2: cannot parse "== unfinished"'),
    ],
)
def test_syntax_errors_name_the_line_and_the_offending_text(source, expected):
    with pytest.raises(DiagramError) as excinfo:
        render_sequence(source)
    assert str(excinfo.value).startswith(expected)


def test_diagram_error_is_a_value_error_with_line_details():
    with pytest.raises(ValueError) as excinfo:
        render_sequence("A -> B\nbogus")
    assert isinstance(excinfo.value, DiagramError)
    assert excinfo.value.line == 2


def test_empty_diagram_is_an_error():
    with pytest.raises(DiagramError, match="empty"):
        render_sequence("# only a comment\ntitle: Nothing here")


# -- determinism ------------------------------------------------------------


def test_same_source_renders_byte_identical_svg():
    assert render_sequence(EXAMPLE) == render_sequence(EXAMPLE)


def test_different_diagrams_get_different_ids_so_they_can_share_a_page():
    first, second = svg_of("A -> B"), svg_of("B -> A")
    assert first.get("aria-labelledby") != second.get("aria-labelledby")


# -- Markdown extension -----------------------------------------------------


def to_html(text: str) -> str:
    extensions = [SequenceDiagramExtension(), "fenced_code", "codehilite"]
    return markdown.markdown(text, extensions=extensions)


def test_markdown_renders_a_sequence_block_as_an_inline_svg_figure():
    html = to_html("Intro paragraph.\n```sequence\nA -> B: hi\n```\nAfter.")
    assert FIGURE_OPEN + '<svg' in html
    assert "<p>Intro paragraph.</p>" in html and "<p>After.</p>" in html
    figure = re.search(re.escape(FIGURE_OPEN) + r'(.*?)</figure>', html, re.S).group(1)
    assert figure == render_sequence("A -> B: hi\n")  # untouched by later processors


def test_markdown_leaves_other_fenced_blocks_to_fenced_code():
    html = to_html("```python\nif a -> b: pass\n```")
    assert "<figure" not in html and "<svg" not in html
    assert 'class="codehilite"' in html


def test_sequence_example_quoted_inside_a_longer_fence_stays_literal():
    html = to_html("````markdown\n```sequence\nA -> B: shown as code\n```\n````")
    assert "<svg" not in html and "shown as code" in html


def test_markdown_accepts_tilde_fences_and_several_diagrams():
    html = to_html("~~~sequence\nA -> B\n~~~\n\ntext\n\n```sequence\nB -> A\n```\n")
    assert html.count(FIGURE_OPEN + '<svg') == 2


def test_markdown_errors_report_the_line_in_the_markdown_document():
    text = "# Lesson\n\nSome text.\n\n```sequence\nA -> B: ok\nS => B\n```\n"
    with pytest.raises(DiagramError) as excinfo:
        to_html(text)
    assert str(excinfo.value).startswith('line 7: sequence diagram: cannot parse "S => B"')


def test_extension_can_be_loaded_by_module_name():
    html = markdown.markdown("```sequence\nA -> B\n```", extensions=["lessons.diagrams"])
    assert html.startswith(FIGURE_OPEN + '<svg')
