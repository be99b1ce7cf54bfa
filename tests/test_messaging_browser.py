"""A messaging run page in headless Chromium, at 1280 px and on a 390-px phone: run through the real worker, then read."""

import pytest

from .support import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CHARTS = "document.querySelectorAll('[data-run-chart] .js-plotly-plot, .js-plotly-plot').length"


def check_the_finished_run(page, tmp_path):
    verdict = page.locator("[data-verdict]")
    verdict.wait_for(timeout=120_000)
    text = verdict.inner_text()
    # One line per model, with its badge: the log holds order but is stuck, pub/sub lost, the queue reordered.
    assert "Log: handled out of order for their key: 0" in text
    assert "Log: messages stuck behind a poison message" in text
    stuck = verdict.locator("li", has_text="Log: messages stuck behind a poison message")
    assert stuck.locator(".badge").text_content() == "broken"
    assert verdict.locator("li", has_text="Pub/sub: messages lost").locator(".badge").text_content() == "broken"
    assert verdict.locator("li", has_text="Log: messages lost").locator(".badge").text_content() == "holds"
    page.wait_for_function(f"window.Plotly && {CHARTS} >= 5")
    titles = page.evaluate("[...document.querySelectorAll('.js-plotly-plot')].map(c => c.layout.title.text)")
    for title in ("Log: delivered, lost, duplicated and dead-lettered", "Pub/sub: delivered, lost, duplicated and dead-lettered",
                  "Queue: delivered, lost, duplicated and dead-lettered", "Consumer lag: published, not yet handled",
                  "Per-key order violations"):
        assert title in titles
    # The table for screen readers carries the same numbers, per model.
    assert page.get_by_role("columnheader", name="Log lag").count() == 1
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(tmp_path / f"messaging-{width}.png"), full_page=True)


def test_a_poison_run_shows_the_blocked_partition_per_model(web_server, celery_worker_process, browser, tmp_path):
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    try:
        # One run, started and watched on the phone; its finished page is then read again at 1280 px.
        page.goto(f"{web_server}/experiments/messaging/?preset=poison-no-dlq")
        # The live queue's broker only shows for the live engine; the page still says whether RabbitMQ is there.
        assert page.locator("#id_queue_broker").is_hidden()
        page.get_by_label("Your prediction").fill("1000")
        page.get_by_role("button", name="Run the experiment").click()
        page.wait_for_url("**/runs/**")
        check_the_finished_run(page, tmp_path)
        page.set_viewport_size(DESKTOP)
        page.reload()
        check_the_finished_run(page, tmp_path)
        page.goto(f"{web_server}/experiments/messaging/?preset=poison-no-dlq")
        assert page.locator("#id_queue_broker").is_hidden()
    finally:
        context.close()
