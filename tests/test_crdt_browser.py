"""The CRDT experiment in headless Chromium at 1280 px and 390 px: predict, run through a real worker, read the verdict."""

import pytest

from playground.experiments import get_experiment

from .support import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

EXPERIMENT = get_experiment("crdt")


def check_the_finished_run(page, expected):
    verdict = page.locator("[data-verdict]")
    ok = verdict.locator("li.ok").all_inner_texts()
    broken = verdict.locator("li.broken").all_inner_texts()
    assert any(text.startswith("OR-set (CRDT): removed elements that came back: 0") for text in ok)
    assert any(text.startswith("PN-counter: same updates seen, different state: 0") for text in ok)
    assert any(text.startswith("counter merged by max: off from the true count") for text in broken)
    assert any(text.startswith("set merged by union: removed elements that came back") for text in broken)
    # The seed defaults to 7, so the worker's run is the one computed here.
    headline = page.locator("[data-headline]").inner_text()
    assert "you predicted 100" in headline
    assert str(expected["max_counter_error"]) in headline.replace(",", "")
    # The final values chart and the four charts are drawn, and nothing is wider than the screen.
    page.wait_for_function("window.Plotly && document.querySelectorAll('.js-plotly-plot').length >= 5")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_a_partition_run_shows_the_crdts_holding_and_the_naive_merges_broken(web_server, celery_worker_process, browser):
    params, _ = EXPERIMENT.clean_params(EXPERIMENT.presets["partition"].params)
    expected = EXPERIMENT.run(params, 7, lambda frame: None)
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{web_server}/experiments/crdt/?preset=partition")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # One run, through the worker at 1280 px; its finished page is then read again at 390 px.
    page.set_viewport_size(DESKTOP)
    page.goto(f"{web_server}/experiments/crdt/?preset=partition")
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    page.get_by_label("Your prediction").fill("100")
    page.get_by_role("button", name="Run the experiment").click()
    page.wait_for_url("**/runs/**")
    page.locator("[data-verdict]").wait_for(timeout=120_000)
    check_the_finished_run(page, expected)
    page.set_viewport_size(PHONE)
    page.reload()
    check_the_finished_run(page, expected)
    context.close()
