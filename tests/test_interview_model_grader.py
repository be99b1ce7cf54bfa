"""The optional model grader (GRADER_URL) against a small real HTTP server started here that speaks the
chat-completions JSON, as a local Ollama or llama.cpp server would: verdicts and evidence per rubric item,
and a clean fallback on a timeout, a refused connection or a garbage reply."""

import json
import socket
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from interview.loader import load_interview_scripts
from interview.model_grader import endpoint, model_verdicts, parse_reply
from interview.models import PracticeSession, PromptAnswer
from interview.script_files import parse_script_file
from interview.scoring_quality import evaluate, model_grader_agreement
from lessons.content_loader import load_lessons
from tests.test_interview_scoring_quality import FIXTURE_SCRIPTS, HELD_OUT, write_answers

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "interview"
RUBRIC = parse_script_file(FIXTURE_DIR / "checkout-outbox-drill.yaml").prompts[0].rubric_dicts
ANSWER = ("We save the order in Postgres and then publish to Kafka, so these are two separate commits. "
          "If the service crashes after the commit, the event is lost.")


class FakeModel:
    """What the server answers: `mode` is good, garbage, fenced, http500, slow or invented."""

    def __init__(self):
        self.mode, self.requests, self.release = "good", [], threading.Event()

    def content_for(self, body: dict) -> str:
        user = body["messages"][-1]["content"]
        answer = user.split("Answer:\n", 1)[1]
        sentence = answer.split(". ")[0] + "."
        verdict = "met" if "two independent commits" in user else "missed"
        return json.dumps({"verdict": verdict, "evidence": sentence if verdict == "met" else ""})


