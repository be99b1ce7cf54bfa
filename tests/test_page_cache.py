"""Pages rendered once for every newcomer (config/pagecache.py): fast, but never anyone else's.

Alice is a newcomer, Bob another one; Carol has answered a question, so she has progress of her own.
"""

import re
import shutil

import pytest
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client

from config import pagecache
from interview.loader import load_interview_scripts
from lessons.content_loader import CONTENT_DIR, load_content
from lessons.models import Lesson, Question
from lessons.quiz_files import QUIZ_DIR
from playground.experiments import get_experiment
from playground.models import ExperimentRun
from playground.runner import run_execute

pytestmark = pytest.mark.django_db

QUIZ = "/lessons/dual-write/quiz/"
PAGES = ["/", "/lessons/dual-write/", QUIZ, "/experiments/dual-write/", "/interview/"]


@pytest.fixture
def content(db):
    load_content()
    load_interview_scripts()


def page_token(html: str) -> str:
    return re.search(r'"X-CSRFToken": "([A-Za-z0-9]+)"', html).group(1)


def form_tokens(html: str) -> list[str]:
    return re.findall(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)"', html)


def answer_keys(html: str) -> list[str]:
    return re.findall(r'name="answer_key" value="([^"]*)"', html)


def carol(question: Question) -> Client:
    """A visitor with progress: she answered one question."""
    client = Client()
    client.get(QUIZ)
    assert client.post(f"/questions/{question.key}/answer", {"choice": "0", "source": "quiz"}).status_code == 302
    return client


@pytest.mark.parametrize("url", [QUIZ, "/experiments/dual-write/"])
def test_each_newcomer_gets_their_own_csrf_token_and_no_slot_is_left(content, url):
    alice, bob = Client(), Client()
    for visitor in [alice, bob, alice]:
        response = visitor.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "__pagecache_slot" not in html
        secret = visitor.cookies["csrftoken"].value
        tokens = [page_token(html), *form_tokens(html)]
        assert len(tokens) > 1
        for token in tokens:
            assert _unmask_cipher_token(token) == secret  # this visitor's, never the first renderer's
        assert "Cookie" in response["Vary"]
    assert alice.cookies["csrftoken"].value != bob.cookies["csrftoken"].value


@pytest.mark.parametrize("url", ["/", "/lessons/dual-write/", "/interview/"])
def test_a_page_with_nothing_to_send_makes_no_token_and_sets_no_cookie(content, url):
    for _ in range(2):  # rendered, then from the cache
        response = Client().get(url)
        assert response.status_code == 200
        assert "X-CSRFToken" not in response.content.decode() and "__pagecache_slot" not in response.content.decode()
        assert not response.cookies


def test_a_newcomers_cached_page_token_is_accepted_for_them_and_refused_for_another(content):
    question = Question.objects.filter(lesson__slug="dual-write", kind="single", active=True).first()
    alice, bob = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    bob.get(QUIZ)  # the page is cached now; Alice gets the copy
    alice_token = page_token(alice.get(QUIZ).content.decode())
    answer = {"choice": "0", "source": "quiz", "csrfmiddlewaretoken": alice_token}
    assert bob.post(f"/questions/{question.key}/answer", answer).status_code == 403
    assert alice.post(f"/questions/{question.key}/answer", answer).status_code == 302


def test_every_rendered_form_has_its_own_answer_key(content):
    first, second = Client().get(QUIZ).content.decode(), Client().get(QUIZ).content.decode()
    keys = answer_keys(first) + answer_keys(second)
    assert len(answer_keys(first)) == Question.objects.filter(lesson__slug="dual-write", active=True).count() > 1
    assert all(re.fullmatch(r"[0-9a-f]{32}", key) for key in keys)
    assert len(set(keys)) == len(keys)


def test_the_experiment_forms_idempotency_key_is_fresh_for_each_newcomer(content):
    pattern = r'name="idempotency_key" value="([0-9a-f]{32})"'
    keys = [re.search(pattern, Client().get("/experiments/dual-write/").content.decode()).group(1) for _ in range(3)]
    assert len(set(keys)) == 3


def test_progress_is_never_shared_and_never_hidden(content):
    question = Question.objects.filter(lesson__slug="dual-write", kind="single", active=True).first()
    assert "1 of" not in Client().get("/").content.decode()  # cached for newcomers now
    with_progress = carol(question)
    assert "1 of" in with_progress.get("/").content.decode()
    assert "1 of" not in Client().get("/").content.decode()
    # Her session gone, her CSRF cookie still finds her learner: not a newcomer.
    del with_progress.cookies["sessionid"]
    assert "1 of" in with_progress.get("/").content.decode()
    total = Question.objects.filter(lesson__slug="dual-write", active=True).count()
    assert f"1 of {total} answered" in with_progress.get(QUIZ).content.decode()
    assert f"0 of {total} answered" in Client().get(QUIZ).content.decode()


