"""The registry of experiments: adding one means adding its module here."""

from . import (
    clocks,
    consistency_models,
    crdt,
    dual_write,
    hashing,
    idempotency,
    locks,
    messaging,
    quorums,
    raft,
    reconciliation,
    resilience,
    retries,
    saga,
)
from .base import Experiment

# One line each, so that experiments added side by side merge cleanly.
EXPERIMENTS: dict[str, Experiment] = {e.slug: e for e in [
    clocks.EXPERIMENT,
    consistency_models.EXPERIMENT,
    crdt.EXPERIMENT,
    dual_write.EXPERIMENT,
    hashing.EXPERIMENT,
    idempotency.EXPERIMENT,
    locks.EXPERIMENT,
    messaging.EXPERIMENT,
    quorums.EXPERIMENT,
    raft.EXPERIMENT,
    reconciliation.EXPERIMENT,
    resilience.EXPERIMENT,
    retries.EXPERIMENT,
    saga.EXPERIMENT,
]}


def get_experiment(slug: str) -> Experiment | None:
    return EXPERIMENTS.get(slug)