@pytest.fixture
def fake_model():
    model = FakeModel()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            model.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
            if model.mode == "slow":
                model.release.wait(30)
                return  # the client gave up long ago
            if model.mode == "http500":
                self.send_response(500)
                self.end_headers()
                return
            if model.mode == "garbage":
                content = "Sure! The candidate did great, I would say met."
            elif model.mode == "fenced":
                content = "```json\n" + model.content_for(body) + "\n```"
            elif model.mode == "invented":
                content = json.dumps({"verdict": "met", "evidence": "A sentence the candidate never wrote."})
            else:
                content = model.content_for(body)
            payload = json.dumps({"id": "x", "object": "chat.completion", "model": body["model"],
                                  "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                               "finish_reason": "stop"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    model.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield model
    model.release.set()
    server.shutdown()
    server.server_close()


def test_the_endpoint_is_the_chat_completions_path_of_the_base_url():
    assert endpoint("http://127.0.0.1:11434/v1") == "http://127.0.0.1:11434/v1/chat/completions"
    assert endpoint("http://h/v1/chat/completions/") == "http://h/v1/chat/completions"


def test_each_rubric_item_gets_a_verdict_and_an_evidence_sentence_from_the_answer(fake_model):
    result = model_verdicts(ANSWER, RUBRIC, url=fake_model.url, model="tiny", api_key="k")
    assert result["error"] == "" and result["model"] == "tiny"
    assert len(fake_model.requests) == len(RUBRIC)
    assert {r["path"] for r in fake_model.requests} == {"/v1/chat/completions"}
    assert fake_model.requests[0]["body"]["model"] == "tiny" and fake_model.requests[0]["auth"] == "Bearer k"
    verdicts = result["items"]
    assert verdicts["two-commit-points"]["verdict"] == "met"
    assert verdicts["two-commit-points"]["evidence"] in ANSWER and verdicts["two-commit-points"]["evidence"]
    assert verdicts["outbox"] == {"verdict": "missed", "evidence": "", "note": "", "error": ""}


def test_a_reply_in_a_code_fence_is_read_too(fake_model):
    fake_model.mode = "fenced"
    assert model_verdicts(ANSWER, RUBRIC, url=fake_model.url)["items"]["two-commit-points"]["verdict"] == "met"


def test_a_garbage_reply_gives_no_verdict_and_an_error_not_an_exception(fake_model):
    fake_model.mode = "garbage"
    result = model_verdicts(ANSWER, RUBRIC, url=fake_model.url)
    assert all(v["verdict"] is None and v["error"] == "the model did not answer with JSON" for v in result["items"].values())
    assert len(fake_model.requests) == len(RUBRIC)  # a bad reply is about one item; the others are still asked


def test_an_http_error_is_reported_per_item(fake_model):
    fake_model.mode = "http500"
    result = model_verdicts(ANSWER, RUBRIC, url=fake_model.url)
    assert {v["error"] for v in result["items"].values()} == {"the server answered HTTP 500"}


def test_a_timeout_falls_back_after_one_request(fake_model):
    fake_model.mode = "slow"
    result = model_verdicts(ANSWER, RUBRIC, url=fake_model.url, deadline=0.5)
    assert result["error"] == "the grader timed out"
    first, *rest = [result["items"][item["id"]] for item in RUBRIC]
    assert first["verdict"] is None and first["error"] == "the grader timed out"
    assert all(v["verdict"] is None and v["error"].startswith("not asked") for v in rest)
    assert len(fake_model.requests) == 1


def test_a_server_that_is_not_there_falls_back_cleanly():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = model_verdicts(ANSWER, RUBRIC, url=f"http://127.0.0.1:{port}/v1")
    assert result["error"].startswith("the grader could not be reached")
    assert all(v["verdict"] is None for v in result["items"].values())


def test_evidence_the_answer_does_not_contain_is_dropped(fake_model):
    fake_model.mode = "invented"
    verdict = model_verdicts(ANSWER, RUBRIC, url=fake_model.url)["items"]["outbox"]
    assert verdict["verdict"] == "met" and verdict["evidence"] == "" and "not in the answer" in verdict["note"]


@pytest.mark.parametrize("body", [{}, {"choices": []}, {"choices": [{"message": {"content": None}}]},
                                  {"choices": [{"message": {"content": '{"verdict": "maybe"}'}}]}])
def test_malformed_bodies_are_value_errors(body):
    with pytest.raises(ValueError):
        parse_reply(body, ANSWER)


# --- through the page -----------------------------------------------------------------------------

@pytest.fixture
def session(db):
    load_lessons()
    load_interview_scripts(FIXTURE_DIR)
    client = Client()
    client.post("/interview/scripts/checkout-outbox-drill/start")
    session = PracticeSession.objects.get()
    client.get(f"/interview/sessions/{session.id}/prompts/1/")
    return client, session


def submit(client, session):
    return client.post(f"/interview/sessions/{session.id}/prompts/1/submit", {"text": ANSWER}, HTTP_HX_REQUEST="true")


def test_with_grader_url_the_page_shows_both_verdicts_and_the_score_stays_the_rubrics(session, fake_model, settings):
    client, practice = session
    settings.GRADER_URL, settings.GRADER_MODEL = fake_model.url, "tiny"
    html = submit(client, practice).content.decode()
    answer = PromptAnswer.objects.get(session=practice, number=1)
    assert answer.results["model"]["items"]["two-commit-points"]["verdict"] == "met"
    assert answer.score == 63  # two-commit-points and crash-window, 5 of 8: the rubric's, whatever the model says
    assert "Model grader" in html and 'data-model-verdict="met"' in html and 'data-model-verdict="missed"' in html
    assert "disagrees with the rubric" in html  # the model misses the crash window the rubric found
    assert "model grader (tiny)" in html


def test_a_failing_model_grader_leaves_the_rubric_verdicts_alone(session, fake_model, settings):
    client, practice = session
    settings.GRADER_URL = fake_model.url
    fake_model.mode = "garbage"
    html = submit(client, practice).content.decode()
    answer = PromptAnswer.objects.get(session=practice, number=1)
    assert answer.score == 63 and 'data-model-verdict="none"' in html and "did not answer with JSON" in html


def test_without_grader_url_nothing_changes_and_nothing_is_asked(session, fake_model, settings):
    client, practice = session
    settings.GRADER_URL = ""
    html = submit(client, practice).content.decode()
    answer = PromptAnswer.objects.get(session=practice, number=1)
    assert "model" not in answer.results and "Model grader" not in html
    assert fake_model.requests == []


# --- measuring the model grader against labelled answers (manage.py score_quality --model-grader) ----------------

def measure(tmp_path, **options):
    out = StringIO()
    call_command("score_quality", "--model-grader", "--heldout-dir", str(write_answers(tmp_path / "set", HELD_OUT)),
                 "--scripts-dir", str(FIXTURE_SCRIPTS), "--json", stdout=out, stderr=StringIO(), **options)
    return json.loads(out.getvalue())


def test_the_model_grader_is_measured_alone_and_as_a_check_on_the_rules(fake_model, tmp_path):
    # The fake model says met for two-commit-points in every answer and for nothing else.
    directory = write_answers(tmp_path / "set", HELD_OUT)
    agreement = model_grader_agreement(directory, FIXTURE_SCRIPTS, ask=partial(model_verdicts, url=fake_model.url))
    assert agreement["answers"] == 5 and agreement["unanswered"] == 0 and len(fake_model.requests) == 5 * 3
    modes = agreement["modes"]
    # Alone: right in the two strong answers and the partial one, wrong in the weak one and the salad, and it
    # misses the crash window and the outbox of both strong answers.
    assert (modes["model alone"]["tp"], modes["model alone"]["fp"], modes["model alone"]["fn"]) == (3, 2, 4)
    rules = evaluate(directory, FIXTURE_SCRIPTS)
    assert (modes["rules alone"]["precision"], modes["rules alone"]["recall"]) == (rules["precision"], rules["recall"])
    # Confirmed by the model: the rules' credit for two-commit-points only.
    confirmed = sum("two-commit-points" in row["predicted"] and "two-commit-points" in row["answer"].covers
                    for row in rules["rows"])
    assert modes["rules, confirmed by the model"]["tp"] == confirmed > 0
    assert modes["rules, confirmed by the model"]["fp"] <= rules["fp"]
    assert modes["rules or model"]["tp"] >= rules["tp"]


def test_the_command_reports_the_modes_and_needs_a_grader_url(fake_model, tmp_path, settings):
    settings.GRADER_URL = ""
    with pytest.raises(CommandError, match="GRADER_URL is not set"):
        measure(tmp_path)
    assert fake_model.requests == []
    settings.GRADER_URL = fake_model.url
    report = measure(tmp_path)
    assert set(report["modes"]) == {"rules alone", "model alone", "rules, confirmed by the model", "rules or model"}
    assert report["modes"]["model alone"]["precision"] == 0.6 and report["unanswered"] == 0
    out = StringIO()
    call_command("score_quality", "--model-grader", "--heldout-dir", str(tmp_path / "set"),
                 "--scripts-dir", str(FIXTURE_SCRIPTS), stdout=out, stderr=StringIO())
    assert "| model alone | 5 | 0.60 | 0.43 |" in out.getvalue()


def test_items_the_model_gives_no_verdict_for_are_counted_and_a_dead_server_stops_the_measurement(
        fake_model, tmp_path, settings):
    settings.GRADER_URL = fake_model.url
    fake_model.mode = "garbage"
    report = measure(tmp_path)
    assert report["unanswered"] == 15 and report["modes"]["model alone"]["tp"] == 0
    fake_model.mode, settings.GRADER_DEADLINE = "slow", 0.5
    with pytest.raises(CommandError, match="stopped at answer 1 of 5.*timed out"):
        measure(tmp_path)
