"""Consistency models and session guarantees: count the anomalies, switch on what removes them, pay in latency.

The simulation is in model.py, the lag and its spike in faults.py, the
linearizability checker in checker.py; this module holds the form, the
presets, the charts, the verdict and the space-time diagram.
"""

from __future__ import annotations

from typing import Any

from django import forms

from ..base import Chart, Check, Emit, Experiment, Prediction, Preset, Trace, shaded_window
from . import model
from .checker import LINEARIZABLE, NOT_LINEARIZABLE, UNKNOWN
from .model import ANOMALY_LABELS, BS, CP, KIND_LABELS, KINDS, LIN, LIN_LEADER, LIN_OFF, LIN_QUORUM, MR, MW, RYW

LIN_CHOICES = [
    (LIN_OFF, "Off: stock reads from any replica"),
    (LIN_LEADER, "Leader reads: every stock read goes to the primary"),
    (LIN_QUORUM, "Quorum reads: a majority answers, writes wait for a majority"),
]
COLORS = {RYW: "#dc2626", MR: "#d97706", MW: "#7c3aed", CP: "#0891b2", BS: "#16a34a", LIN: "#2563eb"}
SCENE_WORDS = {
    RYW: "your profile, right after you edited it",
    MR: "a comment thread, re-read",
    MW: "your cart: add, then remove",
    CP: "a question and its answer, on two partitions",
    BS: "a dashboard with a freshness bound",
    LIN: "stock counters many clients read and write",
}


class ConsistencyModelsForm(forms.Form):
    operations = forms.IntegerField(
        min_value=100, max_value=100_000, initial=5000, label="Operations",
        help_text="100 to 100,000 reads and writes, about one a millisecond.",
    )
    sessions = forms.IntegerField(min_value=1, max_value=50, initial=8, label="Client sessions", help_text="1 to 50.")
    replicas = forms.IntegerField(min_value=1, max_value=5, initial=2, label="Replicas", help_text="1 to 5, besides the primary.")
    lag_mean_ms = forms.FloatField(
        min_value=0, max_value=1000, initial=20, label="Mean replication lag (ms)",
        help_text="0 to 1,000; exponential, drawn per write and per replica.",
    )
    spike_start_ms = forms.FloatField(min_value=0, max_value=100_000, initial=1000, label="Lag spike starts at (ms)")
    spike_ms = forms.FloatField(
        min_value=0, max_value=60_000, initial=500, label="Lag spike lasts (ms)",
        help_text="0 for none. The spiked replicas apply nothing until it ends.",
    )
    spike_replicas = forms.IntegerField(
        min_value=0, max_value=5, initial=1, label="Replicas the spike hits", help_text="The first this many replicas."
    )
    primary_distance_ms = forms.FloatField(
        min_value=1, max_value=200, initial=10, label="Primary one way (ms)",
        help_text="1 to 200; the replicas sit next to the clients, the primary this far away.",
    )
    staleness_bound_ms = forms.FloatField(
        min_value=0, max_value=10_000, initial=50, label="Staleness bound k (ms)",
        help_text="For bounded staleness: no dashboard read may miss a write older than this.",
    )
    read_your_writes = forms.BooleanField(required=False, initial=False, label="Read your writes")
    monotonic_reads = forms.BooleanField(required=False, initial=False, label="Monotonic reads")
    monotonic_writes = forms.BooleanField(required=False, initial=False, label="Monotonic writes")
    consistent_prefix = forms.BooleanField(required=False, initial=False, label="Consistent prefix")
    bounded_staleness = forms.BooleanField(required=False, initial=False, label="Bounded staleness (k ms)")
    linearizable = forms.ChoiceField(choices=LIN_CHOICES, initial=LIN_OFF, label="Linearizable stock")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (cleaned.get("spike_replicas") or 0) > (cleaned.get("replicas") or 5):
            self.add_error("spike_replicas", "The spike cannot hit more replicas than there are.")
        return cleaned


