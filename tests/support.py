"""Small helpers the experiment tests share."""

from playground.experiments.base import Experiment


def valid_params(experiment: Experiment, **overrides) -> dict:
    """The experiment's parameters with these overrides; the test fails if any is out of bounds."""
    cleaned, errors = experiment.clean_params(overrides)
    assert not errors, errors
    return cleaned


def run_collecting(experiment: Experiment, params: dict, seed: int = 7) -> tuple[dict, list[dict]]:
    """Run the experiment; return its summary and every frame it emitted."""
    frames: list[dict] = []
    summary = experiment.run(params, seed, frames.append)
    return summary, frames
