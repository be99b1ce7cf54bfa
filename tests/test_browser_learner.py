"""What a newcomer hit (issue 9), in headless Chromium at 1280 px and at 390 px (a phone)."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from interview.loader import load_interview_scripts
from lessons.content_loader import load_content
from lessons.models import Card, Lesson, Question
from playground.experiments import get_experiment
from playground.models import ExperimentRun

from .support import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).resolve().parent / "vendor" / "axe.min.js").read_text()


@pytest.fixture
def content(db):
    load_content()
    load_interview_scripts()


def finished_run(slug: str, preset: str) -> ExperimentRun:
    """A run as the worker leaves it, made by running the real (seeded) simulation here."""
    experiment = get_experiment(slug)
    params, _ = experiment.clean_params(experiment.presets[preset].params)
    frames: list[dict] = []
    summary = experiment.run(params, 7, frames.append)
    return ExperimentRun.objects.create(experiment_slug=slug, params=params, seed=7, status="succeeded",
                                        summary=summary, frames=frames, prediction=10)


def serious_violations(page) -> list[str]:
    page.add_script_tag(content=AXE)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}" for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


def test_every_page_fits_a_phone_and_has_no_serious_accessibility_violation(web_server, content, browser):
    run = finished_run("reconciliation", next(iter(get_experiment("reconciliation").presets)))
    problems = []
    for viewport in (PHONE, DESKTOP):
        # axe-core is injected as an inline script, which the pages' CSP refuses (tests/test_security.py checks the CSP).
        context = browser.new_context(viewport=viewport, bypass_csp=True)
        page = context.new_page()
        # An interview in progress, so its prompt page exists; and one answer, so progress has a chart.
        page.goto(f"{web_server}/interview/")
        page.locator("main h3 a").first.click()
        script_url = page.url
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_url("**/prompts/1/")
        prompt_url = page.url
        # 2: an empty answer is refused in place, the page (and its header) intact.
        page.get_by_role("button", name="Submit answer").click()
        page.locator("#answer-errors [role=alert]").wait_for()
        assert page.locator(".site-header").count() == 1
        page.goto(f"{web_server}/lessons/dual-write/quiz/")
        page.locator("li.question").first.locator("input[type=radio]").first.check()
        page.locator("li.question").first.get_by_role("button", name="Check my answer").click()
        page.locator("li.question .feedback").first.wait_for()
        pages = ["/", "/lessons/dual-write/", "/experiments/retries/", run.get_absolute_url(),
                 "/lessons/dual-write/quiz/", "/review/", "/progress/", "/interview/", script_url, prompt_url,
                 "/interview/history/"]
        for url in pages:
            page.goto(url if url.startswith("http") else web_server + url)
            page.wait_for_load_state("load")
            if url in ("/progress/", run.get_absolute_url()):
                page.wait_for_function("window.Plotly && document.querySelector('.js-plotly-plot')")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > viewport["width"]:
                problems.append(f"{url} at {viewport['width']} px is {width} px wide")
            problems += [f"{url} at {viewport['width']} px: {v}" for v in serious_violations(page)]
        context.close()
    assert problems == [], "\n".join(problems)


def test_every_experiment_page_and_a_finished_run_of_each_fit_a_phone(web_server, content, browser):
    from playground.experiments import EXPERIMENTS
    from playground.experiments.base import LIVE

    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    too_wide = []
    for slug, experiment in sorted(EXPERIMENTS.items()):
        preset = next(name for name, p in experiment.presets.items() if p.params.get("engine") != LIVE)
        for url in (f"/experiments/{slug}/", finished_run(slug, preset).get_absolute_url()):
            page.goto(web_server + url)
            # Drawn charts, summary figures (Gantt, frontier, space-time diagram) included.
            page.wait_for_function("window.Plotly && document.querySelectorAll('.js-plotly-plot').length > 0"
                                   if url.startswith("/runs/") else "true")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide.append(f"{url} ({slug}) is {width} px wide")
    context.close()
    assert too_wide == []


def test_quiz_review_progress_and_catalogue_as_a_learner_meets_them(web_server, content, page):
    # 1: every option has its own id, so clicking an option's text ticks that question's option.
    page.goto(f"{web_server}/lessons/dual-write/quiz/")
    assert page.evaluate("""(() => { const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
                                     return ids.length - new Set(ids).size; })()""") == 0
    second = page.locator("li.question").nth(1)
    second.locator(".choice-text").first.click()
    assert second.locator("input:checked").count() == 1
    assert page.locator("li.question").first.locator("input:checked").count() == 0

    # 15: an answered question keeps its options in place and marks the right one; 18: focus moves to the feedback.
    first = page.locator("li.question").first
    before = first.locator(".choice-text").all_inner_texts()
    question = Question.objects.get(key=first.get_attribute("id")[2:])
    wrong = next(str(i) for i, c in enumerate(question.data["choices"]) if not c["correct"])
    first.locator(f"input[value='{wrong}']").check()
    first.get_by_role("button", name="Check my answer").click()
    feedback = page.locator("li.question").first.locator(".feedback")
    feedback.wait_for()
    after = page.locator("li.question").first.locator(".choice-text").all_inner_texts()
    assert after == before
    assert page.locator("li.question").first.locator("li.is-correct .mark-right").count() == 1
    # Focus moves when htmx has settled the swap, a moment after the feedback appears.
    page.wait_for_function("document.activeElement.classList.contains('feedback')", timeout=5_000)
    # 16: the summary at the end counts it and points on.
    summary = page.locator("#quiz-summary")
    assert "0 of" in summary.locator("[data-quiz-score]").inner_text()
    assert summary.locator("[data-quiz-review] a").count() == 1
    assert summary.get_by_role("link", name="Next lesson").count() == 1
    assert summary.get_by_role("link", name="Run the experiment").count() == 1

    # 2: a multiple-choice question sent with nothing ticked shows its error in place, page intact.
    page.goto(f"{web_server}/lessons/cap-and-pacelc/quiz/")
    multiple = page.locator("li.question:has(input[type=checkbox])").first
    assert multiple.inner_text().count("all that apply") == 1
    multiple.get_by_role("button", name="Check my answer").click()
    page.locator("li.question [role=alert]").first.wait_for()
    assert page.locator(".site-header").count() == 1 and page.locator("li.question").count() > 1
    page.wait_for_function("document.activeElement.getAttribute('role') === 'alert'", timeout=5_000)

    # 17: the interview date shows in its field once saved; the due count drops after an answer.
    soon = (datetime.now(timezone.utc) + timedelta(days=10)).date().isoformat()
    page.goto(f"{web_server}/review/")
    page.locator("input[type=date]").fill(soon)
    page.get_by_role("button", name="Save interview date").click()
    page.wait_for_load_state("load")
    assert page.locator("input[type=date]").input_value() == soon
    Card.objects.update(due=datetime.now(timezone.utc) - timedelta(minutes=5))
    page.reload()
    due = int(page.locator("[data-queue-size]").inner_text())
    card = page.locator("li.question")
    card.locator(f"input[value='{wrong}']").check()
    card.get_by_role("button", name="Check my answer").click()
    page.locator(".feedback").wait_for()
    page.wait_for_function(f"Number(document.querySelector('[data-queue-size]').textContent) < {due}")

    # 17: progress's "recall now" is 0 for a topic answered wrong; 4: the catalogue is in order, with progress.
    page.goto(f"{web_server}/progress/")
    row = page.locator("tr", has=page.get_by_role("link", name=Lesson.objects.get(slug="dual-write").title))
    assert row.locator("td").nth(3).inner_text() == "0%"
    page.goto(f"{web_server}/")
    numbers = [int(n.rstrip(".")) for n in page.locator(".lesson-number").all_inner_texts()]
    assert numbers == sorted(numbers) == list(Lesson.objects.values_list("order", flat=True))
    card = page.locator(".lesson-card", has=page.get_by_role("link", name=Lesson.objects.get(slug="dual-write").title))
    assert "1 of" in card.locator("[data-lesson-progress]").inner_text()


def test_a_lesson_reads_well_on_a_phone(web_server, content, browser):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{web_server}/lessons/dual-write/")
    # 19: body text of at least 16 px; code scrolls inside a focusable block.
    assert float(page.evaluate("getComputedStyle(document.querySelector('.lesson-body p')).fontSize")[:-2]) >= 16
    code = page.locator(".codehilite").first
    assert code.get_attribute("tabindex") == "0"
    # 6: a diagram keeps legible text (its natural size) and scrolls inside its figure.
    figure = page.locator("figure.diagram").first
    assert figure.get_attribute("tabindex") == "0"
    text_height = page.evaluate("document.querySelector('figure.diagram svg text').getBoundingClientRect().height")
    assert text_height >= 12
    # 5: the header's links stay on the dark bar and inside the screen.
    for link in page.locator(".site-header a").all():
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    context.close()


@pytest.mark.integration
def test_a_run_watched_to_the_end_becomes_replayable_and_a_cancelled_one_looks_cancelled(
        web_server, content, celery_worker_process, page):
    # 12: the contention scenario shows only its own fields; a missing prediction says so.
    page.goto(f"{web_server}/experiments/retries/?preset=no-jitter")
    flaky_only = page.get_by_label("Requests (flaky dependency)")
    assert not flaky_only.is_visible()
    page.get_by_label("Scenario", exact=True).select_option("flaky-dependency")
    assert flaky_only.is_visible()
    page.get_by_label("Scenario", exact=True).select_option("contention")
    page.get_by_role("button", name="Run the experiment").click()
    assert "Make your prediction first" in page.locator("[data-form-errors]").inner_text()

    page.get_by_label("Your prediction").fill("10")
    page.get_by_role("button", name="Run the experiment").click()
    page.wait_for_url("**/runs/**")
    assert page.locator("[data-replay]").count() == 0
    # An earlier run of this browser's, so there is something to compare with once this one ends (13).
    session_key = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
    earlier = finished_run("retries", "full-jitter")
    ExperimentRun.objects.filter(id=earlier.id).update(owner_session=session_key)
    # 3: no reload: the verdict, the replay slider and the compare form arrive in place.
    page.locator("[data-replay-slider]").wait_for(timeout=90_000)
    page.wait_for_function("document.querySelector('[data-run-chart]').dataset.final === 'true'")
    assert page.locator("[data-run-chart] .chart").count() == 2  # no empty DLQ chart in contention (12)
    frames = int(page.locator("[data-replay-slider]").get_attribute("max"))
    page.locator("[data-replay-slider]").focus()
    page.keyboard.press("Home")
    assert page.evaluate("document.getElementById('chart-0').data[0].x.length") == 1
    assert "Frame 1 of" in page.locator("[data-replay-readout]").inner_text()
    page.keyboard.press("End")
    assert page.evaluate("document.getElementById('chart-0').data[0].x.length") == frames
    # 9: how far off the guess was, and why; 10: measurements carry no badge.
    outcome = page.locator("[data-prediction-outcome]")
    assert "Off by" in outcome.inner_text() and outcome.inner_text().count(".") >= 2
    refused = page.locator(".verdict li", has_text="Refused writes")
    assert refused.locator(".badge").count() == 0
    assert page.locator(".verdict li", has_text="Updates that landed").locator(".badge").inner_text().lower() == "holds"
    # 13: one entry per distinct earlier run, and the form comes before the numbers table.
    assert page.locator("#compare-b option").count() == 1
    assert page.evaluate("""document.querySelector('.compare-form').compareDocumentPosition(
        document.querySelector('details.data-table')) & Node.DOCUMENT_POSITION_FOLLOWING""")

    # 11: a cancelled run says who cancelled it, and its bar is not full.
    page.goto(f"{web_server}/experiments/retries/?preset=flaky-dlq")
    page.get_by_label("Requests (flaky dependency)").fill("100000")
    page.get_by_label("Your prediction").fill("10")
    page.get_by_role("button", name="Run the experiment").click()
    page.wait_for_url("**/runs/**")
    page.get_by_role("button", name="Cancel this run").click()
    page.locator("[data-run-status]", has_text="Cancelled by you").wait_for()
    page.wait_for_function("document.querySelector('[data-run-chart]').dataset.final === 'true'")
    assert page.evaluate("document.querySelector('[data-progress]').value") < 1
    assert "Cancelled at" in page.locator("[data-eta]").inner_text()
    assert page.locator("[data-verdict]").count() == 0
    page.reload()
    assert "Cancelled by you" in page.locator("[data-run-status]").inner_text()
