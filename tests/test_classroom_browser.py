"""A class in headless Chromium: an instructor and two students (one on a 390-px phone), against gunicorn and a real worker."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from django.utils import timezone

from classroom.models import Answer, Classroom, Poll

from .support import worker_stopped

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

XSS_NICKNAME = "<script>window.pwned=1</script>"
STUDENT_TRACE = "(() => { const c = document.getElementById('chart-0'); return c && c.data ? c.data[0].x.length : -1; })()"


@pytest.fixture
def contexts(browser):
    made = []

    def new(**viewport):
        # Playwright's wait_for_function needs eval, which the CSP forbids; tests/test_security.py checks the CSP.
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, bypass_csp=True)
        made.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield new
    for context in made:
        context.close()


def test_a_class_joins_answers_predicts_and_follows_a_presented_run(web_server, celery_worker_process, contexts):
    User.objects.create_user("alice", password="a-long-pass-phrase-1")
    call_command("make_instructor", "alice")
    teacher, ada, grace = contexts(), contexts(), contexts(width=390, height=844)

    teacher.goto(f"{web_server}/accounts/login/?next=/classes/")
    teacher.get_by_label("Username").fill("alice")
    teacher.get_by_label("Password").fill("a-long-pass-phrase-1")
    teacher.get_by_role("button", name="Sign in").click()
    teacher.get_by_label("Class name").fill("Consistency, Tuesday")
    teacher.get_by_role("button", name="Create a class").click()
    code = teacher.locator("[data-join-code]").inner_text()
    classroom = Classroom.objects.get(code=code)

    # Join by typing the code (desktop) and by the join link (phone); one nickname is a script.
    ada.goto(f"{web_server}/join/")
    ada.get_by_label("Join code").fill(code.lower())
    ada.get_by_role("button", name="Next").click()
    ada.get_by_label("Your nickname").fill(XSS_NICKNAME)
    ada.get_by_role("button", name="Join").click()
    grace.goto(f"{web_server}/join/{code}/")
    grace.get_by_label("Your nickname").fill("Grace")
    grace.get_by_role("button", name="Join").click()
    for student in (ada, grace):
        student.locator("[data-waiting]").wait_for()
    assert ada.locator("[data-nickname]").inner_text() == XSS_NICKNAME
    assert grace.evaluate("document.documentElement.scrollWidth") <= 390
    # The instructor's list fills in as they join, without a reload.
    teacher.wait_for_function("document.querySelector('[data-members-count]').textContent === '2'")
    teacher.locator("[data-members]").evaluate("el => el.closest('details').open = true")
    assert XSS_NICKNAME in teacher.locator("[data-members]").inner_text()
    assert teacher.locator("[data-members] li").count() == 2
    assert teacher.evaluate("window.pwned") is None and ada.evaluate("window.pwned") is None

    # A typed poll reaches both screens without a reload; answers grow the instructor's chart.
    teacher.get_by_label("Question", exact=True).fill("Which write must commit first in a dual write?")
    teacher.locator("[data-typed-poll]").get_by_label("Choices, one per line (2 to 8)").fill("the order\nthe event")
    teacher.locator("[data-typed-poll]").get_by_role("button", name="Push to the room").click()
    for student in (ada, grace):
        student.locator("[data-poll-prompt]").filter(has_text="Which write must commit first").wait_for()
    grace.get_by_label("the event").check()
    grace.get_by_role("button", name="Send").click()
    grace.locator("[data-my-answer]").filter(has_text="the event").wait_for()
    teacher.wait_for_function("document.querySelector('[data-poll-chart]').dataset.total === '1'")
    ada.get_by_label("the order").check()
    ada.get_by_role("button", name="Send").click()
    teacher.wait_for_function("document.querySelector('[data-poll-chart]').dataset.total === '2'")
    counts = teacher.evaluate("document.querySelector('[data-poll-chart-plot]').data[0].x")
    assert sorted(counts) == [1, 1]
    # Revealed results reach the students' screens as a chart too.
    teacher.get_by_role("button", name="Reveal results").click()
    grace.wait_for_function("document.querySelector('[data-poll-chart]') && document.querySelector('[data-poll-chart]').dataset.total === '2'")

    # Predict, then reveal: predictions first, then the run, on every screen.
    teacher.get_by_label("Experiment and preset").select_option(label="Dual write vs transactional outbox — Naive")
    teacher.locator("[data-prediction-poll]").get_by_role("button", name="Ask for predictions").click()
    for student, guess in ((ada, "5"), (grace, "900")):
        student.locator("[data-poll-prompt]").filter(has_text="How many orders").wait_for()
        student.get_by_label("Your answer").fill(guess)
        student.get_by_role("button", name="Send").click()
        student.locator("[data-my-answer]").filter(has_text=guess).wait_for()
    # Students follow the run through their one live request a second, never a frames endpoint of their own.
    frame_requests = []
    for student in (ada, grace):
        student.on("request", lambda request: frame_requests.append(request.url) if "/frames" in request.url else None)
    # Every screen has the run's empty charts before its first frame (see worker_stopped).
    with worker_stopped(celery_worker_process):
        teacher.get_by_role("button", name="Start the run").click()
        teacher.locator("[data-run-chart]").wait_for()
        for student in (ada, grace):
            student.wait_for_function(f"{STUDENT_TRACE} === 0", timeout=60_000)
    # The instructor closes the console: the students' screens follow the run to its end all the same.
    teacher_context = teacher.context
    teacher.close()
    # The presented run appears on the phone and grows while the worker runs it.
    grace.wait_for_function(f"{STUDENT_TRACE} > 0", timeout=60_000)
    early = grace.evaluate(STUDENT_TRACE)
    grace.wait_for_function(f"{STUDENT_TRACE} > {early}", timeout=60_000)
    ada.wait_for_function(f"{STUDENT_TRACE} > 0", timeout=60_000)
    assert frame_requests == []
    # When it ends the room sees the predictions beside the measured number.
    for student in (ada, grace):
        student.locator("[data-reveal]").wait_for(timeout=90_000)
    poll = Poll.objects.get(experiment_slug="dual-write")
    actual = poll.run.summary["orders_without_event"]
    assert grace.locator("[data-measured]").inner_text() == str(actual)
    assert grace.locator("[data-closest]").count() == 0  # not unless the instructor chooses
    assert grace.locator("[data-verdict]").count() == 1  # the final charts' verdict, with no console open
    teacher = teacher_context.new_page()
    teacher.set_default_timeout(30_000)
    teacher.goto(f"{web_server}/classes/{classroom.id}/")
    teacher.get_by_role("button", name="Show who was closest").click()
    closest = min(Answer.objects.filter(poll=poll), key=lambda a: abs(a.value - actual)).member.nickname
    grace.locator("[data-closest]").filter(has_text=closest).wait_for()

    # The instructor steps the replay; the students' charts follow.
    slider = teacher.locator("[data-replay-slider]")
    slider.focus()
    teacher.keyboard.press("Home")
    teacher.keyboard.press("ArrowRight")
    for student in (ada, grace):
        student.wait_for_function(f"{STUDENT_TRACE} === 2")
    teacher.keyboard.press("End")
    frames = int(slider.get_attribute("max"))
    grace.wait_for_function(f"{STUDENT_TRACE} === {frames}")

    # The dashboard: a heatmap with its table, the poll history, and CSV exports.
    teacher.goto(f"{web_server}/classes/{classroom.id}/dashboard")
    teacher.wait_for_function("document.getElementById('heatmap-chart')?.data !== undefined")
    assert teacher.locator("[data-mastery-table] tbody tr").count() == 2
    assert "Which write must commit first" in teacher.locator("[data-poll-history]").inner_text()
    with teacher.expect_download() as download:
        teacher.locator("[data-csv=polls]").click()
    exported = open(download.value.path(), encoding="utf-8").read()
    assert "Which write must commit first in a dual write?" in exported and ",2," in exported


def sign_in_and_create_class(teacher, web_server, name):
    User.objects.create_user("alice", password="a-long-pass-phrase-1")
    call_command("make_instructor", "alice")
    teacher.goto(f"{web_server}/accounts/login/?next=/classes/")
    teacher.get_by_label("Username").fill("alice")
    teacher.get_by_label("Password").fill("a-long-pass-phrase-1")
    teacher.get_by_role("button", name="Sign in").click()
    teacher.get_by_label("Class name").fill(name)
    teacher.get_by_role("button", name="Create a class").click()
    return Classroom.objects.get(code=teacher.locator("[data-join-code]").inner_text())


def test_assigned_work_is_seen_by_students_and_counted_done_from_what_they_do(lessons_loaded, web_server, celery_worker_process,
                                                                             contexts):
    teacher, grace = contexts(), contexts(width=390, height=844)
    classroom = sign_in_and_create_class(teacher, web_server, "Consistency, homework")
    grace.goto(f"{web_server}/join/{classroom.code}/")
    grace.get_by_label("Your nickname").fill("Grace")
    grace.get_by_role("button", name="Join").click()
    grace.locator("[data-waiting]").wait_for()

    # The instructor assigns an experiment and a quiz; a bad due date is refused with a message first.
    due = timezone.localdate() + timedelta(days=2)
    form = teacher.locator("[data-assign]")
    form.get_by_label("What to assign").select_option(label="Dual write vs transactional outbox")
    form.get_by_label("Due").fill((timezone.localdate() - timedelta(days=1)).isoformat())
    form.get_by_role("button", name="Assign").click()
    teacher.locator("[data-assign] .error").filter(has_text="already passed").wait_for()
    form.get_by_label("What to assign").select_option(label="Dual write vs transactional outbox")
    form.get_by_label("Due").fill(due.isoformat())
    form.get_by_label("Note for students (optional)").fill("<b>before Thursday</b>")
    form.get_by_role("button", name="Assign").click()
    teacher.locator("[data-assignments]").filter(has_text="Dual write vs transactional outbox").wait_for()
    form.get_by_label("What to assign").select_option(value="quiz:dual-write")
    form.get_by_label("Due").fill(due.isoformat())
    form.get_by_role("button", name="Assign").click()
    teacher.locator("[data-assignments] tbody tr").nth(1).wait_for()
    assert teacher.evaluate("document.documentElement.scrollWidth") <= 1280

    # The student's class page, open since before, lists both without a reload: due in two days, on a phone.
    grace.locator("[data-assignments] li").nth(1).wait_for()
    items = grace.locator("[data-assignments] li")
    assert items.count() == 2
    assert "Due in 2 days" in items.nth(0).inner_text() and "<b>before Thursday</b>" in items.nth(0).inner_text()
    assert grace.evaluate("document.documentElement.scrollWidth") <= 390
    # She runs the experiment from the link: a finished run is what makes it done.
    items.nth(0).get_by_role("link").click()
    grace.get_by_label("Your prediction").fill("10")
    grace.get_by_role("button", name="Run the experiment").click()
    grace.wait_for_url("**/runs/**")
    grace.locator("[data-verdict]").wait_for(timeout=90_000)
    grace.goto(f"{web_server}/c/{classroom.code}/")
    assert grace.locator("[data-assignments] li").nth(0).get_attribute("data-assignment") == "done"
    assert grace.locator("[data-assignments] li").nth(1).get_attribute("data-assignment") == "due"

    # The dashboard shows who has done what, and exports it.
    teacher.goto(f"{web_server}/classes/{classroom.id}/dashboard")
    table = teacher.locator("[data-completion-table]")
    assert "Done" in table.locator("tbody td").nth(0).inner_text()
    assert "Due in 2 days" in table.locator("tbody td").nth(1).inner_text()
    assert teacher.evaluate("document.documentElement.scrollWidth") <= 1280
    with teacher.expect_download() as download:
        teacher.locator("[data-csv=assignments]").click()
    rows = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert rows[1].startswith("Grace,done ") and rows[1].endswith(",due")
