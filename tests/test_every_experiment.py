"""What every registered experiment promises, checked for each one in the registry."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from playground.experiments import EXPERIMENTS

ROOT = Path(__file__).resolve().parent.parent
SLUGS = sorted(EXPERIMENTS)


def cli_json_of_every_experiment(seed: int = 11) -> list[dict[str, str]]:
    """Every experiment's `run_experiment SLUG --seed N --json` output, from two processes started side by side
    (each its own hash seed and start-up; one process runs them all, as 28 would cost 28 Django start-ups)."""
    script = ("import io, json\n"
              "from django.core.management import call_command\n"
              "out = {}\n"
              f"for slug in {SLUGS!r}:\n"
              "    buffer = io.StringIO()\n"
              f"    call_command('run_experiment', slug, '--seed', '{seed}', '--json', stdout=buffer)\n"
              "    out[slug] = buffer.getvalue()\n"
              "print(json.dumps(out))\n")
    command = [sys.executable, "manage.py", "shell", "--no-imports", "-c", script]
    processes = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        outputs.append(json.loads(out))
    return outputs


@pytest.mark.slow
def test_the_cli_prints_byte_identical_json_for_the_same_seed():
    first, second = cli_json_of_every_experiment()
    assert set(first) == set(SLUGS)
    assert [slug for slug in SLUGS if first[slug] != second[slug]] == []
    assert all(json.loads(first[slug])["experiment"] == slug for slug in SLUGS)


@pytest.mark.parametrize("slug", SLUGS)
def test_the_contract_is_complete(slug):
    experiment = EXPERIMENTS[slug]
    params = experiment.default_params()
    cleaned, errors = experiment.clean_params({})
    assert not errors, errors
    for preset in experiment.presets.values():
        assert not experiment.clean_params(preset.params)[1], preset.label
    frames = []
    summary = experiment.run(cleaned, 3, frames.append)
    assert 10 <= len(frames) <= 400
    times = [frame["t_ms"] for frame in frames]
    assert times == sorted(times)
    assert experiment.prediction and experiment.prediction.summary_key in summary
    assert experiment.verdict(summary)
    for figure in experiment.figures(frames, cleaned):
        for trace in figure["data"]:
            assert len(trace["x"]) == len(frames)
    table = experiment.table(frames)
    assert table["rows"] and len(table["columns"]) == len(table["rows"][0])
    assert 0 <= experiment.progress(params, frames[len(frames) // 2]) <= 1
    json.dumps(summary)  # storable as-is


@pytest.mark.django_db
@pytest.mark.parametrize("slug", SLUGS)
def test_the_experiment_page_offers_presets_bounded_fields_and_a_prediction(client, slug):
    experiment = EXPERIMENTS[slug]
    html = client.get(f"/experiments/{slug}/").content.decode()
    assert experiment.title.replace("'", "&#x27;") in html
    assert "Your prediction:" in html
    for name in experiment.presets:
        assert f'href="?preset={name}"' in html
    assert 'max="' in html
