"""CRDTs after a partition: naive merges against convergent types, on the same operations and the same messages.

The types are in datatypes.py, the simulation in model.py, the partition, the
faulty channel and the clocks in faults.py; this module holds the form, the
presets, the charts and the verdict.
"""

from __future__ import annotations

from typing import Any

from django import forms

from ..base import Chart, Check, Emit, Experiment, Prediction, Preset, Trace, shaded_window
from . import model
from .datatypes import COUNTER_TYPES, SET_TYPES
from .model import COUNTER_LABELS, CRDT_COUNTERS, CRDT_SETS, SET_LABELS

MAX_OPERATIONS = 100_000
# Each gossip message merges every type's whole state: they are the run's other cost, bounded apart.
MAX_GOSSIP = 15_000
COUNTER_COLORS = {"max": "#dc2626", "lww": "#d97706", "ops": "#7c3aed", "pn": "#2563eb"}
SET_COLORS = {"union": "#dc2626", "lww": "#d97706", "two_phase": "#0891b2", "or": "#2563eb"}


class CrdtForm(forms.Form):
    replicas = forms.IntegerField(min_value=2, max_value=7, initial=3, label="Replicas", help_text="2 to 7.")
    operations = forms.IntegerField(
        min_value=100, max_value=MAX_OPERATIONS, initial=5000, label="Client operations",
        help_text="100 to 100,000, each at a replica chosen at random.",
    )
    interval_ms = forms.FloatField(min_value=0.5, max_value=20, initial=2, label="Time between operations (ms)",
                                   help_text="0.5 to 20.")
    counter_share = forms.FloatField(min_value=0, max_value=1, initial=0.5, label="Share of counter operations",
                                     help_text="0 to 1; the rest are set adds and removes.")
    decrement_share = forms.FloatField(min_value=0, max_value=0.5, initial=0.2, label="Share of counter decrements",
                                       help_text="0 to 0.5 of the counter operations; 0 makes it a G-counter.")
    remove_share = forms.FloatField(min_value=0.1, max_value=0.9, initial=0.4, label="Share of set removes",
                                    help_text="0.1 to 0.9 of the set operations; a remove takes an element its replica shows.")
    elements = forms.IntegerField(min_value=1, max_value=100, initial=50, label="Set elements", help_text="1 to 100.")
    gossip_ms = forms.FloatField(min_value=10, max_value=1000, initial=50, label="Gossip interval (ms)",
                                 help_text="10 to 1,000: each replica sends its whole state to a random peer.")
    delay_ms = forms.FloatField(min_value=0, max_value=100, initial=5, label="Mean message delay (ms)",
                                help_text="0 to 100, exponential: messages overtake each other.")
    loss = forms.FloatField(min_value=0, max_value=0.5, initial=0.01, label="Message loss", help_text="0 to 0.5.")
    duplicate = forms.FloatField(min_value=0, max_value=0.5, initial=0.01, label="Message duplication",
                                 help_text="0 to 0.5: a message delivered twice.")
    skew_ms = forms.FloatField(min_value=0, max_value=1000, initial=20, label="Clock skew (ms)",
                               help_text="0 to 1,000: each replica's clock is off by up to this much, for LWW.")
    cut_off_replicas = forms.IntegerField(min_value=0, max_value=6, initial=1, label="Replicas cut off",
                                          help_text="0 for no partition; the first this many replicas.")
    partition_start_ms = forms.FloatField(min_value=0, max_value=1_000_000, initial=2000, label="Partition starts at (ms)")
    partition_ms = forms.FloatField(min_value=0, max_value=1_000_000, initial=4000, label="Partition lasts (ms)")
    quiet_ms = forms.FloatField(min_value=500, max_value=60_000, initial=2000, label="Quiet time after (ms)",
                                help_text="500 to 60,000: gossip only, after the last operation and the heal.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        replicas, cut = cleaned.get("replicas"), cleaned.get("cut_off_replicas")
        if replicas and cut is not None and cut >= replicas:
            self.add_error("cut_off_replicas", "At least one replica must stay on the other side of the partition.")
        if not self.errors:
            gossip = gossip_messages(cleaned)
            if gossip > MAX_GOSSIP:
                self.add_error("gossip_ms", f"This run would send {gossip:,.0f} gossip messages, more than {MAX_GOSSIP:,}: "
                                            "gossip less often, or run fewer or faster operations, or a shorter partition.")
        return cleaned


def run(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    return model.run_model(params, seed, emit)


def _sec_check(summary: dict[str, Any], group: str, names: tuple[str, ...], label: str) -> Check:
    violations = sum(summary[group][name]["sec_violations"] for name in names)
    witnesses = [summary["sec_witness"][f"{group}:{name}"] for name in names if f"{group}:{name}" in summary["sec_witness"]]
    explanation = ("Checked after every delivery: replicas whose version vectors are equal must hold equal states."
                   if not violations else f"For example {witnesses[0]}.")
    return Check(label, violations, violations == 0, explanation)


def verdict(summary: dict[str, Any]) -> list[Check]:
    truth = summary["truth"]
    heal = summary["all_seen_after_heal_ms"]
    checks = [Check(
        "Every replica has seen every update", "yes" if summary["all_seen"] else "no", None,
        f"{heal:,.0f} ms after the last operation and the heal." if summary["all_seen"]
        else "Not within the quiet time: messages were lost or cut off faster than gossip could repair it.",
    )]
    checks.append(_sec_check(summary, "counters", CRDT_COUNTERS, "PN-counter: same updates seen, different state"))
    checks.append(_sec_check(summary, "sets", CRDT_SETS, "2P-set and OR-set: same updates seen, different state"))
    naive = [("counters", "max"), ("counters", "lww"), ("sets", "union"), ("sets", "lww")]
    broken = [(group, name) for group, name in naive if summary[group][name]["sec_violations"]]
    checks.append(Check(
        "Naive merges: same updates seen, different state", sum(summary[g][n]["sec_violations"] for g, n in naive), None,
        "; ".join(f"{(COUNTER_LABELS if g == 'counters' else SET_LABELS)[n]}: {summary['sec_witness'][f'{g}:{n}']}"
                  for g, n in broken) + "." if broken else
        "None this run: a decrement or a local remove shrinks the state, which a join cannot be relied on to survive.",
    ))
    for name in COUNTER_TYPES:
        row = summary["counters"][name]
        values = ", ".join(f"{v:,}" for v in row["values"])
        converged = "converged" if row["converged"] else "did not converge"
        text = f"{converged.capitalize()}: replicas hold {values}; the true count is {truth:,}."
        if name == "pn":
            # Stale during the partition is allowed; wrong about what it has seen is not.
            checks.append(Check(f"{COUNTER_LABELS[name]}: off from the updates each replica has seen",
                                row["error_vs_seen"], row["error_vs_seen"] == 0, text))
            continue
        checks.append(Check(f"{COUNTER_LABELS[name]}: off from the true count, worst replica", row["off_by"],
                            row["off_by"] == 0, text))
    for name in SET_TYPES:
        row = summary["sets"][name]
        converged = "Converged" if row["converged"] else "Did not converge"
        members = ", ".join(str(e) for e in row["members"]) or "nothing"
        checks.append(Check(
            f"{SET_LABELS[name]}: removed elements that came back", row["came_back"], row["came_back"] == 0,
            f"{converged}; replica 1 holds {members}. An element came back if a remove that saw every add of it "
            f"left it present: {', '.join(map(str, row['came_back_elements'])) or 'none'}.",
        ))
        design = " A 2P-set does this by design: a removed element can never be added again." if name == "two_phase" else ""
        checks.append(Check(
            f"{SET_LABELS[name]}: adds lost", row["lost_adds"], row["lost_adds"] == 0,
            "An add is lost if it came after every remove of its element and the element is absent: "
            f"{', '.join(map(str, row['lost_add_elements'])) or 'none'}.{design}",
        ))
    or_set = summary["sets"]["or"]
    checks.append(Check(
        "Concurrent add and remove at the end, resolved by each type's rule", or_set["concurrent"], None,
        "Elements whose last add and last remove were concurrent: the OR-set keeps them (add wins), "
        "the 2P-set drops them for good, the LWW set lets the clocks decide.",
    ))
    checks.append(Check(
        "Set metadata: textbook OR-set against the OR-set without tombstones", or_set["textbook_tags"], None,
        f"A textbook OR-set keeps one tag per add it has seen, live or tombstoned: {or_set['textbook_tags']:,}. "
        f"The version-vector OR-set keeps {or_set['metadata']:,} entries (live dots and one integer per replica), "
        f"and the 2P-set {summary['sets']['two_phase']['tombstones']} tombstones, one per element ever removed.",
    ))
    return checks


def shapes(params: dict[str, Any]) -> list[dict]:
    """Shade the partition."""
    if not params["partition_ms"] or not params["cut_off_replicas"]:
        return []
    return [shaded_window(params["partition_start_ms"], params["partition_start_ms"] + params["partition_ms"], "partition")]


def final_values_figure(summary: dict[str, Any]) -> dict:
    """Each counter's final value on each replica, beside the true count."""
    replicas = len(summary["counters"]["pn"]["values"])
    data = [{
        "type": "bar", "name": f"replica {i + 1}", "x": [COUNTER_LABELS[name] for name in COUNTER_TYPES],
        "y": [summary["counters"][name]["values"][i] for name in COUNTER_TYPES],
        "hovertemplate": "%{x}: %{y}<extra>replica " + str(i + 1) + "</extra>",
    } for i in range(replicas)]
    return {
        "data": data,
        "layout": {
            "title": {"text": f"Final counter value on each replica (true count {summary['truth']:,}, dashed)"},
            "barmode": "group",
            "yaxis": {"title": {"text": "value"}, "rangemode": "tozero"},
            "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": summary["truth"], "y1": summary["truth"],
                        "line": {"dash": "dash", "color": "#111827"}}],
            "xaxis": {"automargin": True},
            "margin": {"t": 48, "r": 16, "b": 64, "l": 56},
            "legend": {"orientation": "h", "y": -0.3},
        },
    }