def test_a_lesson_costs_a_learner_without_a_session_no_lookup_of_them(content, django_assert_max_num_queries):
    # A lesson shows nobody anything of their own but the header, and nobody is signed in without a session:
    # whoever the CSRF cookie might find, the newcomer's page is theirs.
    question = Question.objects.filter(lesson__slug="dual-write", kind="single", active=True).first()
    with_progress = carol(question)
    del with_progress.cookies["sessionid"]
    newcomers = Client().get("/lessons/dual-write/").content.decode()
    with django_assert_max_num_queries(1):
        theirs = with_progress.get("/lessons/dual-write/").content.decode()
    assert theirs == newcomers  # it sends nothing, so it carries no CSRF token either
    assert "1 of" in with_progress.get(QUIZ).content.decode()  # their progress is still found where it shows


def test_a_reload_of_the_lessons_shows_at_once(content, tmp_path):
    for url in ["/", "/lessons/dual-write/", QUIZ]:
        assert Client().get(url).status_code == 200  # cached
    lesson = Lesson.objects.get(slug="dual-write")
    content_dir = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content_dir)
    source = content_dir / lesson.source_path
    text = source.read_text()
    source.write_text(text.replace(f"title: {lesson.title}", "title: Renamed for the test", 1)
                      .replace("\n---\n", "\n---\nA sentence added by the test.\n\n", 1))
    quiz_dir = tmp_path / "quizzes"
    shutil.copytree(QUIZ_DIR, quiz_dir)
    load_content(content_dir, quiz_dir)
    assert "Renamed for the test" in Client().get("/").content.decode()
    assert "A sentence added by the test." in Client().get("/lessons/dual-write/").content.decode()
    assert "Renamed for the test" in Client().get(QUIZ).content.decode()


def test_a_retired_question_leaves_the_cached_quiz(content, tmp_path):
    question = Question.objects.filter(lesson__slug="dual-write", active=True).first()
    assert f'id="q-{question.key}"' in Client().get(QUIZ).content.decode()
    quiz_dir = tmp_path / "quizzes"
    shutil.copytree(QUIZ_DIR, quiz_dir)
    quiz_file = quiz_dir / "dual-write.yaml"
    kept = [block for block in quiz_file.read_text().split("\n  - ") if not block.startswith(f"id: {question.key}\n")]
    assert len(kept) > 2
    quiz_file.write_text("\n  - ".join(kept))
    load_content(CONTENT_DIR, quiz_dir)
    assert f'id="q-{question.key}"' not in Client().get(QUIZ).content.decode()


def finished_run(*, seed: int = 7, **fields) -> ExperimentRun:
    params, _ = get_experiment("dual-write").clean_params({"mode": "naive", "orders": 200})
    run = ExperimentRun.objects.create(experiment_slug="dual-write", params=params, seed=seed,
                                       status=ExperimentRun.Status.RUNNING, **fields)
    run_execute(run, frame_delay=0)
    run.refresh_from_db()
    assert run.is_final
    return run


def test_a_finished_run_page_is_shared_but_says_you_only_to_whoever_ran_it(content):
    owner = Client()
    owner.get("/experiments/dual-write/")
    owner.session.save()
    run = finished_run(owner_session=owner.session.session_key, prediction=3)
    newcomer_page = Client().get(run.get_absolute_url()).content.decode()  # cached
    assert "whoever ran it predicted" in newcomer_page
    owner_page = owner.get(run.get_absolute_url()).content.decode()
    assert "you predicted" in owner_page and "whoever ran it" not in owner_page
    assert "whoever ran it predicted" in Client().get(run.get_absolute_url()).content.decode()


def test_a_run_seen_while_running_shows_its_verdict_once_it_ends(content):
    params, _ = get_experiment("dual-write").clean_params({"mode": "naive", "orders": 200})
    run = ExperimentRun.objects.create(experiment_slug="dual-write", params=params, seed=7,
                                       status=ExperimentRun.Status.QUEUED)
    assert Client().get(run.get_absolute_url()).status_code == 200
    frames = Client().get(f"/runs/{run.id}/frames?after=0").json()
    assert frames["final"] is False and frames["frames"] == []
    ExperimentRun.objects.filter(id=run.id).update(status=ExperimentRun.Status.RUNNING)
    run_execute(ExperimentRun.objects.get(id=run.id), frame_delay=0)
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert "data-verdict" in Client().get(run.get_absolute_url()).content.decode()
    frames = Client().get(f"/runs/{run.id}/frames?after=0").json()
    assert frames["final"] is True and len(frames["frames"]) == len(run.frames) > 0


