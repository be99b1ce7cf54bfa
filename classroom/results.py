"""A poll's results as plain data: counts per choice, or a histogram of numbers."""

from __future__ import annotations

import math

from .models import Answer, Poll

MAX_BINS = 10


def poll_results(poll: Poll) -> dict:
    values = list(Answer.objects.filter(poll=poll).values_list("value", flat=True))
    if poll.kind == Poll.Kind.NUMBER:
        bins = histogram([float(v) for v in values])
        labels, counts = [label for label, _, _ in bins], [count for _, _, count in bins]
        correct = []
    else:
        counts = [0] * len(poll.choices)
        for value in values:
            for index in value:
                if 0 <= index < len(counts):
                    counts[index] += 1
        labels = [f"{i + 1}. {text}" for i, text in enumerate(poll.choices)]
        correct = list(poll.correct or [])
    return {"total": len(values), "labels": labels, "counts": counts, "correct": correct}


def histogram(values: list[float]) -> list[tuple[str, float, int]]:
    """Up to MAX_BINS bins of equal width over the values' range: (label, centre, count)."""
    if not values:
        return []
    low, high = min(values), max(values)
    if low == high:
        return [(f"{low:g}", low, len(values))]
    width = _nice_width((high - low) / MAX_BINS)
    start = math.floor(low / width) * width
    bins = int((high - start) // width) + 1
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int((value - start) // width))] += 1
    return [(f"{start + i * width:g}–{start + (i + 1) * width:g}", start + (i + 0.5) * width, counts[i])
            for i in range(bins)]


def _nice_width(raw: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at least as wide as raw."""
    exponent = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 5, 10):
        if step * exponent >= raw:
            return step * exponent
    return 10 * exponent


def prediction_reveal(poll: Poll) -> dict | None:
    """Predictions beside the measured number, once the poll's run has finished."""
    from playground.models import ExperimentRun

    # Not poll.run: that would read the run's frames too, which the reveal never needs.
    run = ExperimentRun.objects.defer("frames").filter(id=poll.run_id).first() if poll.run_id else None
    if run is None or not run.summary or run.experiment is None or run.experiment.prediction is None:
        return None
    actual = run.summary.get(run.experiment.prediction.summary_key)
    if actual is None:
        return None
    answers = list(Answer.objects.filter(poll=poll).select_related("member"))
    bins = histogram([float(a.value) for a in answers])
    closest = None
    if answers and actual is not None:
        best = min(abs(float(a.value) - actual) for a in answers)
        closest = {"nicknames": sorted(a.member.nickname for a in answers if abs(float(a.value) - actual) == best),
                   "distance": best}
    figure = {
        "data": [{"type": "bar", "x": [centre for _, centre, _ in bins], "y": [count for _, _, count in bins],
                  "text": [label for label, _, _ in bins], "name": "predictions", "marker": {"color": "#94a3b8"},
                  "hovertemplate": "%{text}: %{y}<extra></extra>"}],
        "layout": {
            "title": {"text": f"Predictions ({len(answers)}) beside the measured result ({actual})"},
            "xaxis": {"title": {"text": "predicted value"}},
            "yaxis": {"title": {"text": "students"}, "rangemode": "tozero"},
            "shapes": [{"type": "line", "x0": actual, "x1": actual, "yref": "paper", "y0": 0, "y1": 1,
                        "line": {"color": "#dc2626", "width": 3}}],
            "annotations": [{"text": f"measured: {actual}", "x": actual, "yref": "paper", "y": 1,
                             "showarrow": False, "yanchor": "bottom", "font": {"color": "#dc2626", "size": 16}}],
            "margin": {"t": 64, "r": 16, "b": 64, "l": 48}, "height": 320,
        },
    }
    return {"actual": actual, "count": len(answers), "table": [(label, count) for label, _, count in bins], "figure": figure,
            "closest": closest, "question": run.experiment.prediction.question}
