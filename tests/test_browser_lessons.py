"""Every lesson in headless Chromium: it renders with its diagrams; its quiz answers in place."""

import pytest

from lessons.content_loader import CONTENT_DIR, parse_lesson_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLUGS = sorted(parse_lesson_file(path).meta["slug"] for path in CONTENT_DIR.glob("*.md"))


@pytest.fixture
def content(db):
    from lessons.content_loader import load_content

    load_content()


def test_every_lesson_renders_its_diagrams_with_no_request_leaving_the_machine(web_server, content, page):
    foreign = []
    page.on("request", lambda request: None if request.url.startswith(web_server) else foreign.append(request.url))
    for slug in SLUGS:
        page.goto(f"{web_server}/lessons/{slug}/")
        diagrams = page.locator("figure.diagram svg")
        assert diagrams.count() >= 1, slug
        box = diagrams.first.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100, slug  # drawn, not an empty box
        assert page.locator("h2", has_text="Common misconceptions").count() == 1, slug
    assert foreign == []


def test_a_quiz_answer_is_checked_in_place_with_htmx(web_server, content, page):
    page.goto(f"{web_server}/lessons/dual-write/quiz/")
    first = page.locator("li.question").first
    first.locator("input[type=radio]").first.check()
    first.get_by_role("button", name="Check my answer").click()
    feedback = page.locator("li.question").first.locator(".feedback")
    feedback.wait_for()
    assert "/quiz/" in page.url and "answered" not in page.url  # no navigation happened
    assert feedback.get_attribute("data-result") in {"right", "wrong"}
    assert page.locator("li.question").first.locator("fieldset[disabled]").count() == 1


def test_a_quiz_answer_works_without_javascript(web_server, content, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{web_server}/lessons/sagas/quiz/")
    first = page.locator("li.question").first
    first.locator("input[type=radio], input[type=checkbox]").first.check()
    first.get_by_role("button", name="Check my answer").click()
    page.wait_for_url("**answered=**")
    assert page.locator(".feedback[data-result]").count() == 1
    context.close()


def test_the_progress_chart_draws_after_an_answer(web_server, content, page):
    page.goto(f"{web_server}/lessons/idempotency/quiz/")
    first = page.locator("li.question").first
    first.locator("input[type=radio], input[type=checkbox]").first.check()
    first.get_by_role("button", name="Check my answer").click()
    page.locator(".feedback").first.wait_for()
    page.goto(f"{web_server}/progress/")
    page.wait_for_function("document.getElementById('mastery-chart')?.data !== undefined")
    assert page.evaluate("document.getElementById('mastery-chart').data[0].y.length") == len(SLUGS)
