"""Consistent hashing: how many keys move when a node joins or leaves, and how even the load is.

The placement schemes are in model.py, the schedule of joins and leaves in
faults.py; this module holds the form, the presets, the charts and the verdict.
"""

from __future__ import annotations

from typing import Any

from django import forms

from ..base import Chart, Check, Emit, Experiment, Prediction, Preset, Trace
from . import model
from .model import BOUNDED, LABELS, MINIMAL, MODULO, SCHEMES, VNODES

MAX_OPERATIONS = 100_000
COLORS = {"modulo": "#dc2626", "ring": "#d97706", "vnodes": "#2563eb", "rendezvous": "#16a34a", "jump": "#7c3aed", "bounded": "#0891b2"}


class HashingForm(forms.Form):
    keys = forms.IntegerField(min_value=100, max_value=50_000, initial=10_000, label="Keys",
                              help_text="100 to 50,000; keys × (changes + 1) at most 100,000 placements per scheme.")
    nodes = forms.IntegerField(min_value=2, max_value=50, initial=10, label="Nodes at the start", help_text="2 to 50.")
    changes = forms.IntegerField(min_value=1, max_value=20, initial=9, label="Membership changes",
                                 help_text="1 to 20: add, add, remove the newest, add, add, remove…")
    vnodes = forms.IntegerField(min_value=1, max_value=300, initial=100, label="Virtual nodes per node", help_text="1 to 300.")
    distribution = forms.ChoiceField(choices=[("uniform", "Uniform"), ("zipf", "Zipf")], initial="uniform", label="Key popularity")
    zipf_s = forms.FloatField(min_value=0.0, max_value=2.0, initial=1.1, label="Zipf exponent s", help_text="0 to 2.")
    hot_key_share = forms.FloatField(min_value=0.0, max_value=0.5, initial=0.0, label="Hot key's share of requests",
                                     help_text="0 to 0.5; key 0 takes this share of all requests.")
    epsilon = forms.FloatField(min_value=0.01, max_value=2.0, initial=0.25, label="Bounded loads ε",
                               help_text="0.01 to 2: no node holds more than ⌈(1 + ε) × mean⌉ keys.")

    show_when = {"zipf_s": ("distribution", "zipf")}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        keys, changes = cleaned.get("keys"), cleaned.get("changes")
        if keys and changes and keys * (changes + 1) > MAX_OPERATIONS:
            self.add_error("keys", f"Keys × (changes + 1) must be at most {MAX_OPERATIONS:,}; fewer keys or changes.")
        return cleaned


def run(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    return model.run_model(params, seed, emit)


def verdict(summary: dict[str, Any]) -> list[Check]:
    checks = []
    for s in SCHEMES:
        moved, expected = summary["mean_moved"][s], summary["mean_theory"][s]
        text = f"mean share of keys moved per change: {moved:.1%}"
        if expected is not None:
            text += f", theory {expected:.1%}"
        if s in MINIMAL:
            strays = summary["strays"][s]
            checks.append(Check(f"{LABELS[s]}: keys moved between nodes that did not change", strays, strays == 0,
                                text.capitalize() + ". Minimal disruption: only the added or removed node's keys may move."))
        else:
            checks.append(Check(f"{LABELS[s]}: share of keys moved per change", f"{moved:.1%}", None, text.capitalize() + "."))
    checks.append(Check(f"{LABELS[BOUNDED]}: nodes over the cap", summary["bounded_over_cap"], summary["bounded_over_cap"] == 0,
                        "No node may hold more than ⌈(1 + ε) × mean⌉ keys."))
    for s in SCHEMES:
        checks.append(Check(f"{LABELS[s]}: worst load skew (max / mean requests)", summary["max_skew"][s], None))
    return checks


def per_node_figure(summary: dict[str, Any]) -> dict:
    load = summary["final_load"][VNODES]
    hot = summary["hot_node"]
    nodes = list(load)
    mean = 1 / len(nodes)
    return {
        "data": [{
            "type": "bar", "name": "share of requests", "x": nodes, "y": [load[n] for n in nodes],
            "marker": {"color": ["#dc2626" if n == hot else "#2563eb" for n in nodes]},
            "hovertemplate": "%{x}: %{y:.2%}<extra></extra>",
        }],
        "layout": {
            "title": {"text": f"Per-node load at the end, ring with virtual nodes (hot shard {hot} in red)"},
            "yaxis": {"title": {"text": "share of requests"}, "tickformat": ".0%"},
            "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": mean, "y1": mean,
                        "line": {"dash": "dash", "color": "#64748b"}}],
            "margin": {"t": 48, "r": 16, "b": 64, "l": 56},
        },
    }


def summary_figures(summary: dict[str, Any]) -> list[dict]:
    return [per_node_figure(summary)] if summary.get("final_load") else []


EXPERIMENT = Experiment(
    slug="hashing",
    title="Consistent hashing: keys moved, load skew and hot shards",
    what_you_will_see=(
        "Ten thousand keys placed on nodes six ways: hash mod N, a ring with one token per node, a ring with virtual "
        "nodes, rendezvous hashing, jump consistent hash and bounded-load consistent hashing. Nodes join and leave; "
        "each change moves about N/(N + 1) of the keys under mod N and about 1/(N + 1) under the others, and those "
        "only to or from the node that changed. The skew chart shows how uneven each scheme's load is, a hot key "
        "makes one shard glow red, and bounded loads caps every node at (1 + ε) × the mean."
    ),
    lesson_slug="consistent-hashing",
    form_class=HashingForm,
    presets={
        "uniform": Preset("Uniform keys", "Ten thousand equally popular keys on ten nodes.", {}),
        "zipf": Preset("Zipf keys", "Popularity falls as 1/rank^1.1: a few keys take most requests.", {"distribution": "zipf"}),
        "hot-key": Preset("A hot key", "Key 0 takes 20% of all requests.", {"hot_key_share": 0.2}),
        "one-token": Preset("One virtual node", "Each node one token on the ring: see the ring's skew.", {"vnodes": 1}),
    },
    run=run,
    charts=[
        Chart(id="moved", title="Share of keys moved by each change", x_title="change", y_title="share of keys", traces=[
            *[Trace(LABELS[s], f"moved_{s}", x="step", color=COLORS[s]) for s in SCHEMES],
            Trace("theory 1/N", "theory_minimal", x="step", color="#111827", dash="dot"),
            Trace("theory mod N", "theory_modulo", x="step", color="#6b7280", dash="dot"),
        ]),
        Chart(id="skew", title="Load skew (max / mean requests)", x_title="change", y_title="max / mean",
              traces=[Trace(LABELS[s], f"skew_{s}", x="step", color=COLORS[s]) for s in SCHEMES]),
    ],
    verdict=verdict,
    summary_figures=summary_figures,
    prediction=Prediction("What percentage of keys will hash mod N move when an 11th node joins?", "modulo_first_moved_pct", 100),
    progress=lambda params, frame: min(1.0, frame["step"] / max(1, params["changes"])),
    table_columns=[("step", "Change"), ("nodes", "Nodes"), *[(f"moved_{s}", f"Moved, {LABELS[s]}") for s in SCHEMES],
                   ("theory_minimal", "Theory 1/N"), *[(f"skew_{s}", f"Skew, {LABELS[s]}") for s in SCHEMES]],
)
