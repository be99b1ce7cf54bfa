"""A visitor who only looks costs no writes: no session row, no learner, until they act."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from lessons.models import Learner

pytestmark = pytest.mark.django_db


@pytest.fixture
def content(db):
    from interview.loader import load_interview_scripts
    from lessons.content_loader import load_content

    load_content()
    load_interview_scripts()


def test_reading_every_kind_of_page_writes_nothing(content):
    visitor = Client(enforce_csrf_checks=True)
    for url in ["/", "/lessons/dual-write/", "/lessons/dual-write/quiz/", "/experiments/dual-write/",
                "/review/", "/progress/", "/interview/", "/interview/history/"]:
        assert visitor.get(url).status_code == 200, url
    assert Session.objects.count() == 0
    assert Learner.objects.count() == 0


def test_the_first_answer_makes_the_learner(content, client):
    from lessons.models import Question

    question = Question.objects.filter(kind=Question.Kind.SINGLE).first()
    client.get(f"/lessons/{question.lesson.slug}/quiz/")
    assert client.post(f"/questions/{question.key}/answer", {"choice": "0", "source": "quiz"}).status_code == 302
    assert Learner.objects.count() == 1 and Session.objects.count() == 1
