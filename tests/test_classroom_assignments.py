"""Assignments: alice sets work for her class, bob (a member) sees it, charlie (an outsider) and anonymous see nothing.

Completion is read from the records the work leaves (quiz answers, finished runs, finished interview practice).
"""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from classroom.models import Assignment, Membership
from classroom.services import assignment_create, classroom_create
from interview.models import InterviewScript, PracticeSession
from lessons.models import Attempt, Lesson, Question
from lessons.review import answer_record
from playground.models import ExperimentRun

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="session")
def two_lessons_and_a_script(tmp_path_factory):
    """Enough content for assignments (loading all of it cost seconds per test)."""
    import shutil

    from interview.script_files import SCRIPTS_DIR
    from lessons.content_loader import CONTENT_DIR
    from lessons.quiz_files import QUIZ_DIR

    lessons, quizzes, scripts = (tmp_path_factory.mktemp(name) for name in ("lessons", "quizzes", "scripts"))
    for stem, slug in (("01-monolith-false-safety", "monolith-false-safety"), ("02-dual-write", "dual-write")):
        shutil.copy(CONTENT_DIR / f"{stem}.md", lessons)
        shutil.copy(QUIZ_DIR / f"{slug}.yaml", quizzes)
    shutil.copy(SCRIPTS_DIR / "order-placement-without-dual-writes.yaml", scripts)
    return lessons, quizzes, scripts


@pytest.fixture
def content(db, two_lessons_and_a_script):
    lessons, quizzes, scripts = two_lessons_and_a_script
    call_command("load_lessons", "--content-dir", lessons, "--quiz-dir", quizzes, verbosity=0)
    call_command("load_interview_scripts", "--scripts-dir", scripts, verbosity=0)


@pytest.fixture
def alice(content):
    user = User.objects.create_user("alice", password="a-long-pass-phrase-1")
    call_command("make_instructor", "alice")
    return user


@pytest.fixture
def classroom(alice):
    return classroom_create(owner=alice, name="Distributed systems 101")


def client_for(user=None, **kwargs) -> Client:
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def owner(alice):
    return client_for(alice)


@pytest.fixture
def bob(classroom):
    """Joined with a nickname only: his progress hangs off his browser's learner."""
    client = Client()
    assert client.post(f"/join/{classroom.code}/", {"nickname": "bob"}).status_code == 302
    return client


@pytest.fixture
def charlie(content):
    return client_for(User.objects.create_user("charlie", password="a-long-pass-phrase-3"))


def tomorrow():
    return timezone.localdate() + timedelta(days=1)


def assign(client, classroom, what, due=None, note=""):
    return client.post(f"/classes/{classroom.id}/assignments/new",
                       {"what": what, "due": (due or tomorrow()).isoformat(), "note": note})


def right_answer(question):
    data = question.data
    if question.kind == Question.Kind.SINGLE:
        return next(i for i, c in enumerate(data["choices"]) if c["correct"])
    if question.kind == Question.Kind.MULTIPLE:
        return [i for i, c in enumerate(data["choices"]) if c["correct"]]
    if question.kind == Question.Kind.ORDERING:
        return list(range(len(data["items"])))
    return data["answer"]


def wrong_answer(question):
    data = question.data
    if question.kind == Question.Kind.SINGLE:
        return next(i for i, c in enumerate(data["choices"]) if not c["correct"])
    if question.kind == Question.Kind.MULTIPLE:
        return list(range(len(data["choices"])))  # every choice: never exactly the right ones
    if question.kind == Question.Kind.ORDERING:
        return list(reversed(range(len(data["items"]))))
    return data["answer"] + data.get("tolerance", 0) + 1000


def bob_learner(classroom):
    return Membership.objects.get(classroom=classroom, nickname="bob").learner


