"""The CLI runs an experiment without the web and prints the same JSON every time."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["run_experiment", "dual-write", "--seed", "7", "--set", "mode=naive", "--set", "orders=1000", "--json"]


def cli():
    return subprocess.run([sys.executable, "manage.py", *ARGS], cwd=ROOT, capture_output=True, text=True, check=True)


def test_the_same_seed_and_parameters_print_byte_identical_json_across_processes():
    first, second = cli().stdout, cli().stdout
    assert first == second
    summary = json.loads(first)["summary"]
    assert summary["orders_committed"] == 1000
    assert summary["orders_without_event"] > 0


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
