"""Quizzes, the FSRS review queue, mastery, sign-up and export, through the test client."""

import csv
import io
import sqlite3
import tempfile
import zipfile
from datetime import date, datetime, timedelta, timezone

import pytest
from django.contrib.auth.models import User

from lessons.content_loader import load_content
from lessons.grading import display_order
from lessons.learners import SESSION_KEY
from lessons.models import Attempt, Card, Learner, Question
from lessons.review import answer_record, review_queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def content(db):
    load_content()


def single(slug="dual-write") -> Question:
    return Question.objects.filter(lesson__slug=slug, kind="single").first()


def right_choice(q: Question) -> str:
    return str(next(i for i, c in enumerate(q.data["choices"]) if c["correct"]))


def wrong_choice(q: Question) -> str:
    return str(next(i for i, c in enumerate(q.data["choices"]) if not c["correct"]))


def answer(client, q, choice, source="quiz", htmx=True):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(f"/questions/{q.key}/answer", {"choice": choice, "source": source}, **headers)


def learner_of(client) -> Learner:
    return Learner.objects.get(id=client.session[SESSION_KEY])


def test_the_quiz_page_lists_the_lessons_questions_with_their_choices(client, content):
    html = client.get("/lessons/dual-write/quiz/").content.decode()
    questions = Question.objects.filter(lesson__slug="dual-write", active=True)
    assert html.count('<li class="question') == questions.count() >= 8
    assert questions.first().data["choices"][0]["text"].replace("'", "&#x27;") in html


def test_a_right_answer_over_htmx_returns_the_question_with_its_explanation(client, content):
    q = single()
    response = answer(client, q, right_choice(q))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html  # a partial, swapped in place
    assert 'data-result="right"' in html and "Right." in html
    assert q.explanation.replace("'", "&#x27;") in html
    assert Attempt.objects.get().correct


def test_a_wrong_answer_shows_the_right_one(client, content):
    q = single()
    html = answer(client, q, wrong_choice(q)).content.decode()
    assert 'data-result="wrong"' in html and "The answer:" in html
    assert not Attempt.objects.get().correct


def test_without_javascript_an_answer_redirects_back_to_the_quiz_showing_the_result(client, content):
    q = single()
    response = answer(client, q, right_choice(q), htmx=False)
    assert response.status_code == 302
    assert response["Location"] == f"/lessons/dual-write/quiz/?answered={q.key}#q-{q.key}"
    page = client.get(response["Location"]).content.decode()
    assert 'data-result="right"' in page


@pytest.mark.parametrize(
    "data",
    [
        {"choice": "99", "source": "quiz"},       # a choice the form never offered
        {"choice": "-1", "source": "quiz"},
        {"source": "quiz"},                       # no answer at all
        {"choice": "0", "source": "elsewhere"},   # unknown context
    ],
)
def test_tampered_answers_are_a_400_and_record_nothing(client, content, data):
    q = single()
    response = client.post(f"/questions/{q.key}/answer", data)
    assert response.status_code == 400
    assert b"could not be read" in response.content
    assert not Attempt.objects.exists() and not Card.objects.exists()


def test_tampered_ordering_and_numeric_answers_are_a_400(client, content):
    ordering = Question.objects.filter(kind="ordering").first()
    positions = {f"position_{i}": "1" for i in range(len(ordering.data["items"]))}
    assert client.post(f"/questions/{ordering.key}/answer", {**positions, "source": "quiz"}).status_code == 400
    numeric = Question.objects.filter(kind="numeric").first()
    assert client.post(f"/questions/{numeric.key}/answer", {"number": "1e999", "source": "quiz"}).status_code == 400
    assert not Attempt.objects.exists()


def test_an_unknown_question_is_a_404_and_answers_must_be_posted(client, content):
    assert client.post("/questions/no-such-question/answer", {"choice": "0", "source": "quiz"}).status_code == 404
    assert client.get(f"/questions/{single().key}/answer").status_code == 405


