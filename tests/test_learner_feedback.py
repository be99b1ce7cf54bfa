"""Feedback that teaches (issue 9): predictions, verdict badges, compare candidates, error pages."""

import pytest
from django.test import override_settings

from playground.experiments.base import LIVE
from playground.experiments import EXPERIMENTS, get_experiment
from playground.models import ExperimentRun
from playground.predictions import prediction_outcome, why_sentence
from tests.support import run_collecting, valid_params

# Plain counts the issue names: they neither hold nor break.
MEASUREMENTS = {
    "reconciliation": ["Repairs made", "Average time a product stayed wrong (ms)"],
    "saga": ["Sagas completed (T1…Tn)", "Sagas compensated (T1…Tj, Cj…C1)"],
    "dual-write": ["Duplicate deliveries"],
    "idempotency": ["Redeliveries"],
}


@pytest.mark.parametrize("slug", sorted(EXPERIMENTS))
def test_each_verdict_has_invariants_and_plain_counts_are_measurements(slug):
    experiment = get_experiment(slug)
    verdicts = []
    # A preset with no guarantee switched on (consistency-models' "eventual") may hold only
    # measurements, so look through the simulated presets until one states an invariant.
    for preset in experiment.presets.values():
        if preset.params.get("engine") == LIVE:
            continue
        summary, _ = run_collecting(experiment, valid_params(experiment, **preset.params))
        verdicts.append({check.label: check for check in experiment.verdict(summary)})
        if any(check.is_invariant for check in verdicts[-1].values()):
            break
    assert any(check.is_invariant for check in verdicts[-1].values())
    checks = verdicts[0]
    for label in MEASUREMENTS.get(slug, []):
        assert checks[label].ok is None, label


def test_a_guess_is_right_within_ten_percent_and_otherwise_says_how_far_off():
    assert prediction_outcome(105, 100).right and prediction_outcome(0, 0).right
    wrong = prediction_outcome(10, 37)
    assert not wrong.right and wrong.off_by_abs == 27 and wrong.direction == "low"
    assert prediction_outcome(None, 37) is None


def test_the_why_is_the_first_sentence_of_the_check_that_reports_the_number():
    experiment = get_experiment("dual-write")
    summary, _ = run_collecting(experiment, valid_params(experiment, **experiment.presets["naive"].params))
    lost = summary["orders_without_event"]
    assert why_sentence(experiment.verdict(summary), lost).startswith("Downstream services never hear of these orders")


@pytest.mark.django_db
def test_the_run_page_reveals_the_guess_and_the_experiment_page_keeps_the_record(client):
    experiment = get_experiment("dual-write")
    params = valid_params(experiment, **experiment.presets["naive"].params)
    client.get("/")
    client.session.save()
    session_key = client.session.session_key
    summary, frames = run_collecting(experiment, params)
    runs = [ExperimentRun.objects.create(experiment_slug="dual-write", params=params, seed=7, status="succeeded",
                                         summary=summary, frames=frames, prediction=guess, owner_session=session_key)
            for guess in (summary["orders_without_event"], 0, 0)]
    html = client.get(runs[1].get_absolute_url()).content.decode()
    assert f"Off by {summary['orders_without_event']}" in html and "too low" in html
    assert 'data-prediction-outcome="right"' in client.get(runs[0].get_absolute_url()).content.decode()
    # The same parameters and seed are one run: the compare list offers none of them twice (13).
    assert html.count('<option value="') == 0
    page = client.get("/experiments/dual-write/").content.decode()
    assert "data-prediction-record" in page and "1 of 3 close" in page


@pytest.mark.django_db
def test_a_missing_prediction_says_so_rather_than_out_of_bounds(client):
    experiment = get_experiment("dual-write")
    data = {**experiment.default_params(), "seed": 7}
    data = {k: v for k, v in data.items() if v is not None and v is not False}
    html = client.post("/experiments/dual-write/", data).content.decode()
    assert "Make your prediction first" in html and "out of bounds" not in html


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_in_debug_no_script_replaces_the_page_with_a_400_answer(client):
    # django-htmx's debug helper swaps any 400 over the whole page; our forms answer 400 with a partial.
    assert "django-htmx.js" not in client.get("/").content.decode()
