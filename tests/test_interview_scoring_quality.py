"""The scorer against the labelled answers in tests/interview_answers/ (written by people, not by
the scorer's author): for every prompt strong > partial > weak, keyword salad below a partial
answer, negated mentions never credited. `make bench` reports the same figures."""

import pytest

from interview.script_files import SCRIPTS_DIR
from interview.scoring_quality import ANSWERS_DIR, evaluate, report_markdown

if not any(ANSWERS_DIR.glob("*.yaml")):
    pytest.skip("tests/interview_answers/ has no labelled answers yet, so the scorer cannot be ranked",
                allow_module_level=True)

REPORT = evaluate(ANSWERS_DIR, SCRIPTS_DIR)
RANKED = [r for r in REPORT["ranking"] if len(r["compared"]) > 1]


def test_the_labelled_set_is_big_enough_to_mean_something():
    assert REPORT["answers"] >= 60
    assert {label for label, stats in REPORT["labels"].items() if stats["n"]} >= {"strong", "partial", "weak", "keyword-salad"}


@pytest.mark.parametrize("ranking", RANKED, ids=[f"{r['script']}-p{r['prompt']}" for r in RANKED])
def test_for_every_prompt_strong_beats_partial_beats_weak(ranking):
    means = {label: round(ranking["means"][label], 1) for label in ranking["compared"]}
    assert ranking["ok"], f"mean scores by label: {means}"


@pytest.mark.parametrize("salad", REPORT["salad"], ids=[s["answer"] for s in REPORT["salad"]])
def test_keyword_salad_scores_below_a_partial_answer_of_its_script(salad):
    assert salad["ok"], f"scored {salad['score']}, the script's partial answers average {salad['partial_mean']:.1f}"


def test_a_negated_mention_never_earns_its_item():
    assert REPORT["negation_failures"] == []


def test_the_set_has_negated_mentions_to_test_against():
    assert REPORT["negated_ignored"] > 0


def test_rubric_items_are_found_with_useful_precision_and_recall():
    # Floors, not targets: a drop below them means a pattern or a rule regressed.
    assert REPORT["precision"] >= 0.85 and REPORT["recall"] >= 0.8, (REPORT["precision"], REPORT["recall"])


def test_the_benchmark_report_states_the_figures():
    lines = report_markdown()
    assert lines[0] == "## Mock-interview scorer against the labelled answers"
    assert any("| precision | recall | F1 |" in line for line in lines)
    assert any(line.startswith("| strong |") for line in lines)


def test_an_empty_answer_directory_is_reported_not_crashed(tmp_path):
    assert any("no labelled answers" in line for line in report_markdown(tmp_path, SCRIPTS_DIR))


def test_an_answer_naming_an_unknown_item_is_a_readable_error(tmp_path):
    script = next(SCRIPTS_DIR.glob("*.yaml")).stem
    (tmp_path / f"{script}.yaml").write_text(
        f"script: {script}\nanswers:\n  - prompt: 1\n    label: strong\n    covers: [no-such-item]\n    text: hello\n")
    with pytest.raises(ValueError, match=rf"{script}\.yaml: answer 1: field 'covers' names no-such-item"):
        evaluate(tmp_path, SCRIPTS_DIR)
