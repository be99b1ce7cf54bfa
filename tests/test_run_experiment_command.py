"""The CLI runs an experiment without the web and prints the same JSON every time."""

import json

import pytest
from django.core.management import CommandError, call_command

ARGS = ["run_experiment", "dual-write", "--seed", "7", "--set", "mode=naive", "--set", "orders=1000", "--json"]

# Byte-identical output across processes is checked for every experiment in test_every_experiment.py.


def test_the_json_matches_a_direct_simulation(capsys):
    from playground.experiments import get_experiment

    call_command(*ARGS)
    printed = json.loads(capsys.readouterr().out)
    experiment = get_experiment("dual-write")
    params, _ = experiment.clean_params({"mode": "naive", "orders": "1000"})
    assert printed["summary"] == experiment.run(params, 7, lambda frame: None)


@pytest.mark.parametrize(
    "args, message",
    [
        (["no-such-experiment"], "unknown experiment 'no-such-experiment'"),
        (["dual-write", "--set", "orders"], "expected KEY=VALUE"),
        (["dual-write", "--set", "colour=red"], "unknown parameter"),
        (["dual-write", "--set", "orders=5"], "orders: Ensure this value is greater than or equal to 10"),
        (["dual-write", "--seed", "-1"], "--seed must be between"),
    ],
)
def test_bad_arguments_are_clear_errors(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("run_experiment", *args)


@pytest.mark.parametrize("slug", sorted(__import__("playground.experiments", fromlist=["EXPERIMENTS"]).EXPERIMENTS))
def test_every_experiment_runs_from_its_first_preset(capsys, slug):
    from playground.experiments import get_experiment

    experiment = get_experiment(slug)
    name, preset = next(iter(experiment.presets.items()))
    call_command("run_experiment", slug, "--preset", name, "--json")
    printed = json.loads(capsys.readouterr().out)
    assert printed["preset"] == name
    assert printed["params"] == json.loads(json.dumps(experiment.clean_params(preset.params)[0]))


def test_set_overrides_the_preset_and_the_quorums_summary_carries_t_visibility(capsys):
    call_command("run_experiment", "quorums", "--preset", "lnkd-disk", "--set", "read_quorum=2", "--json")
    printed = json.loads(capsys.readouterr().out)
    assert printed["params"]["distribution"] == "lnkd-disk" and printed["params"]["read_quorum"] == 2
    grid = printed["summary"]["t_visibility"]
    assert [t for t, _ in grid] == [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]
    assert all(0 <= p <= 1 for _, p in grid)


def test_an_unknown_preset_is_a_clear_error_naming_the_known_ones():
    with pytest.raises(CommandError, match="unknown preset of quorums; known: dynamo-strict"):
        call_command("run_experiment", "quorums", "--preset", "nope")