def summary_figures(summary: dict[str, Any]) -> list[dict]:
    return [final_values_figure(summary)] if summary.get("counters") else []


EXPERIMENT = Experiment(
    slug="crdt",
    title="CRDTs after a partition: convergence and lost updates",
    what_you_will_see=(
        "Replicas keep taking increments, decrements, adds and removes while a partition splits them, then heal and "
        "gossip their whole state over a channel that loses, duplicates and reorders messages. Every variant sees the "
        "same operations and the same messages: a counter merged by max, one merged by last write, an op-based "
        "counter without deduplication and a PN-counter; a set merged by union, an LWW-element-set, a 2P-set and an "
        "OR-set. The charts show the replicas drifting apart and coming back together, the counters that lose "
        "increments even once they agree, and the tombstones each set keeps. The verdict checks that replicas that "
        "saw the same updates hold the same state, and counts increments lost, removed elements that came back and "
        "adds lost."
    ),
    lesson_slug="crdts-convergence",
    form_class=CrdtForm,
    presets={
        "partition": Preset("A partition, a lossy channel", "Replica 1 cut off for 4 s; 1% of messages lost, 1% duplicated; clocks 20 ms apart.", {}),
        "no-faults": Preset("No faults at all", "No partition, no loss, no duplicates, perfect clocks: concurrency alone.",
                            {"cut_off_replicas": 0, "loss": 0.0, "duplicate": 0.0, "skew_ms": 0.0}),
        "lossy": Preset("A very lossy channel", "20% of messages lost and 20% duplicated, no partition.",
                        {"cut_off_replicas": 0, "loss": 0.2, "duplicate": 0.2}),
        "skewed-clocks": Preset("Skewed clocks", "Clocks up to 500 ms apart, no partition: watch the LWW types.",
                                {"cut_off_replicas": 0, "skew_ms": 500.0}),
        "five-replicas": Preset("Five replicas, two cut off", "A 10 s partition of replicas 1 and 2 from 3, 4 and 5.",
                                {"replicas": 5, "cut_off_replicas": 2, "partition_ms": 10_000, "operations": 10_000}),
    },
    run=run,
    charts=[
        Chart(id="spread", title="Replicas disagree: counter spread (max − min over replicas)",
              x_title="simulated time (ms)", y_title="max − min",
              traces=[Trace(COUNTER_LABELS[name], f"spread_{name}", color=COUNTER_COLORS[name]) for name in COUNTER_TYPES]),
        Chart(id="error", title="Counter off from the updates its replica has seen, worst replica",
              x_title="simulated time (ms)", y_title="|value − seen|",
              traces=[Trace(COUNTER_LABELS[name], f"error_{name}", color=COUNTER_COLORS[name]) for name in COUNTER_TYPES]),
        Chart(id="sets", title="Set elements on which the replicas disagree",
              x_title="simulated time (ms)", y_title="elements",
              traces=[Trace(SET_LABELS[name], f"disagree_{name}", color=SET_COLORS[name]) for name in SET_TYPES]),
        Chart(id="metadata", title="Set metadata per replica (worst replica)", x_title="simulated time (ms)", y_title="entries",
              traces=[Trace("textbook OR-set: tags, live and tombstoned", "tags_or_textbook", color="#dc2626"),
                      Trace("2P-set: tombstones", "tombstones_two_phase", color="#0891b2"),
                      Trace("OR-set without tombstones: live dots + version vector", "metadata_or", color="#2563eb")]),
    ],
    verdict=verdict,
    summary_figures=summary_figures,
    shapes=shapes,
    prediction=Prediction("By how much will the counter merged by max be off from the true count?", "max_counter_error",
                          MAX_OPERATIONS),
    progress=lambda params, frame: min(1.0, frame["t_ms"] / max(1.0, _horizon(params))),
    table_columns=[
        ("t_ms", "Time (ms)"),
        ("truth", "True count"),
        *[(f"value_{name}", f"Replica 1, {COUNTER_LABELS[name]}") for name in COUNTER_TYPES],
        *[(f"disagree_{name}", f"Elements disagreed on, {SET_LABELS[name]}") for name in SET_TYPES],
        ("tags_or_textbook", "Textbook OR-set tags"),
        ("metadata_or", "OR-set without tombstones, entries"),
    ],
)


def gossip_messages(params: dict[str, Any]) -> float:
    return _horizon(params) / params["gossip_ms"] * params["replicas"]


def _horizon(params: dict[str, Any]) -> float:
    partition_end = params["partition_start_ms"] + params["partition_ms"] if params["cut_off_replicas"] and params["partition_ms"] else 0.0
    return max(params["operations"] * params["interval_ms"], partition_end) + params["quiet_ms"]