def test_permission_matrix_for_assignments(classroom, owner, bob, charlie):
    assert assign(owner, classroom, "quiz:dual-write").status_code == 302
    assignment = Assignment.objects.get()
    new_url = f"/classes/{classroom.id}/assignments/new"
    delete_url = f"/classes/{classroom.id}/assignments/{assignment.id}/delete"
    csv_url = f"/classes/{classroom.id}/assignments.csv"
    for visitor in (bob, charlie, Client()):
        assert visitor.post(new_url, {"what": "lesson:dual-write", "due": tomorrow().isoformat()}).status_code == 404
        assert visitor.post(delete_url).status_code == 404
        assert visitor.get(csv_url).status_code == 404
        assert visitor.get(f"/classes/{classroom.id}/dashboard").status_code == 404
    assert Assignment.objects.count() == 1
    assert owner.get(csv_url).status_code == 200
    # Only a member sees the class page with what is assigned.
    room = f"/c/{classroom.code}/"
    assert "Quiz: " in bob.get(room).content.decode()
    for visitor in (owner, charlie, Client()):
        assert visitor.get(room).status_code == 404
    # Another instructor's class: alice's assignment ids do not work there.
    dave = User.objects.create_user("dave")
    call_command("make_instructor", "dave")
    other = classroom_create(owner=dave, name="Other class")
    assert client_for(dave).post(f"/classes/{other.id}/assignments/{assignment.id}/delete").status_code == 404
    assert client_for(dave).post(delete_url).status_code == 404
    assert owner.post(delete_url).status_code == 302
    assert not Assignment.objects.exists()


def test_assigning_needs_the_csrf_token(classroom, alice):
    strict = client_for(alice, enforce_csrf_checks=True)
    assert assign(strict, classroom, "quiz:dual-write").status_code == 403
    assert not Assignment.objects.exists()


def test_the_assignment_form_is_bounded_and_says_what_is_wrong(classroom, owner):
    cases = [
        ({"what": "lesson:no-such-lesson"}, "Select a valid choice"),
        ({"what": "quiz:dual-write", "due": timezone.localdate() - timedelta(days=1)}, "already passed"),
        ({"what": "quiz:dual-write", "due": timezone.localdate() + timedelta(days=400)}, "within a year"),
        ({"what": "quiz:dual-write", "note": "x" * 201}, "at most 200 characters"),
    ]
    for fields, message in cases:
        response = assign(owner, classroom, **fields)
        assert response.status_code == 400 and message in response.content.decode(), fields
    response = owner.post(f"/classes/{classroom.id}/assignments/new", {"what": "quiz:dual-write", "due": "not a date"})
    assert response.status_code == 400 and "Enter a valid date" in response.content.decode()
    assert not Assignment.objects.exists()
    assert assign(owner, classroom, "quiz:dual-write", due=timezone.localdate()).status_code == 302
    response = assign(owner, classroom, "quiz:dual-write")
    assert response.status_code == 400 and "already assigned" in response.content.decode()
    assert Assignment.objects.count() == 1


def test_every_kind_can_be_assigned_by_its_title(classroom, owner):
    script = InterviewScript.objects.filter(active=True).first()
    for what in ("lesson:dual-write", "quiz:dual-write", "experiment:dual-write", f"interview:{script.slug}"):
        assert assign(owner, classroom, what).status_code == 302, what
    titles = dict(Assignment.objects.values_list("kind", "title"))
    lesson = Lesson.objects.get(slug="dual-write")
    assert titles["lesson"] == lesson.title and titles["quiz"] == f"Quiz: {lesson.title}"
    assert titles["interview"] == script.title
    console = owner.get(f"/classes/{classroom.id}/").content.decode()
    assert console.count("0 of 0") == 4


