"""Classrooms through the test client: alice owns the class, bob joined it, charlie is an outsider."""

import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from classroom.models import JOIN_CODE_ALPHABET, Answer, Classroom, Membership, Poll
from classroom.services import classroom_create, poll_create
from classroom.views import ANSWERS_PER_MINUTE, JOINS_PER_MINUTE

from .support import a_session_early_in_its_window, burst, patient_rate_limit_counters

# Transactional: answers publish their change after commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(db):
    user = User.objects.create_user("alice", password="a-long-pass-phrase-1")
    call_command("make_instructor", "alice")
    return user


@pytest.fixture
def classroom(alice):
    return classroom_create(owner=alice, name="Distributed systems 101")


def client_for(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def join(client, classroom, nickname):
    return client.post(f"/join/{classroom.code}/", {"nickname": nickname})


@pytest.fixture
def bob(classroom):
    client = client_for(User.objects.create_user("bob", password="a-long-pass-phrase-2"))
    assert join(client, classroom, "bob").status_code == 302
    return client


@pytest.fixture
def charlie(db):
    return client_for(User.objects.create_user("charlie", password="a-long-pass-phrase-3"))


def test_make_instructor_grants_the_permission_and_only_instructors_create_classes(alice, charlie):
    assert alice.has_perm("classroom.add_classroom")
    assert charlie.get("/classes/").status_code == 403
    assert Client().get("/classes/").status_code == 302  # to sign in
    response = client_for(alice).post("/classes/", {"name": "Evening class"})
    classroom = Classroom.objects.get(name="Evening class")
    assert response.status_code == 302 and response["Location"] == f"/classes/{classroom.id}/"


def test_make_instructor_names_a_missing_user():
    with pytest.raises(Exception, match="No user called 'nobody'"):
        call_command("make_instructor", "nobody")


def test_join_codes_use_only_unambiguous_characters(alice):
    codes = {classroom_create(owner=alice, name=f"c{i}").code for i in range(40)}
    assert len(codes) == 40
    for code in codes:
        assert re.fullmatch(f"[{JOIN_CODE_ALPHABET}]{{6}}", code)
        assert not set(code) & set("0O1lI")


def test_the_qr_code_is_an_svg_of_the_join_url(classroom, alice):
    response = client_for(alice).get(f"/classes/{classroom.id}/qr.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<?xml") and b"<svg" in response.content
    projector = client_for(alice).get(f"/classes/{classroom.id}/projector").content.decode()
    assert classroom.code in projector and f"http://testserver/join/{classroom.code}/" in projector


def test_permission_matrix(classroom, alice, bob, charlie):
    poll = poll_create(classroom=classroom, kind="single", prompt="Pick one", choices=["a", "b"])
    owner_pages = [f"/classes/{classroom.id}/", f"/classes/{classroom.id}/projector", f"/classes/{classroom.id}/qr.svg",
                   f"/classes/{classroom.id}/members"]
    owner_posts = [f"/classes/{classroom.id}/polls/{poll.id}/close", f"/classes/{classroom.id}/present",
                   f"/classes/{classroom.id}/step", f"/classes/{classroom.id}/open"]
    room = f"/c/{classroom.code}/"
    owner = client_for(alice)
    for url in owner_pages:
        assert owner.get(url).status_code == 200, url
        for visitor in (bob, charlie, Client()):
            assert visitor.get(url).status_code == 404, url
    for url in owner_posts:
        for visitor in (bob, charlie, Client()):
            assert visitor.post(url).status_code == 404, url
    assert bob.get(room).status_code == 200
    for visitor in (owner, charlie, Client()):
        assert visitor.get(room).status_code == 404
        assert visitor.post(f"{room}polls/{poll.id}/answer", {"choice": "0"}).status_code == 404
    # Hidden results: only the owner reads them.
    assert owner.get(f"/polls/{poll.id}/results").status_code == 200
    for visitor in (bob, charlie, Client()):
        assert visitor.get(f"/polls/{poll.id}/results").status_code == 404
    poll.refresh_from_db()
    assert poll.status == Poll.Status.OPEN  # nobody but alice closed it


def test_a_student_joins_by_code_with_a_nickname_and_no_account(classroom):
    student = Client()
    response = student.post("/join/", {"code": f" {classroom.code.lower()} "})
    assert response["Location"] == f"/join/{classroom.code}/"
    assert join(student, classroom, "  Ada   L ").status_code == 302
    member = Membership.objects.get(classroom=classroom)
    assert member.nickname == "Ada L" and member.user is None and member.learner is not None
    page = student.get(f"/c/{classroom.code}/").content.decode()
    assert "Ada L" in page and "Waiting for your instructor" in page
    # Joining again from the same browser goes straight to the room.
    assert student.get(f"/join/{classroom.code}/")["Location"] == f"/c/{classroom.code}/"


def test_bad_codes_taken_nicknames_and_full_or_closed_classes_say_so(classroom):
    assert Client().post("/join/", {"code": "O0l1"}).status_code == 400
    assert Client().get("/join/ZZZZZZ/").status_code == 404
    join(Client(), classroom, "ada")
    response = join(Client(), classroom, "ada")
    assert response.status_code == 400 and "already called" in response.content.decode()
    Classroom.objects.filter(id=classroom.id).update(capacity=1)
    response = join(Client(), classroom, "grace")
    assert response.status_code == 400 and "full" in response.content.decode()
    Classroom.objects.filter(id=classroom.id).update(capacity=10, is_open=False)
    response = join(Client(), classroom, "grace")
    assert response.status_code == 400 and "closed to new students" in response.content.decode()
    assert Membership.objects.filter(classroom=classroom).count() == 1


def test_joining_is_rate_limited_per_session(classroom, settings, caplog):
    patient_rate_limit_counters(settings)
    student = Client()
    left = a_session_early_in_its_window(student, group="classroom-join", rate=f"{JOINS_PER_MINUTE}/m")
    statuses, took = burst(lambda _: join(student, classroom, ""), JOINS_PER_MINUTE + 1)
    assert statuses == [400] * JOINS_PER_MINUTE + [429], f"{took}, {left} s were left in its window; {caplog.messages}"


def test_nicknames_and_typed_questions_are_escaped(classroom, alice):
    student = Client()
    join(student, classroom, "<script>alert(1)</script>")
    client_for(alice).post(f"/classes/{classroom.id}/polls/new/typed",
                           {"kind": "single", "prompt": "<b>bold?</b>", "choices": "<i>yes</i>\nno"})
    for html in (student.get(f"/c/{classroom.code}/").content.decode(),
                 client_for(alice).get(f"/classes/{classroom.id}/").content.decode()):
        assert "<script>alert(1)" not in html and "<b>bold?</b>" not in html and "<i>yes</i>" not in html
        assert "&lt;b&gt;bold?&lt;/b&gt;" in html


def test_typed_polls_are_validated(classroom, alice):
    owner = client_for(alice)
    url = f"/classes/{classroom.id}/polls/new/typed"
    assert owner.post(url, {"kind": "single", "prompt": "Only one?", "choices": "a"}).status_code == 400
    assert owner.post(url, {"kind": "single", "prompt": "Two right?", "choices": "a\nb", "correct": "1,2"}).status_code == 400
    assert owner.post(url, {"kind": "number", "prompt": "How many?", "correct": "abc"}).status_code == 400
    assert not Poll.objects.exists()
    assert owner.post(url, {"kind": "number", "prompt": "How many?", "correct": "40±5"}).status_code == 302
    assert Poll.objects.get().correct == {"answer": 40.0, "tolerance": 5.0}


def test_a_quiz_bank_question_becomes_a_poll_with_its_right_answer(classroom, alice):
    from lessons.content_loader import load_content
    from lessons.models import Question

    load_content()
    question = Question.objects.filter(kind="single", active=True).first()
    client_for(alice).post(f"/classes/{classroom.id}/polls/new/bank", {"question": question.id})
    poll = Poll.objects.get()
    assert poll.prompt == question.prompt and poll.question == question
    assert poll.correct == [i for i, c in enumerate(question.data["choices"]) if c["correct"]]


def answer(client, classroom, poll, **data):
    return client.post(f"/c/{classroom.code}/polls/{poll.id}/answer", data, HTTP_HX_REQUEST="true")


def test_one_answer_per_student_changeable_until_the_poll_closes(classroom, alice, bob):
    poll = poll_create(classroom=classroom, kind="multiple", prompt="Which?", choices=["a", "b", "c"], correct=[0, 2])
    assert answer(bob, classroom, poll, choices=["1"]).status_code == 200
    response = answer(bob, classroom, poll, choices=["0", "2"])
    assert "Your answer: <strong>a; c</strong>" in response.content.decode()
    stored = Answer.objects.get(poll=poll)
    assert stored.value == [0, 2] and stored.correct is True
    client_for(alice).post(f"/classes/{classroom.id}/polls/{poll.id}/close")
    response = answer(bob, classroom, poll, choices=["1"])
    assert response.status_code == 409 and "closed" in response.content.decode()
    assert Answer.objects.get(poll=poll).value == [0, 2]
    assert answer(bob, classroom, poll, choices=["7"]).status_code == 400


def test_answers_are_rate_limited_per_session(classroom, settings, caplog):
    patient_rate_limit_counters(settings)
    poll = poll_create(classroom=classroom, kind="number", prompt="How many?")
    dana = Client()
    left = a_session_early_in_its_window(dana, group="classroom-answer", rate=f"{ANSWERS_PER_MINUTE}/m")
    assert join(dana, classroom, "dana").status_code == 302
    statuses, took = burst(lambda i: answer(dana, classroom, poll, number=str(i)), ANSWERS_PER_MINUTE + 1)
    assert statuses == [200] * ANSWERS_PER_MINUTE + [429], f"{took}, {left} s were left in its window; {caplog.messages}"
    assert Answer.objects.get(poll=poll).value == ANSWERS_PER_MINUTE - 1


def test_results_count_answers_and_reveal_hide_close_reset(classroom, alice, bob):
    owner = client_for(alice)
    poll = poll_create(classroom=classroom, kind="single", prompt="Which?", choices=["a", "b"], correct=[1])
    others = [Client() for _ in range(2)]
    for i, other in enumerate(others):
        join(other, classroom, f"s{i}")
        answer(other, classroom, poll, choice="1")
    answer(bob, classroom, poll, choice="0")
    body = owner.get(f"/polls/{poll.id}/results").json()
    assert body["counts"] == [1, 2] and body["total"] == 3 and body["correct"] == [1]
    # Nothing new since that token: an empty answer.
    assert owner.get(f"/polls/{poll.id}/results?v={body['v']}").status_code == 204
    answer(bob, classroom, poll, choice="1")
    assert owner.get(f"/polls/{poll.id}/results?v={body['v']}").json()["counts"] == [0, 3]

    room = bob.get(f"/c/{classroom.code}/").content.decode()
    assert "data-poll-chart" not in room
    owner.post(f"/classes/{classroom.id}/polls/{poll.id}/reveal")
    room = bob.get(f"/c/{classroom.code}/").content.decode()
    token = re.search(r"/polls/\d+/results\?t=([^\"]+)\"", room).group(1)
    assert bob.get(f"/polls/{poll.id}/results?t={token}").json()["counts"] == [0, 3]
    assert "That is right." in room
    owner.post(f"/classes/{classroom.id}/polls/{poll.id}/hide")
    assert bob.get(f"/polls/{poll.id}/results?t={token}").status_code == 404
    owner.post(f"/classes/{classroom.id}/polls/{poll.id}/reset")
    poll.refresh_from_db()
    assert poll.is_open and not poll.answers.exists()
    owner.post(f"/classes/{classroom.id}/polls/{poll.id}/dismiss")
    classroom.refresh_from_db()
    assert classroom.current_poll is None


def test_the_live_endpoint_is_empty_until_the_class_changes(classroom, alice, bob):
    room = bob.get(f"/c/{classroom.code}/").content.decode()
    live_url = re.search(r'data-live-url="([^"]+)"', room).group(1).replace("&amp;", "&")
    version = re.search(r'data-version="(\d+)"', room).group(1)
    assert bob.get(f"{live_url}&v={version}").status_code == 204
    assert Client().get(f"{live_url}&v={version}").status_code == 204  # the signed link is the capability
    assert Client().get("/live?t=1.1:forged&v=1").status_code == 404
    poll_create(classroom=classroom, kind="single", prompt="New question?", choices=["yes", "no"])
    body = bob.get(f"{live_url}&v={version}").json()
    assert body["v"] > int(version) and "New question?" in body["poll_html"]
    assert bob.get(f"{live_url}&v={body['v']}&run=").status_code == 204


def test_a_live_presented_runs_new_frames_come_in_the_same_live_request(classroom, alice, bob):
    from classroom.services import classroom_present
    from playground import live as run_live
    from playground.experiments import get_experiment
    from playground.models import ExperimentRun

    experiment = get_experiment("dual-write")
    params, _ = experiment.clean_params({"mode": "naive"})
    frames: list[dict] = []
    experiment.run(params, 7, frames.append)
    run = ExperimentRun.objects.create(experiment_slug="dual-write", params=params, seed=7, created_by=alice,
                                       status=ExperimentRun.Status.RUNNING)
    classroom_present(classroom=classroom, run=run)
    room = bob.get(f"/c/{classroom.code}/").content.decode()
    live_url = re.search(r'data-live-url="([^"]+)"', room).group(1).replace("&amp;", "&")
    version = int(re.search(r'data-version="(\d+)"', room).group(1))
    run_key = re.search(r'data-run-key="([^"]*)"', room).group(1)
    cursor = re.search(r'data-cursor="(\d+)"', room).group(1)
    follow = f"{live_url}&v={version}&run={run_key}"
    assert bob.get(f"{follow}&f={cursor}").status_code == 204  # nothing streamed yet

    # The worker streams frames (as runner.py does): the next poll brings exactly the ones after the cursor.
    run_live.push_frames(run.id, frames[:5])
    assert bob.get(f"{follow}&f=0").json() == {"v": version, "next": 5, "frames": frames[:5]}
    assert bob.get(f"{follow}&f=5").status_code == 204
    run_live.push_frames(run.id, frames[5:8])
    assert bob.get(f"{follow}&f=5").json() == {"v": version, "next": 8, "frames": frames[5:8]}
    # A screen without this run's charts gets no frames for them; a bad cursor is refused.
    assert bob.get(f"{live_url}&v={version}&run=&f=0").status_code == 204
    fresh = bob.get(f"{live_url}&v=0&run=&f=0").json()
    assert "frames" not in fresh and 'data-cursor="0"' in fresh["run_html"]  # its charts, to follow from 0
    for bad in ("-1", "x"):
        assert bob.get(f"{follow}&f={bad}").status_code == 400
    # The class changed as well: one answer carries both.
    poll_create(classroom=classroom, kind="single", prompt="Which commits first?", choices=["order", "event"])
    body = bob.get(f"{follow}&f=5").json()
    assert body["v"] > version and "Which commits first?" in body["poll_html"] and body["frames"] == frames[5:8]
    # Once the run has ended, its frames come with its final charts, not by cursor.
    ExperimentRun.objects.filter(id=run.id).update(status=ExperimentRun.Status.SUCCEEDED, frames=frames)
    classroom_present(classroom=classroom, run=ExperimentRun.objects.get(id=run.id))
    body = bob.get(f"{live_url}&v={body['v']}&run={run_key}&f=8").json()
    assert body["run_key"] == f"{run.id}:True" and "frames" not in body and f'data-cursor="{len(frames)}"' in body["run_html"]


def test_the_instructors_member_list_is_empty_until_someone_joins(classroom, alice, bob):
    owner = client_for(alice)
    console = owner.get(f"/classes/{classroom.id}/").content.decode()
    url = re.search(r'data-members-url="([^"]+)"', console).group(1)
    version = re.search(r'data-live-members[^>]*data-version="([^"]+)"', console).group(1)
    assert owner.get(f"{url}?v={version}").status_code == 204
    join(Client(), classroom, "<img src=x onerror=alert(1)>")
    body = owner.get(f"{url}?v={version}").json()
    assert body["count"] == 2 and body["v"] != version
    assert "<li>bob</li>" in body["html"] and "&lt;img src=x onerror=alert(1)&gt;" in body["html"] and "<img" not in body["html"]
    assert owner.get(f"{url}?v={body['v']}").status_code == 204
    assert owner.get(url).json()["count"] == 2  # without a token: the list as it is
    # A refused join (a taken nickname) changes nothing.
    join(Client(), classroom, "bob")
    assert owner.get(f"{url}?v={body['v']}").status_code == 204


@pytest.mark.parametrize("redis_forgot", [False, True])
def test_screens_reach_the_end_of_a_presented_run_with_no_instructor_page_open(classroom, alice, bob, monkeypatch,
                                                                               redis_forgot):
    from classroom import live
    from classroom.services import classroom_present
    from playground.experiments import get_experiment
    from playground.live import redis_client
    from playground.models import ExperimentRun

    monkeypatch.setattr(live, "RUN_CHECK_INTERVAL_MS", 0)  # every poll may look; the throttle is not under test
    experiment = get_experiment("dual-write")
    params, _ = experiment.clean_params({"mode": "naive"})
    run = ExperimentRun.objects.create(experiment_slug="dual-write", params=params, seed=7, created_by=alice,
                                       status=ExperimentRun.Status.RUNNING)
    classroom_present(classroom=classroom, run=run)
    room = bob.get(f"/c/{classroom.code}/").content.decode()
    live_url = re.search(r'data-live-url="([^"]+)"', room).group(1).replace("&amp;", "&")
    version = re.search(r'data-version="(\d+)"', room).group(1)
    run_key = re.search(r'data-run-key="([^"]*)"', room).group(1)
    assert run_key == f"{run.id}:False"
    assert bob.get(f"{live_url}&v={version}&run={run_key}").status_code == 204
    if redis_forgot:
        redis_client().delete(live._version_key(classroom.id), live._watch_key(classroom.id))
    # The worker ends the run the way runner.py does: an UPDATE of the row, nothing else told.
    frames: list[dict] = []
    summary = experiment.run(params, 7, frames.append)
    ExperimentRun.objects.filter(id=run.id).update(status=ExperimentRun.Status.SUCCEEDED, frames=frames, summary=summary)
    body = bob.get(f"{live_url}&v={version}&run={run_key}").json()
    assert body["v"] > int(version) and body["run_key"] == f"{run.id}:True" and "data-verdict" in body["run_html"]
    # Noticed once: the class has moved on and stays put.
    assert bob.get(f"{live_url}&v={body['v']}&run={body['run_key']}").status_code == 204
    classroom.refresh_from_db()
    assert classroom.state_version == body["v"]


def test_a_changed_class_reaches_every_screen_without_the_database_after_the_first(classroom, alice, bob,
                                                                                django_assert_num_queries):
    from classroom import live
    from playground.live import redis_client

    others = [Client() for _ in range(2)]
    for i, other in enumerate(others):
        join(other, classroom, f"s{i}")
    poll = poll_create(classroom=classroom, kind="single", prompt="Which <one>?", choices=["a", "b"])
    answer(others[0], classroom, poll, choice="1")

    def live_url(client):
        room = client.get(f"/c/{classroom.code}/").content.decode()
        return re.search(r'data-live-url="([^"]+)"', room).group(1).replace("&amp;", "&")

    urls = [live_url(client) for client in (bob, *others)]
    first = bob.get(f"{urls[0]}&v=0&run=").json()  # builds the class's state document
    with django_assert_num_queries(0):
        second = others[0].get(f"{urls[1]}&v=0&run=").json()
        third = others[1].get(f"{urls[2]}&v=0&run=").json()
    assert first["v"] == second["v"] == third["v"]
    assert "Which &lt;one&gt;?" in second["poll_html"] and "Your answer: <strong>b</strong>" in second["poll_html"]
    assert "data-my-answer" not in third["poll_html"]
    # Each screen gets its own answer form token and results link, never another student's.
    assert "csrfmiddlewaretoken" in third["poll_html"]
    # Redis forgot the answers: they come back from the database, and are right.
    redis_client().delete(live._answers_key(poll.id))
    again = others[0].get(f"{urls[1]}&v=0&run=").json()
    assert "Your answer: <strong>b</strong>" in again["poll_html"]
    assert "data-my-answer" not in bob.get(f"{urls[0]}&v=0&run=").json()["poll_html"]


def test_the_dashboard_shows_mastery_and_poll_history_and_exports_both(lessons_loaded, classroom, alice, bob, charlie):
    poll = poll_create(classroom=classroom, kind="single", prompt="Which, <really>?", choices=["a", "b"], correct=[1])
    answer(bob, classroom, poll, choice="1")
    owner = client_for(alice)
    page = owner.get(f"/classes/{classroom.id}/dashboard").content.decode()
    assert "heatmap-figure" in page and "Which, &lt;really&gt;?" in page and "100%" in page
    polls = owner.get(f"/classes/{classroom.id}/polls.csv")
    assert polls["Content-Type"].startswith("text/csv")
    rows = polls.content.decode().splitlines()
    assert rows[0] == "asked,question,kind,answered,correct %" and rows[1].endswith("Which, <really>?\",Single choice,1,100")
    mastery = owner.get(f"/classes/{classroom.id}/mastery.csv").content.decode().splitlines()
    assert mastery[0].startswith("student") and mastery[1].startswith("bob,")
    for visitor in (bob, charlie, Client()):
        for url in (f"/classes/{classroom.id}/dashboard", f"/classes/{classroom.id}/polls.csv", f"/classes/{classroom.id}/mastery.csv"):
            assert visitor.get(url).status_code == 404
