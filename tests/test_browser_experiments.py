"""Every experiment in headless Chromium: predict, run, watch the chart grow, compare two runs, scrub the replay."""

import pytest

from playground.experiments import EXPERIMENTS
from .support import RUN_CHART_DRAWN, worker_stopped

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

POINTS = "Number(document.querySelector('[data-run-chart]').dataset.points)"
TRACE_LENGTH = "document.getElementById('chart-0').data[0].x.length"


def submit_preset(page, base_url, slug, preset):
    page.goto(f"{base_url}/experiments/{slug}/?preset={preset}")
    page.get_by_label("Your prediction").fill("10")
    page.get_by_role("button", name="Run the experiment").click()
    page.wait_for_url("**/runs/**")


# Every count of points the chart shows while the run is live, recorded in the page as it happens: two tabs are
# watched one after the other, and on a busy machine the second run can end while the first is watched.
RECORD_POINTS = """(() => {
  const root = document.querySelector('[data-run-chart]');
  window.pointsSeen = [];
  new MutationObserver(() => {
    if (root.dataset.final !== 'true') window.pointsSeen.push(Number(root.dataset.points));
  }).observe(root, {attributes: true, attributeFilter: ['data-points']});
})()"""
GREW_IN_STEPS = "new Set(window.pointsSeen.filter(n => n > 0)).size >= 2"


def watch_it_grow(page):
    # The chart gains points in more than one step while the worker runs, before the run is final.
    page.wait_for_function(GREW_IN_STEPS, timeout=60_000)


def read_the_verdict(page):
    page.locator("[data-verdict]").wait_for(timeout=90_000)
    assert "you predicted 10" in page.locator("[data-headline]").inner_text()


@pytest.mark.parametrize("slug", sorted(EXPERIMENTS))
def test_predict_run_watch_compare_and_replay(slug, web_server, celery_worker_process, page):
    first, second = list(EXPERIMENTS[slug].presets)[:2]
    # Two tabs, both runs at once (the worker takes two): each run is paced for a person to watch, and one after
    # the other doubled the wait. Both start once both pages have drawn their empty charts.
    other = page.context.new_page()
    with worker_stopped(celery_worker_process):
        for tab, preset in ((other, first), (page, second)):
            submit_preset(tab, web_server, slug, preset)
            tab.wait_for_function(RUN_CHART_DRAWN, timeout=60_000)
            assert tab.evaluate(POINTS) == 0
            tab.evaluate(RECORD_POINTS)
    watch_it_grow(other)
    watch_it_grow(page)
    read_the_verdict(other)
    read_the_verdict(page)
    other.close()

    page.reload()
    slider = page.locator("[data-replay-slider]")
    frames = int(slider.get_attribute("max"))
    slider.focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate(TRACE_LENGTH) == 3
    assert "Frame 3 of" in page.locator("[data-replay-readout]").inner_text()
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(TRACE_LENGTH) == 2
    page.keyboard.press("End")
    assert page.evaluate(TRACE_LENGTH) == frames

    page.get_by_role("button", name="Overlay").click()
    page.wait_for_url("**/runs/compare**")
    page.wait_for_function("document.getElementById('compare0-chart')?.data !== undefined")
    names = page.evaluate("document.getElementById('compare0-chart').data.map(t => t.name)")
    assert any(name.startswith("A: ") for name in names) and any(name.startswith("B: ") for name in names)
