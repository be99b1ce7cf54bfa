"""The registry of experiments: adding one means adding its module here."""

from . import consistency_models, dual_write, idempotency, reconciliation, retries, saga
from .base import Experiment

EXPERIMENTS: dict[str, Experiment] = {e.slug: e for e in [consistency_models.EXPERIMENT, dual_write.EXPERIMENT, idempotency.EXPERIMENT, reconciliation.EXPERIMENT, retries.EXPERIMENT, saga.EXPERIMENT]}


def get_experiment(slug: str) -> Experiment | None:
    return EXPERIMENTS.get(slug)
