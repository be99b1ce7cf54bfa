"""Answer forms and grading for quiz questions; plain logic, no HTTP.

Choices are shown in a shuffled order (so the right answer is not always
first) that depends only on the question, so a choice never moves between
showing a question and showing its result, whoever answers; they are
submitted by their index in the file, so grading never depends on that order.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

from django import forms

from .models import Question


def display_order(question: Question, count: int) -> list[int]:
    seed = int.from_bytes(hashlib.sha256(question.key.encode()).digest()[:8], "big")
    order = list(range(count))
    random.Random(seed).shuffle(order)
    if count > 1 and order == list(range(count)):
        order = order[1:] + order[:1]  # never show an ordering question already solved
    return order


class AnswerForm(forms.Form):
    """Built for one question; its cleaned `answer` is what grade() takes."""

    def __init__(self, question: Question, *args, **kwargs):
        # A quiz page holds many of these forms: ids must name the question, or a
        # label's for= would point at the first question's option.
        kwargs.setdefault("auto_id", f"id_{question.key}_%s")
        super().__init__(*args, **kwargs)
        self.question = question
        kind = question.kind
        if kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
            texts = [choice["text"] for choice in question.data["choices"]]
            choices = [(str(i), texts[i]) for i in display_order(question, len(texts))]
            if kind == Question.Kind.SINGLE:
                self.fields["choice"] = forms.ChoiceField(choices=choices, widget=forms.RadioSelect, label="")
            else:
                self.fields["choices"] = forms.MultipleChoiceField(
                    choices=choices, widget=forms.CheckboxSelectMultiple, label="",
                    error_messages={"required": "Pick at least one."},
                )
        elif kind == Question.Kind.ORDERING:
            items = question.data["items"]
            positions = [("", "—")] + [(str(p), str(p)) for p in range(1, len(items) + 1)]
            for i in display_order(question, len(items)):
                self.fields[f"position_{i}"] = forms.ChoiceField(choices=positions, label=items[i])
        else:
            unit = question.data.get("unit")
            self.fields["number"] = forms.FloatField(label=f"Your answer{f' ({unit})' if unit else ''}")

    @property
    def correct_values(self) -> set[str]:
        """The submitted values of the right choices, to mark them once answered."""
        choices = self.question.data.get("choices", [])
        return {str(i) for i, choice in enumerate(choices) if choice["correct"]}

    def clean(self):
        cleaned = super().clean()
        if self.question.kind == Question.Kind.ORDERING and not self.errors:
            count = len(self.question.data["items"])
            positions = [cleaned[f"position_{i}"] for i in range(count)]
            if sorted(positions) != [str(p) for p in range(1, count + 1)]:
                raise forms.ValidationError("Give each step a different position, from 1 to %(n)s.", params={"n": count})
        return cleaned

    @property
    def answer(self):
        kind, data = self.question.kind, self.cleaned_data
        if kind == Question.Kind.SINGLE:
            return int(data["choice"])
        if kind == Question.Kind.MULTIPLE:
            return sorted(int(c) for c in data["choices"])
        if kind == Question.Kind.ORDERING:
            # The item indexes in the order the learner put them.
            count = len(self.question.data["items"])
            return sorted(range(count), key=lambda i: int(data[f"position_{i}"]))
        return data["number"]


@dataclass(frozen=True)
class Result:
    correct: bool
    expected: str  # the right answer, for people


def expected_answer(question: Question) -> str:
    """The right answer, written out for people."""
    kind, data = question.kind, question.data
    if kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        return "; ".join(choice["text"] for choice in data["choices"] if choice["correct"])
    if kind == Question.Kind.ORDERING:
        return " → ".join(data["items"])
    unit = f" {data['unit']}" if data.get("unit") else ""
    tolerance = data.get("tolerance", 0)
    return f"{data['answer']:g}{unit}" + (f" (± {tolerance:g})" if tolerance else "")


def grade(question: Question, answer) -> Result:
    kind, data = question.kind, question.data
    if kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        right = [i for i, choice in enumerate(data["choices"]) if choice["correct"]]
        chosen = [answer] if kind == Question.Kind.SINGLE else list(answer)
        correct = sorted(chosen) == right
    elif kind == Question.Kind.ORDERING:
        correct = list(answer) == list(range(len(data["items"])))
    else:
        correct = math.isfinite(answer) and abs(answer - data["answer"]) <= data.get("tolerance", 0) + 1e-9
    return Result(correct, expected_answer(question))
