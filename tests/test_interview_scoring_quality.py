"""The scorer against the labelled answers in tests/interview_answers/ (written by people, not by
the scorer's author): for every prompt strong > partial > weak, keyword salad below a partial
answer, negated mentions never credited. `make bench` reports the same figures."""

import json
from functools import cache
from pathlib import Path

import pytest
import yaml

from interview.script_files import SCRIPTS_DIR, parse_script_dir
from interview.scoring_quality import (ANSWERS_DIR, HELDOUT_DIR, SPENT_2_DIR, SPENT_3_DIR, SPENT_4_DIR, SPENT_5_DIR,
                                      SPENT_6_DIR, SPENT_7_DIR, SPENT_8_DIR, SPENT_9_DIR, SPENT_10_DIR, SPENT_11_DIR,
                                      SPENT_12_DIR, SPENT_DIR, SPENT_DIRS, evaluate, has_answers, labelled_answers,
                                      prompt_half, report_markdown)

if not any(ANSWERS_DIR.glob("*.yaml")):
    pytest.skip("tests/interview_answers/ has no labelled answers yet, so the scorer cannot be ranked",
                allow_module_level=True)


# Each set is scored when a test first asks for it, not at import: every test process imports this module,
# and scoring all five sets there cost six seconds a process before any test ran.
@cache
def measured(answers_dir: Path) -> dict | None:
    return evaluate(answers_dir, SCRIPTS_DIR) if has_answers(answers_dir) else None


def tuning() -> dict:
    return measured(ANSWERS_DIR)


def test_the_labelled_set_is_big_enough_to_mean_something():
    assert tuning()["answers"] >= 60
    assert {label for label, stats in tuning()["labels"].items() if stats["n"]} >= {"strong", "partial", "weak", "keyword-salad"}


def test_for_every_prompt_strong_beats_partial_beats_weak():
    ranked = [r for r in tuning()["ranking"] if len(r["compared"]) > 1]
    assert len(ranked) >= 40
    out_of_order = {f"{r['script']} prompt {r['prompt']}": {label: round(r["means"][label], 1) for label in r["compared"]}
                    for r in ranked if not r["ok"]}
    assert not out_of_order, f"mean scores by label: {out_of_order}"


def test_keyword_salad_scores_below_a_partial_answer_of_its_script():
    salads = tuning()["salad"]
    assert salads
    above = {s["answer"]: f"scored {s['score']}, its prompt's partial answers average {s['partial_mean']:.1f}"
             for s in salads if not s["ok"]}
    assert not above


def test_a_negated_mention_never_earns_its_item():
    assert tuning()["negation_failures"] == []


def test_the_set_has_negated_mentions_to_test_against():
    assert tuning()["negated_ignored"] > 0


def test_rubric_items_are_found_with_useful_precision_and_recall():
    # Floors, not targets: a drop below them means a pattern or a rule regressed.
    assert tuning()["precision"] >= 0.85 and tuning()["recall"] >= 0.8, (tuning()["precision"], tuning()["recall"])


@pytest.mark.slow  # scores every answer again, once per rule switched off
def test_the_benchmark_report_states_the_figures(tmp_path):
    # The tuning set alone: the spent and held-out sections are tested on small sets below (all of them: 20 s).
    lines = report_markdown(heldout_dir=tmp_path, spent_dirs=())
    assert lines[0] == "## Mock-interview scorer against the labelled answers"
    assert any("| precision | recall | F1 |" in line for line in lines)
    assert any(line.startswith("| strong |") for line in lines)


def test_an_empty_answer_directory_is_reported_not_crashed(tmp_path):
    assert any("no labelled answers" in line for line in report_markdown(tmp_path, SCRIPTS_DIR, tmp_path, [tmp_path]))