def test_answer_posts_need_a_csrf_token(content):
    from django.test import Client

    q = single()
    assert Client(enforce_csrf_checks=True).post(f"/questions/{q.key}/answer", {"choice": "0", "source": "quiz"}).status_code == 403


def test_fsrs_brings_a_forgotten_question_back_sooner_than_a_known_one(content):
    learner = Learner.objects.create()
    now = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    known, forgotten = Question.objects.filter(kind="single")[:2]
    for day in range(3):  # answered right three days running: the interval grows
        answer_record(learner=learner, question=known, answer=int(right_choice(known)), now=now + timedelta(days=day))
    answer_record(learner=learner, question=forgotten, answer=int(wrong_choice(forgotten)), now=now + timedelta(days=2))
    known_card, forgotten_card = Card.objects.get(question=known), Card.objects.get(question=forgotten)
    assert known_card.reviews == 3 and known_card.due > now + timedelta(days=4)
    assert forgotten_card.lapses == 1 and forgotten_card.due < now + timedelta(days=2, hours=1)
    assert [item.card for item in review_queue(learner, now + timedelta(days=2, hours=1))] == [forgotten_card]


def test_the_review_page_asks_the_due_card_and_answering_it_reschedules_it(client, content):
    q = single()
    answer(client, q, wrong_choice(q))
    card = Card.objects.get()
    Card.objects.filter(id=card.id).update(due=datetime.now(timezone.utc) - timedelta(minutes=1))
    page = client.get("/review/").content.decode()
    assert q.prompt.replace("'", "&#x27;") in page and 'name="source" value="review"' in page
    response = answer(client, q, right_choice(q), source="review", htmx=False)
    assert response["Location"] == f"/review/?answered={q.key}"
    assert 'data-result="right"' in client.get(response["Location"]).content.decode()
    card.refresh_from_db()
    assert card.reviews == 2 and card.due > datetime.now(timezone.utc)


def test_an_empty_queue_says_what_to_do(client, content):
    assert b"Your queue is empty: answer a lesson" in client.get("/review/").content


def test_with_an_interview_date_every_practised_topic_comes_up_before_it(content):
    learner = Learner.objects.create(interview_date=date.today() + timedelta(days=3))
    now = datetime.now(timezone.utc)
    topics = ["dual-write", "sagas", "idempotency"]
    for slug in topics:
        answer_record(learner=learner, question=single(slug), answer=int(right_choice(single(slug))), now=now)
    # Every card's next review falls after the interview...
    Card.objects.update(due=now + timedelta(days=30))
    queue = review_queue(learner, now)
    # ...so the queue pulls one card of each topic forward.
    assert sorted(item.card.question.lesson.slug for item in queue) == sorted(topics)
    assert {item.reason for item in queue} == {"before your interview"}
    learner.interview_date = None
    assert review_queue(learner, now) == []


def test_an_interview_date_in_the_past_is_a_form_error(client, content):
    response = client.post("/review/", {"interview_date": "2001-01-01"})
    assert response.status_code == 400
    assert b"Pick today or a day in the future" in response.content
    ok = client.post("/review/", {"interview_date": (date.today() + timedelta(days=10)).isoformat()})
    assert ok.status_code == 302
    assert learner_of(client).interview_date == date.today() + timedelta(days=10)


def test_the_progress_page_shows_mastery_as_a_chart_and_the_same_numbers_as_a_table(client, content):
    assert b"No answers yet" in client.get("/progress/").content
    q = single()
    answer(client, q, right_choice(q))
    html = client.get("/progress/").content.decode()
    assert 'id="mastery-chart"' in html and 'id="mastery-figure"' in html
    total = Question.objects.filter(lesson__slug="dual-write", active=True).count()
    assert f'<td data-mastery="dual-write">{round(100 / total)}%</td>' in html
    assert '<td data-mastery="sagas">0%</td>' in html


