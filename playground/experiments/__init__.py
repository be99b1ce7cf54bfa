"""The registry of experiments: adding one means adding its module here."""

from . import dual_write, idempotency, locks, reconciliation, retries, saga
from .base import Experiment

EXPERIMENTS: dict[str, Experiment] = {e.slug: e for e in [dual_write.EXPERIMENT, idempotency.EXPERIMENT, locks.EXPERIMENT, reconciliation.EXPERIMENT, retries.EXPERIMENT, saga.EXPERIMENT]}


def get_experiment(slug: str) -> Experiment | None:
    return EXPERIMENTS.get(slug)