def test_an_answer_naming_an_unknown_item_is_a_readable_error(tmp_path):
    script = next(SCRIPTS_DIR.glob("*.yaml")).stem
    (tmp_path / f"{script}.yaml").write_text(
        f"script: {script}\nanswers:\n  - prompt: 1\n    label: strong\n    covers: [no-such-item]\n    text: hello\n")
    with pytest.raises(ValueError, match=rf"{script}\.yaml: answer 1: field 'covers' names no-such-item"):
        evaluate(tmp_path, SCRIPTS_DIR)


# --- a second, held-out directory (made up here, in a temporary directory) ---------------------

FIXTURE_SCRIPTS = Path(__file__).resolve().parent / "fixtures" / "interview"

HELD_OUT = {
    "script": "checkout-outbox-drill",
    "answers": [
        {"prompt": 1, "label": "strong", "covers": ["two-commit-points", "crash-window", "outbox"], "text":
         "Saving the order and publishing the event are two separate commits that nothing makes atomic. If the "
         "service crashes after the commit, the event is lost. So we write the event to an outbox table in the same "
         "transaction as the order and a relay publishes it."},
        {"prompt": 1, "label": "strong", "style": "plain-words", "covers": ["two-commit-points", "crash-window", "outbox"],
         "text": "The broker and the database commit separately, and no single transaction spans both of them. "
                 "Should the process die just after saving the order, nobody downstream ever hears about it. "
                 "I'd put the message in a table inside the same transaction as the order and have a background "
                 "job forward it."},
        {"prompt": 1, "label": "partial", "covers": ["two-commit-points"], "text":
         "The problem is that the order row and the Kafka message are two separate commits, so they are not atomic."},
        {"prompt": 1, "label": "weak", "covers": [], "text": "Kafka is reliable, so I'd just publish after saving."},
        {"prompt": 1, "label": "keyword-salad", "covers": [], "text": "Outbox, CDC, dual write, 2PC, sagas."},
    ],
}


def write_answers(directory, data):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{data['script']}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return directory


def test_a_held_out_directory_is_measured_with_styles_and_plain_words_recall(tmp_path):
    report = evaluate(write_answers(tmp_path / "heldout", HELD_OUT), FIXTURE_SCRIPTS)
    plain = [row for row in report["rows"] if row["answer"].style == "plain-words"]
    assert len(plain) == 1 and report["answers"] == 5
    gold, predicted = plain[0]["answer"].covers, plain[0]["predicted"]
    assert report["plain_words_recall"] == len(gold & predicted) / len(gold)
    assert report["styles"]["plain-words"]["n"] == 1 and report["styles"]["strong"]["n"] == 1
    assert report["labels"]["strong"]["n"] == 2  # plain-words answers are strong answers too
    assert [r["compared"] for r in report["ranking"]] == [["strong", "partial", "weak"]]
    assert report["salad"][0]["partial_mean"] == report["ranking"][0]["means"]["partial"]  # its own prompt's partials


def test_the_ranking_a_grader_true_to_the_labels_would_reach_is_measured_beside_the_graders(tmp_path):
    # A partial answer labelled with no item ties the weak one, so even exact credit cannot order that prompt.
    answers = [dict(answer) for answer in HELD_OUT["answers"]]
    answers[2]["covers"] = []
    report = evaluate(write_answers(tmp_path / "heldout", {**HELD_OUT, "answers": answers}), FIXTURE_SCRIPTS)
    assert [r["ok"] for r in report["label_ranking"]] == [False]
    assert report["label_ranking"][0]["means"] == {"strong": 100, "partial": 0, "weak": 0, "keyword-salad": 0}
    assert [s["ok"] for s in report["label_salad"]] == [False]  # 0 is not below 0
    as_labelled = evaluate(write_answers(tmp_path / "labelled", HELD_OUT), FIXTURE_SCRIPTS)
    assert [r["ok"] for r in as_labelled["label_ranking"]] == [True]
    assert as_labelled["label_ranking"][0]["means"]["partial"] == 38  # two-commit-points: 3 of the 8 weight points
    lines = report_markdown(tmp_path / "heldout", FIXTURE_SCRIPTS, tmp_path / "none", [])
    assert any("Credited with exactly their labelled items" in line and "on 0 of 1 prompts" in line for line in lines)
    # The grader is also judged only where the labels can order: here they order nothing; as labelled, one prompt.
    assert any(line.startswith("- Where the labels can order them") and "on 0 of 0 prompts and puts 0 of 0" in line
               for line in lines)
    ordered = report_markdown(tmp_path / "labelled", FIXTURE_SCRIPTS, tmp_path / "none", [])
    assert any(line.startswith("- Where the labels can order them") and "on 1 of 1 prompts and puts 1 of 1" in line
               for line in ordered)


