"""The figures a lesson quotes from its experiment are what the experiment gives, with the seed the lesson names."""

import re
from pathlib import Path

import pytest

from playground.experiments import get_experiment

LESSONS = Path(__file__).resolve().parent.parent / "lessons" / "content"

# (lesson, experiment, preset, changed parameters, {summary key: the sentence fragment quoting it})
QUOTED = [
    ("02-dual-write.md", "dual-write", "naive", {}, {"orders_without_event": "ends with {} of 1,000 orders without an event",
                                                     "writer_crashes": "({} writer crashes"}),
    ("03-transactional-outbox.md", "dual-write", "naive", {}, {"orders_without_event": "ends with {} orders with no event"}),
    ("03-transactional-outbox.md", "dual-write", "outbox-cursor", {}, {"rows_skipped_by_the_relay": "it skips {} rows",
                                                                       "orders_without_event": "{} orders with no event"}),
    ("03-transactional-outbox.md", "dual-write", "outbox-replay-after-cancel", {}, {
        "orders_cancelled": "{} orders are cancelled", "relay_crashes": "{} relay crashes",
        "duplicate_deliveries": "re-send {} events", "cancelled_orders_resurrected": "brings {} cancelled orders back"}),
    ("03-transactional-outbox.md", "dual-write", "outbox-replay-after-cancel", {"consumer_applies": "newer"},
     {"cancelled_orders_resurrected": "(the last line of defence above) brings back {}"}),
    ("06-sagas.md", "saga", "no-compensation", {}, {"sagas_left_half_done": "No compensation leaves {} sagas half done",
                                                    "charged_not_shipped_at_end": "{} of them customers charged"}),
    ("06-sagas.md", "saga", "orchestration", {}, {"sagas_completed": "Orchestration: {} completed",
                                                  "sagas_compensated": "{} compensated",
                                                  "mean_inconsistency_window_ms": "against orchestration's {} ms"}),
    ("06-sagas.md", "saga", "retries-off", {}, {"sagas_left_half_done": "Retries off leaves {} stuck"}),
    ("06-sagas.md", "saga", "lost-replies", {}, {"compensation_replies_lost": "{} compensation replies are lost",
                                                 "compensation_retries_recognised": "recognise all {} resends",
                                                 "saga_guarantee_violations": "and {} sagas break the guarantee"}),
    ("06-sagas.md", "saga", "lost-replies-not-idempotent", {}, {"saga_guarantee_violations": "refunded again and {} sagas"}),
    ("06-sagas.md", "saga", "choreography-redelivered-not-idempotent", {}, {
        "compensation_events_redelivered": "{} compensation events are delivered twice",
        "saga_guarantee_violations": "all the way up the chain: {} sagas"}),
    ("06-sagas.md", "saga", "payment-timeout-key", {}, {"steps_timed_out": "{} steps time out", "charges_resent": "{} charges are resent",
                                                        "customers_charged_twice": "resent and {} customers are charged twice"}),
    ("06-sagas.md", "saga", "payment-timeout-no-key", {}, {"customers_charged_twice": "resent as new charges, {} customers"}),
]


def figure(value) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value}"


@pytest.mark.parametrize("lesson, slug, preset, changes, quotes", QUOTED,
                         ids=[f"{q[0][:2]}-{q[2]}{'-changed' if q[3] else ''}" for q in QUOTED])
def test_a_lesson_quotes_its_experiment_with_seed_7(lesson, slug, preset, changes, quotes):
    text = re.sub(r"\s+", " ", (LESSONS / lesson).read_text())
    experiment = get_experiment(slug)
    params, errors = experiment.clean_params({**experiment.presets[preset].params, **changes})
    assert not errors
    summary = experiment.run(params, 7, lambda frame: None)
    assert "seed 7" in text
    for key, fragment in quotes.items():
        assert fragment.format(figure(summary[key])) in text, (key, summary[key])
