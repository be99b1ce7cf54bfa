"""What an attacker tries: headers, CSRF, off-site redirects, injected script, fuzzed forms.

The CSP is checked where it matters, in a browser: a page that needed an inline
script or style would report a violation.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings, strategies as st

from lessons.models import Question
from playground.experiments import get_experiment
from playground.models import ExperimentRun
from playground.runner import run_execute

from .conftest import ROOT
from .support import PHONE

PAGES = ["/", "/lessons/dual-write/", "/lessons/dual-write/quiz/", "/experiments/dual-write/", "/interview/",
         "/review/", "/progress/", "/accounts/login/", "/no-such-page/"]


@pytest.fixture
def content(db):
    from lessons.content_loader import load_content

    load_content()


@pytest.fixture
def finished_run(content):
    """A finished dual-write run, executed in this process (no worker needed to look at its page)."""
    experiment = get_experiment("dual-write")
    params, errors = experiment.clean_params({"mode": "naive", "orders": 300})
    assert not errors
    run = ExperimentRun.objects.create(experiment_slug="dual-write", params=params, seed=7,
                                       status=ExperimentRun.Status.RUNNING)
    run_execute(run, frame_delay=0)
    run.refresh_from_db()
    assert run.status == ExperimentRun.Status.SUCCEEDED
    return run


@pytest.mark.django_db
def test_every_page_has_a_strict_content_security_policy_and_a_permissions_policy(content):
    client = Client()
    for url in PAGES:
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, url
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, url
        assert "camera=()" in response["Permissions-Policy"], url


def test_check_deploy_is_clean_with_secure_cookies():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(DEBUG="0", SECURE_COOKIES="1", SECRET_KEY=uuid.uuid4().hex * 2, ALLOWED_HOSTS="lab.example.org")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_secure_cookies_turn_on_hsts_and_the_https_redirect(settings, client):
    settings.SECURE_HSTS_SECONDS, settings.SECURE_SSL_REDIRECT = 600, True
    assert client.get("/").headers["Location"].startswith("https://")
    response = client.get("/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=600")


@pytest.mark.django_db
def test_posts_without_a_csrf_token_are_refused(finished_run):
    client = Client(enforce_csrf_checks=True)
    question = Question.objects.filter(active=True).first()
    targets = [f"/questions/{question.key}/answer", "/experiments/dual-write/", f"/runs/{finished_run.id}/cancel",
               "/review/", "/accounts/login/", "/accounts/signup/", "/interview/scripts/any/start"]
    for url in targets:
        assert client.post(url, {"choice": "0", "username": "mallory", "password": "x"}).status_code == 403, url
    assert not ExperimentRun.objects.exclude(id=finished_run.id).exists()


@pytest.mark.django_db
def test_sign_in_never_redirects_off_site(django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # six sign-ins, not six PBKDF2s
    django_user_model.objects.create_user("alice", password="a-long-passphrase-42")
    for target in ["https://evil.example", "//evil.example", "/\\evil.example", "https:evil.example",
                   "http://testserver@evil.example", "\\\\evil.example"]:
        client = Client()
        response = client.post(f"/accounts/login/?next={target}",
                               {"username": "alice", "password": "a-long-passphrase-42", "next": target})
        assert response.status_code == 302, target
        assert "evil" not in response["Location"], target


# Whatever a visitor types into any form or query string, the answer is never a 500.
text = st.one_of(st.text(max_size=40), st.sampled_from(["", "-1", "1e309", "NaN", "0" * 30, "<script>", "'; --", "\x00"]))


@pytest.mark.django_db
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(["experiment", "answer", "review", "frames", "compare", "signup"]), value=text, other=text)
def test_fuzzed_forms_and_endpoints_never_answer_500(finished_run, endpoint, value, other):
    client = Client(raise_request_exception=False)
    question = Question.objects.filter(active=True).first()
    if endpoint == "experiment":
        response = client.post("/experiments/dual-write/", {"mode": value, "orders": other, "seed": value, "prediction": other})
    elif endpoint == "answer":
        response = client.post(f"/questions/{question.key}/answer", {"choice": value, "choices": [value, other],
                                                                     "number": other, "source": value})
    elif endpoint == "review":
        response = client.post("/review/", {"interview_date": value})
    elif endpoint == "frames":
        response = client.get(f"/runs/{finished_run.id}/frames", {"after": value})
    elif endpoint == "compare":
        response = client.get("/runs/compare", {"a": value, "b": other})
    else:
        response = client.post("/accounts/signup/", {"username": value, "password1": other, "password2": other})
    assert response.status_code < 500, (endpoint, value, other, response.status_code)



@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_page_breaks_its_content_security_policy_and_no_injected_script_runs(web_server, finished_run, browser):
    context = browser.new_context(viewport=PHONE)  # a phone; the CSP is enforced
    page = context.new_page()
    violations, dialogs = [], []
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))")
    page.on("console", lambda message: violations.append(message.text) if "CSP" in message.text
            or "Content Security Policy" in message.text else None)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{web_server}/lessons/dual-write/")
    assert page.locator("figure.diagram svg").first.bounding_box()["width"] > 200
    page.goto(f"{web_server}/lessons/dual-write/quiz/")
    first = page.locator("li.question").first
    first.locator("input[type=radio], input[type=checkbox]").first.check()
    first.get_by_role("button", name="Check my answer").click()
    page.locator("li.question .feedback").first.wait_for()  # htmx swapped the answer in place
    page.goto(f"{web_server}/runs/{finished_run.id}/")
    page.locator("#chart-0 .main-svg").first.wait_for()  # Plotly drew the chart
    payload = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    page.goto(f"{web_server}/experiments/dual-write/?preset={payload}")
    page.goto(f"{web_server}/no-such-page/{payload}")
    page.wait_for_timeout(300)
    context.close()
    assert violations == [] and dialogs == []


def _enforcing_csp(browser, violations, **viewport):
    """A browser tab that enforces the pages' CSP and records every violation."""
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))")
    page.on("console", lambda message: violations.append(message.text) if "CSP" in message.text
            or "Content Security Policy" in message.text else None)
    page.set_default_timeout(30_000)
    return context, page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_class_runs_under_the_content_security_policy(web_server, content, browser):
    from django.contrib.auth.models import User
    from django.core.management import call_command

    User.objects.create_user("alice", password="a-long-pass-phrase-1")
    call_command("make_instructor", "alice")
    violations = []
    teacher_context, teacher = _enforcing_csp(browser, violations)
    student_context, student = _enforcing_csp(browser, violations, width=390, height=844)
    teacher.goto(f"{web_server}/accounts/login/?next=/classes/")
    teacher.get_by_label("Username").fill("alice")
    teacher.get_by_label("Password").fill("a-long-pass-phrase-1")
    teacher.get_by_role("button", name="Sign in").click()
    teacher.get_by_label("Class name").fill("CSP class")
    teacher.get_by_role("button", name="Create a class").click()
    code = teacher.locator("[data-join-code]").inner_text()
    student.goto(f"{web_server}/join/{code}/")
    student.get_by_label("Your nickname").fill("Ada")
    student.get_by_role("button", name="Join").click()
    student.locator("[data-waiting]").wait_for()
    teacher.get_by_label("Question", exact=True).fill("Which write must commit first?")
    teacher.locator("[data-typed-poll]").get_by_label("Choices, one per line (2 to 8)").fill("the order\nthe event")
    teacher.locator("[data-typed-poll]").get_by_role("button", name="Push to the room").click()
    # The room's polling script, htmx and Plotly all run: the poll arrives and the answer is drawn.
    student.locator("[data-poll-prompt]").filter(has_text="Which write must commit first").wait_for()
    student.get_by_label("the event").check()
    student.get_by_role("button", name="Send").click()
    student.locator("[data-my-answer]").filter(has_text="the event").wait_for()
    teacher.locator("[data-poll-chart-plot] .main-svg").first.wait_for()
    from classroom.models import Classroom

    teacher.goto(f"{web_server}/classes/{Classroom.objects.get(code=code).id}/projector")
    teacher.locator("img.projector-qr").wait_for()
    assert teacher.evaluate("document.querySelector('img.projector-qr').naturalWidth") > 0  # the QR SVG loaded
    teacher_context.close()
    student_context.close()
    assert violations == []
