"""Quiz files: validated with errors that name the file, the question and the field; loaded idempotently."""

from pathlib import Path

import pytest

from lessons.content_loader import CONTENT_DIR, load_content, load_lessons, load_quizzes, parse_lesson_file
from lessons.models import Attempt, Learner, Lesson, Question
from lessons.quiz_files import QUIZ_DIR, QuizFileError, parse_quiz_dir, parse_quiz_file

GOOD_QUESTION = """
  - id: sample-one
    kind: single
    prompt: "Which?"
    choices:
      - text: "This"
        correct: true
      - text: "That"
    explanation: "Because."
"""


def quiz_file(tmp_path: Path, body: str, name: str = "sample.yaml", lesson: str = "dual-write") -> Path:
    path = tmp_path / name
    path.write_text(f"lesson: {lesson}\nquestions:{body}")
    return path


def test_every_lesson_has_a_quiz_of_at_least_eight_questions_with_explanations():
    quizzes = {quiz.lesson_slug: quiz for quiz in parse_quiz_dir()}
    lesson_slugs = {parse_lesson_file(path).meta["slug"] for path in CONTENT_DIR.glob("*.md")}
    assert set(quizzes) == lesson_slugs
    for slug, quiz in quizzes.items():
        assert len(quiz.questions) >= 8, slug
        assert all(len(question.explanation) > 40 for question in quiz.questions), slug
    kinds = {question.kind for quiz in quizzes.values() for question in quiz.questions}
    assert kinds == {"single", "multiple", "ordering", "numeric"}


def test_every_lesson_has_the_sections_a_lesson_needs():
    for path in CONTENT_DIR.glob("*.md"):
        lesson = parse_lesson_file(path)
        assert "```sequence" in lesson.body, path.name
        for heading in ("## Common misconceptions", "## Trade-offs", "## Further reading"):
            assert heading in lesson.body, (path.name, heading)
        assert 3 <= len(lesson.meta["objectives"]) <= 6, path.name


@pytest.mark.parametrize(
    "body, expected",
    [
        (GOOD_QUESTION.replace('    kind: single\n', '    kind: essay\n'), "question 1 (sample-one): field 'kind' must be one of"),
        (GOOD_QUESTION.replace('        correct: true\n', ''), "needs exactly one correct choice, not 0"),
        (GOOD_QUESTION.replace('    explanation: "Because."\n', ''), "field 'explanation' is missing or empty"),
        (GOOD_QUESTION.replace("sample-one", "Sample One"), "field 'id' must be a lowercase-and-hyphens slug"),
        (GOOD_QUESTION + GOOD_QUESTION.replace("kind: single", "kind: numeric").replace("sample-one", "sample-two"),
         "question 2 (sample-two): field 'answer' must be a number"),
        (" []", "field 'questions' must be a non-empty list"),
    ],
)
def test_a_bad_quiz_names_the_file_the_question_and_the_field(tmp_path, body, expected):
    with pytest.raises(QuizFileError) as error:
        parse_quiz_file(quiz_file(tmp_path, body))
    assert str(error.value).startswith("sample.yaml: ")
    assert expected in str(error.value)


def test_a_question_id_used_twice_is_an_error_naming_both_files(tmp_path):
    quiz_file(tmp_path, GOOD_QUESTION, "a.yaml")
    quiz_file(tmp_path, GOOD_QUESTION, "b.yaml")
    with pytest.raises(QuizFileError, match="b.yaml: question id 'sample-one' is also used in a.yaml"):
        parse_quiz_dir(tmp_path)


@pytest.mark.django_db
def test_a_quiz_for_an_unknown_lesson_is_an_error(tmp_path):
    quiz_file(tmp_path, GOOD_QUESTION, lesson="no-such-lesson")
    with pytest.raises(QuizFileError, match="no lesson has the slug 'no-such-lesson'"):
        load_quizzes(tmp_path)


@pytest.mark.django_db
def test_loading_twice_changes_nothing_and_keeps_progress():
    load_content()
    ids = dict(Question.objects.values_list("key", "id"))
    learner = Learner.objects.create()
    Attempt.objects.create(learner=learner, question=Question.objects.first(), answer=0, correct=True)
    load_content()
    assert dict(Question.objects.values_list("key", "id")) == ids
    assert Attempt.objects.count() == 1
    assert len(ids) == sum(len(quiz.questions) for quiz in parse_quiz_dir(QUIZ_DIR))


@pytest.mark.django_db
def test_a_question_dropped_from_its_file_is_retired_and_its_history_kept(tmp_path):
    load_lessons()
    quiz_file(tmp_path, GOOD_QUESTION + GOOD_QUESTION.replace("sample-one", "sample-two"))
    load_quizzes(tmp_path)
    dropped = Question.objects.get(key="sample-two")
    Attempt.objects.create(learner=Learner.objects.create(), question=dropped, answer=0, correct=True)
    quiz_file(tmp_path, GOOD_QUESTION)
    assert load_quizzes(tmp_path) == (0, 1, 1)
    dropped.refresh_from_db()
    assert not dropped.active
    assert dropped.attempts.count() == 1
    assert Lesson.objects.get(slug="dual-write").questions.filter(active=True).count() == 1


def _choice_questions(kind: str):
    return [q for quiz in parse_quiz_dir() for q in quiz.questions if q.kind == kind]


def test_the_longest_option_does_not_give_the_answer_away():
    # Length in characters. "Pick the longest" used to score 86 of 104; at most 35% is close to chance for four options.
    single = _choice_questions("single")
    longest_is_correct = 0
    for question in single:
        choices = question.data["choices"]
        longest = max(choices, key=lambda choice: len(choice["text"]))
        longest_is_correct += longest["correct"]
    assert longest_is_correct <= 0.35 * len(single), f"{longest_is_correct} of {len(single)}"


def test_correct_options_of_multiple_choice_questions_are_not_the_long_ones():
    right, wrong = [], []
    for question in _choice_questions("multiple"):
        for choice in question.data["choices"]:
            (right if choice["correct"] else wrong).append(len(choice["text"]))
    ratio = (sum(right) / len(right)) / (sum(wrong) / len(wrong))
    assert ratio <= 1.25, f"correct options are {ratio:.2f}× as long as wrong ones on average"
