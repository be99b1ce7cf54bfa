"""A page view makes a few queries, however many lessons and questions there are (no N+1)."""

import pytest

from lessons.content_loader import load_content
from lessons.models import Lesson, Question

pytestmark = pytest.mark.django_db


@pytest.fixture
def content(db):
    load_content()


def answer_one(client, lesson: Lesson):
    question = Question.objects.filter(lesson=lesson, kind="single", active=True).first()
    client.post(f"/questions/{question.key}/answer", {"choice": "0", "source": "quiz"})


@pytest.mark.parametrize("returning", [False, True], ids=["fresh", "returning"])
def test_catalogue_and_quiz_make_few_queries(client, content, returning, django_assert_max_num_queries):
    lesson = Lesson.objects.filter(questions__active=True).first()
    assert Lesson.objects.count() > 5  # enough lessons that a query per lesson would show
    if returning:
        answer_one(client, lesson)
    for url in ["/", f"/lessons/{lesson.slug}/quiz/"]:
        # The first view of a content version also renders the page everyone shares, and what it is made of.
        with django_assert_max_num_queries(14):
            assert client.get(url).status_code == 200
        with django_assert_max_num_queries(8):
            assert client.get(url).status_code == 200
