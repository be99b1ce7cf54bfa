"""The contract every experiment module fulfils.

An experiment is a seeded scenario that emits frames (small dicts of
time-stamped measurements) as it runs. The web, the worker and the CLI all
drive it through this one interface; the scenario itself knows nothing of
Django, Celery or Redis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from django import forms

Frame = dict[str, Any]

# The two engines an experiment may offer: a seeded model, or the real components.
SIMULATION = "simulation"
LIVE = "live"
Emit = Callable[[Frame], None]


@dataclass(frozen=True)
class Preset:
    label: str
    description: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Trace:
    """One line of a chart: which frame keys give its x and y."""

    name: str
    y: str
    x: str = "t_ms"
    color: str = ""
    dash: str = "solid"


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    x_title: str
    y_title: str
    traces: list[Trace]
    # Parameters a run must have for this chart to mean anything, e.g. {"mode": "flaky-dependency"}.
    only_when: dict[str, Any] = field(default_factory=dict)

    def applies(self, params: dict[str, Any]) -> bool:
        return all(params.get(name) == value for name, value in self.only_when.items())

    def to_figure(self, frames: list[Frame], shapes: list[dict] | None = None) -> dict:
        """A Plotly figure dict (data + layout) holding these frames."""
        return {
            "data": [
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": trace.name,
                    "x": [frame[trace.x] for frame in frames],
                    "y": [frame[trace.y] for frame in frames],
                    "line": {"color": trace.color, "dash": trace.dash} if trace.color else {"dash": trace.dash},
                    "meta": {"x": trace.x, "y": trace.y},
                }
                for trace in self.traces
            ],
            "layout": {
                "title": {"text": self.title, "font": {"size": 15}},
                "xaxis": {"title": {"text": self.x_title}, "rangemode": "tozero"},
                "yaxis": {"title": {"text": self.y_title}, "rangemode": "tozero"},
                "legend": {"orientation": "h", "y": -0.25},
                "margin": {"t": 48, "r": 16, "b": 16, "l": 56},
                "hovermode": "x unified",
                "shapes": shapes or [],
            },
        }


@dataclass(frozen=True)
class Check:
    """One line of a verdict: a measured number and, for an invariant, whether it held.

    `ok` is True or False for an invariant (held / broken) and None for a plain
    measurement, which gets no badge: "repairs made: 0" neither holds nor breaks.
    """

    label: str
    value: Any
    ok: bool | None
    explanation: str = ""

    @property
    def is_invariant(self) -> bool:
        return self.ok is not None


@dataclass(frozen=True)
class Prediction:
    """The headline number a learner guesses before a run, and where the run reports it."""

    question: str  # e.g. "How many orders will end up with no event?"
    summary_key: str  # the summary field that holds the answer
    max_value: int = 1_000_000


@dataclass(frozen=True)
class Experiment:
    slug: str
    title: str
    what_you_will_see: str
    lesson_slug: str
    form_class: type[forms.Form]
    presets: dict[str, Preset]
    # run(params, seed, emit) -> summary; deterministic for a given params and seed.
    run: Callable[[dict[str, Any], int, Emit], dict[str, Any]]
    charts: list[Chart]
    # verdict(summary) -> the invariants checked and whether they held.
    verdict: Callable[[dict[str, Any]], list[Check]]
    table_columns: list[tuple[str, str]] = field(default_factory=list)  # (frame key, heading)
    # shapes(params) -> Plotly shapes known before the run starts, e.g. a fault window.
    shapes: Callable[[dict[str, Any]], list[dict]] = lambda params: []
    prediction: Prediction | None = None
    # progress(params, frame) -> 0..1, how far along a run is at this frame (for the progress bar and ETA).
    progress: Callable[[dict[str, Any], Frame], float] = lambda params, frame: 0.0
    # summary_figures(summary) -> Plotly figures drawn once a run is over, from its summary
    # (e.g. a Gantt chart of sampled sagas), for what is not a series over time.
    summary_figures: Callable[[dict[str, Any]], list[dict]] = lambda summary: []

    def default_params(self) -> dict[str, Any]:
        form = self.form_class()
        return {name: field.initial for name, field in form.fields.items()}

    def clean_params(self, data: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
        """Validate raw parameters against the experiment's bounded form."""
        merged = {**self.default_params(), **data}
        form = self.form_class(data=merged)
        if form.is_valid():
            return form.cleaned_data, {}
        return None, {name: [str(e) for e in errors] for name, errors in form.errors.items()}

    def figures(self, frames: list[Frame], params: dict[str, Any]) -> list[dict]:
        shapes = self.shapes(params)
        sampled = downsample(frames, MAX_POINTS_PER_TRACE)
        return [chart.to_figure(sampled, shapes) for chart in self.charts if chart.applies(params)]

    def compare_figures(self, runs: list[tuple[str, Any]]) -> list[dict]:
        """Each chart with the traces of several runs overlaid: run A solid, run B dashed."""
        figures = []
        for chart in self.charts:
            if not any(chart.applies(run.params) for _, run in runs):
                continue
            data = []
            for index, (label, run) in enumerate(runs):
                frames = downsample(run.frames, MAX_POINTS_PER_TRACE)
                for trace in chart.to_figure(frames)["data"]:
                    trace["name"] = f"{label} · {trace['name']}"
                    trace["line"] = {**trace["line"], "dash": "solid" if index == 0 else "dash"}
                    trace["legendgroup"] = label
                    data.append(trace)
            figure = chart.to_figure([])
            figure["data"] = data
            figures.append(figure)
        return figures

    def describe_params(self, params: dict[str, Any]) -> list[tuple[str, Any]]:
        """(label, value) pairs for people, in the form's order."""
        fields = self.form_class.base_fields
        return [(fields[name].label or name.replace("_", " ").capitalize(), params[name]) for name in fields
                if name in params and field_applies(self.form_class, name, params)]

    def table(self, frames: list[Frame], max_rows: int = 25) -> dict:
        """The charts' numbers as a table for screen readers, sampled to max_rows."""
        sampled = downsample(frames, max_rows)
        return {
            "columns": [heading for _, heading in self.table_columns],
            "rows": [[frame[key] for key, _ in self.table_columns] for frame in sampled],
        }


