"""How good is the scorer? Measured on labelled answers: the tuning set in tests/interview_answers/,
written alongside the patterns; the spent held-out sets in tests/interview_answers/spent_heldout*/ (SPENT_DIRS),
written blind but tuned against or trained on since 2026-12-02 (each reported on its own and in two halves of its prompts, and all sets' halves together; see SPENT_NOTES for what was tuned on which); and — when present —
a held-out set in tests/interview_answers_heldout/,
written blind (by people who saw only the scenario and the prompt) and never shown to whoever tunes
the vocabulary. The held-out figures are the honest ones; the tuning figures are an upper bound.

Each labelled answer says which prompt it answers, its label (strong, partial, weak, off-topic,
keyword-salad), optionally its style (`plain-words` for a strong answer without the usual jargon),
and which rubric items a careful human grader says it really covers. From them:

- rubric-item precision, recall and F1, micro-averaged over every (answer, item) pair, where the
  scorer's "covered" is an item it *met* (an item only named in a keyword list is not covered);
- the same per label and per style, and plain-words recall on its own;
- mean score per label, and per prompt whether strong > partial > weak;
- whether every keyword-salad answer scores below the mean partial answer of its prompt (of its
  script, where its prompt has no partial answer);
- whether any item the grader did not credit was earned by a sentence with a negation in it
  ("we don't need idempotency because…"): a negated mention must not earn its item.

`make bench` writes report_markdown() into docs/benchmarks.md.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Callable, Mapping, Sequence

import yaml

from config.yaml_files import load_yaml

from .script_files import SCRIPTS_DIR, parse_script_dir
from .scoring import percent, score_answer

ANSWERS_DIR = Path(__file__).resolve().parent.parent / "tests" / "interview_answers"
HELDOUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "interview_answers_heldout"
# The blind sets spent on tuning on 2026-12-02: tuning data now, kept apart to be reported apart.
SPENT_DIR = ANSWERS_DIR / "spent_heldout"
SPENT_2_DIR = ANSWERS_DIR / "spent_heldout_2"
SPENT_3_DIR = ANSWERS_DIR / "spent_heldout_3"
SPENT_4_DIR = ANSWERS_DIR / "spent_heldout_4"
SPENT_5_DIR = ANSWERS_DIR / "spent_heldout_5"
SPENT_6_DIR = ANSWERS_DIR / "spent_heldout_6"
SPENT_7_DIR = ANSWERS_DIR / "spent_heldout_7"
SPENT_8_DIR = ANSWERS_DIR / "spent_heldout_8"
SPENT_9_DIR = ANSWERS_DIR / "spent_heldout_9"
SPENT_10_DIR = ANSWERS_DIR / "spent_heldout_10"
SPENT_11_DIR = ANSWERS_DIR / "spent_heldout_11"
SPENT_12_DIR = ANSWERS_DIR / "spent_heldout_12"
SPENT_DIRS = (SPENT_DIR, SPENT_2_DIR, SPENT_3_DIR, SPENT_4_DIR, SPENT_5_DIR, SPENT_6_DIR, SPENT_7_DIR, SPENT_8_DIR,
              SPENT_9_DIR, SPENT_10_DIR, SPENT_11_DIR, SPENT_12_DIR)
# What each spent set measured the one time it was honest, and how it was tuned on since.
SPENT_NOTES = {
    "spent_heldout": "Written and labelled blind on 2026-12-01, measured once (precision 0.75, recall 0.80, plain-words "
                     "recall 0.64), then spent: the negation, salad and reasoning rules were tuned on half A of its "
                     "prompts and each change was checked on half B (`prompt_half`). Since then it has been the check "
                     "set for the rubric patterns and ideas tuned on `spent_heldout_2/` (a change to one item's "
                     "patterns only touches that item's prompt, so it is checked on the other set's answers to the "
                     "same prompt, not on the other half of the prompts). It was the check set again for the third round (tuned "
                     "on `spent_heldout_2/` and `spent_heldout_3/`).",
    "spent_heldout_2": "Written and labelled blind on 2026-12-02, measured once (precision 0.82, recall 0.82, "
                       "plain-words recall 0.65, strong > partial > weak on 35 of 48 prompts, salad < partial on 46 "
                       "of 48), then spent: the rubric items' patterns and ideas were tuned on all of it, and each "
                       "change was adopted only if `spent_heldout/` did not get worse. Its halves were not used to "
                       "tune apart.",
    "spent_heldout_3": "Written and labelled blind on 2026-12-02, measured once (precision 0.82, recall 0.79, "
                       "plain-words recall 0.63, strong > partial > weak on 31 of 48 prompts, salad < partial on 47 "
                       "of 48), then spent on 2026-12-02: the third tuning round tuned on it and `spent_heldout_2/`, "
                       "with `spent_heldout/` as the check set (a change was adopted only if that did not get worse).",
    "spent_heldout_4": "Written and labelled blind on 2026-12-02, measured once by the rules (precision 0.81, recall "
                       "0.80, plain-words recall 0.62, strong > partial > weak on 31 of 48 prompts, salad < partial on "
                       "48 of 48) and once more with the hit model, which was trained without it (the same precision, "
                       "recall 0.795 → 0.804); spent on 2026-12-02 when a fifth blind set took its place. The hit model "
                       "is trained on it with the other spent sets; the fourth tuning round (2026-12-02, evening) "
                       "tuned the rubric items' patterns and ideas on it and the other four blind sets pooled.",
    "spent_heldout_5": "Written and labelled blind on 2026-12-02, measured once (precision 0.83, recall 0.78, "
                       "plain-words recall 0.61, strong > partial > weak on 30 of 48 prompts, salad < partial on 42 "
                       "of 48), then spent in the fourth tuning round (2026-12-02, evening), which tuned the rubric "
                       "items' patterns and ideas on all five blind sets pooled; the hit model is trained on it. The fifth "
                       "and sixth rounds (2026-12-03) tuned them on all six and all seven blind sets pooled.",
    "spent_heldout_6": "Written and labelled blind on 2026-12-02, measured once after the fourth round (precision 0.87, "
                       "recall 0.84, plain-words recall 0.77, strong > partial > weak on 38 of 48 prompts, salad < "
                       "partial on 42 of 48), then spent in the fifth tuning round (2026-12-03), which tuned the rubric "
                       "items' patterns and ideas on all six blind sets pooled; the hit model is trained on it. The sixth "
                       "round (2026-12-03) tuned them on all seven blind sets pooled.",
    "spent_heldout_7": "Written on 2026-12-02 and labelled blind on 2026-12-03, measured once after the fifth round "
                       "(precision 0.81, recall 0.84, plain-words recall 0.71, strong > partial > weak on 33 of 48 "
                       "prompts, salad < partial on 39 of 48), then spent in the sixth tuning round (2026-12-03), which "
                       "tuned the rubric items' patterns and ideas on all seven blind sets pooled; the hit model is "
                       "trained on it.",
    "spent_heldout_8": "Written and labelled blind on 2026-12-03, measured once after the sixth round (precision 0.87, "
                       "recall 0.88, plain-words recall 0.79, strong > partial > weak on 40 of 48 prompts, salad < "
                       "partial on 44 of 48), then spent in the seventh tuning round (2026-12-03), which tuned six "
                       "scripts' patterns and ideas and two vocabulary concepts on all eight blind sets pooled; the hit "
                       "model is trained on it.",
    "spent_heldout_9": "Written on 2026-12-03 and labelled blind on 2026-12-03/04, measured once after the seventh round "
                       "(precision 0.85, recall 0.89, plain-words recall 0.85, strong > partial > weak on 40 of 48 "
                       "prompts, salad < partial on 42 of 48), then spent in the eighth tuning round (2026-12-04), which "
                       "tuned the rubric items' patterns and ideas on all nine blind sets pooled; the hit model is "
                       "trained on it.",
    "spent_heldout_10": "Written and labelled blind on 2026-12-04, measured once after the eighth round (precision 0.85, "
                        "recall 0.86, plain-words recall 0.79, strong > partial > weak on 39 of 48 prompts, salad < "
                        "partial on 45 of 48), then spent in the ninth tuning round (2026-12-04), which tuned the rubric "
                        "items' patterns and ideas on all ten blind sets pooled; the hit model is trained on it.",
    "spent_heldout_11": "Written and labelled blind on 2026-12-04, measured once after the ninth round (precision 0.87, "
                        "recall 0.83, plain-words recall 0.77, strong > partial > weak on 44 of 48 prompts, salad < "
                        "partial on 46 of 48), then spent in the tenth tuning round (2026-12-07), which tuned the "
                        "rubric items' patterns and ideas on all eleven blind sets pooled; the hit model is trained on "
                        "it.",
    "spent_heldout_12": "Written on 2026-12-04 and labelled blind on 2026-12-07, measured once after the tenth round "
                        "(precision 0.82, recall 0.88, plain-words recall 0.80, strong > partial > weak on 36 of 48 "
                        "prompts, salad < partial on 46 of 48), then spent only by training the hit model on it: no "
                        "round tuned patterns or ideas on it.",
}
HALVES = ("A", "B")
LABELS = ("strong", "partial", "weak", "off-topic", "keyword-salad")
PLAIN_WORDS = "plain-words"
_STYLE = re.compile(r"^[a-z]+(?:-[a-z]+)*$")
# Deliberately broader than the scorer's own negation rules: any of these words in the earning
# sentence of an item the grader did not credit counts against the scorer.
_ANY_NEGATION = re.compile(
    r"\b(?:not|no|never|without|none|nor|neither|avoid\w*|skip\w*|instead of|rather than|overkill|unnecessary|"
    r"pointless|irrelevant)\b|n['’]t\b",
    re.IGNORECASE,
)


class AnswerFileError(ValueError):
    def __init__(self, path: Path, message: str):
        super().__init__(f"{path.name}: {message}")
        self.path = path


@dataclass(frozen=True)
class LabelledAnswer:
    path: Path
    index: int  # 1-based position in its file
    script: str
    prompt: int
    label: str
    covers: frozenset[str]
    text: str
    style: str = ""  # e.g. plain-words; "" when the file does not say

    @property
    def name(self) -> str:
        style = f", {self.style}" if self.style else ""
        return f"{self.path.name} answer {self.index} (prompt {self.prompt}, {self.label}{style})"

    @property
    def group(self) -> str:
        """What the per-style table groups by: the style where given, else the label."""
        return self.style or self.label


def parse_answer_file(path: Path) -> list[LabelledAnswer]:
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise AnswerFileError(path, f"not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("script"), str) or not isinstance(raw.get("answers"), list):
        raise AnswerFileError(path, "must be a mapping with a 'script' slug and an 'answers' list")
    answers = []
    for index, item in enumerate(raw["answers"], 1):
        def fail(message: str):
            raise AnswerFileError(path, f"answer {index}: {message}")

        if not isinstance(item, dict):
            fail("must be a mapping with prompt, label, covers and text")
        if not isinstance(item.get("prompt"), int) or isinstance(item.get("prompt"), bool):
            fail("field 'prompt' must be a prompt number")
        if item.get("label") not in LABELS:
            fail(f"field 'label' must be one of {', '.join(LABELS)}")
        covers = item.get("covers") or []
        if not isinstance(covers, list) or not all(isinstance(c, str) for c in covers):
            fail("field 'covers' must be a list of rubric item ids")
        if not isinstance(item.get("text"), str) or not item["text"].strip():
            fail("field 'text' is missing or empty")
        style = item.get("style", "")
        if not isinstance(style, str) or (style and not _STYLE.match(style)):
            fail("field 'style' must be a lowercase-and-hyphens word such as plain-words")
        if style == PLAIN_WORDS and item["label"] != "strong":
            fail(f"field 'style': a {PLAIN_WORDS} answer is a strong answer in plain words, so its label is strong")
        answers.append(LabelledAnswer(path=path, index=index, script=raw["script"], prompt=item["prompt"],
                                      label=item["label"], covers=frozenset(covers), text=item["text"], style=style))
    return answers


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def prompt_half(script: str, prompt: int) -> str:
    """"A" or "B": which half of the prompts an answer's prompt is in, to tune on one and check on the other.

    By a checksum of the prompt's name, so adding a prompt or a script moves no other prompt between halves.
    """
    return HALVES[zlib.crc32(f"{script}:{prompt}".encode()) % 2]


def has_answers(answers_dir: Path) -> bool:
    return Path(answers_dir).is_dir() and any(Path(answers_dir).glob("*.yaml"))


def labelled_answers(answers_dir: Path | Sequence[Path] = ANSWERS_DIR, scripts_dir: Path | None = None, *,
                     half: str | None = None) -> list[tuple[LabelledAnswer, list[dict]]]:
    """Every labelled answer in one directory or several, with the rubric of its prompt; checked against the
    scripts (a prompt or a rubric item they do not have is an AnswerFileError)."""
    scripts_dir = scripts_dir or SCRIPTS_DIR
    scripts = {script.slug: script for script in parse_script_dir(scripts_dir)}
    directories = [answers_dir] if isinstance(answers_dir, (str, Path)) else list(answers_dir)
    answers = [a for directory in directories for path in sorted(Path(directory).glob("*.yaml"))
               for a in parse_answer_file(path) if half is None or prompt_half(a.script, a.prompt) == half]
    out = []
    for answer in answers:
        script = scripts.get(answer.script)
        if script is None:
            raise AnswerFileError(answer.path, f"field 'script': no script '{answer.script}' in {scripts_dir}")
        prompt = script.prompt(answer.prompt)
        if prompt is None:
            raise AnswerFileError(answer.path, f"answer {answer.index}: {answer.script} has no prompt {answer.prompt}")
        ids = [item.id for item in prompt.rubric]
        unknown = answer.covers - set(ids)
        if unknown:
            raise AnswerFileError(answer.path, f"answer {answer.index}: field 'covers' names {', '.join(sorted(unknown))}, "
                                               f"not rubric items of prompt {answer.prompt} ({', '.join(ids)})")
        out.append((answer, prompt.rubric_dicts))
    return out


def evaluate(answers_dir: Path | Sequence[Path] = ANSWERS_DIR, scripts_dir: Path = SCRIPTS_DIR, *,
             half: str | None = None, **rules) -> dict:
    """Score every labelled answer and compare with its labels; see the module docstring.

    `answers_dir` is one directory of answer files or several, measured as one set.
    `half` ("A" or "B", see prompt_half) keeps only the answers to that half of the prompts.
    `rules` go to score_answer (negation=False, salad=False, ideas=False, bare=False) to measure
    what each rule is worth.
    """
    rows = []
    for answer, rubric in labelled_answers(answers_dir, scripts_dir, half=half):
        result = score_answer(answer.text, rubric, **rules)
        rows.append({"answer": answer, "result": result, "predicted": {i.id for i in result.items if i.matched}})
    return _compare(rows, lambda row: row["result"].total)


def _compare(rows: list[dict], score_of: Callable[[dict], int]) -> dict:
    """The figures of evaluate() for rows of {answer, result, predicted}, each answer scored by `score_of`."""
    tp = fp = fn = 0
    per_label: dict[str, dict] = {label: {"scores": [], "tp": 0, "fp": 0, "fn": 0} for label in LABELS}
    per_style: dict[str, dict] = defaultdict(lambda: {"scores": [], "tp": 0, "fp": 0, "fn": 0})
    item_errors: Counter = Counter()
    negation_failures, negated_ignored = [], 0
    for row in rows:
        answer, predicted = row["answer"], row["predicted"]
        gold = set(answer.covers)
        for stats in (per_label[answer.label], per_style[answer.group]):
            stats["scores"].append(score_of(row))
            for name, count in (("tp", len(predicted & gold)), ("fp", len(predicted - gold)),
                                ("fn", len(gold - predicted))):
                stats[name] += count
        tp, fp, fn = tp + len(predicted & gold), fp + len(predicted - gold), fn + len(gold - predicted)
        for item in row["result"].items:
            if item.id in predicted and item.id not in gold:
                item_errors[(answer.script, item.id, "false positive")] += 1
                if _ANY_NEGATION.search(item.sentence):
                    negation_failures.append({"answer": answer.name, "item": item.id, "sentence": item.sentence})
            elif item.id in gold and item.id not in predicted:
                item_errors[(answer.script, item.id, "missed")] += 1
            if item.id not in gold and not item.matched and any(m.reason.startswith("negated") for m in item.discounted):
                negated_ignored += 1

    ranking, salad = _orderings(rows, score_of)
    # What a grader that credited exactly the labelled items would score: where it is out of order too (a partial
    # answer labelled with nothing, or with as much as the strong ones), no grader faithful to the labels can rank it.
    label_ranking, label_salad = _orderings(rows, lambda row: _labelled_total(row["answer"], row["result"]))

    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {
        "answers": len(rows),
        "scripts": len({row["answer"].script for row in rows}),
        "prompts": len({(row["answer"].script, row["answer"].prompt) for row in rows}),
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2 * precision * recall, precision + recall),
        "tp": tp, "fp": fp, "fn": fn,
        "labels": {label: _group_stats(stats) for label, stats in per_label.items()},
        "styles": {style: _group_stats(stats) for style, stats in sorted(per_style.items())},
        "plain_words_recall": _group_stats(per_style[PLAIN_WORDS])["recall"] if PLAIN_WORDS in per_style else None,
        "ranking": ranking,
        "salad": salad,
        "label_ranking": label_ranking,
        "label_salad": label_salad,
        "negation_failures": negation_failures,
        "negated_ignored": negated_ignored,
        "item_errors": item_errors.most_common(),
        "rows": rows,
    }


def _labelled_total(answer: LabelledAnswer, result) -> int:
    """The score of an answer credited with exactly its labelled items, each in full."""
    return _credited_total(result, answer.covers)


def _credited_total(result, credited: set[str]) -> int:
    return percent(sum(item.weight for item in result.items if item.id in credited),
                   sum(item.weight for item in result.items))


# How the model grader's verdicts are measured: alone, and combined with the rules' (see model_grader_agreement).
MODEL_MODES = {
    "rules alone": lambda rules, model: rules,
    "model alone": lambda rules, model: model,
    "rules, confirmed by the model": lambda rules, model: rules & model,
    "rules or model": lambda rules, model: rules | model,
}


def model_grader_agreement(answers_dir: Path | Sequence[Path], scripts_dir: Path = SCRIPTS_DIR, *,
                           ask: Callable[[str, list[dict]], Mapping], progress: Callable[[int, int], None] | None = None
                           ) -> dict:
    """The optional model grader (GRADER_URL) against the labelled answers, beside the rules on the same answers.

    `ask(text, rubric)` is interview.model_grader.model_verdicts with the endpoint filled in. About half of the
    rule grader's remaining mistakes on blind answers are items a partial answer names without the reason the
    rubric asks for, a judgement a model may make better: "rules, confirmed by the model" credits an item only
    where both say met, the combination that can raise precision without a word of new patterns. Each mode is
    measured as evaluate() measures the rules, the score of an answer being the weight of its credited items. An
    item the model gave no verdict for counts as not met by the model, and `unanswered` says how many there were.
    A server that cannot be reached or times out stops the measurement with a ValueError rather than scoring the
    rest as missed.
    """
    pairs = labelled_answers(answers_dir, scripts_dir)
    rows, unanswered = [], 0
    for number, (answer, rubric) in enumerate(pairs, 1):
        verdicts = ask(answer.text, rubric)
        if verdicts.get("error"):
            raise ValueError(f"the model grader stopped at answer {number} of {len(pairs)} ({answer.name}): "
                             f"{verdicts['error']}")
        items = verdicts.get("items") or {}
        unanswered += sum(1 for item in rubric if (items.get(item["id"]) or {}).get("verdict") is None)
        result = score_answer(answer.text, rubric)
        rows.append({"answer": answer, "result": result,
                     "rules": {i.id for i in result.items if i.matched},
                     "model": {key for key, item in items.items() if item.get("verdict") == "met"}})
        if progress:
            progress(number, len(pairs))
    modes = {}
    for name, combine in MODEL_MODES.items():
        credited = [{"answer": row["answer"], "result": row["result"], "predicted": combine(row["rules"], row["model"])}
                    for row in rows]
        modes[name] = _compare(credited, lambda row: _credited_total(row["result"], row["predicted"]))
    return {"answers": len(rows), "unanswered": unanswered, "modes": modes}


def model_grader_lines(directory: Path, agreement: dict, model: str) -> list[str]:
    """The model grader's agreement as a markdown table, in the columns of the other sets' summaries."""
    lines = [f"Model grader `{model}` on `{Path(directory).name}/`: {agreement['answers']} answers, "
             f"{agreement['unanswered']} rubric items without a verdict (counted as not met by the model).", "",
             "| grader | answers | precision | recall | plain-words recall | strong > partial > weak | salad < partial |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [_set_summary(name, report) for name, report in agreement["modes"].items()]
    return lines


def _orderings(rows: list[dict], score_of) -> tuple[list[dict], list[dict]]:
    """Per prompt, whether the mean strong > partial > weak score; per salad answer, whether it scores below the
    mean partial answer of its prompt (of its script where the prompt has none)."""
    by_prompt: dict[tuple[str, int], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    by_script: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        answer = row["answer"]
        by_prompt[(answer.script, answer.prompt)][answer.label].append(score_of(row))
        by_script[answer.script][answer.label].append(score_of(row))
    ranking = []
    for (script, number), labels in sorted(by_prompt.items()):
        means = {label: mean(scores) for label, scores in labels.items()}
        order = [label for label in ("strong", "partial", "weak") if label in means]
        ok = all(means[a] > means[b] for a, b in zip(order, order[1:]))
        ranking.append({"script": script, "prompt": number, "means": means, "compared": order, "ok": ok})
    salad = []
    for row in rows:
        answer = row["answer"]
        if answer.label != "keyword-salad":
            continue
        partials = by_prompt[(answer.script, answer.prompt)].get("partial") or by_script[answer.script].get("partial")
        bar = mean(partials) if partials else None
        score = score_of(row)
        salad.append({"answer": answer.name, "score": score, "partial_mean": bar, "ok": bar is None or score < bar})
    return ranking, salad


def _group_stats(stats: dict) -> dict:
    return {
        "n": len(stats["scores"]),
        "mean": mean(stats["scores"]) if stats["scores"] else None,
        "min": min(stats["scores"], default=None),
        "max": max(stats["scores"], default=None),
        # None where nothing was credited or expected (off-topic, salad): there is nothing to measure.
        "precision": _ratio(stats["tp"], stats["tp"] + stats["fp"]) if stats["tp"] + stats["fp"] else None,
        "recall": _ratio(stats["tp"], stats["tp"] + stats["fn"]) if stats["tp"] + stats["fn"] else None,
        "fp": stats["fp"],
    }


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _set_summary(name: str, report: dict) -> str:
    ranked = [r for r in report["ranking"] if len(r["compared"]) > 1]
    return (f"| {name} | {report['answers']} | {report['precision']:.2f} | {report['recall']:.2f} "
            f"| {_figure(report['plain_words_recall'])} | {sum(r['ok'] for r in ranked)} of {len(ranked)} "
            f"| {sum(s['ok'] for s in report['salad'])} of {len(report['salad'])} |")


def _style_table(report: dict) -> list[str]:
    lines = ["| style (label where none given) | answers | mean score | item precision | item recall | wrongly credited |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for style, stats in report["styles"].items():
        lines.append(f"| {style} | {stats['n']} | {stats['mean']:.1f} | {_figure(stats['precision'])} "
                     f"| {_figure(stats['recall'])} | {stats['fp']} |")
    return lines


def _set_tables(report: dict) -> list[str]:
    lines = [
        "| rubric items (micro-averaged) | precision | recall | F1 |",
        "| --- | ---: | ---: | ---: |",
        f"| {report['tp']} right, {report['fp']} wrongly credited, {report['fn']} missed "
        f"| {report['precision']:.2f} | {report['recall']:.2f} | {report['f1']:.2f} |",
        "",
        "| label | answers | mean score | min | max | item precision | item recall |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, stats in report["labels"].items():
        if stats["n"]:
            lines.append(f"| {label} | {stats['n']} | {stats['mean']:.1f} | {stats['min']} | {stats['max']} "
                         f"| {_figure(stats['precision'])} | {_figure(stats['recall'])} |")
    if any(a["answer"].style for a in report["rows"]):
        lines += ["", *_style_table(report)]
    ranked = [r for r in report["ranking"] if len(r["compared"]) > 1]
    label_ranked = [r for r in report["label_ranking"] if len(r["compared"]) > 1]
    lines += [
        "",
        f"- Ranking: strong > partial > weak on {sum(r['ok'] for r in ranked)} of {len(ranked)} prompts"
        + (" (out of order: " + ", ".join(f"{r['script']} prompt {r['prompt']}" for r in ranked if not r["ok"]) + ")"
           if not all(r["ok"] for r in ranked) else "") + ".",
        f"- Keyword salad below the mean partial answer of its prompt: {sum(s['ok'] for s in report['salad'])} "
        f"of {len(report['salad'])}.",
        f"- Credited with exactly their labelled items, the answers would rank strong > partial > weak on "
        f"{sum(r['ok'] for r in label_ranked)} of {len(label_ranked)} prompts and salad below partial on "
        f"{sum(s['ok'] for s in report['label_salad'])} of {len(report['label_salad'])}: the ceiling for a grader "
        "faithful to the labels (a partial answer labelled with nothing, or with as much as the strong ones, "
        "cannot be put in order by its rubric items).",
        f"- Where the labels can order them, the grader ranks strong > partial > weak on "
        f"{sum(r['ok'] and l['ok'] for r, l in zip(ranked, label_ranked))} of {sum(l['ok'] for l in label_ranked)} "
        f"prompts and puts {sum(s['ok'] and l['ok'] for s, l in zip(report['salad'], report['label_salad']))} of "
        f"{sum(l['ok'] for l in report['label_salad'])} salad answers below partial.",
        f"- Negated mentions: {report['negated_ignored']} ignored as they should be; "
        f"{len(report['negation_failures'])} uncredited items earned by a sentence containing a negation.",
    ]
    return lines


def _optional_set(directory: Path, scripts_dir: Path, **options) -> tuple[dict | None, str]:
    """(report, "") for a directory of answers, (None, "") where it has none, (None, error) where one is broken."""
    if not has_answers(directory):
        return None, ""
    try:
        return evaluate(directory, scripts_dir, **options), ""
    except ValueError as exc:
        return None, str(exc)


def leave_one_set_out(answers_dir: Path = ANSWERS_DIR, scripts_dir: Path = SCRIPTS_DIR,
                      spent_dirs: Sequence[Path] = SPENT_DIRS) -> list[dict]:
    """The hit model measured honestly: for each spent set, a model trained on the tuning set and the other spent
    sets, scored on the one left out, beside the hand-written rules alone on the same answers."""
    from .hit_model import fit_rows, training_rows

    spent_dirs = [Path(d) for d in spent_dirs if has_answers(d)]
    rows = training_rows([answers_dir, *spent_dirs], scripts_dir)
    folds = []
    for left in spent_dirs:
        model = fit_rows([r for r in rows if r.source != left.name], [d.name for d in spent_dirs if d != left])
        folds.append({"left_out": left.name, "rules": evaluate(left, scripts_dir, model=None),
                      "model": evaluate(left, scripts_dir, model=model)})
    return folds


def _fold_lines(folds: list[dict]) -> list[str]:
    lines = [
        "", "### The hit model, leave one set out", "",
        "The hit model (`interview/hit_model.py`) may credit what the rules only listed or almost found. Measured "
        "honestly: trained on the tuning set and two spent sets, scored on the third, beside the rules alone on the "
        "same answers. (The rules' patterns were tuned on the spent sets, so neither row is a blind figure.)", "",
        "| left out | grader | precision | recall | plain-words recall | strong > partial > weak | salad < partial |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for fold in folds:
        for name in ("rules", "model"):
            row = _set_summary(f"`{fold['left_out']}/`", fold[name]).split(" | ", 1)
            lines.append(f"{row[0]} | {'rules alone' if name == 'rules' else 'rules + hit model'} | "
                         + row[1].split(" | ", 1)[1])
    return lines


def report_markdown(answers_dir: Path = ANSWERS_DIR, scripts_dir: Path = SCRIPTS_DIR,
                    heldout_dir: Path = HELDOUT_DIR, spent_dirs: Sequence[Path] = SPENT_DIRS, *,
                    folds: bool = False) -> list[str]:
    """Lines for docs/benchmarks.md: the tuning set, each spent held-out set (and its two halves) where there are
    any, both spent sets' halves together, the held-out set where there is one, and with `folds` the hit model
    measured leave-one-set-out (trains three models: about 15 s)."""
    lines = ["## Mock-interview scorer against the labelled answers", ""]
    try:
        report = evaluate(answers_dir, scripts_dir)
    except ValueError as exc:
        return lines + [f"Not measured: {exc}", ""]
    if not report["answers"]:
        return lines + [f"Not measured: no labelled answers in `{answers_dir.name}/` yet.", ""]
    heldout, heldout_error = _optional_set(heldout_dir, scripts_dir)
    spent_sets, spent_errors = [], []
    for directory in spent_dirs:
        spent, spent_error = _optional_set(directory, scripts_dir)
        if spent is not None:
            halves = {half: evaluate(directory, scripts_dir, half=half) for half in HALVES}
            spent_sets.append((Path(directory), spent, halves))
        elif spent_error:
            spent_errors.append(spent_error)
    both = ({half: evaluate([d for d, _, _ in spent_sets], scripts_dir, half=half) for half in HALVES}
            if len(spent_sets) > 1 else {})
    lines += [
        "Rubric items are matched by the script's phrase rules and by its ideas: concepts from the shared vocabulary "
        "(`interview/vocabulary.yaml`, Snowball stems) said together within a sentence or two. An item counts as "
        "covered when it is met, not when it is only named in a list of terms or on a bare line without reasoning.",
        "",
        "| set | answers | precision | recall | plain-words recall | strong > partial > weak | salad < partial |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        _set_summary(f"tuning (`{Path(answers_dir).name}/`)", report),
    ]
    for directory, spent, halves in spent_sets:
        lines += [_set_summary(f"spent held-out, now tuning (`{directory.name}/`)", spent),
                  _set_summary("… its prompts' half A", halves["A"]),
                  _set_summary("… its prompts' half B", halves["B"])]
    if both:
        lines += [_set_summary("all spent sets, half A of the prompts", both["A"]),
                  _set_summary("all spent sets, half B of the prompts", both["B"])]
    if heldout is not None:
        lines.append(_set_summary(f"held-out (`{Path(heldout_dir).name}/`)", heldout))
    else:
        lines += ["", f"No held-out answers in `{Path(heldout_dir).name}/`: the honest figures wait for the next "
                      "blind set." if not heldout_error else f"Held-out set not measured: {heldout_error}"]
    lines += [
        "",
        f"### Tuning set: {report['answers']} answers to {report['prompts']} prompts of {report['scripts']} scripts",
        "",
        "Written for the same release as the patterns and the vocabulary, so read these figures as an upper bound "
        "and the rule ablations below as what each rule is worth.",
        "",
        *_set_tables(report),
    ]
    lines += ["", "What each rule is worth (the tuning set, scored with a rule switched off):", "",
              "| scorer | precision | recall | F1 | keyword-salad mean | salad below partial |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, rules in (("all rules", {}), ("no negation handling", {"negation": False}),
                        ("no keyword-salad discount", {"salad": False}), ("no ideas (phrase rules only)", {"ideas": False}),
                        ("no bare-line rule", {"bare": False})):
        variant = report if not rules else evaluate(answers_dir, scripts_dir, **rules)
        salad_mean = variant["labels"]["keyword-salad"]["mean"]
        lines.append(f"| {name} | {variant['precision']:.2f} | {variant['recall']:.2f} | {variant['f1']:.2f} "
                     f"| {'–' if salad_mean is None else f'{salad_mean:.1f}'} "
                     f"| {sum(s['ok'] for s in variant['salad'])} of {len(variant['salad'])} |")
    worst = [e for e in report["item_errors"] if e[1] > 1][:8]
    if worst:
        lines += ["", "Rubric items the rules get wrong most often (candidates for better patterns):", ""]
        lines += [f"- `{script}` / `{item}`: {kind} {count}×" for (script, item, kind), count in worst]
    for directory, spent, halves in spent_sets:
        lines += [
            "",
            f"### Spent held-out set `{directory.name}/`: {spent['answers']} answers to {spent['prompts']} prompts "
            f"of {spent['scripts']} scripts, written blind, tuned on since 2026-12-02",
            "",
            SPENT_NOTES.get(directory.name, "Written and labelled blind, measured once, then spent on tuning.")
            + " The first rounds tuned on half A of the prompts and checked on half B; since the fourth round both "
            "halves are tuned on, so neither is an honest measurement.",
            "",
            *_set_tables(spent),
        ]
        for half, variant in halves.items():
            lines += ["", f"Half {half} of its prompts, by style:", "", *_style_table(variant)]
    for spent_error in spent_errors:
        lines += ["", f"Spent held-out set not measured: {spent_error}"]
    if folds and len(spent_sets) > 1:
        lines += _fold_lines(leave_one_set_out(answers_dir, scripts_dir, [d for d, _, _ in spent_sets]))
    if heldout is not None:
        lines += [
            "",
            f"### Held-out set: {heldout['answers']} answers to {heldout['prompts']} prompts of {heldout['scripts']} "
            "scripts, written blind",
            "",
            "Written by people who saw only the scenario and the prompt, labelled against the rubric descriptions, and "
            "kept from whoever wrote the patterns and the vocabulary until the grader was done: the honest figures.",
            "",
            *_set_tables(heldout),
        ]
        misses = [e for e in heldout["item_errors"]][:10]
        if misses:
            lines += ["", "Held-out errors by rubric item:", ""]
            lines += [f"- `{script}` / `{item}`: {kind} {count}×" for (script, item, kind), count in misses]
    lines.append("")
    return lines