def test_progress_made_anonymously_survives_sign_up(client, content):
    q = single()
    answer(client, q, right_choice(q))
    anonymous = learner_of(client)
    response = client.post("/accounts/signup/", {"username": "alice", "password1": "a-long-pass-phrase-1", "password2": "a-long-pass-phrase-1"})
    assert response.status_code == 302
    alice = User.objects.get(username="alice")
    assert Learner.objects.get(user=alice).id == anonymous.id
    assert Card.objects.get().learner.user == alice
    html = client.get("/progress/").content.decode()
    assert '<td data-mastery="dual-write">0%</td>' not in html


def test_signing_in_merges_this_sessions_progress_into_the_account(client, content):
    bob = User.objects.create_user("bob", password="a-long-pass-phrase-2")
    own = Learner.objects.create(user=bob)
    sagas = single("sagas")
    answer_record(learner=own, question=sagas, answer=int(right_choice(sagas)))
    q = single()
    answer(client, q, wrong_choice(q))
    response = client.post("/accounts/login/", {"username": "bob", "password": "a-long-pass-phrase-2"})
    assert response.status_code == 302
    assert set(Card.objects.values_list("learner_id", flat=True)) == {own.id}
    assert Card.objects.count() == 2 and Attempt.objects.filter(learner=own).count() == 2
    assert Learner.objects.count() == 1


def test_nobody_sees_another_learners_progress(client, content):
    other = Learner.objects.create()
    q = single()
    answer_record(learner=other, question=q, answer=int(right_choice(q)))
    assert b"No answers yet" in client.get("/progress/").content
    assert b"Your queue is empty" in client.get("/review/").content


def test_a_lessons_questions_export_as_csv(client, content):
    response = client.get("/lessons/dual-write/quiz/export.csv")
    assert response["Content-Disposition"] == 'attachment; filename="dual-write.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    questions = Question.objects.filter(lesson__slug="dual-write", active=True)
    assert [row["id"] for row in rows] == [q.key for q in questions]
    first = questions.first()
    assert rows[0]["answer"] == "; ".join(c["text"] for c in first.data["choices"] if c["correct"])


def test_a_lessons_questions_export_as_an_anki_deck_that_opens(client, content):
    response = client.get("/lessons/dual-write/quiz/export.apkg")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert "collection.anki2" in archive.namelist()
    with tempfile.NamedTemporaryFile(suffix=".anki2") as collection:
        collection.write(archive.read("collection.anki2"))
        collection.flush()
        notes = sqlite3.connect(collection.name).execute("SELECT flds FROM notes").fetchall()
    questions = Question.objects.filter(lesson__slug="dual-write", active=True)
    assert len(notes) == questions.count()
    assert any(questions.first().prompt.split("'")[0][:30] in fields for (fields,) in notes)


def test_the_due_cards_export_holds_exactly_the_due_cards(client, content):
    q = single()
    answer(client, q, wrong_choice(q))
    Card.objects.update(due=datetime.now(timezone.utc) - timedelta(minutes=1))
    rows = list(csv.DictReader(io.StringIO(client.get("/review/export.csv").content.decode())))
    assert [row["id"] for row in rows] == [q.key]
    assert zipfile.ZipFile(io.BytesIO(client.get("/review/export.apkg").content)).testzip() is None


def test_choices_are_shown_in_the_questions_shuffled_order_before_and_after_answering(client, content):
    q = single()
    client.get("/review/")  # no learner yet: nothing is created by looking
    assert SESSION_KEY not in client.session
    answer(client, q, right_choice(q))
    html = client.get("/lessons/dual-write/quiz/").content.decode()
    section = html[html.index(f'id="q-{q.key}"'):]
    positions = [section.index(f'value="{i}"') for i in range(len(q.data["choices"]))]
    shown = [i for _, i in sorted(zip(positions, range(len(positions))))]
    assert shown == display_order(q, len(q.data["choices"]))
