"""How a learner's guess compares with what a run measured: plain logic, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass

# Within this share of the measured value (or 1, for small numbers) a guess counts as right.
CLOSE_ENOUGH = 0.1


@dataclass(frozen=True)
class PredictionOutcome:
    predicted: int
    actual: int
    off_by: int  # predicted - actual
    right: bool

    @property
    def direction(self) -> str:
        return "high" if self.off_by > 0 else "low"

    @property
    def off_by_abs(self) -> int:
        return abs(self.off_by)


def prediction_outcome(predicted: int | None, actual) -> PredictionOutcome | None:
    if predicted is None or not isinstance(actual, (int, float)):
        return None
    actual = round(actual)
    off_by = predicted - actual
    return PredictionOutcome(predicted, actual, off_by, abs(off_by) <= max(1, CLOSE_ENOUGH * abs(actual)))


def why_sentence(checks, actual) -> str:
    """One sentence from the verdict that explains the headline number."""
    check = next((c for c in checks if c.value == actual and c.explanation), None)
    check = check or next((c for c in checks if c.explanation), None)
    if check is None:
        return ""
    text = check.explanation
    end = text.find(". ")
    return text if end == -1 else text[: end + 1]


def prediction_record(runs, summary_key: str) -> dict:
    """A learner's guesses on one experiment, newest first, and how many were right."""
    rows = []
    for run in runs:
        outcome = prediction_outcome(run.prediction, (run.summary or {}).get(summary_key))
        if outcome is not None:
            rows.append({"run": run, "outcome": outcome})
    return {"rows": rows, "right": sum(row["outcome"].right for row in rows)}