def test_a_finished_runs_frames_come_from_the_cache_the_same_as_the_first_time(content, django_assert_max_num_queries):
    run = finished_run()
    first = Client().get(f"/runs/{run.id}/frames?after=3")
    with django_assert_max_num_queries(1):
        again = Client().get(f"/runs/{run.id}/frames?after=3")
    assert first.content == again.content and first.json()["frames"] == run.frames[3:]
    assert again["Cache-Control"] == first["Cache-Control"]
    assert Client().get(f"/runs/{run.id}/frames?after=x").status_code == 400
    ExperimentRun.objects.filter(id=run.id).delete()
    assert Client().get(f"/runs/{run.id}/frames?after=3").status_code == 404


def test_a_cached_page_costs_a_newcomer_a_query_or_two(content, django_assert_max_num_queries):
    for url in PAGES:
        Client().get(url)
        returning = Client()
        returning.get(url)
        with django_assert_max_num_queries(2):
            assert Client().get(url).status_code == 200, url
        with django_assert_max_num_queries(2):
            assert returning.get(url).status_code == 200, url


def test_a_query_string_or_an_htmx_request_gets_the_view_itself(content):
    Client().get("/")
    assert Client().get("/?anything=1").status_code == 200
    preset = next(iter(get_experiment("dual-write").presets))
    assert Client().get(f"/experiments/dual-write/?preset={preset}").status_code == 200
    keys = {key[-1] for key in pagecache._pages if key[4] == "/experiments/dual-write/"}
    assert any(key[0] == preset for key in keys)
    assert not any(key[4] == "/" and "anything" in str(key) for key in pagecache._pages)


def test_a_finished_runs_owner_sees_the_same_drawings_every_time(content):
    owner = Client()
    owner.get("/experiments/dual-write/")
    owner.session.save()
    run = finished_run(owner_session=owner.session.session_key, prediction=3)
    pages = [owner.get(run.get_absolute_url()).content.decode() for _ in range(2)]
    figures = [re.search(r'<script id="run-figures" type="application/json">(.*?)</script>', page, re.S).group(1)
               for page in pages]
    assert figures[0] == figures[1] and len(figures[0]) > 100
    assert all("data-verdict" in page and "you predicted" in page for page in pages)


def test_the_experiment_page_says_what_the_queue_says_now_not_when_it_was_cached(content, settings):
    assert "queue (Redis) is unreachable" not in Client().get("/experiments/dual-write/").content.decode()
    live_redis = settings.REDIS_URL
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        assert "The run queue (Redis) is unreachable" in Client().get("/experiments/dual-write/").content.decode()
    finally:
        settings.REDIS_URL = live_redis
    assert "queue (Redis) is unreachable" not in Client().get("/experiments/dual-write/").content.decode()


def test_a_question_edited_alone_shows_at_once(content):
    """An edit in the admin or a shell, without loading the lessons again, still reaches the cached quiz."""
    question = Question.objects.filter(lesson__slug="dual-write", active=True).first()
    assert f'id="q-{question.key}"' in Client().get(QUIZ).content.decode()  # cached now
    question.prompt = "A prompt edited by the test"
    question.save()
    assert "A prompt edited by the test" in Client().get(QUIZ).content.decode()
    question.delete()
    assert f'id="q-{question.key}"' not in Client().get(QUIZ).content.decode()


# Learners with progress get the shared page too, with their own parts rendered for them.
LEARNER_PAGES = ["/", "/lessons/dual-write/", QUIZ, "/experiments/dual-write/", "/interview/"]


