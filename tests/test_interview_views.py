"""Mock-interview pages through the test client: a session from start to report, drafts,
permissions, escaping and bad input. Alice practises; Bob must never see her sessions."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from interview.loader import load_interview_scripts
from interview.models import FollowUpAnswer, InterviewScript, PracticeSession, PromptAnswer
from interview.scoring import LISTED_CREDIT
from lessons.content_loader import load_lessons
from lessons.models import Learner, Lesson

pytestmark = pytest.mark.django_db

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "interview"
SLUG = "checkout-outbox-drill"
HTMX = {"HTTP_HX_REQUEST": "true"}
# Covers two-commit-points and crash-window of prompt 1, misses the outbox (weight 3).
NO_OUTBOX = ("We save the order in Postgres and then publish to Kafka, so these are two separate commits. "
             "If the service crashes after the commit, the event is lost.")
STRONG_2 = ("Consumers will see duplicates after a redelivery, so each one is idempotent: it records the event id "
            "in the same transaction as its side effect, with a unique constraint on the event id.")
STRONG_3 = "We run a nightly reconciliation comparing orders with shipments, and alert on the age of the oldest outbox row."


@pytest.fixture
def script(db):
    load_lessons()
    load_interview_scripts(FIXTURE_DIR)
    return InterviewScript.objects.get(slug=SLUG)


@pytest.fixture
def alice(script):
    return Client()


@pytest.fixture
def bob(script):
    return Client()


def start(client) -> PracticeSession:
    response = client.post(f"/interview/scripts/{SLUG}/start")
    session = PracticeSession.objects.latest("id")
    assert response.status_code == 302 and response["Location"] == f"/interview/sessions/{session.id}/"
    return session


def prompt_url(session, number, action=""):
    return f"/interview/sessions/{session.id}/prompts/{number}/{action}"


def submit(client, session, number, text, htmx=True):
    client.get(prompt_url(session, number))  # the prompt is shown first: its clock starts
    return client.post(prompt_url(session, number, "submit"), {"text": text}, **(HTMX if htmx else {}))


def finish_session(client, session):
    submit(client, session, 1, NO_OUTBOX)
    submit(client, session, 2, STRONG_2)
    submit(client, session, 3, STRONG_3)
    return client.post(f"/interview/sessions/{session.id}/finish")


# --- list, detail, start ------------------------------------------------------------------------

def test_the_list_shows_each_active_script_with_its_length(alice, script):
    html = alice.get("/interview/").content.decode()
    assert "Checkout events without dual writes" in html and "3 prompts · about 12 min" in html
    script.active = False
    script.save()
    assert "Checkout events without dual writes" not in alice.get("/interview/").content.decode()


def test_the_list_shows_a_learners_best_score_once_they_have_one(alice, script):
    assert b"Your best" not in alice.get("/interview/").content
    session = start(alice)
    finish_session(alice, session)
    session.refresh_from_db()
    assert f"Your best: {session.score}/100" in alice.get("/interview/").content.decode()


def test_the_list_says_how_to_load_scripts_when_there_are_none(db):
    assert b"load_interview_scripts" in Client().get("/interview/").content


def test_the_detail_page_sets_the_scene_but_gives_nothing_away(alice, script):
    html = alice.get(f"/interview/scripts/{SLUG}/").content.decode()
    assert "You are designing the checkout service" in html
    assert 'action="/interview/scripts/checkout-outbox-drill/start"' in html
    prompt = script.prompts.get(number=1)
    assert prompt.text.replace("'", "&#x27;") not in html and "outbox table in the" not in html


def test_starting_needs_a_post_and_an_existing_script(alice, script):
    assert alice.get(f"/interview/scripts/{SLUG}/start").status_code == 405
    assert alice.post("/interview/scripts/no-such-script/start").status_code == 404
    assert not PracticeSession.objects.exists()


def test_a_new_session_opens_at_its_first_prompt(alice, script):
    session = start(alice)
    assert session.status == PracticeSession.Status.IN_PROGRESS and session.prompt_numbers == [1, 2, 3]
    assert alice.get(f"/interview/sessions/{session.id}/")["Location"] == prompt_url(session, 1)


# --- the prompt page: countdown, drafts, hidden answers --------------------------------------------

def test_the_prompt_page_shows_the_question_and_a_countdown_from_the_server(alice, script):
    session = start(alice)
    html = alice.get(prompt_url(session, 1)).content.decode()
    answer = PromptAnswer.objects.get(session=session, number=1)
    assert "Walk me through what happens when a customer places an order" in html
    assert 'id="countdown"' in html and 'data-remaining="' in html
    assert ">5:00<" in html or ">4:59<" in html
    assert 'hx-trigger="keyup changed delay:2s, every 10s"' in html
    assert timezone.now() - answer.started_at < timedelta(seconds=5)


def test_a_reload_keeps_the_clock_where_it_was(alice, script):
    session = start(alice)
    alice.get(prompt_url(session, 1))
    PromptAnswer.objects.filter(session=session).update(started_at=timezone.now() - timedelta(minutes=2))
    html = alice.get(prompt_url(session, 1)).content.decode()
    assert ">3:00<" in html or ">2:59<" in html


def test_when_time_runs_out_the_page_says_so_and_keeps_the_draft(alice, script):
    session = start(alice)
    alice.get(prompt_url(session, 1))
    PromptAnswer.objects.filter(session=session).update(started_at=timezone.now() - timedelta(minutes=7),
                                                        draft_text="my unfinished thought")
    html = alice.get(prompt_url(session, 1)).content.decode()
    assert "Time's up" in html and 'class="countdown expired"' in html
    # A second may pass between the update and the page on a busy machine, as in the tests above.
    assert ">+2:00<" in html or ">+2:01<" in html
    assert "my unfinished thought</textarea>" in html
    assert 'value="submit"' not in html and "Submit answer" in html


def test_autosave_keeps_the_draft_server_side(alice, script):
    session = start(alice)
    alice.get(prompt_url(session, 1))
    response = alice.post(prompt_url(session, 1, "draft"), {"text": "Two commits"}, **HTMX)
    assert response.status_code == 200 and b"Draft saved at" in response.content and b"<html" not in response.content
    answer = PromptAnswer.objects.get(session=session, number=1)
    assert answer.draft_text == "Two commits" and answer.draft_saved_at is not None
    assert "Two commits</textarea>" in alice.get(prompt_url(session, 1)).content.decode()


def test_save_draft_works_without_javascript(alice, script):
    session = start(alice)
    alice.get(prompt_url(session, 1))
    response = alice.post(prompt_url(session, 1, "draft"), {"text": "typed without JS"})
    assert response.status_code == 302 and response["Location"] == prompt_url(session, 1) + "#draft-status"
    assert "typed without JS</textarea>" in alice.get(response["Location"]).content.decode()


def test_an_oversized_draft_is_a_400_and_keeps_the_last_good_one(alice, script):
    session = start(alice)
    alice.get(prompt_url(session, 1))
    alice.post(prompt_url(session, 1, "draft"), {"text": "good"}, **HTMX)
    response = alice.post(prompt_url(session, 1, "draft"), {"text": "x" * 20_001}, **HTMX)
    assert response.status_code == 400 and b"at most 20000 characters" in response.content
    assert PromptAnswer.objects.get(session=session).draft_text == "good"


def test_a_late_autosave_never_overwrites_a_submitted_answer(alice, script):
    session = start(alice)
    submit(alice, session, 1, NO_OUTBOX)
    response = alice.post(prompt_url(session, 1, "draft"), {"text": "late keystrokes"}, **HTMX)
    assert response.status_code == 409
    answer = PromptAnswer.objects.get(session=session, number=1)
    assert answer.final_text == NO_OUTBOX and answer.draft_text == NO_OUTBOX


def test_a_draft_for_a_prompt_never_shown_is_a_404(alice, script):
    session = start(alice)
    assert alice.post(prompt_url(session, 2, "draft"), {"text": "x"}).status_code == 404
    assert alice.post(prompt_url(session, 9, "draft"), {"text": "x"}).status_code == 404


def test_the_model_answer_pitfalls_and_follow_ups_are_hidden_before_submitting(alice, script):
    session = start(alice)
    html = alice.get(prompt_url(session, 1)).content.decode()
    prompt = script.prompts.get(number=1)
    assert "Model answer" not in html and 'id="model-answer"' not in html
    assert "outbox table in the" not in html  # from the model answer
    assert "Publishing first and hoping" not in html  # a pitfall
    assert all(item["follow_up"].replace("'", "&#x27;") not in html for item in prompt.rubric)


def test_prompts_are_asked_in_order(alice, script):
    session = start(alice)
    assert alice.get(prompt_url(session, 2))["Location"] == prompt_url(session, 1)
    assert not PromptAnswer.objects.filter(number=2).exists()
    assert alice.get(prompt_url(session, 4)).status_code == 404


# --- submitting ---------------------------------------------------------------------------------

def test_submitting_scores_the_answer_and_the_interviewer_follows_up_on_what_was_missed(alice, script):
    session = start(alice)
    response = submit(alice, session, 1, NO_OUTBOX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html  # the panel, swapped in place
    answer = PromptAnswer.objects.get(session=session, number=1)
    assert answer.submitted and answer.final_text == NO_OUTBOX and answer.score == 63  # (3 + 2) / 8
    assert answer.results["follow_up"]["id"] == "outbox"
    assert {i["id"]: i["status"] for i in answer.results["items"]} == {
        "two-commit-points": "met", "crash-window": "met", "outbox": "missed"}
    assert 'data-item="outbox" data-status="missed"' in html
    assert "How would you make the publish happen if and only if the order commits?" in html
    assert '<mark class="met" title="two-commit-points">' in html  # the sentence that earned it
    assert "<mark>two separate commits</mark>" in html
    assert 'id="model-answer"' in html and "Publishing first and hoping" in html
    assert f'href="{prompt_url(session, 2)}"' in html


def test_an_idea_almost_said_is_shown_as_almost_with_a_little_credit_and_still_followed_up(alice, db):
    load_lessons()
    load_interview_scripts()
    alice.post("/interview/scripts/order-placement-without-dual-writes/start")
    session = PracticeSession.objects.latest("id")
    # The database and the broker, but not that nothing makes their two writes atomic: two of three concepts.
    text = "The service writes the order row to Postgres and then publishes the event to Kafka."
    html = submit(alice, session, 1, text).content.decode()
    answer = PromptAnswer.objects.get(session=session, number=1)
    item = next(i for i in answer.results["items"] if i["id"] == "two-commit-points")
    assert item["status"] == "almost" and not item["matched"] and 0 < item["credit"] < LISTED_CREDIT
    assert 0 < answer.score < 10
    assert 'data-item="two-commit-points" data-status="almost"' in html and "Almost</span>" in html
    assert "say the rest of it" in html and '<mark class="almost" title="two-commit-points">' in html
    assert answer.results["follow_up"]["id"] == "two-commit-points"  # not covered, so the interviewer asks about it


def test_without_javascript_a_submission_redirects_to_the_result(alice, script):
    session = start(alice)
    response = submit(alice, session, 1, NO_OUTBOX, htmx=False)
    assert response.status_code == 302 and response["Location"] == prompt_url(session, 1)
    assert 'id="model-answer"' in alice.get(response["Location"]).content.decode()


def test_an_empty_answer_is_a_400_and_submits_nothing(alice, script):
    session = start(alice)
    alice.get(prompt_url(session, 1))
    response = alice.post(prompt_url(session, 1, "submit"), {"text": ""}, **HTMX)
    assert response.status_code == 400 and b"Write your answer before submitting it." in response.content
    assert b'id="model-answer"' not in response.content
    assert not PromptAnswer.objects.get(session=session).submitted


def test_submitting_twice_keeps_the_first_answer(alice, script):
    session = start(alice)
    submit(alice, session, 1, NO_OUTBOX)
    alice.post(prompt_url(session, 1, "submit"), {"text": "a second try"}, **HTMX)
    assert PromptAnswer.objects.get(session=session, number=1).final_text == NO_OUTBOX


def test_answers_are_escaped_everywhere(alice, script):
    session = start(alice)
    alice.get(prompt_url(session, 1))
    evil = '<script>alert("x")</script> These are two separate commits. <img src=x onerror=alert(1)>'
    alice.post(prompt_url(session, 1, "draft"), {"text": evil}, **HTMX)
    page = alice.get(prompt_url(session, 1)).content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    html = alice.post(prompt_url(session, 1, "submit"), {"text": evil}, **HTMX).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html


# --- self-assessment ------------------------------------------------------------------------------

def test_the_self_assessment_shows_where_the_learner_and_the_rubric_disagree(alice, script):
    session = start(alice)
    submit(alice, session, 1, NO_OUTBOX)
    data = {"item-two-commit-points": "covered", "item-crash-window": "missed", "item-outbox": "covered"}
    response = alice.post(prompt_url(session, 1, "assess"), data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="assessment"')
    assert PromptAnswer.objects.get(session=session, number=1).self_assessment == {
        "two-commit-points": "covered", "crash-window": "missed", "outbox": "covered"}
    assert 'data-item="two-commit-points" data-gap=""' in html
    assert 'data-item="crash-window" data-gap="far"' in html and "You sold yourself short" in html
    assert 'data-item="outbox" data-gap="far"' in html and "the rubric found no sentence saying so" in html
    assert "You and the rubric disagree on 2 items." in html


@pytest.mark.parametrize("data", [
    {"item-two-commit-points": "covered", "item-crash-window": "missed"},  # one item not rated
    {"item-two-commit-points": "covered", "item-crash-window": "missed", "item-outbox": "sort of"},
])
def test_a_bad_self_assessment_is_a_400(alice, script, data):
    session = start(alice)
    submit(alice, session, 1, NO_OUTBOX)
    assert alice.post(prompt_url(session, 1, "assess"), data, **HTMX).status_code == 400
    assert PromptAnswer.objects.get(session=session, number=1).self_assessment == {}


def test_rating_before_submitting_is_refused(alice, script):
    session = start(alice)
    alice.get(prompt_url(session, 1))
    data = {"item-two-commit-points": "covered", "item-crash-window": "covered", "item-outbox": "covered"}
    assert alice.post(prompt_url(session, 1, "assess"), data).status_code == 409


# --- finishing, the report, history -----------------------------------------------------------

def test_finishing_early_goes_back_to_the_unanswered_prompt(alice, script):
    session = start(alice)
    submit(alice, session, 1, NO_OUTBOX)
    response = alice.post(f"/interview/sessions/{session.id}/finish")
    assert response["Location"] == f"/interview/sessions/{session.id}/"
    session.refresh_from_db()
    assert session.status == PracticeSession.Status.IN_PROGRESS
    assert alice.get(f"/interview/sessions/{session.id}/report/")["Location"] == f"/interview/sessions/{session.id}/"


def test_the_report_gives_scores_times_topics_and_what_to_study(alice, script):
    session = start(alice)
    response = finish_session(alice, session)
    assert response["Location"] == f"/interview/sessions/{session.id}/report/"
    session.refresh_from_db()
    scores = list(session.answers.order_by("number").values_list("score", flat=True))
    assert session.status == PracticeSession.Status.FINISHED and session.finished_at
    assert session.score == int(sum(scores) / 3 + 0.5)
    html = alice.get(f"/interview/sessions/{session.id}/report/").content.decode()
    for number, score in enumerate(scores, 1):
        assert f'<tr data-prompt="{number}">' in html and f"<td>{score}/100</td>" in html
    assert "Time used" in html and "0:0" in html
    assert 'id="strongest-topic">Idempotency' in html and 'id="weakest-topic">The transactional outbox' in html
    assert 'href="/lessons/transactional-outbox/"' in html  # the lesson covering the missed outbox
    assert 'href="/experiments/dual-write/"' in html
    assert "Retry this script" in html


def test_a_finished_session_opens_on_its_report_and_its_prompts_stay_readable(alice, script):
    session = start(alice)
    finish_session(alice, session)
    assert alice.get(f"/interview/sessions/{session.id}/")["Location"] == f"/interview/sessions/{session.id}/report/"
    assert 'id="model-answer"' in alice.get(prompt_url(session, 1)).content.decode()
    html = alice.get(prompt_url(session, 3)).content.decode()
    assert 'id="model-answer"' in html and "Back to the report" in html and "<textarea" not in html


def test_history_charts_score_per_topic_with_a_table_of_the_same_numbers(alice, script):
    assert b"Finish a mock interview" in alice.get("/interview/history/").content
    session = start(alice)
    finish_session(alice, session)
    response = alice.get("/interview/history/")
    html = response.content.decode()
    figure = response.context["figure"]
    assert 'id="history-chart"' in html and 'id="history-figure"' in html and "plotly-basic.min" in html
    titles = dict(Lesson.objects.filter(slug__in=script.topics).values_list("slug", "title"))
    assert {trace["name"] for trace in figure["data"]} == set(titles.values())
    assert figure["layout"]["xaxis"]["categoryarray"] == [figure["data"][0]["x"][0]]
    outbox = next(row for row in response.context["rows"] if row["topic"].slug == "transactional-outbox")
    trace = next(t for t in figure["data"] if t["name"] == outbox["topic"].title)
    assert trace["y"] == [outbox["topic"].percent]
    assert f"<td>{outbox['topic'].title}</td><td>{outbox['topic'].percent}%</td>" in html


def test_retrying_a_script_starts_a_fresh_session_and_keeps_the_old_one(alice, script):
    first = start(alice)
    finish_session(alice, first)
    second = start(alice)
    assert second.id != first.id and second.answers.count() == 0
    html = alice.get("/interview/history/").content.decode()
    assert f'data-session="{first.id}"' in html and f'data-session="{second.id}"' in html


# --- permissions, CSRF, accounts -----------------------------------------------------------------

def test_nobody_else_can_see_or_change_a_session(alice, bob, script):
    session = start(alice)
    submit(alice, session, 1, NO_OUTBOX)
    bob.get("/interview/")  # Bob has a session cookie but no learner yet
    start(bob)  # ...and now a learner of his own
    for url in [f"/interview/sessions/{session.id}/", prompt_url(session, 1), f"/interview/sessions/{session.id}/report/"]:
        assert bob.get(url).status_code == 404, url
    for url, data in [(prompt_url(session, 1, "draft"), {"text": "x"}), (prompt_url(session, 1, "submit"), {"text": "x"}),
                      (prompt_url(session, 1, "assess"), {"item-outbox": "covered"}),
                      (f"/interview/sessions/{session.id}/finish", {})]:
        assert bob.post(url, data).status_code == 404, url
    assert Client().get(prompt_url(session, 1)).status_code == 404  # no learner at all
    assert f'data-session="{session.id}"' not in bob.get("/interview/history/").content.decode()
    answer = PromptAnswer.objects.get(session=session, number=1)
    assert answer.final_text == NO_OUTBOX and answer.self_assessment == {}


def test_posts_need_a_csrf_token(script):
    client = Client(enforce_csrf_checks=True)
    assert client.post(f"/interview/scripts/{SLUG}/start").status_code == 403
    assert not PracticeSession.objects.exists()


def test_sessions_made_anonymously_are_kept_on_sign_up(alice, script):
    session = start(alice)
    response = alice.post("/accounts/signup/", {"username": "alice", "password1": "a-long-pass-phrase-42",
                                                 "password2": "a-long-pass-phrase-42"})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.learner.user == User.objects.get(username="alice")
    assert alice.get(prompt_url(session, 1)).status_code == 200


def test_sessions_made_anonymously_are_kept_on_signing_in_to_an_account_that_has_progress(alice, script):
    user = User.objects.create_user("alice", password="a-long-pass-phrase-42")
    Learner.objects.create(user=user)
    session = start(alice)
    alice.post("/accounts/login/", {"username": "alice", "password": "a-long-pass-phrase-42"})
    assert PracticeSession.objects.filter(id=session.id, learner__user=user).exists()


def test_backticks_in_a_scenario_show_as_code_and_nothing_else_is_trusted():
    from interview.templatetags.interview import inline_code

    assert inline_code("`POST /orders` then <script>x</script>") == "<code>POST /orders</code> then &lt;script&gt;x&lt;/script&gt;"


# --- follow-ups you can answer ------------------------------------------------------------------

OUTBOX_REPLY = "I would write the event to an outbox table in the same transaction as the order, and a relay publishes it."
FOLLOW_UP_QUESTION = "How would you make the publish happen if and only if the order commits?"


def reply(client, session, number, text, htmx=True):
    return client.post(prompt_url(session, number, "follow-up"), {"text": text}, **(HTMX if htmx else {}))


def test_after_a_submit_the_follow_up_on_the_heaviest_missed_item_is_a_timed_answer_box(alice, script):
    session = start(alice)
    html = submit(alice, session, 1, NO_OUTBOX).content.decode()
    follow_up = FollowUpAnswer.objects.get(answer__session=session, answer__number=1)
    assert follow_up.item_id == "outbox" and follow_up.question == FOLLOW_UP_QUESTION
    assert follow_up.started_at == follow_up.answer.submitted_at and not follow_up.submitted
    assert 'id="follow-up"' in html and f'hx-post="{prompt_url(session, 1, "follow-up")}"' in html
    assert f'action="{prompt_url(session, 1, "follow-up")}"' in html  # works without JavaScript too
    assert 'id="countdown"' in html and (">2:00<" in html or ">1:59<" in html)


def test_a_reply_is_scored_against_that_rubric_item_in_place(alice, script):
    session = start(alice)
    submit(alice, session, 1, NO_OUTBOX)
    response = reply(alice, session, 1, OUTBOX_REPLY)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="follow-up"')
    follow_up = FollowUpAnswer.objects.get(answer__session=session)
    assert follow_up.status == "met" and follow_up.credit == 1.0 and follow_up.text == OUTBOX_REPLY
    assert follow_up.result["id"] == "outbox" and follow_up.seconds_used is not None
    assert 'data-status="met"' in html and "<mark>outbox</mark>" in html
    answer = PromptAnswer.objects.get(session=session, number=1)
    assert answer.score == 63  # 5 of 8: the prompt keeps what the first answer earned


def test_a_reply_that_misses_the_point_says_so(alice, script):
    session = start(alice)
    submit(alice, session, 1, NO_OUTBOX)
    html = reply(alice, session, 1, "I'd make Kafka more reliable with more brokers.").content.decode()
    assert FollowUpAnswer.objects.get(answer__session=session).status == "missed"
    assert "found no sentence in your reply" in html


def test_without_javascript_the_reply_redirects_back_to_the_follow_up(alice, script):
    session = start(alice)
    submit(alice, session, 1, NO_OUTBOX, htmx=False)
    response = reply(alice, session, 1, OUTBOX_REPLY, htmx=False)
    assert response.status_code == 302 and response["Location"] == prompt_url(session, 1) + "#follow-up"
    html = alice.get(prompt_url(session, 1)).content.decode()
    assert 'data-answered="yes"' in html and OUTBOX_REPLY in html and "Reply to the interviewer" not in html


def test_replying_twice_keeps_the_first_reply(alice, script):
    session = start(alice)
    submit(alice, session, 1, NO_OUTBOX)
    reply(alice, session, 1, OUTBOX_REPLY)
    assert reply(alice, session, 1, "Something else entirely.").status_code == 200
    assert FollowUpAnswer.objects.get(answer__session=session).text == OUTBOX_REPLY


@pytest.mark.parametrize("text, message", [
    ("", "Write a reply before sending it."),
    ("x" * 4001, "Keep the reply under 4000 characters"),
])
def test_an_empty_or_overlong_reply_is_a_form_error(alice, script, text, message):
    session = start(alice)
    submit(alice, session, 1, NO_OUTBOX)
    for htmx in (True, False):
        response = reply(alice, session, 1, text, htmx=htmx)
        assert response.status_code == 400 and message in response.content.decode()
    assert not FollowUpAnswer.objects.get(answer__session=session).submitted


def test_a_reply_is_escaped(alice, script):
    session = start(alice)
    submit(alice, session, 1, NO_OUTBOX)
    html = reply(alice, session, 1, "<script>alert('outbox')</script> outbox in the same transaction").content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_no_follow_up_before_a_submit_nor_for_someone_else_nor_by_get(alice, bob, script):
    session = start(alice)
    alice.get(prompt_url(session, 1))
    assert reply(alice, session, 1, OUTBOX_REPLY).status_code == 409
    submit(alice, session, 1, NO_OUTBOX)
    assert reply(bob, session, 1, OUTBOX_REPLY).status_code == 404
    assert alice.get(prompt_url(session, 1, "follow-up")).status_code == 405
    assert reply(alice, session, 9, OUTBOX_REPLY).status_code == 404
    assert not FollowUpAnswer.objects.get(answer__session=session).submitted


def test_an_answer_that_covers_everything_gets_no_follow_up_box(alice, script):
    session = start(alice)
    html = submit(alice, session, 1, NO_OUTBOX + " " + OUTBOX_REPLY).content.decode()
    assert "the interviewer moves on" in html and not FollowUpAnswer.objects.exists()


def test_a_late_reply_is_marked_over_time(alice, script):
    session = start(alice)
    submit(alice, session, 1, NO_OUTBOX)
    FollowUpAnswer.objects.update(started_at=timezone.now() - timedelta(minutes=3))
    html = alice.get(prompt_url(session, 1)).content.decode()
    assert "Time's up" in html and ">+1:00<" in html
    html = reply(alice, session, 1, OUTBOX_REPLY).content.decode()
    assert "(over time)" in html and FollowUpAnswer.objects.get().over_time


def test_the_report_and_history_keep_the_follow_ups(alice, script):
    session = start(alice)
    submit(alice, session, 1, NO_OUTBOX)
    reply(alice, session, 1, OUTBOX_REPLY)
    submit(alice, session, 2, STRONG_2)
    submit(alice, session, 3, STRONG_3)
    alice.post(f"/interview/sessions/{session.id}/finish")
    asked = FollowUpAnswer.objects.filter(answer__session=session).count()
    html = alice.get(f"/interview/sessions/{session.id}/report/").content.decode()
    assert f"The interviewer followed up {asked} time" in html and "covered the point in 1" in html
    assert FOLLOW_UP_QUESTION in html and OUTBOX_REPLY in html
    history = alice.get("/interview/history/").content.decode()
    assert f'<td class="follow-ups">1 of {asked}</td>' in history


def test_a_finished_session_closes_its_unanswered_follow_ups(alice, script):
    session = start(alice)
    finish_session(alice, session)
    html = alice.get(prompt_url(session, 1)).content.decode()
    assert "Not answered before the interview finished." in html and "Reply to the interviewer" not in html
    assert reply(alice, session, 1, OUTBOX_REPLY).status_code == 409
    assert "not answered" in alice.get(f"/interview/sessions/{session.id}/report/").content.decode()
