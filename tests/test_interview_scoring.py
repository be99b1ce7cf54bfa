"""The rubric scorer (interview/scoring.py): plain functions, no database."""

from pathlib import Path

import pytest

from interview.script_files import parse_script_file
from interview.scoring import (
    ALMOST,
    LISTED,
    LISTED_CREDIT,
    MET,
    MISSED,
    NEAR_CREDIT,
    SALAD_CREDIT,
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


def test_a_contraction_or_a_capital_letter_before_the_stop_ends_a_sentence():
    # "doesn't." once read as the abbreviation "t.", so its "n't" negated the next sentence too.
    text = "The broker doesn't. Then the relay retries from node B. It is idempotent."
    assert [s.text for s in split_sentences(text)] == [
        "The broker doesn't.", "Then the relay retries from node B.", "It is idempotent."]


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
    assert result.salad and result.total == 8  # a tenth of 6 of 8, rounded half up


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


@pytest.mark.parametrize("text", [
    "An outbox would be too much for this.",
    "No, two separate commits and an outbox is way too complex.",
    "I think an outbox is over-engineering here.",
])
def test_an_idea_rejected_as_too_costly_earns_nothing(text):
    assert statuses(text)["outbox"] == MISSED


def test_a_mechanism_recommended_despite_its_cost_still_counts():
    assert statuses("The outbox costs a table and a relay, but it is the only way the event survives a crash.")[
        "outbox"] == MET


def test_buzzwords_listed_inside_a_clause_only_list_the_items():
    # The salad of blind answers opens like a sentence and then names everything it knows.
    text = ("We'd commit to the transactional outbox, CDC via Debezium, dual writes, 2PC, sagas, "
            "idempotent consumers and reconciliation, which makes it reliable.")
    result = score_answer(text, RUBRIC)
    assert {item.id: item.status for item in result.items} == {
        "two-commit-points": LISTED, "crash-window": MISSED, "outbox": LISTED}


def test_one_item_spelled_out_as_a_list_still_counts():
    # Several settings of one mechanism are an explanation of it, not name-dropping.
    text = ("Saving the order and publishing are two separate commits, so a crash after the commit loses the event. "
            "On the producing side the order goes with its event: same transaction, outbox table, a relay process.")
    assert statuses(text)["outbox"] == MET


def test_an_answer_made_of_buzzword_lists_is_salad_throughout():
    text = ("For reliability: outbox, CDC, idempotency keys, sagas, 2PC, retries with jitter, DLQ. "
            "The order and the event are two separate commits, so we use an outbox.")
    result = score_answer(text, RUBRIC)
    assert result.salad and not any(item.matched for item in result.items)


def test_a_reasoned_answer_with_one_short_list_is_not_salad():
    text = ("The order row and the event are two separate commits, so a crash after the commit loses the event. "
            "We write the event to an outbox table in the same transaction as the order, and a relay publishes it "
            "later; a poller, CDC, or Debezium can all be that relay.")
    result = score_answer(text, RUBRIC)
    assert not result.salad and [item.status for item in result.items] == [MET, MET, MET]


@pytest.mark.parametrize("text", [
    "Turn on Kafka's exactly-once semantics and consumers are idempotent, so duplicates never reach billing.",
    "We just enable exactly-once delivery in Kafka, which dedups everything for us.",
    "Exactly-once delivery guarantees it, so the consumer is idempotent for free.",
    "With Kafka transactions enabled every event is processed exactly once, so the consumer is idempotent.",
    "The idempotent producer gives us exactly-once semantics, so the idempotent consumer never sees duplicates.",
])
def test_a_wrong_claim_earns_nothing_in_its_sentence(text):
    item = next(i for i in score_answer(text, CONSUMERS).items if i.id == "idempotent-consumer")
    assert item.status == MISSED
    assert item.discounted and item.discounted[0].reason.startswith("wrong claim: ")


@pytest.mark.parametrize("text", [
    "Kafka's exactly-once only covers Kafka itself, so the consumer must still be idempotent and dedup by event id.",
    "Don't rely on exactly-once delivery: consumers must be idempotent.",
    "You cannot wrap the PSP call in a database transaction, so the consumer dedups by event id.",
])
def test_correcting_a_wrong_claim_is_not_making_it(text):
    assert statuses(text, CONSUMERS)["idempotent-consumer"] == MET


@pytest.mark.parametrize("text", [
    "We wrap the Kafka publish and the order insert in a single database transaction, so there is no dual write.",
    "We put the Kafka publish and the order insert in a distributed transaction, so there is no dual write.",
    "Open the database transaction, publish the event, and commit only if the publish worked, so there is no dual write.",
])
def test_a_transaction_around_a_call_to_another_system_is_a_wrong_claim(text):
    assert statuses(text)["two-commit-points"] == MISSED


def test_explaining_why_publishing_inside_the_transaction_fails_is_not_the_claim():
    text = ("Publishing inside the transaction and committing only if the publish worked does not help: the broker and "
            "the database are two separate commits, so a crash between them loses the event.")
    assert statuses(text)["two-commit-points"] == MET


def test_a_salad_answer_scores_below_a_partial_one():
    salad = score_answer("Dual write, outbox, CDC, crash after commit, 2PC, sagas, idempotency.", RUBRIC)
    partial = score_answer("We save the order and then publish, so there are two separate commits and they are not atomic.", RUBRIC)
    assert salad.total < partial.total


# --- totals, weights, follow-ups, highlighting ------------------------------------------------

def test_the_total_is_the_weighted_share_of_items_covered():
    assert score_answer("Saving the order and publishing it are two separate commits.", RUBRIC).total == 38  # 3 of 8, rounded half up
    assert score_answer("If it crashes after the commit, nothing is sent.", RUBRIC).total == 25  # 2 of 8
    assert score_answer("Something about microservices.", RUBRIC).total == 0
    assert score_answer("", RUBRIC).total == 0


def test_the_follow_up_is_for_the_heaviest_missed_item_first_in_rubric_order():
    result = score_answer("If the service crashes after the commit the event is lost.", RUBRIC)
    assert result.follow_up_item.id == "two-commit-points"  # weight 3, before outbox (also 3)
    result = score_answer("Saving the order and publishing it are two separate commits.", RUBRIC)
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
    text = "Hello there. Saving and publishing are two separate commits. Bye <now>."
    items = score_answer(text, RUBRIC).to_dict()["items"]
    pieces = highlight_segments(text, items)
    assert "".join(p["text"] for p in pieces) == text
    assert [p for p in pieces if p["items"]] == [
        {"text": "Saving and publishing are two separate commits.", "items": ["two-commit-points"], "status": MET}]
    met = next(i for i in items if i["status"] == MET)
    parts = evidence_parts(text, met)
    assert (parts["before"], parts["match"], parts["after"]) == ("Saving and publishing are ", "two separate commits", ".")
    assert parts["pieces"] == [{"text": "Saving and publishing are ", "mark": False},
                               {"text": "two separate commits", "mark": True}, {"text": ".", "mark": False}]


def test_scoring_is_deterministic_and_serialisable():
    import json

    text = "We don't need an outbox. Two separate commits, though. Crash after commit: lost."
    first, second = score_answer(text, RUBRIC).to_dict(), score_answer(text, RUBRIC).to_dict()
    assert first == second
    assert json.loads(json.dumps(first)) == first


# --- ideas: concepts said together, in any words ----------------------------------------------

FENCING = [{
    "id": "fencing-token", "weight": 3, "description": "Fencing tokens checked by the store.", "follow_up": "?",
    "match": [r"fencing tokens?"],
    "ideas": [["lock-grant|lock", "version", "monotonic"], ["storage-checks", "reject", "stale|compare-newer"]],
}]


def test_word_forms_are_one_stem():
    from interview.concepts import phrase_stems

    assert phrase_stems("queries") == phrase_stems("query")
    assert phrase_stems("retried") == phrase_stems("retrying") == phrase_stems("retry")
    assert phrase_stems("doesn't wait") == phrase_stems("does never wait") == ("doe", "NEG", "wait")


def test_an_idea_in_plain_words_earns_the_item_with_every_phrase_marked():
    text = "Every lock grant carries a counter that only goes up, and the database turns away a write with a smaller counter."
    item = score_answer(text, FENCING).items[0]
    assert item.status == MET and item.pattern.startswith("idea: ")
    marked = [text[start:end] for start, end in item.match_spans]
    assert {"lock grant", "counter", "only goes up"} <= set(marked) or {"database", "turns away"} <= set(marked)
    pieces = evidence_parts(text, item.to_dict())["pieces"]
    assert "".join(p["text"] for p in pieces) == text and any(p["mark"] for p in pieces)


def test_an_idea_may_span_two_consecutive_sentences_but_not_three():
    two = "Each time the lock is granted it comes with a counter. That counter only goes up."
    three = "Each time the lock is granted we note it. The weather is nice today. The number only goes up."
    item = score_answer(two, FENCING).items[0]
    assert item.status == MET and item.sentence == two
    assert score_answer(three, FENCING).items[0].status == MISSED


def test_two_thirds_of_an_idea_is_almost_said_and_earns_a_little_not_the_item():
    item = score_answer("Every lock grant carries a counter, and we log it.", FENCING).items[0]
    assert item.status == ALMOST and not item.matched
    assert item.credit == pytest.approx(NEAR_CREDIT * 2 / 3) and item.sentence
    assert score_answer("We log every lock grant.", FENCING).items[0].status == MISSED  # a third of it is nothing


def test_almost_said_scores_below_listed_and_above_nothing():
    almost = score_answer("Every lock grant carries a counter, and we log it.", FENCING)
    listed = score_answer("We'd use fencing tokens.", FENCING)  # a bare line
    nothing = score_answer("We log every lock grant.", FENCING)
    assert not listed.salad and listed.items[0].status == LISTED and listed.items[0].credit == LISTED_CREDIT
    assert listed.total > almost.total > nothing.total == 0


def test_keyword_salad_earns_nothing_for_what_it_almost_said():
    salad = "Locks. Counters. Versions. Leases. Redlock. Zookeeper. Etcd. Consensus. Quorum. Raft."
    result = score_answer(salad, FENCING)
    assert result.salad and result.items[0].status != ALMOST


def test_a_negated_concept_does_not_complete_an_idea():
    text = "The lock grant has a counter but it never goes up and nothing is monotonic about it."
    item = score_answer(text, FENCING).items[0]
    # The grant and its counter are said; that it only goes up is negated: two of three concepts, almost, not met.
    assert item.status == ALMOST and item.credit < LISTED_CREDIT and any(m.reason.startswith("negated") for m in item.discounted)


def test_a_negation_binds_to_the_next_word_only():
    from interview.concepts import find_phrase, phrase_stems, tokens

    assert list(find_phrase(tokens("it has no fencing"), phrase_stems("no fencing")))
    assert not list(find_phrase(tokens("we don't need fencing"), phrase_stems("no fencing")))


def test_one_word_cannot_say_two_concepts_of_an_idea():
    rubric = [{**FENCING[0], "match": [r"^$never"], "ideas": [["counter", "counter|version"]]}]
    assert score_answer("We keep a counter of the grants here.", rubric).items[0].status == ALMOST  # one of two
    assert score_answer("We keep a counter and a version of the grants here.", rubric).items[0].status == MET


DEAD_LETTERS = [{
    "id": "dlq-after-n", "weight": 2, "description": "Moves a message aside to a dead-letter queue after N attempts.",
    "follow_up": "?", "match": [r"dead[- ]letter"], "ideas": [["dlq", "after|attempts|retries"]],
}]


@pytest.mark.parametrize("text", [
    "After about five tries the queue moves the job to a side pile, so it stops taking workers down.",
    "A payment that still fails after three attempts goes into a separate holding table for a person to look at.",
])
def test_a_dead_letter_queue_in_plain_words_is_a_dead_letter_queue(text):
    assert score_answer(text, DEAD_LETTERS).items[0].status == MET


def test_switching_ideas_off_leaves_the_phrase_rules():
    text = "Every lock grant carries a counter that only goes up, and the database turns away a write with a smaller counter."
    assert score_answer(text, FENCING, ideas=False).items[0].status == MISSED


# --- a bare line without reasoning ----------------------------------------------------------

def test_a_bare_buzzword_line_on_its_own_is_only_listed():
    for text in ("We'd use fencing tokens.", "Fencing tokens.", "Use fencing tokens!"):
        item = score_answer(text, FENCING).items[0]
        assert item.status == LISTED, text
        assert item.credit < 1


def test_a_short_line_with_reasoning_beside_it_counts():
    text = "Use fencing tokens. The ledger keeps the highest token it has seen and refuses any write carrying a lower one."
    assert score_answer(text, FENCING).items[0].status == MET
    assert score_answer("Use fencing tokens.", FENCING, bare=False).items[0].status == MET


def test_highlighting_handles_an_idea_that_overlaps_a_one_sentence_item():
    rubric = FENCING + [{"id": "counter", "weight": 1, "description": "d", "follow_up": "f", "match": [r"counter"]}]
    text = "Each time the lock is granted it comes with a counter. That counter only goes up, you see."
    items = score_answer(text, rubric).to_dict()["items"]
    pieces = highlight_segments(text, items)
    assert "".join(p["text"] for p in pieces) == text
    assert any(set(p["items"]) == {"fencing-token", "counter"} for p in pieces)


def test_a_tilde_element_names_the_harm_a_mechanism_prevents_even_when_negated():
    storm = [{"id": "retry-discipline", "weight": 2, "description": "d", "follow_up": "f", "match": [r"^$never"],
              "ideas": [["retry", "jitter", "~storm|pile up"]]}]
    plain = [{**storm[0], "ideas": [["retry", "jitter", "storm|pile up"]]}]
    text = "Retries wait a random time first, so they can't pile up into a storm."
    assert score_answer(text, storm).items[0].status == MET
    assert score_answer(text, plain).items[0].status == ALMOST
    # The other elements still obey negation.
    assert score_answer("We never retry, and jitter can't pile up anything.", storm).items[0].status == ALMOST


# --- the real rubrics: the mechanism earns an item, a mention of its term does not ----------------
# Blind labellers credit an item when the answer shows what its description asks for, not when it names the
# term: each case is (script, item, a sentence that only names it, a sentence that shows the mechanism).

from interview.script_files import SCRIPTS_DIR, parse_script_dir  # noqa: E402

REAL_SCRIPTS = {script.slug: script for script in parse_script_dir(SCRIPTS_DIR)}


def real_item_status(slug: str, item_id: str, text: str) -> str:
    prompt = next(p for p in REAL_SCRIPTS[slug].prompts if any(i.id == item_id for i in p.rubric))
    return next(i.status for i in score_answer(text, prompt.rubric_dicts).items if i.id == item_id)


MENTION_VS_MECHANISM = [
    ("find-the-bottleneck", "utilisation-saturation",
     "My first step would be looking at the CPU and the memory of every pod and of the database server.",
     "I'd look at how saturated each stage is: the DB connection pool sitting at 95% busy and the CPU pegged on the consumers."),
    ("consistency-per-operation", "pacelc-statement",
     "PACELC is a refinement of the CAP theorem that people like to quote.",
     "PACELC says that when the network partitions we choose between availability and consistency, and when it is healthy we still trade latency against consistency."),
    ("retries-and-thundering-herd", "dlq-after-n",
     "Anything that fails ends up in a dead letter queue for the team.",
     "After five failed attempts the message moves to a dead letter queue instead of being retried forever."),
    ("choose-a-message-broker", "dlq-delivery-limit",
     "Poison messages are just jobs that fail, so the workers will handle them like any other.",
     "We set a delivery limit of five on the quorum queue, so a job that keeps failing is dead-lettered instead of redelivered forever."),
    ("choose-a-message-broker", "monitor-it",
     "We should put money into monitoring and alerting for all three systems.",
     "I'd alert on consumer lag measured in seconds and on the age of the oldest message in each queue."),
    ("payments-ledger-reconciliation", "cadence-by-cost",
     "We would run the reconciliation job once a day as a nightly batch.",
     "The cadence follows the cost of drift: charged-but-unpaid customers feel it within minutes, so hourly for them, and daily for the bank."),
    ("payments-ledger-reconciliation", "bugs-and-manual-fixes",
     "Drift mostly comes from bugs in the code or data getting out of sync.",
     "Our own bugs cause some of it: a rounding bug in the currency conversion handler, and manual SQL fixes someone ran on the ledger."),
    ("high-availability-order-platform", "async-conflicts",
     "Any conflicts between the regions can simply be settled with last-write-wins timestamps.",
     "With last-write-wins, one of two concurrent updates to the same order is silently dropped."),
    ("exactly-once-payments", "backoff-jitter",
     "The client retries with exponential backoff on network errors, three to five times.",
     "The client retries with exponential backoff capped at 30 seconds and full jitter, so thousands of phones don't retry in lockstep."),
    ("order-placement-without-dual-writes", "version-guard",
     "Adding a version number to the events would help with ordering.",
     "Each event carries the order's version number and the consumer ignores any event older than the version it has stored."),
]


@pytest.mark.parametrize("slug,item_id,mention,mechanism", MENTION_VS_MECHANISM,
                         ids=[f"{case[0]}-{case[1]}" for case in MENTION_VS_MECHANISM])
def test_a_real_rubric_item_is_earned_by_its_mechanism_not_by_naming_it(slug, item_id, mention, mechanism):
    assert real_item_status(slug, item_id, mention) != MET
    assert real_item_status(slug, item_id, mechanism) == MET


PLAIN_WORDS = [
    ("order-placement-without-dual-writes", "version-guard",
     "Every event gets a step number for its order, and the consumer skips any message whose number is at or below "
     "the last one it applied."),
    ("retries-and-thundering-herd", "retry-budget",
     "Each caller gets a small allowance of retries, about one for every ten normal requests."),
    ("retries-and-thundering-herd", "dlq-after-n",
     "Once a message has used up its tries we move it out of the normal line into a separate failed pile."),
    ("order-placement-without-dual-writes", "ack-after-commit",
     "Record the message id and do the work in one transaction, finish the transaction, and only then tell Kafka "
     "it's done."),
    ("consistency-per-operation", "pacelc-statement",
     "When the regions can't talk to each other, do we keep answering or refuse until they agree? And on a normal "
     "day, do we answer quickly from a nearby copy or wait until it is up to date?"),
]


@pytest.mark.parametrize("slug,item_id,text", PLAIN_WORDS, ids=[f"{case[0]}-{case[1]}" for case in PLAIN_WORDS])
def test_a_real_rubric_item_is_earned_in_plain_words(slug, item_id, text):
    assert real_item_status(slug, item_id, text) == MET


# --- items of several parts, and symbols in idea phrases ----------------------------------------

TIMEOUTS_AND_BREAKER = {
    "id": "timeouts-breakers", "weight": 2, "description": "Timeouts from the latency percentiles and a breaker.",
    "follow_up": "", "parts": 2,
    "match": [r"circuit[- ]breakers?", r"\btimeouts?\b.{0,60}(p99|percentile)"],
}


def test_an_item_of_several_parts_is_only_listed_for_one_part_of_it():
    text = "I'd put circuit breakers around the downstream calls so we stop hammering it when it slows down."
    assert statuses(text, [TIMEOUTS_AND_BREAKER]) == {"timeouts-breakers": LISTED}


def test_an_item_of_several_parts_is_met_when_enough_of_them_are_said():
    text = ("I'd set timeouts from the dependency's p99 latency so a slow call fails fast. "
            "Around the calls I'd put a circuit breaker that opens after repeated failures and serves a fallback.")
    assert statuses(text, [TIMEOUTS_AND_BREAKER]) == {"timeouts-breakers": MET}


def test_an_item_of_one_part_keeps_crediting_one_part():
    text = "I'd put circuit breakers around the downstream calls so we stop hammering it when it slows down."
    assert statuses(text, [{**TIMEOUTS_AND_BREAKER, "parts": 1}]) == {"timeouts-breakers": MET}


def _idea_item(phrase: str) -> dict:
    return {"id": "figure", "weight": 1, "description": "", "follow_up": "", "match": [],
            "ideas": [[phrase, "cpu|settle|throughput"]]}


@pytest.mark.parametrize("phrase, said, not_said", [
    ("15%", "The pods sit at 15% cpu because they wait on the provider.",
     "We run 15 pods and the cpu is busy because of the parsing."),
    ("15%", "The pods sit at 15 percent cpu because they wait on the provider.",
     "We run 15 pods and the cpu is busy because of the parsing."),
    ("t+2", "Payouts settle at t+2, so yesterday's charges are still in flight.",
     "Table t has 2 rows that settle nothing at all for the accounts."),
    ("120/s", "At peak we need about 120/s of throughput through the consumers.",
     "We need 120 workers and the throughput is what the provider's s allows."),
])
def test_symbols_in_an_idea_phrase_are_read_as_words_not_dropped(phrase, said, not_said):
    # "15%" is not any 15, "t+2" is not "t" and "2", "/s" is not any lone s.
    assert statuses(said, [_idea_item(phrase)]) == {"figure": MET}
    assert statuses(not_said, [_idea_item(phrase)]) == {"figure": ALMOST}  # the other concept is there