def run(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    return model.run_model(params, seed, emit)


def _is_on(summary: dict[str, Any], kind: str) -> bool:
    return next(row["on"] for row in summary["latency"] if row["kind"] == kind)


def verdict(summary: dict[str, Any]) -> list[Check]:
    checks = []
    for row in summary["latency"]:
        kind = row["kind"]
        count = summary["anomalies"][kind]
        cost = f"p99 {row['p99_ms']} ms against {row['p99_ms_without']} ms without"
        if row["on"]:
            what = f"Guaranteed, at a price: {cost}"
            if row["redirected"]:
                what += f"; {row['redirected']} of {row['operations']} sent on to the primary"
            if row["write_mean_ms"] > row["write_mean_ms_without"]:
                what += f"; writes take {row['write_mean_ms']} ms on average, against {row['write_mean_ms_without']} ms"
            checks.append(Check(ANOMALY_LABELS[kind], count, count == 0, what + "."))
        else:
            checks.append(Check(
                ANOMALY_LABELS[kind], count, None,
                f"Not guaranteed, so allowed ({SCENE_WORDS[kind]}); p99 latency {row['p99_ms']} ms.",
            ))
    result = summary["checker"]
    lin_on = _is_on(summary, LIN)
    if result["verdict"] == LINEARIZABLE:
        explanation = f"All {result['keys']} stock keys' histories can be ordered in real time ({result['steps']:,} search steps)."
    elif result["verdict"] == NOT_LINEARIZABLE:
        ops = "; ".join(
            f"{op['client']} {op['kind']} v{op['version']} [{op['call_ms']}–{op['ret_ms']} ms]" for op in result["witness"]
        )
        explanation = (
            f"{result['keys_not_linearizable']} of {result['keys']} stock keys cannot be ordered. On {result['witness_key']}, "
            f"these {len(result['witness'])} operations cannot be put in any order that respects real time: {ops}."
        )
    else:
        explanation = (
            f"The search reached its bound on {result['keys_unknown']} of {result['keys']} stock keys before deciding, "
            "so nothing is claimed for them: too many operations overlap (a far primary, long lags, quorum waits)."
        )
    # An undecided search claims nothing either way, so it gets no badge.
    decided = lin_on and result["verdict"] != UNKNOWN
    checks.append(Check("Linearizability checker on the stock history", result["verdict"],
                        (result["verdict"] == LINEARIZABLE) if decided else None, explanation))
    return checks


def shapes(params: dict[str, Any]) -> list[dict]:
    """Shade the lag spike."""
    if not params["spike_ms"] or not params["spike_replicas"]:
        return []
    return [shaded_window(params["spike_start_ms"], params["spike_start_ms"] + params["spike_ms"], "lag spike")]


def space_time_figure(picture: dict[str, Any]) -> dict:
    """Lanes for a few sessions, the primary and the replicas; each operation's messages as lines between them.

    A request runs from its client's lane down to the node that served it, the
    answer back up; an anomalous operation is red and carries its one-line
    explanation; the write it missed is drawn as a dotted replication arrow that
    reaches the replica too late.
    """
    ok = {"x": [], "y": [], "text": []}
    bad = {"x": [], "y": [], "text": []}
    ends = {"x": [], "y": [], "text": [], "color": []}
    annotations = []
    for op in picture["operations"]:
        line = bad if op["anomaly"] else ok
        x, y = [op["call_ms"]], [op["client"]]
        for node, arrived, answered in op["hops"]:
            x += [arrived, answered]
            y += [node, node]
        x.append(op["ret_ms"])
        y.append(op["client"])
        line["x"] += x + [None]
        line["y"] += y + [None]
        line["text"] += [op["label"]] * len(x) + [None]
        ends["x"].append(op["ret_ms"])
        ends["y"].append(op["client"])
        ends["text"].append(op["label"] + (f"<br>{op['explanation']}" if op["anomaly"] else ""))
        ends["color"].append(COLORS[op["anomaly"]] if op["anomaly"] else "#64748b")
        if op["anomaly"]:
            annotations.append({
                "x": op["ret_ms"], "y": op["client"], "xref": "x", "yref": "y", "text": KIND_LABELS[op["anomaly"]],
                "hovertext": op["explanation"], "showarrow": True, "arrowhead": 0, "ax": 0, "ay": -24,
                "font": {"size": 10, "color": COLORS[op["anomaly"]]},
            })
    replication = {"x": [], "y": [], "text": []}
    for arrow in picture["replication"]:
        replication["x"] += [arrow["commit_ms"], arrow["apply_ms"], None]
        replication["y"] += ["primary", arrow["replica"], None]
        replication["text"] += [arrow["label"], arrow["label"], None]
    data = [
        {"type": "scatter", "mode": "lines", "name": "operation", "line": {"color": "#94a3b8", "width": 1}, "hoverinfo": "text", **ok},
        {"type": "scatter", "mode": "lines", "name": "anomaly", "line": {"color": "#dc2626", "width": 2}, "hoverinfo": "text", **bad},
        {"type": "scatter", "mode": "lines", "name": "replication of the missed write", "hoverinfo": "text",
         "line": {"color": "#2563eb", "width": 1, "dash": "dot"}, **replication},
        {"type": "scatter", "mode": "markers", "name": "result", "hoverinfo": "text", "x": ends["x"], "y": ends["y"],
         "text": ends["text"], "marker": {"color": ends["color"], "size": 8}, "showlegend": False},
    ]
    return {
        "data": data,
        "layout": {
            "title": {"text": "Space-time diagram: a few sessions' operations, anomalies in colour"},
            "xaxis": {"title": {"text": "simulated time (ms)"}, "range": [picture["start_ms"], picture["end_ms"]]},
            "yaxis": {"type": "category", "categoryorder": "array", "categoryarray": picture["lanes"],
                      "autorange": "reversed", "automargin": True},
            "annotations": annotations,
            "height": 160 + 48 * len(picture["lanes"]),
            "margin": {"t": 48, "r": 16, "b": 48, "l": 16},
            "legend": {"orientation": "h", "y": -0.2},
            "hovermode": "closest",
        },
    }


def summary_figures(summary: dict[str, Any]) -> list[dict]:
    picture = summary.get("diagram")
    return [space_time_figure(picture)] if picture and picture["operations"] else []


EXPERIMENT = Experiment(
    slug="consistency-models",
    title="Consistency models: anomalies and the guarantees that remove them",
    what_you_will_see=(
        "A primary far away, replicas next to the clients that lag behind it, and sessions that read through a load "
        "balancer. Six classic anomalies pile up: your own edit missing, a thread going back in time, a cart applied "
        "out of order, an answer before its question, a dashboard staler than its bound, a stock read older than a "
        "write already confirmed. Switch guarantees on: each count drops to zero, the others stay as they were, and "
        "the guarded reads pay in latency. A linearizability checker judges the stock history and shows the few "
        "operations that cannot be ordered."
    ),
    lesson_slug="consistency-models",
    form_class=ConsistencyModelsForm,
    presets={
        "eventual": Preset("Eventual only", "No guarantee: every read from whichever replica the balancer picks.", {}),
        "session": Preset(
            "Session guarantees", "Read your writes, monotonic reads, monotonic writes and consistent prefix.",
            {RYW: True, MR: True, MW: True, CP: True},
        ),
        "bounded": Preset("Bounded staleness", "No dashboard read misses a write older than 50 ms.", {BS: True}),
        "leader": Preset("Linearizable: leader reads", "Stock reads go to the primary.", {LIN: LIN_LEADER}),
        "quorum": Preset("Linearizable: quorum reads", "Stock reads ask a majority; writes wait for one.", {LIN: LIN_QUORUM}),
        "everything": Preset(
            "Everything on", "Every guarantee at once, with leader reads for the stock.",
            {RYW: True, MR: True, MW: True, CP: True, BS: True, LIN: LIN_LEADER},
        ),
    },
    run=run,
    charts=[
        Chart(
            id="anomalies", title="Anomalies so far, by kind", x_title="simulated time (ms)", y_title="anomalies",
            traces=[Trace(KIND_LABELS[kind], kind, color=COLORS[kind]) for kind in KINDS],
        ),
        Chart(
            id="latency", title="Latency of the operations each guarantee guards", x_title="simulated time (ms)", y_title="mean latency (ms)",
            traces=[Trace(KIND_LABELS[kind], f"latency_{model.SCENE_OF[kind]}", color=COLORS[kind], dash="dot" if kind == MW else "solid")
                    for kind in KINDS],
        ),
        Chart(
            id="lag", title="Replication delay of the writes committed at each moment", x_title="simulated time (ms)", y_title="delay (ms)",
            traces=[Trace("spiked replicas (or replica 1), max", "delay_first", color="#dc2626"),
                    Trace("other replicas, max", "delay_others", color="#2563eb", dash="dash")],
        ),
    ],
    verdict=verdict,
    summary_figures=summary_figures,
    shapes=shapes,
    prediction=Prediction("How many anomalies of all kinds will the clients see?", "anomalies_total", 100_000),
    progress=lambda params, frame: min(1.0, frame["t_ms"] / max(1.0, params["operations"] * model.ARRIVAL_MEAN_MS)),
    table_columns=[
        ("t_ms", "Time (ms)"),
        *[(kind, KIND_LABELS[kind].capitalize()) for kind in KINDS],
        ("delay_first", "Delay, spiked replicas (ms)"),
    ],
)
