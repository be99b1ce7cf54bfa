"""Questions out of the app: an Anki deck (genanki) or a CSV file."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import os
import tempfile

import genanki

from .grading import expected_answer
from .models import Question

CSV_COLUMNS = ["id", "lesson", "kind", "prompt", "options", "answer", "explanation"]


def _stable_id(text: str) -> int:
    # Anki wants 31-bit-ish ids that stay the same across exports, so that a
    # re-imported deck updates the cards already in a learner's collection.
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") >> 1


MODEL = genanki.Model(
    _stable_id("consistency-lab-question-v1"),
    "Consistency Lab question",
    fields=[{"name": "Prompt"}, {"name": "Options"}, {"name": "Answer"}, {"name": "Explanation"}, {"name": "Lesson"}],
    templates=[{
        "name": "Card 1",
        "qfmt": "<div class=prompt>{{Prompt}}</div>{{Options}}",
        "afmt": "{{FrontSide}}<hr id=answer><div class=answer>{{Answer}}</div><p>{{Explanation}}</p><small>{{Lesson}}</small>",
    }],
    css=".card { font-family: sans-serif; font-size: 18px; text-align: left; } .answer { font-weight: bold; }",
)


def _options(question: Question) -> list[str]:
    if question.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        return [choice["text"] for choice in question.data["choices"]]
    if question.kind == Question.Kind.ORDERING:
        return sorted(question.data["items"])  # not the answer's order
    return []


def questions_to_csv(questions) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for question in questions:
        writer.writerow([question.key, question.lesson.slug, question.kind, question.prompt,
                         " | ".join(_options(question)), expected_answer(question), question.explanation])
    return out.getvalue()


def questions_to_apkg(questions, deck_name: str) -> bytes:
    deck = genanki.Deck(_stable_id(deck_name), deck_name)
    for question in questions:
        options = _options(question)
        listed = "<ol>" + "".join(f"<li>{html.escape(o)}</li>" for o in options) + "</ol>" if options else ""
        deck.add_note(genanki.Note(
            model=MODEL,
            fields=[html.escape(question.prompt), listed, html.escape(expected_answer(question)),
                    html.escape(question.explanation), html.escape(question.lesson.title)],
            guid=genanki.guid_for(question.key),
            tags=[question.lesson.slug],
        ))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "deck.apkg")
        genanki.Package(deck).write_to_file(path)
        with open(path, "rb") as deck_file:
            return deck_file.read()
