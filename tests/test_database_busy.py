"""A database locked for longer than its timeout: a readable 503, nothing typed is lost.

The lock is real: another connection holds SQLite's write lock (BEGIN IMMEDIATE)
while the app tries to write; the app's lock wait is shortened so the test is quick.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from django.db import connection

from lessons.models import Attempt, Question

from .conftest import running_web_server

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="holds SQLite's file lock; PostgreSQL has no lock wait by default"),
]


@pytest.fixture
def short_lock_wait():
    options = connection.settings_dict["OPTIONS"]
    saved = options["timeout"]
    options["timeout"] = 0.3  # every connection opened from now on, in any thread
    connection.close()
    yield
    options["timeout"] = saved
    connection.close()


@contextmanager
def database_locked():
    """Hold the write lock from another connection, as a long writer would."""
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield holder
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.fixture
def question(db):
    from lessons.content_loader import load_content

    load_content()
    return Question.objects.filter(kind=Question.Kind.SINGLE, lesson__slug="dual-write").first()


def single_choice_answer(question) -> dict:
    return {"choice": "0", "source": "quiz"}


def test_an_answer_while_the_database_is_locked_is_a_503_with_retry_after_and_can_be_sent_again(
    client, question, short_lock_wait
):
    url = f"/questions/{question.key}/answer"
    with database_locked():
        response = client.post(url, single_choice_answer(question), HTTP_HX_REQUEST="true")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    html = response.content.decode()
    assert "Busy, try again in a moment" in html and "Traceback" not in html and "OperationalError" not in html
    assert not Attempt.objects.exists()
    assert client.post(url, single_choice_answer(question), HTTP_HX_REQUEST="true").status_code == 200
    assert Attempt.objects.count() == 1


def test_health_names_a_database_that_cannot_take_a_write(client):
    with database_locked():
        body = client.get("/healthz").json()
    assert "database" in body["failing"]
    assert "locked" in body["checks"]["database"]["error"]
    assert client.get("/healthz").json()["checks"]["database"] == {"ok": True}


@pytest.fixture(scope="module")
def impatient_web_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """gunicorn that waits only 0.3 s for a lock and asks for a retry after 1 s."""
    with running_web_server(tmp_path_factory, SQLITE_TIMEOUT_SECONDS="0.3",
                            DATABASE_BUSY_RETRY_AFTER_SECONDS="1") as url:
        yield url


@pytest.mark.browser
def test_htmx_sends_an_answer_again_once_the_database_is_free(impatient_web_server, page, question):
    page.goto(f"{impatient_web_server}/lessons/dual-write/quiz/")
    item = page.locator(f"#q-{question.key}")
    item.locator("input[type=radio]").first.check()
    with database_locked():
        with page.expect_response(lambda r: r.url.endswith("/answer")) as refused:
            item.get_by_role("button", name="Check my answer").click()
        assert refused.value.status == 503
        assert refused.value.headers["retry-after"] == "1"
    # Nobody clicks again: the browser re-sends the same answer after Retry-After.
    page.locator(f"#q-{question.key} .feedback").wait_for(timeout=15_000)
    assert "/quiz/" in page.url  # answered in place, no navigation
    assert Attempt.objects.filter(question=question).count() == 1