MAX_POINTS_PER_TRACE = 5000


# A form may say which of its fields apply only to one scenario, as a class attribute
# `show_when = {"field": ("mode", "flaky-dependency")}`: the page hides the others.
def field_applies(form_class: type[forms.Form], name: str, params: dict[str, Any]) -> bool:
    condition = getattr(form_class, "show_when", {}).get(name)
    return condition is None or params.get(condition[0]) == condition[1]


def mark_conditional_fields(form: forms.Form) -> None:
    """Put each field's show_when on its widget, for static/js/experiment_form.js to read."""
    for name, (other, value) in getattr(form, "show_when", {}).items():
        form.fields[name].widget.attrs.update({"data-show-when": other, "data-show-value": value})


def downsample(frames: list[Frame], limit: int) -> list[Frame]:
    """Keep at most `limit` frames, evenly spaced, always keeping the last one."""
    if len(frames) <= limit:
        return list(frames)
    step = (len(frames) - 1) / (limit - 1)
    return [frames[round(i * step)] for i in range(limit)]


def shaded_window(x0: float, x1: float, label: str) -> dict:
    """A Plotly shape shading a fault's window on a time axis, so cause and effect line up on every chart."""
    return {
        "type": "rect", "xref": "x", "yref": "paper", "x0": x0, "x1": x1, "y0": 0, "y1": 1,
        "fillcolor": "#f59e0b", "opacity": 0.15, "line": {"width": 0}, "layer": "below",
        "label": {"text": label, "textposition": "top center", "font": {"size": 11}},
    }


def gantt_figure(title: str, segments: list[dict], colors: dict[str, str]) -> dict:
    """A timeline of labelled segments, one row per `row`: [{row, label, start_ms, end_ms, outcome}].

    Drawn as horizontal bars (base = start, length = duration), one trace per
    outcome so the legend explains the colours.
    """
    traces: dict[str, dict] = {}
    for segment in segments:
        outcome = segment["outcome"]
        trace = traces.setdefault(outcome, {
            "type": "bar", "orientation": "h", "name": outcome, "x": [], "y": [], "base": [], "text": [],
            "marker": {"color": colors.get(outcome, "#64748b")}, "textposition": "inside",
            "hovertemplate": "%{y}: %{text}<br>%{base} ms → +%{x} ms<extra></extra>",
        })
        trace["x"].append(max(1, segment["end_ms"] - segment["start_ms"]))
        trace["y"].append(segment["row"])
        trace["base"].append(segment["start_ms"])
        trace["text"].append(segment["label"])
    rows = list(dict.fromkeys(segment["row"] for segment in segments))  # in the order given
    return {
        "data": list(traces.values()),
        "layout": {
            "title": {"text": title}, "barmode": "overlay",
            "xaxis": {"title": {"text": "simulated time (ms)"}},
            "yaxis": {"categoryorder": "array", "categoryarray": rows, "autorange": "reversed", "automargin": True},
            "height": 120 + 26 * len(rows), "margin": {"t": 48, "r": 16, "b": 48, "l": 16},
            "legend": {"orientation": "h", "y": -0.2},
        },
    }
