"""The registry of experiments: adding one means adding its module here."""

from . import (
    consistency_models,
    crdt,
    dual_write,
    hashing,
    idempotency,
    locks,
    quorums,
    reconciliation,
    resilience,
    retries,
    saga,
)
from .base import Experiment

# One line each, so that experiments added side by side merge cleanly.
EXPERIMENTS: dict[str, Experiment] = {e.slug: e for e in [
    consistency_models.EXPERIMENT,
    crdt.EXPERIMENT,
    dual_write.EXPERIMENT,
    hashing.EXPERIMENT,
    idempotency.EXPERIMENT,
    locks.EXPERIMENT,
    quorums.EXPERIMENT,
    reconciliation.EXPERIMENT,
    resilience.EXPERIMENT,
    retries.EXPERIMENT,
    saga.EXPERIMENT,
]}


def get_experiment(slug: str) -> Experiment | None:
    return EXPERIMENTS.get(slug)
