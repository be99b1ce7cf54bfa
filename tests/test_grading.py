"""Grading each kind of question, and the order choices are shown in."""

import pytest

from lessons.grading import AnswerForm, display_order, grade
from lessons.models import Question


def question(kind, **data):
    return Question(key=f"q-{kind}", kind=kind, prompt="?", data=data, explanation="Because.")


SINGLE = question("single", choices=[{"text": "a", "correct": False}, {"text": "b", "correct": True}, {"text": "c", "correct": False}])
MULTIPLE = question("multiple", choices=[{"text": "a", "correct": True}, {"text": "b", "correct": False}, {"text": "c", "correct": True}])
ORDERING = question("ordering", items=["first", "second", "third"])
NUMERIC = question("numeric", answer=1000, tolerance=5, unit="events/day")


@pytest.mark.parametrize(
    "q, answer, correct",
    [
        (SINGLE, 1, True), (SINGLE, 0, False),
        (MULTIPLE, [0, 2], True), (MULTIPLE, [0], False), (MULTIPLE, [0, 1, 2], False),
        (ORDERING, [0, 1, 2], True), (ORDERING, [1, 0, 2], False),
        (NUMERIC, 1004, True), (NUMERIC, 994, False), (NUMERIC, float("nan"), False),
    ],
)
def test_each_kind_is_graded(q, answer, correct):
    assert grade(q, answer).correct is correct


def test_the_expected_answer_is_written_out_for_people():
    assert grade(SINGLE, 0).expected == "b"
    assert grade(MULTIPLE, [1]).expected == "a; c"
    assert grade(ORDERING, [2, 1, 0]).expected == "first → second → third"
    assert grade(NUMERIC, 0).expected == "1000 events/day (± 5)"


def test_choices_are_shuffled_per_question_and_stable_for_each():
    from lessons.models import Question

    orders = {tuple(display_order(Question(key=f"q{n}"), 4)) for n in range(20)}
    assert len(orders) > 1
    assert display_order(SINGLE, 3) == display_order(SINGLE, 3)


def test_an_ordering_question_is_never_shown_already_solved():
    from lessons.models import Question

    assert all(display_order(Question(key=f"q{n}"), 3) != [0, 1, 2] for n in range(200))


def test_the_ordering_form_turns_positions_into_the_learners_order():
    form = AnswerForm(ORDERING, {"position_0": "2", "position_1": "1", "position_2": "3"})
    assert form.is_valid(), form.errors
    assert form.answer == [1, 0, 2]


@pytest.mark.parametrize(
    "q, data",
    [
        (SINGLE, {"choice": "9"}),  # not an offered choice
        (SINGLE, {}),
        (MULTIPLE, {"choices": ["0", "7"]}),
        (ORDERING, {"position_0": "1", "position_1": "1", "position_2": "3"}),  # a position used twice
        (ORDERING, {"position_0": "1", "position_1": "2", "position_2": "4"}),
        (NUMERIC, {"number": "lots"}),
    ],
)
def test_answers_outside_the_form_are_invalid(q, data):
    assert not AnswerForm(q, data).is_valid()
