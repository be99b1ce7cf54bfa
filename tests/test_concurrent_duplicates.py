"""The same thing sent several times at once, through the real server (gunicorn, 2 processes x 4 threads).

Each case is what a double click, a retried request or two tabs really do; the
server must end with one row and answer every request readably (no 500).
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.auth.models import User

from interview.models import PracticeSession
from lessons.models import Attempt, Card, Learner, Question

from .support import Visitor, at_once

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def content(db):
    from lessons.content_loader import load_content

    load_content()


@pytest.fixture
def scripts(content):
    from interview.loader import load_interview_scripts

    load_interview_scripts()


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]+)"', html).group(1)


def test_five_sign_ups_with_one_name_at_once_make_one_account_and_four_form_errors(web_server):
    name = f"ada-{uuid.uuid4().hex[:8]}"
    visitors = [Visitor(web_server) for _ in range(5)]
    for visitor in visitors:
        visitor.get("/accounts/signup/")
    data = {"username": name, "password1": "correct horse battery 42", "password2": "correct horse battery 42"}
    results = at_once(*[lambda v=v: v.post("/accounts/signup/", data) for v in visitors])
    statuses = sorted(status for status, _ in results)
    assert statuses == [302, 400, 400, 400, 400]
    assert all("A user with that username already exists." in html for status, html in results if status == 400)
    assert User.objects.filter(username=name).count() == 1


def test_one_answer_posted_four_times_at_once_is_one_attempt_and_one_review(web_server, content):
    question = Question.objects.filter(kind=Question.Kind.SINGLE, lesson__slug="dual-write").first()
    visitor = Visitor(web_server)
    _, page = visitor.get("/lessons/dual-write/quiz/")
    form = page[page.index(f'id="q-{question.key}"'):]
    data = {"choice": "0", "source": "quiz", "answer_key": hidden(form, "answer_key")}
    results = at_once(*[lambda: visitor.post(f"/questions/{question.key}/answer", data)] * 4)
    assert [status for status, _ in results] == [302] * 4
    assert Learner.objects.count() == 1  # a new visitor, yet one learner
    assert Attempt.objects.filter(question=question).count() == 1
    card = Card.objects.get(question=question)
    assert card.reviews == 1 and card.lapses <= 1


def test_two_first_answers_of_a_new_visitor_at_once_make_one_learner(web_server, content):
    first, second = Question.objects.filter(kind=Question.Kind.SINGLE, lesson__slug="dual-write")[:2]
    visitor = Visitor(web_server)
    _, page = visitor.get("/lessons/dual-write/quiz/")

    def answer(question):
        form = page[page.index(f'id="q-{question.key}"'):]
        return lambda: visitor.post(f"/questions/{question.key}/answer",
                                    {"choice": "0", "source": "quiz", "answer_key": hidden(form, "answer_key")})

    assert [status for status, _ in at_once(answer(first), answer(second))] == [302, 302]
    assert Learner.objects.count() == 1
    assert set(Attempt.objects.values_list("learner", flat=True)) == {Learner.objects.get().id}
    assert Attempt.objects.count() == 2


def test_two_interview_starts_at_once_make_one_session(web_server, scripts):
    visitor = Visitor(web_server)
    _, page = visitor.get("/interview/")
    slug = re.search(r'href="/interview/scripts/([a-z0-9-]+)/"', page).group(1)
    _, page = visitor.get(f"/interview/scripts/{slug}/")
    data = {"start_key": hidden(page, "start_key")}
    results = at_once(*[lambda: visitor.post(f"/interview/scripts/{slug}/start", data)] * 2)
    assert [status for status, _ in results] == [302, 302]
    assert PracticeSession.objects.count() == 1
    assert Learner.objects.count() == 1