def test_the_report_has_a_held_out_section_only_when_there_are_held_out_answers(tmp_path):
    tuning = write_answers(tmp_path / "tuning", {**HELD_OUT, "answers": HELD_OUT["answers"][:1] + HELD_OUT["answers"][2:]})
    absent = report_markdown(tuning, FIXTURE_SCRIPTS, tmp_path / "no-such-dir", [tmp_path / "no-such-dir"])
    (tmp_path / "empty").mkdir()
    empty = report_markdown(tuning, FIXTURE_SCRIPTS, tmp_path / "empty", [tmp_path / "empty"])
    present = report_markdown(tuning, FIXTURE_SCRIPTS, write_answers(tmp_path / "heldout", HELD_OUT),
                              [tmp_path / "no-such-dir"])
    assert not any("Held-out" in line or "held-out (" in line for line in absent + empty)
    assert any(line.startswith("No held-out answers in `empty/`") for line in empty)
    assert any(line.startswith("| held-out (`heldout/`) | 5 |") for line in present)
    assert any(line.startswith("### Held-out set: 5 answers") for line in present)
    assert any(line.startswith("| plain-words | 1 |") for line in present)
    # The tuning row comes first, and the held-out figures are not the tuning figures.
    summary = [line for line in present if line.startswith(("| tuning", "| held-out"))]
    assert summary[0].startswith("| tuning (`tuning/`) | 4 |")


def test_a_plain_words_answer_must_be_labelled_strong(tmp_path):
    data = {**HELD_OUT, "answers": [{**HELD_OUT["answers"][2], "style": "plain-words"}]}
    with pytest.raises(ValueError, match="answer 1: field 'style': a plain-words answer is a strong answer"):
        evaluate(write_answers(tmp_path, data), FIXTURE_SCRIPTS)


def test_a_broken_held_out_file_is_reported_in_the_report_not_crashed(tmp_path):
    broken = tmp_path / "heldout"
    broken.mkdir()
    (broken / "checkout-outbox-drill.yaml").write_text("script: checkout-outbox-drill\nanswers: [{prompt: 9, label: strong, text: x}]\n")
    lines = report_markdown(write_answers(tmp_path / "tuning", HELD_OUT), FIXTURE_SCRIPTS, broken, [tmp_path / "none"])
    assert any(line.startswith("Held-out set not measured: checkout-outbox-drill.yaml") for line in lines)


def test_the_management_command_reports_both_sets(tmp_path):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("score_quality", "--answers-dir", str(write_answers(tmp_path / "t", HELD_OUT)),
                 "--heldout-dir", str(write_answers(tmp_path / "h", HELD_OUT)), "--scripts-dir", str(FIXTURE_SCRIPTS),
                 "--spent-dir", str(write_answers(tmp_path / "s", HELD_OUT)), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) == {"tuning", "spent", "spent_half_A", "spent_half_B", "heldout"}
    assert data["heldout"]["answers"] == data["spent"]["answers"] == 5
    assert data["spent_half_A"]["answers"] + data["spent_half_B"]["answers"] == 5
    assert data["heldout"]["plain_words_recall"] is not None and "plain-words" in data["spent"]["styles"]
    out = StringIO()
    call_command("score_quality", "--answers-dir", str(tmp_path / "t"), "--heldout-dir", str(tmp_path / "none"),
                 "--spent-dir", str(tmp_path / "none"), "--scripts-dir", str(FIXTURE_SCRIPTS), stdout=out)
    assert "## Mock-interview scorer" in out.getvalue() and "held-out (" not in out.getvalue()


