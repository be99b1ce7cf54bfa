"""A learner in headless Chromium: read the lesson, run the experiment, watch it unfold."""

import pytest

from .support import RUN_CHART_DRAWN, worker_stopped

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

POINTS = "document.querySelector('[data-run-chart]').dataset.points"


def test_a_learner_opens_the_lesson_runs_the_experiment_and_reads_the_verdict(
    web_server, lessons_loaded, celery_worker_process, page
):
    page.goto(web_server + "/")
    page.get_by_role("link", name="The dual-write problem").click()
    assert page.locator("figure.diagram svg").count() >= 1

    page.get_by_role("link", name="Open the experiment").click()
    page.get_by_role("link", name="Naive").click()
    page.get_by_label("Crash probability between the two steps").fill("0.05")
    page.get_by_label("Your prediction").fill("40")
    with worker_stopped(celery_worker_process):
        page.get_by_role("button", name="Run the experiment").click()
        page.wait_for_url("**/runs/**")
        page.wait_for_function(RUN_CHART_DRAWN, timeout=60_000)
    page.wait_for_function(f"Number({POINTS}) > 0", timeout=30_000)
    early = int(page.evaluate(POINTS))
    page.wait_for_function(f"Number({POINTS}) > {early}", timeout=30_000)
    traced = page.evaluate("document.getElementById('chart-0').data[0].x.length")
    assert traced > early  # points were appended to the Plotly trace itself

    verdict = page.locator("[data-verdict]")
    verdict.wait_for(timeout=60_000)
    text = verdict.inner_text()
    assert "Orders with no event:" in text and "Events with no order: 0" in text
    lost = int(text.split("Orders with no event:")[1].split()[0])
    assert lost > 0

    assert "you predicted 40" in page.locator("[data-headline]").inner_text()
    progress = page.locator("[data-progress]")
    assert progress.count() == 0 or progress.get_attribute("value") is not None

    # The URL is shareable: a fresh visitor sees the finished run from the database.
    url = page.url
    other = page.context.browser.new_page()
    other.goto(url)
    assert f"Orders with no event: {lost}" in other.locator("[data-verdict]").inner_text()
    assert int(other.evaluate(POINTS)) == int(page.evaluate(POINTS))
    other.close()


def test_keyboard_users_can_skip_to_the_content(web_server, lessons_loaded, page):
    page.goto(web_server + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"

