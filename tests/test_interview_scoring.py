"""The rubric scorer (interview/scoring.py): plain functions, no database."""

from pathlib import Path

import pytest

from interview.script_files import parse_script_file
from interview.scoring import (
    LISTED,
    MET,
    MISSED,
    evidence_parts,
    highlight_segments,
    negation_of,
    score_answer,
    split_sentences,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "interview" / "checkout-outbox-drill.yaml"
SCRIPT = parse_script_file(FIXTURE)
RUBRIC = SCRIPT.prompts[0].rubric_dicts  # two-commit-points (3), crash-window (2), outbox (3)
CONSUMERS = SCRIPT.prompts[1].rubric_dicts  # duplicates (2), idempotent-consumer (3), dedup-in-same-transaction (1)


def statuses(text, rubric=RUBRIC) -> dict[str, str]:
    return {item.id: item.status for item in score_answer(text, rubric).items}


# --- sentences -------------------------------------------------------------------------------

def test_sentences_keep_their_spans_in_the_answer():
    text = "  The order commits first. Then we publish!\n\nA crash in between loses the event?  "
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == ["The order commits first.", "Then we publish!", "A crash in between loses the event?"]
    assert all(text[s.start:s.end] == s.text for s in sentences)


def test_soft_line_wraps_do_not_split_a_sentence_but_bullets_and_blank_lines_do():
    text = "We write the order and\nthe event in one transaction\n- a relay publishes it\n* consumers dedupe\n\nDone"
    assert [s.text for s in split_sentences(text)] == [
        "We write the order and\nthe event in one transaction", "a relay publishes it", "consumers dedupe", "Done"]


def test_abbreviations_and_ellipses_do_not_end_a_sentence():
    text = "Use a broker, e.g. Kafka or SQS. Lock it with SELECT ... FOR UPDATE first. Then commit."
    assert len(split_sentences(text)) == 3


# --- matching and negation -------------------------------------------------------------------

def test_a_plain_mention_earns_the_item_with_the_sentence_that_said_it():
    text = "First we save the order. Then we write the event to an outbox table, and a relay sends it."
    result = score_answer(text, RUBRIC)
    outbox = next(item for item in result.items if item.id == "outbox")
    assert outbox.status == MET and outbox.matched
    assert outbox.sentence == "Then we write the event to an outbox table, and a relay sends it."
    assert text[outbox.span[0]:outbox.span[1]] == outbox.sentence
    assert text[outbox.match_span[0]:outbox.match_span[1]].lower() == "outbox"
    assert outbox.pattern == r"\boutbox\b"


@pytest.mark.parametrize("text", [
    "We don't need an outbox here.",
    "Honestly I do not think we really need an outbox for this.",
    "There is no need for an outbox.",
    "We can ship this without an outbox.",
    "No outbox: Kafka is reliable enough.",
    "An outbox would be overkill here.",
    "The outbox table isn't needed.",
    "We never use an outbox.",
    "I'd skip the outbox.",
])
def test_a_negated_mention_earns_nothing(text):
    assert statuses(text)["outbox"] == MISSED
    item = next(i for i in score_answer(text, RUBRIC).items if i.id == "outbox")
    assert item.discounted and item.discounted[0].reason.startswith("negated")


@pytest.mark.parametrize("text", [
    "Without an outbox, a crash after the commit loses the event.",
    "You cannot do this safely without an outbox.",
    "Not only do we need an outbox, we also need a relay.",
    "If the publish does not happen, the row stays in the outbox and the relay retries.",
    "Kafka is not transactional with Postgres, so we add an outbox table.",
    "There are no lost events because the outbox is written in the same transaction.",
])
def test_a_negation_elsewhere_in_the_sentence_does_not_cancel_a_real_mention(text):
    assert statuses(text)["outbox"] == MET


def test_negation_is_scoped_to_the_clause():
    assert negation_of("We don't retry, we use an outbox", 27, 33) == ""
    assert negation_of("We don't use an outbox", 16, 22) == "n't"


def test_a_mention_can_be_negated_in_one_sentence_and_earned_in_another():
    text = "We don't need idempotency because Kafka is exactly-once. Actually, consumers must be idempotent."
    assert statuses(text, CONSUMERS)["idempotent-consumer"] == MET


def test_an_exclude_pattern_stops_its_sentence_from_counting():
    text = "Kafka gives us exactly-once, so the consumer is idempotent by default."
    result = score_answer(text, CONSUMERS)
    item = next(i for i in result.items if i.id == "idempotent-consumer")
    assert item.status == MISSED
    assert item.discounted[0].reason == "excluded: kafka (is|gives( us)?) exactly[- ]once"


def test_an_exclude_pattern_only_affects_the_sentence_it_hits():
    text = "There is no dual write problem, people say. But these are two separate commits, not atomic."
    assert statuses(text)["two-commit-points"] == MET


# --- keyword salad ---------------------------------------------------------------------------

def test_a_bare_list_of_buzzwords_only_lists_the_items():
    result = score_answer("Outbox, CDC, dual writes, idempotency keys, sagas, 2PC, retries with jitter.", RUBRIC)
    assert {item.id: item.status for item in result.items} == {
        "two-commit-points": LISTED, "crash-window": MISSED, "outbox": LISTED}
    assert not any(item.matched for item in result.items)
    assert result.total == 19  # a quarter of 6 of 8


def test_an_answer_of_fragments_is_salad_too():
    result = score_answer("Outbox. Dual write. Debezium. Exactly-once. Sagas.", RUBRIC)
    assert result.salad
    assert {item.status for item in result.items} <= {LISTED, MISSED}


def test_terse_notes_with_reasoning_are_not_salad():
    text = "- two separate commits, not atomic\n- crash after commit loses the event\n- outbox row in the same transaction"
    result = score_answer(text, RUBRIC)
    assert not result.salad and [item.status for item in result.items] == [MET, MET, MET]


def test_a_sentence_crammed_with_rubric_terms_is_name_dropping():
    result = score_answer("We need outbox CDC dual write and crash after commit.", RUBRIC)
    assert [item.status for item in result.items] == [LISTED, LISTED, LISTED]


def test_a_reasoned_list_is_not_salad():
    text = ("The order row and the event are two separate commits, so a crash after the first loses the event; "
            "we write the event to an outbox table in the same transaction and a relay publishes it.")
    result = score_answer(text, RUBRIC)
    assert not result.salad
    assert [item.status for item in result.items] == [MET, MET, MET]
    assert result.total == 100


def test_one_short_fragment_in_a_reasoned_answer_still_counts():
    text = ("Short version: outbox. The order and the event are two separate commits, so a crash after the "
            "commit loses the event unless both go in the same transaction.")
    assert statuses(text)["outbox"] == MET


def test_a_salad_answer_scores_below_a_partial_one():
    salad = score_answer("Dual write, outbox, CDC, crash after commit, 2PC, sagas, idempotency.", RUBRIC)
    partial = score_answer("We save the order and then publish, so there are two separate commits and they are not atomic.", RUBRIC)
    assert salad.total < partial.total


# --- totals, weights, follow-ups, highlighting ------------------------------------------------

def test_the_total_is_the_weighted_share_of_items_covered():
    assert score_answer("These are two separate commits.", RUBRIC).total == 38  # 3 of 8, rounded half up
    assert score_answer("If it crashes after the commit, nothing is sent.", RUBRIC).total == 25  # 2 of 8
    assert score_answer("Something about microservices.", RUBRIC).total == 0
    assert score_answer("", RUBRIC).total == 0


def test_the_follow_up_is_for_the_heaviest_missed_item_first_in_rubric_order():
    result = score_answer("If the service crashes after the commit the event is lost.", RUBRIC)
    assert result.follow_up_item.id == "two-commit-points"  # weight 3, before outbox (also 3)
    result = score_answer("These are two separate commits.", RUBRIC)
    assert result.follow_up_item.id == "outbox"
    assert result.to_dict()["follow_up"] == {
        "id": "outbox", "question": "How would you make the publish happen if and only if the order commits?",
        "description": RUBRIC[2]["description"]}


def test_no_follow_up_when_everything_is_covered():
    text = ("They are two separate commits. If it crashes after the commit the event is lost, "
            "so we write it to an outbox in the same transaction.")
    result = score_answer(text, RUBRIC)
    assert all(item.matched for item in result.items)
    assert result.follow_up_item is None and result.to_dict()["follow_up"] is None


def test_highlight_segments_cover_the_whole_answer_and_mark_earning_sentences():
    text = "Hello there. These are two separate commits. Bye <now>."
    items = score_answer(text, RUBRIC).to_dict()["items"]
    pieces = highlight_segments(text, items)
    assert "".join(p["text"] for p in pieces) == text
    assert [p for p in pieces if p["items"]] == [
        {"text": "These are two separate commits.", "items": ["two-commit-points"], "status": MET}]
    met = next(i for i in items if i["status"] == MET)
    assert evidence_parts(text, met) == {"before": "These are ", "match": "two separate commits", "after": "."}


def test_scoring_is_deterministic_and_serialisable():
    import json

    text = "We don't need an outbox. Two separate commits, though. Crash after commit: lost."
    first, second = score_answer(text, RUBRIC).to_dict(), score_answer(text, RUBRIC).to_dict()
    assert first == second
    assert json.loads(json.dumps(first)) == first
