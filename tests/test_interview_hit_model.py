"""The grader's hit model (interview/hit_model.py): learned from the labelled answers, shipped as a file anyone
can regenerate, and only ever adding credit the hand-written rules did not give."""

import json

from interview.hit_model import MODEL_PATH, HitModel, Row, fit, fit_rows, load_model, model_file_text, train_shipped
from interview.scoring import ALMOST, LISTED, MET, score_answer

FENCING = [{
    "id": "fencing-token", "weight": 3, "description": "Fencing tokens checked by the store.", "follow_up": "?",
    "match": [r"fencing tokens?"],
    "ideas": [["lock-grant|lock", "version", "monotonic"]],
}]


def a_model(**weights) -> HitModel:
    """A hand-made model: these weights, everything else 0, a threshold of one half."""
    return HitModel(features=tuple(weights), weights=tuple(weights.values()), bias=0.0, threshold=0.5)


def test_the_shipped_model_is_what_training_on_the_labelled_answers_gives():
    assert MODEL_PATH.read_text(encoding="utf-8") == train_shipped(), "run: python manage.py train_hit_model"


def test_the_shipped_model_says_what_it_was_trained_on_and_never_the_held_out_set():
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert data["trained_on"] == ["interview_answers", "spent_heldout", "spent_heldout_2", "spent_heldout_3", "spent_heldout_4",
                                  "spent_heldout_5", "spent_heldout_6", "spent_heldout_7", "spent_heldout_8",
                                  "spent_heldout_9", "spent_heldout_10", "spent_heldout_11",
                                  "spent_heldout_12"]
    assert not any("interview_answers_heldout" in name for name in data["trained_on"] + data["item_record_from"])
    assert load_model().weights and 0 < load_model().threshold < 1


def test_fitting_is_deterministic():
    rows = [Row({"reason": float(i % 2), "hedge": float(i % 3 == 0)}, covered=i % 2 == 1 and i % 3 != 0,
                item=f"item-{i % 4}", source=f"set-{i % 3}") for i in range(60)]
    first, second = fit_rows(rows, ["set-1", "set-2"]), fit_rows(list(rows), ["set-2", "set-1"])
    assert first == second
    assert model_file_text(first, ["a"], ["b"], 60) == model_file_text(second, ["a"], ["b"], 60)


def test_the_fit_learns_which_way_a_feature_points():
    samples = [({"reason": 1.0}, True)] * 30 + [({"reason": 1.0}, False)] * 5 + \
              [({"hedge": 1.0}, False)] * 30 + [({"hedge": 1.0}, True)] * 5
    names, weights, _ = fit(samples, l2=0.1)
    learned = dict(zip(names, weights))
    assert learned["reason"] > 0 > learned["hedge"]


def test_a_near_miss_the_model_is_sure_of_is_credited_and_shown_where_it_was_said():
    # Two of the three concepts of the idea; the rules alone miss it.
    text = "When the lock is granted it carries a version number. Writes go to the ledger."
    assert score_answer(text, FENCING, model=None).items[0].status == ALMOST
    item = score_answer(text, FENCING, model=a_model(near_share=10.0)).items[0]
    assert item.status == MET and item.pattern.startswith("near miss of idea: ")
    assert item.sentence == "When the lock is granted it carries a version number."
    assert all(item.sentence.find(text[a:b]) >= 0 for a, b in item.match_spans)


def test_a_doubted_near_miss_stays_almost_and_the_shipped_model_does_not_credit_part_of_an_idea():
    text = "When the lock is granted it carries a version number. Writes go to the ledger."
    assert score_answer(text, FENCING, model=a_model(near_share=-10.0)).items[0].status == ALMOST
    assert score_answer("Every lock grant carries a counter, and we log it.", FENCING).items[0].status == ALMOST


def test_the_model_never_takes_away_credit_the_rules_gave():
    text = "Use fencing tokens: the store keeps the highest token it has seen and refuses a write with a lower one."
    assert score_answer(text, FENCING, model=None).items[0].status == MET
    assert score_answer(text, FENCING, model=a_model(rule_met=-50.0, reason=-50.0)).items[0].status == MET


def test_a_bare_line_is_never_lifted_however_sure_the_model_is():
    for text in ("We'd use fencing tokens.", "Fencing tokens!"):
        item = score_answer(text, FENCING, model=a_model(rule_listed=50.0, hedge=50.0)).items[0]
        assert item.status == LISTED and item.credit < 1, text


def test_a_reasoned_mention_the_rules_only_listed_can_be_lifted_but_a_hedged_one_is_not():
    # Listed by the rules because the answer is mostly a list of terms; the model weighs the reason against the hedge.
    model = a_model(rule_listed=1.0, reason=2.0, hedge=-6.0)
    reasoned = "We add fencing tokens, because otherwise a paused client overwrites a newer write"
    hedged = "Maybe fencing tokens, I guess, because otherwise a paused client might overwrite a newer write"
    rubric = [{**FENCING[0], "parts": 2, "match": [r"fencing tokens?", r"^$never"]}]  # one part of two: listed
    assert score_answer(reasoned, rubric, model=None).items[0].status == LISTED
    assert score_answer(reasoned, rubric, model=model).items[0].status == MET
    assert score_answer(hedged, rubric, model=model).items[0].status == LISTED


def test_an_item_said_but_doubted_earns_the_models_belief_in_it_and_at_least_a_quarter():
    import math

    text = "We add fencing tokens, because otherwise a paused client overwrites a newer write"
    rubric = [{**FENCING[0], "parts": 2, "match": [r"fencing tokens?", r"^$never"]}]  # one part of two: listed
    doubtful = score_answer(text, rubric, model=a_model(rule_listed=-0.5)).items[0]
    assert doubtful.status == LISTED and math.isclose(doubtful.credit, 1 / (1 + math.exp(0.5)))
    sure_not = score_answer(text, rubric, model=a_model(rule_listed=-9.0)).items[0]
    assert sure_not.status == LISTED and sure_not.credit == 0.25
    bare = score_answer("We'd use fencing tokens.", FENCING, model=a_model(rule_listed=0.4)).items[0]
    assert bare.status == LISTED and bare.credit == 0.25


def test_scoring_with_the_shipped_model_is_deterministic():
    text = "When the lock is granted it carries a version number. Later the store compares it before a write."
    assert score_answer(text, FENCING).to_dict() == score_answer(text, FENCING).to_dict()