def test_the_report_shows_the_spent_set_and_its_two_halves_by_style(tmp_path):
    tuning = write_answers(tmp_path / "tuning", HELD_OUT)
    lines = report_markdown(tuning, FIXTURE_SCRIPTS, tmp_path / "none", [write_answers(tmp_path / "spent", HELD_OUT)])
    assert any(line.startswith("| spent held-out, now tuning (`spent/`) | 5 |") for line in lines)
    assert any(line.startswith("| … its prompts' half A |") for line in lines)
    assert any(line.startswith("| … its prompts' half B |") for line in lines)
    assert any(line.startswith("### Spent held-out set `spent/`: 5 answers") for line in lines)
    # By style: the tuning set, the spent set and the one half that holds the prompt.
    assert sum(line.startswith("| plain-words |") for line in lines) == 3
    assert any(line == "Half A of its prompts, by style:" for line in lines)


def test_two_spent_sets_are_reported_each_and_their_halves_together(tmp_path):
    from io import StringIO

    from django.core.management import call_command

    tuning = write_answers(tmp_path / "tuning", HELD_OUT)
    first, second = write_answers(tmp_path / "spent", HELD_OUT), write_answers(tmp_path / "spent_2", HELD_OUT)
    lines = report_markdown(tuning, FIXTURE_SCRIPTS, tmp_path / "none", [first, second])
    assert any(line.startswith("| spent held-out, now tuning (`spent/`) | 5 |") for line in lines)
    assert any(line.startswith("| spent held-out, now tuning (`spent_2/`) | 5 |") for line in lines)
    assert any(line.startswith("### Spent held-out set `spent_2/`: 5 answers") for line in lines)
    together = [line for line in lines if line.startswith("| all spent sets, half ")]
    assert len(together) == 2 and sum(int(line.split("|")[2]) for line in together) == 10
    out = StringIO()
    call_command("score_quality", "--answers-dir", str(tuning), "--heldout-dir", str(tmp_path / "none"),
                 "--spent-dir", str(first), "--spent-dir", str(second), "--scripts-dir", str(FIXTURE_SCRIPTS),
                 "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert {"spent", "spent_2", "spent_2_half_A", "spent_both_half_A", "spent_both_half_B"} <= set(data)
    assert data["spent_both_half_A"]["answers"] + data["spent_both_half_B"]["answers"] == 10


def test_the_prompts_fall_into_two_halves_of_about_the_same_size():
    halves = [prompt_half(script.slug, prompt.number) for script in parse_script_dir(SCRIPTS_DIR)
              for prompt in script.prompts]
    assert sorted(set(halves)) == ["A", "B"]
    assert abs(halves.count("A") - halves.count("B")) <= len(halves) // 4


# --- the held-out set, once the lead has placed it (written blind; never tuned against) --------

needs_heldout = pytest.mark.skipif(
    not has_answers(HELDOUT_DIR),
    reason="tests/interview_answers_heldout/ holds no answers: a blind set is spent once tuned on (see its README), "
           "and these wait for the next one")
# The blind sets of 2026-12-01 to 07, each measured once: precision 0.75, 0.82, 0.82, 0.81, 0.83, 0.87, 0.81, 0.87,
# 0.85, 0.85, 0.87, 0.82, 0.85; recall 0.80, 0.82, 0.79, 0.80, 0.78, 0.84, 0.84, 0.88, 0.89, 0.86, 0.83, 0.88, 0.88;
# plain-words recall 0.64, 0.65, 0.63, 0.62, 0.61, 0.77, 0.71, 0.79, 0.85, 0.79, 0.77, 0.80, 0.82 (that goal met by
# the last eight, recall by the eighth to tenth, the twelfth and the thirteenth). Strict xfails: each turns red the
# day it passes, so the marker goes and the goal is kept. Salad below partial on every prompt was met by the fourth
# set (48 of 48) and by none since. The thirteenth set's labels allow only 28 and 28 of 48 on the two orderings (19
# of its partial answers are labelled with nothing and tie the weak ones), where the grader reaches 38 and 45.
NOT_MET = pytest.mark.xfail(strict=True, reason="issue 12's held-out goals are not met yet (see docs/benchmarks.md)")


@needs_heldout
@NOT_MET
def test_held_out_strong_beats_partial_beats_weak_on_every_prompt():
    out_of_order = [f"{r['script']} prompt {r['prompt']}" for r in measured(HELDOUT_DIR)["ranking"] if len(r["compared"]) > 1 and not r["ok"]]
    assert not out_of_order


@needs_heldout
@NOT_MET
def test_held_out_keyword_salad_scores_below_the_partial_answers_of_its_prompt():
    assert all(salad["ok"] for salad in measured(HELDOUT_DIR)["salad"])


@needs_heldout
@NOT_MET
def test_held_out_figures_meet_the_goals_of_issue_12():
    assert measured(HELDOUT_DIR)["precision"] >= 0.9 and measured(HELDOUT_DIR)["recall"] >= 0.85, (measured(HELDOUT_DIR)["precision"], measured(HELDOUT_DIR)["recall"])
    if measured(HELDOUT_DIR)["plain_words_recall"] is not None:
        assert measured(HELDOUT_DIR)["plain_words_recall"] >= 0.7


def styles_by_prompt(answers) -> dict[tuple[str, int], list[str]]:
    """Each prompt's answers' styles (a strong answer in plain words counts as plain-words), sorted."""
    styles: dict[tuple[str, int], list[str]] = {}
    for answer in answers:
        styles.setdefault((answer.script, answer.prompt), []).append(answer.style or answer.label)
    return {prompt: sorted(found) for prompt, found in styles.items()}


# A blind set holds one answer in each style to each of the 48 prompts.
ONE_OF_EACH_STYLE = ["keyword-salad", "partial", "plain-words", "strong", "weak"]


@needs_heldout
def test_the_held_out_set_is_labelled_in_all_five_styles_for_every_prompt():
    styles = styles_by_prompt(row["answer"] for row in measured(HELDOUT_DIR)["rows"])
    assert len(styles) == 48 and all(found == ONE_OF_EACH_STYLE for found in styles.values())


# --- the reserved blind set: labelled, never measured (its README says when it is used) -----------

RESERVE_DIR = ANSWERS_DIR.parent / "interview_answers_reserve"


@pytest.mark.skipif(not has_answers(RESERVE_DIR), reason="tests/interview_answers_reserve/ holds no answers")
def test_the_reserved_set_is_labelled_in_all_five_styles_for_every_prompt():
    # Its form only (parsed and checked against the scripts' prompts and rubric ids): nothing here scores it.
    styles = styles_by_prompt(answer for answer, _ in labelled_answers(RESERVE_DIR))
    assert len(styles) == 48 and all(found == ONE_OF_EACH_STYLE for found in styles.values())


# --- the spent held-out sets: written blind, tuned on since 2026-12-02 --------------------------

needs_spent = pytest.mark.skipif(not has_answers(SPENT_DIR), reason="tests/interview_answers/spent_heldout/ is not there")


@pytest.mark.parametrize("spent_dir", SPENT_DIRS, ids=lambda d: d.name)
def test_each_spent_set_is_labelled_in_all_five_styles_for_every_prompt(spent_dir):
    spent = measured(spent_dir)
    if spent is None:
        pytest.skip("that spent set is not there")
    styles = styles_by_prompt(row["answer"] for row in spent["rows"])
    assert len(styles) == 48 and all(found == ONE_OF_EACH_STYLE for found in styles.values())


@needs_spent
def test_the_spent_set_keeps_what_tuning_on_it_gained():
    # Floors a little under the figures of 2026-12-02 (precision 0.81, recall 0.82, plain-words recall 0.69,
    # salad below partial on 45 of 48; 0.75, 0.80, 0.64 and 37 before tuning), not goals: these answers are
    # tuning data now, so only the new blind set can show issue 12's goals met. Salad is 42, not 43, since the
    # fifth round: exactly-once prompt 2's partial answer lost two items its labels never gave it (30 -> 18), and
    # its salad scores 27 on items only listed.
    assert measured(SPENT_DIR)["precision"] >= 0.79 and measured(SPENT_DIR)["recall"] >= 0.80, (measured(SPENT_DIR)["precision"], measured(SPENT_DIR)["recall"])
    assert measured(SPENT_DIR)["plain_words_recall"] >= 0.67
    assert sum(salad["ok"] for salad in measured(SPENT_DIR)["salad"]) >= 42
    assert measured(SPENT_DIR)["styles"]["keyword-salad"]["fp"] <= 12 and measured(SPENT_DIR)["styles"]["weak"]["fp"] <= 32


needs_spent_2 = pytest.mark.skipif(not has_answers(SPENT_2_DIR), reason="tests/interview_answers/spent_heldout_2/ is not there")


@needs_spent_2
def test_the_second_spent_set_keeps_what_tuning_on_it_gained():
    # Floors a little under the figures after tuning on it (precision 0.88, recall 0.83, plain-words recall 0.69,
    # 11 weak and 35 partial items wrongly credited; measured once before, blind: 0.82, 0.82, 0.65, 25 and 44).
    # Tuning data now: only the third blind set can show issue 12's goals met.
    assert measured(SPENT_2_DIR)["precision"] >= 0.86 and measured(SPENT_2_DIR)["recall"] >= 0.82, (measured(SPENT_2_DIR)["precision"], measured(SPENT_2_DIR)["recall"])
    assert measured(SPENT_2_DIR)["plain_words_recall"] >= 0.67
    assert measured(SPENT_2_DIR)["styles"]["weak"]["fp"] <= 15 and measured(SPENT_2_DIR)["styles"]["partial"]["fp"] <= 38


needs_spent_3 = pytest.mark.skipif(not has_answers(SPENT_3_DIR), reason="tests/interview_answers/spent_heldout_3/ is not there")


@needs_spent_3
def test_the_third_spent_set_keeps_what_tuning_on_it_gained():
    # Floors a little under the figures after tuning on it; measured once before, blind: precision 0.82,
    # recall 0.79, plain-words recall 0.63, 86 items wrongly credited. Tuning data now: only the fourth
    # blind set can show issue 12's goals met.
    assert measured(SPENT_3_DIR)["precision"] >= 0.84 and measured(SPENT_3_DIR)["recall"] >= 0.78, (measured(SPENT_3_DIR)["precision"], measured(SPENT_3_DIR)["recall"])
    assert measured(SPENT_3_DIR)["plain_words_recall"] >= 0.60
    assert measured(SPENT_3_DIR)["fp"] <= 75


needs_spent_4 = pytest.mark.skipif(not has_answers(SPENT_4_DIR), reason="tests/interview_answers/spent_heldout_4/ is not there")


@needs_spent_4
def test_the_fourth_spent_set_keeps_its_figures():
    # Measured blind (precision 0.81, recall 0.80, plain-words recall 0.62, salad below partial on 48 of 48) and not
    # tuned on by hand since; the hit model trains on it. Floors a little under those figures.
    assert measured(SPENT_4_DIR)["precision"] >= 0.79 and measured(SPENT_4_DIR)["recall"] >= 0.78, (measured(SPENT_4_DIR)["precision"], measured(SPENT_4_DIR)["recall"])
    assert measured(SPENT_4_DIR)["plain_words_recall"] >= 0.60
    assert sum(salad["ok"] for salad in measured(SPENT_4_DIR)["salad"]) >= 46


# Floors a little under each later spent set's figures after the round that last tuned on it, as (precision, recall,
# plain-words recall, prompts where strong > partial > weak). Tuning data now: only the next blind set can show issue
# 12's goals met.
LATER_SPENT_FLOORS = [
    # After the fourth round: 0.91, 0.91, 0.87 and 38 of 48; measured once before, blind: 0.83, 0.78, 0.61 and 30.
    pytest.param(SPENT_5_DIR, (0.89, 0.89, 0.84, 36), id="spent_heldout_5"),
    # After the fifth round: 0.94, 0.95, 0.97 and 46; blind: 0.87, 0.84, 0.77 and 38.
    pytest.param(SPENT_6_DIR, (0.92, 0.93, 0.94, 44), id="spent_heldout_6"),
    # After the sixth round: 0.92, 0.85, 0.72 and 36 (its labels allow 34; the grader passes more because items said
    # but not earned still score a quarter); blind: 0.81, 0.84, 0.71 and 33.
    pytest.param(SPENT_7_DIR, (0.90, 0.83, 0.69, 34), id="spent_heldout_7"),
    # After the seventh round: 0.93, 0.89, 0.81 and 42 (its labels allow 35); blind: 0.87, 0.88, 0.79 and 40.
    pytest.param(SPENT_8_DIR, (0.88, 0.87, 0.78, 39), id="spent_heldout_8"),
    # After the eighth round: 0.90, 0.91, 0.86 and 39 (its labels allow 26); blind: 0.85, 0.89, 0.85 and 40.
    pytest.param(SPENT_9_DIR, (0.88, 0.89, 0.84, 37), id="spent_heldout_9"),
    # Measured once, blind, after the eighth round: 0.85, 0.86, 0.79 and 39 (its labels allow 28).
    pytest.param(SPENT_10_DIR, (0.83, 0.84, 0.77, 37), id="spent_heldout_10"),
    # Measured once, blind, after the ninth round: 0.87, 0.83, 0.77 and 44 (its labels allow 32).
    pytest.param(SPENT_11_DIR, (0.85, 0.81, 0.75, 42), id="spent_heldout_11"),
    # Measured once, blind, after the tenth round: 0.82, 0.88, 0.80 and 36 (its labels allow 24); only the hit model
    # is trained on it.
    pytest.param(SPENT_12_DIR, (0.80, 0.85, 0.78, 34), id="spent_heldout_12"),
]


@pytest.mark.parametrize("spent_dir, floors", LATER_SPENT_FLOORS)
def test_each_later_spent_set_keeps_what_tuning_on_it_gained(spent_dir, floors):
    spent = measured(spent_dir)
    if spent is None:
        pytest.skip(f"tests/interview_answers/{spent_dir.name}/ is not there")
    precision, recall, plain_words_recall, ranked = floors
    assert spent["precision"] >= precision and spent["recall"] >= recall, (spent["precision"], spent["recall"])
    assert spent["plain_words_recall"] >= plain_words_recall
    assert sum(r["ok"] for r in spent["ranking"] if len(r["compared"]) > 1) >= ranked


def test_the_report_measures_the_hit_model_leave_one_set_out_when_asked(tmp_path):
    tuning = write_answers(tmp_path / "tuning", HELD_OUT)
    spent = [write_answers(tmp_path / name, HELD_OUT) for name in ("spent", "spent_2")]
    plain = report_markdown(tuning, FIXTURE_SCRIPTS, tmp_path / "none", spent)
    lines = report_markdown(tuning, FIXTURE_SCRIPTS, tmp_path / "none", spent, folds=True)
    assert "### The hit model, leave one set out" not in plain
    assert "### The hit model, leave one set out" in lines
    assert [line.split(" | ")[:2] for line in lines if line.startswith("| `spent")] == [
        ["| `spent/`", "rules alone"], ["| `spent/`", "rules + hit model"],
        ["| `spent_2/`", "rules alone"], ["| `spent_2/`", "rules + hit model"]]