def test_notes_are_escaped_on_every_page(classroom, owner, bob):
    assign(owner, classroom, "quiz:dual-write", note="<script>alert(1)</script>")
    pages = [bob.get(f"/c/{classroom.code}/"), owner.get(f"/classes/{classroom.id}/")]
    for response in pages:
        html = response.content.decode()
        assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_quiz_is_done_once_every_question_is_answered_and_a_lesson_once_every_one_is_right(classroom, owner, bob):
    assign(owner, classroom, "quiz:dual-write")
    assign(owner, classroom, "lesson:dual-write")
    learner = bob_learner(classroom)
    questions = list(Question.objects.filter(lesson__slug="dual-write", active=True))
    assert len(questions) >= 2

    def states():
        html = bob.get(f"/c/{classroom.code}/").content.decode()
        return re.findall(r'data-assignment="(\w+)"', html)

    assert states() == ["due", "due"]
    for question in questions[:-1]:
        answer_record(learner=learner, question=question, answer=wrong_answer(question))
    assert states() == ["due", "due"]  # one question unanswered: neither is done
    answer_record(learner=learner, question=questions[-1], answer=wrong_answer(questions[-1]))
    assert states() == ["done", "due"]  # all answered, none right
    row = owner.get(f"/classes/{classroom.id}/assignments.csv").content.decode().splitlines()[1].split(",")
    assert row[0] == "bob" and row[1].startswith("done ") and row[2] == "due"
    for question in questions:
        answer_record(learner=learner, question=question, answer=right_answer(question))
    assert states() == ["done", "done"]
    # Questions of another lesson count for nothing here.
    other = Question.objects.exclude(lesson__slug="dual-write").filter(active=True).first()
    answer_record(learner=learner, question=other, answer=right_answer(other))
    console = owner.get(f"/classes/{classroom.id}/").content.decode()
    assert console.count('data-done="1"') == 2


def test_runs_and_interview_practice_count_only_when_finished_and_only_for_their_student(classroom, owner, bob):
    script = InterviewScript.objects.filter(active=True).first()
    assign(owner, classroom, "experiment:dual-write")
    assign(owner, classroom, f"interview:{script.slug}")
    learner = bob_learner(classroom)
    stranger = Client()
    stranger.post(f"/join/{classroom.code}/", {"nickname": "eve"})
    # Work that does not count: a failed run, another experiment's run, an unfinished session.
    ExperimentRun.objects.create(experiment_slug="dual-write", params={}, seed=1, learner=learner,
                                 status=ExperimentRun.Status.FAILED, finished_at=timezone.now())
    ExperimentRun.objects.create(experiment_slug="idempotency", params={}, seed=1, learner=learner,
                                 status=ExperimentRun.Status.SUCCEEDED, finished_at=timezone.now())
    PracticeSession.objects.create(learner=learner, script=script, started_at=timezone.now())

    def cells():
        rows = owner.get(f"/classes/{classroom.id}/assignments.csv").content.decode().splitlines()[1:]
        return {row.split(",")[0]: [cell.split(" ")[0] for cell in row.split(",")[1:]] for row in rows}

    assert cells() == {"bob": ["due", "due"], "eve": ["due", "due"]}
    ExperimentRun.objects.create(experiment_slug="dual-write", params={}, seed=2, learner=learner,
                                 status=ExperimentRun.Status.SUCCEEDED, finished_at=timezone.now())
    PracticeSession.objects.create(learner=learner, script=script, started_at=timezone.now(),
                                   status=PracticeSession.Status.FINISHED, finished_at=timezone.now())
    assert cells() == {"bob": ["done", "done"], "eve": ["due", "due"]}
    dashboard = owner.get(f"/classes/{classroom.id}/dashboard").content.decode()
    assert dashboard.count("1 of 2") == 2


def test_overdue_and_late_work_is_shown_as_such(classroom, owner, bob):
    yesterday = timezone.localdate() - timedelta(days=3)
    # The form refuses a past due date; a class that has gone past one is made directly.
    assignment = assignment_create(classroom=classroom, kind="experiment", target="dual-write",
                                   title="Dual write vs transactional outbox", due=yesterday)
    room = bob.get(f"/c/{classroom.code}/").content.decode()
    assert 'data-assignment="overdue"' in room and "Overdue by 3 days" in room
    run = ExperimentRun.objects.create(experiment_slug="dual-write", params={}, seed=2, learner=bob_learner(classroom),
                                       status=ExperimentRun.Status.SUCCEEDED, finished_at=timezone.now())
    room = bob.get(f"/c/{classroom.code}/").content.decode()
    assert 'data-assignment="late"' in room and "(late)" in room
    ExperimentRun.objects.filter(id=run.id).update(finished_at=timezone.now() - timedelta(days=5))
    dashboard = owner.get(f"/classes/{classroom.id}/dashboard").content.decode()
    assert 'class="done"' in dashboard and "(late)" not in dashboard
    assert assignment.title in dashboard


