"""The clocks experiment in headless Chromium: at 1280 px through a real worker, and a finished run on a 390-px phone."""

import pytest

from playground.experiments import get_experiment
from playground.models import ExperimentRun

from .support import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

VERDICT_LINES = r"""Array.from(document.querySelectorAll('[data-verdict] li')).map(li => li.textContent.replace(/\s+/g, ' ').trim())"""


def line(lines: list[str], start: str) -> str:
    return next(text for text in lines if text.startswith(start))


def test_a_dead_ntp_daemon_run_shows_lost_writes_siblings_and_the_skew_sweep(web_server, celery_worker_process, page):
    page.goto(f"{web_server}/experiments/clocks/?preset=broken-ntp")
    assert page.get_by_label("Clock skew (ms)").input_value() == "500"
    page.get_by_label("Your prediction").fill("100")
    page.get_by_role("button", name="Run the experiment").click()
    page.wait_for_url("**/runs/**")
    page.locator("[data-verdict]").wait_for(timeout=90_000)

    lines = page.evaluate(VERDICT_LINES)
    wall = line(lines, "wall-clock LWW: acknowledged writes silently lost")
    assert "broken" in wall and "lost to a version their client had read" in wall
    vv = line(lines, "version vectors, siblings kept: acknowledged writes silently lost: 0")
    assert "holds" in vv and "reads returned siblings" in vv
    assert "holds" in line(lines, "HLC LWW: causality violations: 0")
    assert "First one: write" in line(lines, "wall-clock LWW: causality violations")
    assert "holds" in line(lines, "HLC: furthest ahead of its own node's clock")

    # Five charts over time, and the sweep drawn from the summary: one line per rule.
    page.wait_for_function("window.Plotly && document.querySelectorAll('.js-plotly-plot').length >= 6")
    sweep = page.evaluate("document.querySelector('.summary-charts .js-plotly-plot').data.map(t => t.name)")
    assert len(sweep) == 4 and "wall-clock LWW" in sweep
    # And the first causality violation, on a space-time diagram of the two replicas involved.
    page.wait_for_function("document.querySelectorAll('.summary-charts .js-plotly-plot').length === 2")
    witness = page.evaluate("document.querySelectorAll('.summary-charts .js-plotly-plot')[1].layout.title.text")
    assert witness.startswith("First causality violation")
    assert "you predicted 100" in page.locator("[data-headline]").inner_text()


def test_the_experiment_page_and_a_finished_run_fit_a_phone(web_server, browser):
    experiment = get_experiment("clocks")
    params, _ = experiment.clean_params(experiment.presets["step-back"].params)
    frames: list[dict] = []
    summary = experiment.run(params, 7, frames.append)
    run = ExperimentRun.objects.create(experiment_slug="clocks", params=params, seed=7, status="succeeded",
                                       summary=summary, frames=frames, prediction=10)
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{web_server}/experiments/clocks/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.goto(web_server + run.get_absolute_url())
    page.wait_for_function("window.Plotly && document.querySelectorAll('.js-plotly-plot').length >= 6")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator(".summary-charts .js-plotly-plot").first.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert page.locator("[data-verdict]").is_visible()
    context.close()
