"""Reads lesson files (YAML front matter + Markdown) into Lesson rows.

Loading is idempotent: rows are matched by slug and updated in place, so
re-running the loader never duplicates a lesson or orphans what points at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from django.db import transaction

from config.yaml_files import load_yaml

from .data_files import DataFileError
from .diagrams import DiagramError
from .models import Lesson, Question
from .quiz_files import QUIZ_DIR, QuizFileError, parse_quiz_dir
from .rendering import render_markdown

CONTENT_DIR = Path(__file__).resolve().parent / "content"
REQUIRED_FIELDS = {"slug": str, "title": str, "order": int, "minutes": int, "summary": str, "objectives": list}
OPTIONAL_FIELDS = {"experiment": str}


class LessonFileError(DataFileError):
    pass


@dataclass(frozen=True)
class LessonFile:
    path: Path
    meta: dict
    body: str
    body_first_line: int  # line number of the body's first line in the file


def parse_lesson_file(path: Path) -> LessonFile:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise LessonFileError(path, "must start with a '---' line opening the front matter")
    try:
        raw_meta, body = text[4:].split("\n---\n", 1)
    except ValueError:
        raise LessonFileError(path, "front matter is never closed by a '---' line") from None
    try:
        meta = load_yaml(raw_meta) or {}
    except yaml.YAMLError as exc:
        raise LessonFileError(path, f"front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise LessonFileError(path, "front matter must be a mapping of field: value")
    for name, kind in REQUIRED_FIELDS.items():
        if name not in meta:
            raise LessonFileError(path, f"front matter field '{name}' is missing")
        if not isinstance(meta[name], kind):
            raise LessonFileError(path, f"front matter field '{name}' must be a {kind.__name__}")
    for name, kind in OPTIONAL_FIELDS.items():
        if name in meta and not isinstance(meta[name], kind):
            raise LessonFileError(path, f"front matter field '{name}' must be a {kind.__name__}")
    unknown = set(meta) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS)
    if unknown:
        raise LessonFileError(path, f"unknown front matter field(s): {', '.join(sorted(unknown))}")
    return LessonFile(path=path, meta=meta, body=body, body_first_line=raw_meta.count("\n") + 4)


def load_lessons(content_dir: Path = CONTENT_DIR) -> tuple[int, int]:
    """Load every lesson file; returns (created, updated). All or nothing."""
    files = [parse_lesson_file(path) for path in sorted(content_dir.glob("*.md"))]
    rendered = []
    for lesson_file in files:
        try:
            rendered.append((lesson_file, render_markdown(lesson_file.body)))
        except DiagramError as exc:
            line = exc.line + lesson_file.body_first_line - 1 if exc.line else None
            raise LessonFileError(lesson_file.path, f"line {line}: {exc.reason}" if line else exc.reason) from None
    created = updated = 0
    with transaction.atomic():
        for lesson_file, html in rendered:
            meta = lesson_file.meta
            _, was_created = Lesson.objects.update_or_create(
                slug=meta["slug"],
                defaults={
                    "title": meta["title"],
                    "order": meta["order"],
                    "minutes": meta["minutes"],
                    "summary": meta["summary"],
                    "objectives": meta["objectives"],
                    "experiment_slug": meta.get("experiment", ""),
                    "body_markdown": lesson_file.body,
                    "body_html": html,
                    "source_path": lesson_file.path.name,
                },
            )
            created += was_created
            updated += not was_created
    return created, updated


def load_quizzes(quiz_dir: Path = QUIZ_DIR) -> tuple[int, int, int]:
    """Load every quiz file; returns (created, updated, retired) questions.

    A question no longer in its file is retired (hidden), never deleted, so
    learners' attempts and review cards survive an edit of the quiz.
    """
    quizzes = parse_quiz_dir(quiz_dir)
    lessons = {lesson.slug: lesson for lesson in Lesson.objects.all()}
    created = updated = 0
    keys = []
    with transaction.atomic():
        for quiz in quizzes:
            lesson = lessons.get(quiz.lesson_slug)
            if lesson is None:
                raise QuizFileError(quiz.path, f"field 'lesson': no lesson has the slug '{quiz.lesson_slug}'")
            for position, spec in enumerate(quiz.questions):
                _, was_created = Question.objects.update_or_create(
                    key=spec.key,
                    defaults={"lesson": lesson, "position": position, "kind": spec.kind, "prompt": spec.prompt,
                              "data": spec.data, "explanation": spec.explanation, "active": True},
                )
                keys.append(spec.key)
                created += was_created
                updated += not was_created
        retired = Question.objects.filter(active=True).exclude(key__in=keys).update(active=False)
    return created, updated, retired


def load_content(content_dir: Path = CONTENT_DIR, quiz_dir: Path = QUIZ_DIR) -> str:
    """Lessons, then their quizzes, in one transaction; returns a one-line report."""
    with transaction.atomic():
        lessons = load_lessons(content_dir)
        questions = load_quizzes(quiz_dir)
    return (f"lessons: {lessons[0]} created, {lessons[1]} updated; "
            f"questions: {questions[0]} created, {questions[1]} updated, {questions[2]} retired")
