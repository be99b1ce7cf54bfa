"""Reads and validates quiz files (lessons/quizzes/<lesson>.yaml).

Every error names the file, the question and the field, so that whoever
edits a quiz can fix it without reading this code.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from config.yaml_files import load_yaml

from .data_files import DataFileError

QUIZ_DIR = Path(__file__).resolve().parent / "quizzes"
KINDS = {"single", "multiple", "ordering", "numeric"}
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class QuizFileError(DataFileError):
    pass


@dataclass(frozen=True)
class QuestionSpec:
    key: str
    kind: str
    prompt: str
    data: dict
    explanation: str


@dataclass(frozen=True)
class QuizFile:
    path: Path
    lesson_slug: str
    questions: list[QuestionSpec]


def parse_quiz_file(path: Path) -> QuizFile:
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise QuizFileError(path, f"not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("lesson"), str):
        raise QuizFileError(path, "must be a mapping with a 'lesson' slug and a 'questions' list")
    if not isinstance(raw.get("questions"), list) or not raw["questions"]:
        raise QuizFileError(path, "field 'questions' must be a non-empty list")
    questions = [_parse_question(path, raw["lesson"], number, item) for number, item in enumerate(raw["questions"], 1)]
    return QuizFile(path=path, lesson_slug=raw["lesson"], questions=questions)


def _parse_question(path: Path, lesson: str, number: int, item) -> QuestionSpec:
    def fail(message: str):
        name = item.get("id") if isinstance(item, dict) else None
        raise QuizFileError(path, f"question {number}{f' ({name})' if name else ''}: {message}")

    if not isinstance(item, dict):
        fail("must be a mapping")
    for field in ("id", "kind", "prompt", "explanation"):
        if not isinstance(item.get(field), str) or not item[field].strip():
            fail(f"field '{field}' is missing or empty")
    if not _SLUG.match(item["id"]):
        fail("field 'id' must be a lowercase-and-hyphens slug")
    if item["kind"] not in KINDS:
        fail(f"field 'kind' must be one of {', '.join(sorted(KINDS))}")
    if "topic" in item and item["topic"] != lesson:
        fail(f"field 'topic' must be the lesson slug '{lesson}'")
    kind = item["kind"]
    if kind in {"single", "multiple"}:
        choices = item.get("choices")
        if not isinstance(choices, list) or len(choices) < 2:
            fail("field 'choices' must list at least two choices")
        for choice in choices:
            if not isinstance(choice, dict) or not isinstance(choice.get("text"), str):
                fail("each choice needs a 'text'")
            if not isinstance(choice.get("correct", False), bool):
                fail("a choice's 'correct' must be true or false")
        correct = sum(bool(choice.get("correct")) for choice in choices)
        if kind == "single" and correct != 1:
            fail(f"a single-choice question needs exactly one correct choice, not {correct}")
        if kind == "multiple" and correct < 1:
            fail("a multiple-choice question needs at least one correct choice")
        data = {"choices": [{"text": c["text"], "correct": bool(c.get("correct"))} for c in choices]}
    elif kind == "ordering":
        items = item.get("items")
        if not isinstance(items, list) or len(items) < 2 or not all(isinstance(i, str) for i in items):
            fail("field 'items' must list at least two strings, in the correct order")
        if len(set(items)) != len(items):
            fail("field 'items' has duplicates")
        data = {"items": items}
    else:
        answer, tolerance = item.get("answer"), item.get("tolerance", 0)
        if not isinstance(answer, numbers.Real) or isinstance(answer, bool):
            fail("field 'answer' must be a number")
        if not isinstance(tolerance, numbers.Real) or tolerance < 0:
            fail("field 'tolerance' must be a number of at least 0")
        data = {"answer": answer, "tolerance": tolerance, "unit": str(item.get("unit", ""))}
    return QuestionSpec(key=item["id"], kind=kind, prompt=item["prompt"].strip(), data=data,
                        explanation=item["explanation"].strip())


def parse_quiz_dir(quiz_dir: Path = QUIZ_DIR) -> list[QuizFile]:
    quizzes = [parse_quiz_file(path) for path in sorted(quiz_dir.glob("*.yaml"))]
    seen: dict[str, Path] = {}
    for quiz in quizzes:
        for question in quiz.questions:
            if question.key in seen:
                raise QuizFileError(quiz.path, f"question id '{question.key}' is also used in {seen[question.key].name}")
            seen[question.key] = quiz.path
    return quizzes