def test_a_signed_in_student_gets_credit_for_work_done_under_their_account(classroom, owner):
    assign(owner, classroom, "experiment:dual-write")
    grace = User.objects.create_user("grace", password="a-long-pass-phrase-4")
    student = client_for(grace)
    assert student.post(f"/join/{classroom.code}/", {"nickname": "grace"}).status_code == 302
    from lessons.models import Learner

    ExperimentRun.objects.create(experiment_slug="dual-write", params={}, seed=2, learner=Learner.objects.get(user=grace),
                                 status=ExperimentRun.Status.SUCCEEDED, finished_at=timezone.now())
    assert 'data-assignment="done"' in student.get(f"/c/{classroom.code}/").content.decode()


def test_completion_takes_a_bounded_number_of_queries(classroom, owner, django_assert_max_num_queries):
    script = InterviewScript.objects.filter(active=True).first()
    for what in ("lesson:dual-write", "quiz:dual-write", "experiment:dual-write", f"interview:{script.slug}"):
        assign(owner, classroom, what)
    for i in range(12):
        Client().post(f"/join/{classroom.code}/", {"nickname": f"s{i}"})
    for learner_id in Membership.objects.values_list("learner_id", flat=True):
        question = Question.objects.filter(lesson__slug="dual-write", active=True).first()
        Attempt.objects.create(learner_id=learner_id, question=question, answer=right_answer(question), correct=True)
    from classroom.assignments import completion_matrix

    with django_assert_max_num_queries(8):
        matrix = completion_matrix(classroom)
    assert len(matrix["rows"]) == 12 and matrix["totals"] == [0, 0, 0, 0]


def live_link(client, classroom):
    room = client.get(f"/c/{classroom.code}/").content.decode()
    url = re.search(r'data-live-url="([^"]+)"', room).group(1).replace("&amp;", "&")
    return url, int(re.search(r'data-version="(\d+)"', room).group(1))


def test_a_students_list_follows_the_live_endpoint_without_a_reload(classroom, owner, bob, django_assert_num_queries):
    from classroom.services import poll_create

    url, version = live_link(bob, classroom)
    assert bob.get(f"{url}&v={version}").status_code == 204
    assign(owner, classroom, "experiment:dual-write", note="<b>before Thursday</b>")
    body = bob.get(f"{url}&v={version}").json()
    assert body["v"] > version
    assert "Dual write vs transactional outbox" in body["assignments_html"] and "Due tomorrow" not in body["assignments_html"]
    assert "Due in 1 day" in body["assignments_html"] and "&lt;b&gt;before Thursday&lt;/b&gt;" in body["assignments_html"]
    # Done elsewhere, it shows as done once bob is back in the room (the room page reads his records again).
    ExperimentRun.objects.create(experiment_slug="dual-write", params={}, seed=2, learner=bob_learner(classroom),
                                 status=ExperimentRun.Status.SUCCEEDED, finished_at=timezone.now())
    url, version = live_link(bob, classroom)
    # A new poll redraws every screen; the list comes along with no query of bob's records.
    poll_create(classroom=classroom, kind="single", prompt="Which commits first?", choices=["order", "event"])
    bob.get(f"{url}&v=0")  # the first screen after the change builds the class's state document
    with django_assert_num_queries(0):
        again = bob.get(f"{url}&v={version}").json()
    assert 'data-assignment="done"' in again["assignments_html"]
    # Taking it back empties the list on the next poll.
    owner.post(f"/classes/{classroom.id}/assignments/{Assignment.objects.get().id}/delete")
    gone = bob.get(f"{url}&v={again['v']}").json()
    assert "data-assignments" not in gone["assignments_html"] and gone["assignments_key"] != again["assignments_key"]
