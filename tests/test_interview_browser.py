"""A whole mock interview in headless Chromium, against gunicorn on the test database."""

from pathlib import Path

import pytest

from interview.loader import load_interview_scripts
from interview.models import FollowUpAnswer, PracticeSession, PromptAnswer
from lessons.content_loader import load_lessons

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "interview"
# Covers the two commits and the crash of prompt 1 but never mentions an outbox.
FIRST = "We save the order in Postgres and then publish to Kafka, so these are two separate commits."
SECOND = " If the service crashes after the commit, the event is lost."
ANSWER_2 = ("Consumers will see duplicates, so each one is idempotent: it records the event id in the same "
            "transaction as its side effect.")
ANSWER_3 = "A nightly reconciliation compares orders with shipments, and we alert on the age of the oldest outbox row."


@pytest.fixture
def script(db):
    load_lessons()
    load_interview_scripts(FIXTURE_DIR)


def seconds(face: str) -> int:
    minutes, secs = face.strip().split(":")
    return int(minutes) * 60 + int(secs)


def test_a_whole_session_timer_draft_follow_up_model_answer_report_and_history(web_server, script, page, wait_until):
    page.goto(f"{web_server}/interview/")
    page.get_by_role("link", name="Checkout events without dual writes").click()
    page.get_by_role("button", name="Start the interview").click()
    page.wait_for_url("**/prompts/1/")
    answer = lambda: PromptAnswer.objects.get(session=PracticeSession.objects.get(), number=1)  # noqa: E731

    # The clock is visible and counting down from the suggested five minutes.
    face = page.locator("#countdown .countdown-value")
    start = seconds(face.text_content())
    assert 290 <= start <= 300
    wait_until(lambda: seconds(face.text_content()) < start, timeout=5, message="the countdown to tick")
    assert page.locator("#model-answer").count() == 0 and page.locator(".follow-up").count() == 0

    # Typing saves a draft on the server by itself; a reload brings it back, clock still running.
    area = page.locator("textarea[name=text]")
    area.press_sequentially(FIRST)
    page.locator("#draft-status", has_text="Draft saved at").wait_for(timeout=15_000)
    wait_until(lambda: answer().draft_text == FIRST, timeout=15, message="the draft to reach the server")
    page.reload()
    assert area.input_value() == FIRST
    assert seconds(face.text_content()) < start

    # Words typed just before a reload (before any autosave) survive too.
    area.press("Control+End")
    area.press_sequentially(SECOND)
    page.reload()
    assert area.input_value() == FIRST + SECOND
    wait_until(lambda: answer().draft_text == FIRST + SECOND, timeout=15, message="the restored draft to be saved")

    # Submit: the rubric, the sentence that earned each item, the follow-up on the missed outbox, then the model answer.
    page.get_by_role("button", name="Submit answer").click()
    page.locator(".follow-up-question").wait_for()
    assert "/prompts/1/" in page.url  # swapped in place
    assert page.locator(".follow-up-question").text_content() == (
        "How would you make the publish happen if and only if the order commits?")
    assert page.locator('li[data-item="outbox"]').get_attribute("data-status") == "missed"
    assert page.locator('li[data-item="two-commit-points"] .evidence mark').text_content() == "two separate commits"
    assert page.locator("#model-answer").is_visible()
    assert answer().submitted and answer().final_text == FIRST + SECOND

    # Rate it: claiming the outbox was covered is flagged as a disagreement.
    for item, verdict in [("two-commit-points", "covered"), ("crash-window", "covered"), ("outbox", "covered")]:
        page.locator(f'input[name="item-{item}"][value="{verdict}"]').check()
    page.get_by_role("button", name="Compare with the rubric").click()
    page.locator('tr[data-item="outbox"][data-gap="far"]').wait_for()

    for text in (ANSWER_2, ANSWER_3):
        page.get_by_role("link", name="Next prompt").click()
        page.locator("textarea[name=text]").fill(text)
        page.get_by_role("button", name="Submit answer").click()
        page.locator("#model-answer").wait_for()
    page.get_by_role("button", name="Finish and see your report").click()
    page.wait_for_url("**/report/")
    assert page.locator("table.report-prompts tbody tr").count() == 3
    assert page.locator("#weakest-topic").text_content() == "The transactional outbox"

    page.get_by_role("link", name="Your history").click()
    # Until the history page has replaced the report the chart is absent, so the wait must tolerate null.
    page.wait_for_url("**/interview/history/")
    page.wait_for_function("document.getElementById('history-chart')?.data !== undefined")
    assert page.evaluate("document.getElementById('history-chart').data.length") == 3
    assert page.locator("#history-chart .main-svg").count() >= 1


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_the_follow_up_is_answered_in_place_timed_and_scored(web_server, script, browser, wait_until, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{web_server}/interview/scripts/checkout-outbox-drill/")
        page.get_by_role("button", name="Start the interview").click()
        page.wait_for_url("**/prompts/1/")
        page.locator("textarea[name=text]").fill(FIRST + SECOND)
        page.get_by_role("button", name="Submit answer").click()

        # The follow-up on the missed outbox is a reply box with its own two-minute clock.
        box = page.get_by_label("Your reply")
        box.wait_for()
        face = page.locator("#follow-up #countdown .countdown-value")
        start = seconds(face.text_content())
        assert 110 <= start <= 120
        wait_until(lambda: seconds(face.text_content()) < start, timeout=5, message="the follow-up clock to tick")
        bounds = box.bounding_box()
        assert bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= width
        assert page.evaluate("document.documentElement.scrollWidth") <= width

        url = page.url
        box.fill("The order and an outbox row go in the same transaction, and a relay publishes the row afterwards.")
        page.get_by_role("button", name="Reply to the interviewer").click()
        page.locator('#follow-up[data-answered="yes"]').wait_for()
        assert page.url == url  # swapped in place, no navigation
        assert page.locator("#follow-up .follow-up-result").get_attribute("data-status") == "met"
        assert page.locator("#follow-up .evidence mark").first.text_content() == "outbox"
        assert page.get_by_label("Your reply").count() == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        follow_up = FollowUpAnswer.objects.get(answer__session=PracticeSession.objects.get())
        assert follow_up.status == "met" and follow_up.item_id == "outbox"
        assert errors == []
    finally:
        context.close()