def learner_with_progress(*, right: bool, prediction: int) -> tuple[Client, ExperimentRun]:
    """Someone who answered the first dual-write question (right or wrong), ran the experiment and finished an interview."""
    from interview.models import InterviewScript
    from interview.services import practice_session_finish, practice_session_start, prompt_answer_open, prompt_answer_submit
    from lessons.learners import SESSION_KEY
    from lessons.models import Learner

    question = Question.objects.filter(lesson__slug="dual-write", kind="single", active=True).first()
    choice = next(i for i, c in enumerate(question.data["choices"]) if c["correct"] == right)
    client = Client()
    client.get(QUIZ)
    assert client.post(f"/questions/{question.key}/answer", {"choice": str(choice), "source": "quiz"}).status_code == 302
    learner = Learner.objects.get(id=client.session[SESSION_KEY])
    run = finished_run(learner=learner, owner_session=client.session.session_key, prediction=prediction, seed=prediction)
    session = practice_session_start(learner=learner, script=InterviewScript.objects.filter(active=True).first())
    for number in session.prompt_numbers:
        prompt_answer_submit(answer=prompt_answer_open(session=session, number=number),
                             text="An outbox table written in the same transaction as the order, relayed at least once; "
                                  "consumers deduplicate by idempotency key." if right else "I do not know.")
    practice_session_finish(session=session)
    return client, run


def own_marks(html: str) -> dict:
    """Whatever on a page is someone's own progress."""
    return {"answered": re.findall(r"(\d+) of \d+ answered", html), "right": re.findall(r"data-quiz-score>(\d+) of", html),
            "runs": "Your recent runs" in html,
            "guesses": re.findall(r"<td>(\d+)</td><td>\d+</td>", "".join(re.findall(r"data-prediction-record>(.*?)</section>", html, re.S))),
            "best": re.findall(r"Your best: (\d+)/100", html), "you_predicted": "you predicted" in html,
            "compare": "Compare this run with" in html}


def test_a_learner_who_asks_first_leaves_nothing_of_theirs_for_anyone_else(content):
    pagecache._pages.clear()
    carol_client, carol_run = learner_with_progress(right=False, prediction=3)
    dave_client, _ = learner_with_progress(right=True, prediction=7)
    urls = LEARNER_PAGES + [carol_run.get_absolute_url()]
    carols = {url: carol_client.get(url).content.decode() for url in urls}  # she renders every shared page
    assert len(pagecache._pages) == len(urls)
    newcomer = {url: Client().get(url).content.decode() for url in urls}
    daves = {url: dave_client.get(url).content.decode() for url in urls}
    for url in urls:
        assert "__pagecache" not in carols[url] + newcomer[url] + daves[url], url
    # Carol sees her own…
    assert own_marks(carols["/"])["answered"] == ["1"] and own_marks(carols[QUIZ])["right"] == ["0"]
    assert own_marks(carols["/experiments/dual-write/"])["runs"] and own_marks(carols["/experiments/dual-write/"])["guesses"] == ["3"]
    assert own_marks(carols[carol_run.get_absolute_url()])["you_predicted"]
    assert len(own_marks(carols["/interview/"])["best"]) == 1
    # …a newcomer none of it…
    for url in urls:
        marks = own_marks(newcomer[url])
        assert marks["answered"] in ([], ["0"]) and marks["right"] in ([], ["0"]) and not marks["runs"], url
        assert not marks["best"], url
        assert not marks["you_predicted"] and not marks["compare"] and not marks["guesses"], url
    assert "whoever ran it predicted" in newcomer[carol_run.get_absolute_url()]
    # …and Dave his own, never hers.
    assert own_marks(daves[QUIZ])["right"] == ["1"] and own_marks(daves["/"])["answered"] == ["1"]
    assert own_marks(daves["/experiments/dual-write/"])["guesses"] == ["7"]
    assert int(own_marks(daves["/interview/"])["best"][0]) > int(own_marks(carols["/interview/"])["best"][0])
    carols_run_for_dave = own_marks(daves[carol_run.get_absolute_url()])
    assert not carols_run_for_dave["you_predicted"] and "whoever ran it predicted" in daves[carol_run.get_absolute_url()]
    assert carols_run_for_dave["compare"]  # his own run of the same experiment, offered to overlay
    assert carol_run.get_absolute_url() not in daves["/experiments/dual-write/"]


def test_a_learner_is_served_the_shared_page_in_a_few_queries(content, django_assert_max_num_queries):
    client, run = learner_with_progress(right=False, prediction=3)
    for url in LEARNER_PAGES + [run.get_absolute_url()]:
        Client().get(url)  # rendered for everyone
        client.get(url)  # and what it is made of, once per content version
        with django_assert_max_num_queries(6):
            response = client.get(url)
        assert response.status_code == 200 and "__pagecache" not in response.content.decode(), url


