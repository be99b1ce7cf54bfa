"""The registry of experiments: adding one means adding its module here."""

from . import dual_write, idempotency, quorums, reconciliation, retries, saga
from .base import Experiment

EXPERIMENTS: dict[str, Experiment] = {e.slug: e for e in [dual_write.EXPERIMENT, idempotency.EXPERIMENT, quorums.EXPERIMENT, reconciliation.EXPERIMENT, retries.EXPERIMENT, saga.EXPERIMENT]}


def get_experiment(slug: str) -> Experiment | None:
    return EXPERIMENTS.get(slug)
