"""Clocks: last-write-wins under skew, Lamport timestamps, hybrid logical clocks and version vectors.

The simulation is in model.py, the clocks and the workload in faults.py; this
module holds the form, the presets, the charts and the verdict.
"""

from __future__ import annotations

from typing import Any

from django import forms

from ..base import Chart, Check, Emit, Experiment, Prediction, Preset, Trace
from . import model
from .model import HLC, LABELS, LAMPORT, MAX_REPLICAS, RULES, SWEEP_SKEWS_MS, SWEEP_WRITES, VV, WALL

# Every rule resolves every write, and the sweep replays the first writes at each of its skews.
MAX_OPERATIONS = 100_000
COLORS = {WALL: "#dc2626", LAMPORT: "#d97706", HLC: "#7c3aed", VV: "#16a34a"}
REPLICA_COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#64748b"]


class ClocksForm(forms.Form):
    writes = forms.IntegerField(min_value=100, max_value=19_000, initial=5000, label="Writes",
                                help_text="100 to 19,000 read-modify-writes; each of the four rules resolves all of them.")
    keys = forms.IntegerField(min_value=1, max_value=10_000, initial=100, label="Keys",
                              help_text="1 to 10,000; fewer keys, more concurrent writes to the same key.")
    replicas = forms.IntegerField(min_value=2, max_value=MAX_REPLICAS, initial=3, label="Replicas",
                                  help_text=f"2 to {MAX_REPLICAS}; each accepts writes and replicates them to the others.")
    interval_ms = forms.FloatField(min_value=0.1, max_value=1000, initial=2, label="Mean gap between writes (ms)",
                                   help_text="0.1 to 1,000; arrivals are Poisson.")
    think_ms = forms.FloatField(min_value=0, max_value=1000, initial=5, label="Read to write (ms)",
                                help_text="0 to 1,000; a client reads, then writes back after this long on average.")
    replication_ms = forms.FloatField(min_value=0, max_value=5000, initial=10, label="Mean replication delay (ms)",
                                      help_text="0 to 5,000; exponential, drawn per write and per replica.")
    skew_ms = forms.FloatField(min_value=0, max_value=10_000, initial=50, label="Clock skew (ms)",
                               help_text="0 to 10,000: the replicas' offsets are spread evenly over this range.")
    drift_ppm = forms.FloatField(min_value=0, max_value=10_000, initial=50, label="Drift (ppm)",
                                 help_text="0 to 10,000; each clock runs up to this much fast or slow (quartz: tens of ppm).")
    step_back_ms = forms.FloatField(min_value=0, max_value=10_000, initial=0, label="Step back (ms)",
                                    help_text="0 to 10,000; halfway through, replica 1's clock is set back this far.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        writes = cleaned.get("writes")
        if writes and writes * len(RULES) + min(writes, SWEEP_WRITES) * len(SWEEP_SKEWS_MS) * len(RULES) > MAX_OPERATIONS:
            self.add_error("writes", f"At most {MAX_OPERATIONS:,} writes resolved in all; fewer writes.")
        return cleaned


def run(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    return model.run_model(params, seed, emit)


def _lost_text(summary: dict[str, Any], rule: str) -> str:
    lost, share = summary["lost"][rule], summary["lost_pct"][rule]
    return f"{lost:,} of {summary['writes']:,} acknowledged writes ({share}%)"


def verdict(summary: dict[str, Any]) -> list[Check]:
    writes = summary["writes"]
    checks = []
    causal = summary["lost_wall_causal"]
    checks.append(Check(
        f"{LABELS[WALL]}: acknowledged writes silently lost", summary["lost"][WALL], summary["lost"][WALL] == 0,
        f"{_lost_text(summary, WALL)} are held by no replica after convergence, nor by any version written by a client "
        f"that had read them; {causal:,} of them lost to a version their client had read (or one before it), stamped by a "
        "clock ahead of theirs.",
    ))
    for rule in (LAMPORT, HLC):
        # With no causality violation, whatever beat a lost write was neither in its past nor aware of it: concurrent.
        why = ("none lost to its own cause, every one to a concurrent write its client never saw. A total order cannot "
               "keep both." if summary["violations"][rule] == 0 else "some to their own cause.")
        checks.append(Check(
            f"{LABELS[rule]}: acknowledged writes silently lost", summary["lost"][rule], summary["lost"][rule] == 0,
            f"{_lost_text(summary, rule)}: {why}",
        ))
    checks.append(Check(
        f"{LABELS[VV]}: acknowledged writes silently lost", summary["lost"][VV], summary["lost"][VV] == 0,
        f"Concurrent writes are kept as siblings: {summary['reads_with_siblings']:,} reads returned siblings for the "
        f"client to merge, and {summary['keys_with_siblings_at_end']:,} keys still hold siblings at the end.",
    ))
    witness = summary["witness"]
    if witness:
        story = (
            f" First one: write {witness['cause']} on replica {witness['cause_replica'] + 1} (clock "
            f"{witness['cause_offset_ms']:+} ms) at {witness['cause_ms']} ms, stamped {witness['cause_stamp']:,}; a client "
            f"read it on replica {witness['effect_replica'] + 1} at {witness['read_ms']} ms and wrote {witness['effect']} "
            f"at {witness['effect_ms']} ms, stamped {witness['effect_stamp']:,} by a clock at {witness['effect_offset_ms']:+} ms"
        )
        # A tie on the millisecond is broken by replica number, which can also put the effect first.
        story += (", the same millisecond, and ties go to the higher-numbered replica." if witness["cause_stamp"] == witness["effect_stamp"]
                  else ".")
    else:
        story = ""
    checks.append(Check(
        f"{LABELS[WALL]}: causality violations (an effect ordered before its cause)", summary["violations"][WALL],
        summary["violations"][WALL] == 0,
        f"Writes stamped lower than a version their client had read.{story}",
    ))
    for rule in (LAMPORT, HLC, VV):
        checks.append(Check(f"{LABELS[rule]}: causality violations", summary["violations"][rule],
                            summary["violations"][rule] == 0,
                            "Every write is ordered after everything its client had read."))
    lead, bound = summary["max_hlc_lead_ms"], summary["offset_spread_ms"]
    checks.append(Check(
        "HLC: furthest ahead of its own node's clock (ms)", lead, lead <= bound + 1,
        f"The bound is the clock skew ε, the widest gap between any two clock offsets seen during the run (a clock "
        f"stepped back counts against its own earlier self): {bound} ms, plus 1 ms, as clocks are read in whole milliseconds.",
    ))
    diverged = [LABELS[rule] for rule in RULES if not summary["converged"][rule]]
    checks.append(Check("Replicas converged under every rule", "yes" if not diverged else ", ".join(diverged), not diverged,
                        "Once every replica has received every write, each key has the same versions everywhere."))
    sweep = summary["sweep"]
    first, last = sweep[0], sweep[-1]
    checks.append(Check(
        f"{LABELS[WALL]}: loss against skew", f"{first['lost_pct'][WALL]}% → {last['lost_pct'][WALL]}%", None,
        f"The first {first['writes']:,} writes again at skews {', '.join(str(row['skew_ms']) for row in sweep)} ms: wall-clock LWW "
        f"loses {', '.join(str(row['lost'][WALL]) for row in sweep)}; Lamport and HLC stay near "
        f"{first['lost'][LAMPORT]} and {first['lost'][HLC]}; version vectors lose "
        f"{max(row['lost'][VV] for row in sweep)} at every skew.",
    ))
    return checks


def sweep_figure(summary: dict[str, Any]) -> dict:
    rows = summary["sweep"]
    return {
        "data": [{
            "type": "scatter", "mode": "lines+markers", "name": LABELS[rule],
            "x": [row["skew_ms"] for row in rows], "y": [row["lost_pct"][rule] for row in rows],
            "line": {"color": COLORS[rule], "dash": "dash" if rule == HLC else "solid"},
            "hovertemplate": "skew %{x} ms: %{y}% lost<extra>" + LABELS[rule] + "</extra>",
        } for rule in RULES],
        "layout": {
            "title": {"text": "Writes lost against clock skew"},
            "xaxis": {"title": {"text": f"clock skew (ms); the first {rows[0]['writes']:,} writes at each"}},
            "yaxis": {"title": {"text": "acknowledged writes lost (%)"}, "rangemode": "tozero"},
            "legend": {"orientation": "h", "y": -0.4},
            "margin": {"t": 48, "r": 16, "b": 16, "l": 56},
        },
    }


def witness_figure(witness: dict[str, Any]) -> dict:
    """The first causality violation on a space-time diagram: true time across, one lane per replica involved."""
    cause_lane, effect_lane = f"replica {witness['cause_replica'] + 1}", f"replica {witness['effect_replica'] + 1}"
    lanes = list(dict.fromkeys([cause_lane, effect_lane]))
    cause_text = f"write {witness['cause']}: clock {witness['cause_offset_ms']:+} ms, stamped {witness['cause_stamp']:,}"
    effect_text = (f"write {witness['effect']}: clock {witness['effect_offset_ms']:+} ms, stamped {witness['effect_stamp']:,}"
                   " — loses to what it read")
    return {
        "data": [
            {"type": "scatter", "mode": "lines", "name": "replication of the cause", "hoverinfo": "skip",
             "x": [witness["cause_ms"], witness["arrival_ms"]], "y": [cause_lane, effect_lane],
             "line": {"color": "#2563eb", "width": 2}},
            {"type": "scatter", "mode": "lines", "name": "read, then write back", "hoverinfo": "skip",
             "x": [witness["read_ms"], witness["effect_ms"]], "y": [effect_lane, effect_lane],
             "line": {"color": "#dc2626", "width": 2, "dash": "dot"}},
            {"type": "scatter", "mode": "markers", "name": "events", "showlegend": False, "hoverinfo": "text",
             "x": [witness["cause_ms"], witness["arrival_ms"], witness["read_ms"], witness["effect_ms"]],
             "y": [cause_lane, effect_lane, effect_lane, effect_lane],
             "text": [cause_text, f"write {witness['cause']} arrives", f"a client reads write {witness['cause']}", effect_text],
             "marker": {"color": ["#2563eb", "#2563eb", "#dc2626", "#dc2626"], "size": 9}},
        ],
        "layout": {
            "title": {"text": "First causality violation, wall-clock LWW"},
            "xaxis": {"title": {"text": f"true time (ms); key {witness['key']}"}},
            "yaxis": {"type": "category", "categoryorder": "array", "categoryarray": lanes, "automargin": True},
            "annotations": [
                {"x": witness["cause_ms"], "y": cause_lane, "text": f"stamped {witness['cause_stamp']:,}",
                 "showarrow": True, "ax": 0, "ay": -28, "font": {"size": 11, "color": "#2563eb"}},
                {"x": witness["effect_ms"], "y": effect_lane, "text": f"stamped {witness['effect_stamp']:,}: lost",
                 "showarrow": True, "ax": 0, "ay": 28, "font": {"size": 11, "color": "#dc2626"}},
            ],
            "height": 260, "margin": {"t": 48, "r": 16, "b": 48, "l": 16},
            "legend": {"orientation": "h", "y": -0.45}, "hovermode": "closest",
        },
    }


def summary_figures(summary: dict[str, Any]) -> list[dict]:
    figures = [sweep_figure(summary)] if summary.get("sweep") else []
    if summary.get("witness"):
        figures.append(witness_figure(summary["witness"]))
    return figures


def shapes(params: dict[str, Any]) -> list[dict]:
    return []


EXPERIMENT = Experiment(
    slug="clocks",
    title="Clocks: last-write-wins under skew, Lamport, HLC and version vectors",
    what_you_will_see=(
        "Replicas whose clocks are skewed, drift and can be stepped back take concurrent read-modify-writes and "
        "replicate them. The same writes are resolved four ways: last-write-wins by each replica's wall clock, by "
        "Lamport timestamps and by hybrid logical clocks, and version vectors that keep concurrent versions as "
        "siblings. Wall-clock LWW silently loses acknowledged writes, some to the very version they had read; Lamport "
        "and HLC never order an effect before its cause but still drop concurrent writes; version vectors lose "
        "nothing and hand the conflicts to the reader. After the run, the same writes replayed at skews from 0 to "
        "250 ms show the loss growing with skew."
    ),
    lesson_slug="time-clocks-ordering",
    form_class=ClocksForm,
    presets={
        "internet-ntp": Preset("NTP over the internet", "Clocks within 50 ms of each other, drifting 50 ppm.", {}),
        "lan-ntp": Preset("NTP on a LAN", "Clocks within 1 ms: LWW's own losses, from concurrency alone.",
                          {"skew_ms": 1, "drift_ppm": 20}),
        "broken-ntp": Preset("A dead NTP daemon", "One clock 500 ms away from another, drifting 500 ppm.",
                             {"skew_ms": 500, "drift_ppm": 500}),
        "step-back": Preset("Clock stepped back", "Tight clocks, then replica 1 is set back 200 ms halfway.",
                            {"skew_ms": 2, "drift_ppm": 20, "step_back_ms": 200}),
        "hot-key": Preset("One hot key", "Every write to the same key: concurrency everywhere.",
                          {"keys": 1, "writes": 2000, "interval_ms": 10}),
    },
    run=run,
    charts=[
        Chart(id="lost", title="Acknowledged writes silently lost, by when they were acknowledged",
              x_title="simulated time (ms)", y_title="writes lost",
              traces=[Trace(LABELS[rule], f"lost_{rule}", color=COLORS[rule], dash="dash" if rule == HLC else "solid")
                      for rule in RULES]),
        Chart(id="violations", title="Causality violations: a write ordered before a version its client had read",
              x_title="simulated time (ms)", y_title="violations",
              traces=[Trace(LABELS[rule], f"violations_{rule}", color=COLORS[rule], dash="dash" if rule == HLC else "solid")
                      for rule in RULES]),
        Chart(id="offsets", title="Each replica's clock offset from true time", x_title="simulated time (ms)",
              y_title="offset (ms)",
              traces=[Trace(f"replica {r + 1}", f"offset_{r}", color=REPLICA_COLORS[r]) for r in range(MAX_REPLICAS)]),
        Chart(id="hlc", title="HLC: how far ahead of its own clock, against the skew bound ε",
              x_title="simulated time (ms)", y_title="ms",
              traces=[Trace("HLC lead over the node's clock, max so far", "hlc_lead_ms", color=COLORS[HLC]),
                      Trace("skew bound ε so far", "skew_bound_ms", color="#111827", dash="dot")]),
        Chart(id="siblings", title="Version vectors: keys holding siblings on some replica",
              x_title="simulated time (ms)", y_title="keys",
              traces=[Trace("keys with siblings", "sibling_keys", color=COLORS[VV])]),
    ],
    verdict=verdict,
    summary_figures=summary_figures,
    shapes=shapes,
    prediction=Prediction("How many acknowledged writes will wall-clock last-write-wins silently lose?", "lost_wall",
                          19_000),
    progress=lambda params, frame: min(1.0, frame["t_ms"] / max(1.0, params["writes"] * params["interval_ms"])),
    table_columns=[
        ("t_ms", "Time (ms)"), ("acked", "Writes acknowledged"),
        *[(f"lost_{rule}", f"Lost, {LABELS[rule]}") for rule in RULES],
        ("violations_wall", f"Causality violations, {LABELS[WALL]}"),
        ("hlc_lead_ms", "HLC lead (ms)"), ("skew_bound_ms", "Skew bound ε (ms)"), ("sibling_keys", "Keys with siblings"),
    ],
)