def test_a_learners_page_follows_their_progress_at_once(content):
    client, _ = learner_with_progress(right=False, prediction=3)
    assert own_marks(client.get(QUIZ).content.decode())["right"] == ["0"]
    question = Question.objects.filter(lesson__slug="dual-write", kind="single", active=True).first()
    choice = next(i for i, c in enumerate(question.data["choices"]) if c["correct"])
    client.post(f"/questions/{question.key}/answer", {"choice": str(choice), "source": "quiz"})
    assert own_marks(client.get(QUIZ).content.decode())["right"] == ["1"]


def test_a_signed_in_users_name_and_sign_out_form_are_theirs_alone(content, django_user_model):
    alice = django_user_model.objects.create_user("alice-the-owner", password="a long enough password 1")
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(alice)
    for url in ["/lessons/dual-write/", QUIZ]:
        Client().get(url)  # cached
        html = signed_in.get(url).content.decode()
        assert "alice-the-owner" in html and "Sign out" in html and "Sign in" not in html
        assert "alice-the-owner" not in Client().get(url).content.decode()
    token = re.search(r'action="/accounts/logout/"[^>]*>\s*<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token and _unmask_cipher_token(token.group(1)) == signed_in.cookies["csrftoken"].value


def test_a_learners_own_parts_kept_for_them_follow_each_write_of_theirs_at_once(content):
    """Their progress, runs and guesses are kept rendered per learner (config.pagecache.per_visitor): any write
    of theirs, by whatever path (a form, a worker's UPDATE), shows on the next page; nobody else ever gets it."""
    from lessons.models import Learner
    from lessons.learners import SESSION_KEY

    carol_client, carol_run = learner_with_progress(right=False, prediction=3)
    dave_client, _ = learner_with_progress(right=True, prediction=7)
    urls = ["/", QUIZ, "/experiments/dual-write/", carol_run.get_absolute_url()]
    for url in urls:  # everything rendered and kept, for each of them
        carol_client.get(url), dave_client.get(url)
        carol_client.get(url), dave_client.get(url)
    daves_before = {url: own_marks(dave_client.get(url).content.decode()) for url in urls}

    # An answer: the catalogue's count and the quiz's score move.
    question = Question.objects.filter(lesson__slug="dual-write", kind="single", active=True)[1]
    choice = next(i for i, c in enumerate(question.data["choices"]) if c["correct"])
    assert carol_client.post(f"/questions/{question.key}/answer", {"choice": str(choice), "source": "quiz"}).status_code == 302
    assert own_marks(carol_client.get("/").content.decode())["answered"] == ["2"]
    assert own_marks(carol_client.get(QUIZ).content.decode())["right"] == ["1"]

    # A run of hers is queued (listed at once), then a worker ends it with an UPDATE (her guess on it shows).
    carol = Learner.objects.get(id=carol_client.session[SESSION_KEY])
    params, _ = get_experiment("dual-write").clean_params({"mode": "naive", "orders": 200})
    queued = ExperimentRun.objects.create(experiment_slug="dual-write", params=params, seed=11, prediction=42,
                                          learner=carol, status=ExperimentRun.Status.QUEUED)
    assert queued.get_absolute_url() in carol_client.get("/experiments/dual-write/").content.decode()
    assert "42" not in own_marks(carol_client.get("/experiments/dual-write/").content.decode())["guesses"]
    ExperimentRun.objects.filter(id=queued.id).update(status=ExperimentRun.Status.RUNNING)
    run_execute(ExperimentRun.objects.get(id=queued.id), frame_delay=0)
    assert "42" in own_marks(carol_client.get("/experiments/dual-write/").content.decode())["guesses"]
    # Her first run's page now offers the new one to overlay.
    assert f"{queued.id}" in carol_client.get(carol_run.get_absolute_url()).content.decode()

    # Dave's pages are as they were: none of Carol's writes reach him.
    for url in urls:
        html = dave_client.get(url).content.decode()
        assert own_marks(html) == daves_before[url], url
        assert str(queued.id) not in html, url


def test_a_personal_part_whose_name_the_page_cache_could_not_find_again_is_refused(rf):
    from django.template import Context, Template, TemplateSyntaxError

    from config.pagecache import is_shared_render

    request = rf.get("/")
    template = Template('{% load pagecache %}{% personal "progress" slug %}mine{% endpersonal %}')
    assert template.render(Context({"request": request, "slug": "dual-write"})) == "mine"  # an ordinary render
    request._pagecache_shared = True
    assert is_shared_render(request)
    with pytest.raises(TemplateSyntaxError, match="single underscores"):
        template.render(Context({"request": request, "slug": "dual-write"}))
    assert "mine" in template.render(Context({"request": request, "slug": "7"}))
