"""Replicas, quorums and partitions: CAP and PACELC you can break (lessons 8 and 10).

N replicas, reads from R and writes to W, message delays from Bailis et al.'s
WARS model (PBS, VLDB 2012) with their production fits as presets. A healthy
network first: how soon a read sees a write (t-visibility) and what each
(R, W) costs in latency (the PACELC frontier). Then a partition: strict
quorums refuse on the side that cannot gather R or W replicas (CP), sloppy
quorums with hinted handoff accept everything (AP) and the two sides' versions
diverge, counted when the partition heals.
"""

from __future__ import annotations

from typing import Any

from django import forms

from ..base import LIVE, SIMULATION, Chart, Check, Emit, Experiment, Prediction, Preset, Trace, shaded_window
from .faults import PartitionSchedule
from .model import EXPONENTIAL, PRODUCTION, SLOPPY, STRICT, simulate

DISTRIBUTIONS = [
    (EXPONENTIAL, "Exponential, a rate per leg (set below)"),
    ("lnkd-ssd", "LNKD-SSD: LinkedIn Voldemort on SSDs"),
    ("lnkd-disk", "LNKD-DISK: LinkedIn Voldemort on spinning disks"),
    ("ymmr", "YMMR: Yammer Riak"),
    ("wan", "WAN: LNKD-DISK, one datacentre per replica, +75 ms between datacentres"),
]
QUORUM_MODES = [
    (STRICT, "Strict: refuse unless R (or W) home replicas answer — the CP choice"),
    (SLOPPY, "Sloppy, with hinted handoff: stand-ins take the write — the AP choice"),
]
ENGINES = [
    (SIMULATION, "Simulation: computed, deterministic, instant"),
    (LIVE, "Live: N real redis-server processes, the cut-off ones SIGSTOPped for the partition"),
]
LIVE_MAX_OPERATIONS = 1_000
LIVE_MAX_MS = 20_000
MAX_OPERATIONS = 100_000  # PBS trials count two operations (a write and a read), the timeline one each


def run(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    if params.get("engine") == LIVE:
        return _run_live(params, seed, emit)
    return simulate(params, seed, emit)


def _run_live(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    """The timeline on real redis-server processes (see live.py), in a scratch dir per run."""
    import shutil
    import tempfile
    from pathlib import Path

    from django.conf import settings

    from . import live

    root = Path(settings.BASE_DIR) / "var" / "live"
    root.mkdir(parents=True, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="quorums-", dir=root)
    try:
        return live.run_live(params, seed, emit, workdir=workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _live_checks(summary: dict[str, Any]) -> list[Check]:
    """What a live run read back from the replicas themselves."""
    checks = [
        Check("Replica processes SIGSTOPped for the partition",
              f"{summary['replicas_really_stopped']} of {summary['replicas_cut_off']}",
              summary["replicas_really_stopped"] == summary["replicas_cut_off"],
              "Seen in state T (stopped) by the kernel before the coordinator went on."),
        Check("Requests accepted during the partition", f"{summary['partition_majority_accepted']:,} of "
              f"{summary['partition_majority_tried']:,}", None,
              "A request counts as refused when fewer than R or W replicas answered within the 50 ms timeout."),
        Check("Acknowledged writes lost (found on no replica)", summary["acknowledged_writes_lost"],
              summary["acknowledged_writes_lost"] == 0, "Read back from every redis-server after the partition healed."),
        Check("Acknowledged writes still missing on some replica", summary["acknowledged_writes_missing_on_some_replica"],
              None, "Hinted handoff, read repair and anti-entropy bring the replicas together; without them some stay behind."),
        Check("Hints handed off after the partition", summary["hints_handed_off"], None),
    ]
    stale = summary["stale_reads"]
    strict = summary["strict_overlap"] and summary["quorum_mode"] == STRICT
    checks.append(Check("Stale reads", stale, stale == 0 if strict else None,
                        "Strict, overlapping quorums must never return one." if strict else "No overlap is promised here."))
    return checks


def verdict(summary: dict[str, Any]) -> list[Check]:
    if summary.get("engine") == LIVE:
        return _live_checks(summary)
    at_commit = summary["p_consistent_at_commit"]
    checks = [
        Check(
            "Reads consistent right after the write committed (PBS, t = 0)",
            f"{at_commit:.1%} ± {summary['t_visibility_margin_pp']:.2f} pp",
            None,
            f"From {summary['trials']:,} write-then-read trials on a healthy network.",
        ),
        Check(
            "Wait after a write for 99.9% of reads to see it",
            f"{summary['t_999_ms']:,} ms",
            None,
            "The t-visibility window: how eventual 'eventually consistent' is with these delays.",
        ),
        Check(
            "Static quorum: chance a read misses the write",
            f"measured {summary['static_p_stale']:.4f}, closed form C(N−W,R)/C(N,R) = {summary['closed_form_p_stale']:.4f}",
            None,
            "If the write stopped at its W acknowledging replicas, as the worst case assumes.",
        ),
    ]
    stale = summary["stale_reads"]
    if summary["strict_overlap"] and summary["quorum_mode"] == STRICT:
        checks.append(Check(
            "Stale reads with strict, overlapping quorums (R + W > N)", stale, stale == 0,
            "Every read quorum shares a replica with every write quorum, so a read that starts after a "
            "write committed must see it.",
        ))
    else:
        checks.append(Check(
            "Stale reads (a read missed a write committed before it started)", stale, None,
            "No overlap is promised here: R + W ≤ N, or sloppy quorums whose stand-ins sit outside the home replicas.",
        ))
    if summary["partition_minority_tried"] or summary["partition_majority_tried"]:
        checks.append(Check(
            "Requests accepted during the partition, majority side",
            f"{summary['partition_majority_accepted']:,} of {summary['partition_majority_tried']:,}", None,
        ))
        checks.append(Check(
            "Requests accepted during the partition, minority side",
            f"{summary['partition_minority_accepted']:,} of {summary['partition_minority_tried']:,}", None,
            "Strict quorums refuse where fewer than R or W home replicas are reachable: consistent, not available.",
        ))
    conflicts = summary["conflicting_versions"]
    checks.append(Check(
        "Conflicting versions found when the partition healed",
        conflicts,
        conflicts == 0,
        f"Sibling versions (concurrent version vectors) on {summary['keys_with_conflicts_at_heal']} keys: "
        "both sides accepted writes, and the application must now merge them (or last-write-wins loses one).",
    ))
    checks.append(Check(
        "Keys whose home replicas still disagree at the end", summary["keys_replicas_disagree_at_end"], None,
        "Read repair fixes keys that are read; anti-entropy fixes the rest on its schedule.",
    ))
    return checks


def shapes(params: dict[str, Any]) -> list[dict]:
    """Shade the partition on every chart."""
    schedule = PartitionSchedule.from_params(params)
    if not schedule.has_partition:
        return []
    return [shaded_window(schedule.start_ms, schedule.end_ms, f"partition: {len(schedule.cut_off)} replica(s) cut off")]


def summary_figures(summary: dict[str, Any]) -> list[dict]:
    """The t-visibility curve and the PACELC frontier: results of the whole run, not series over time."""
    curve = summary.get("t_visibility_curve") or []
    frontier = summary.get("frontier") or []
    figures = []
    if curve:
        figures.append({
            "data": [
                {"type": "scatter", "mode": "lines", "name": "P(consistent read)",
                 "x": [max(point[0], 0.01) for point in curve], "y": [point[1] for point in curve],
                 "line": {"color": "#2563eb", "shape": "hv"}},
                {"type": "scatter", "mode": "markers", "name": "summary grid (t = 0 drawn at 0.01 ms)",
                 "x": [max(t, 0.01) for t, _ in summary["t_visibility"]], "y": [p for _, p in summary["t_visibility"]],
                 "marker": {"color": "#dc2626", "size": 7}},
            ],
            "layout": {
                "title": {"text": f"t-visibility: N={summary['replicas']}, R={summary['read_quorum']}, "
                                  f"W={summary['write_quorum']} ({summary['distribution']})"},
                "xaxis": {"title": {"text": "t: ms after the write committed (log scale)"}, "type": "log"},
                "yaxis": {"title": {"text": "probability the read sees the write"}, "range": [0, 1.02]},
                "legend": {"orientation": "h", "y": -0.25}, "margin": {"t": 48, "r": 16, "b": 16, "l": 56},
            },
        })
    if frontier:
        traces = []
        for strict, name, color in ((True, "R + W > N (strict overlap)", "#16a34a"), (False, "R + W ≤ N (partial)", "#dc2626")):
            points = [p for p in frontier if p["strict"] == strict]
            traces.append({
                "type": "scatter", "mode": "markers+text", "name": name,
                "x": [p["p99_read_plus_write_ms"] for p in points], "y": [p["p_stale"] for p in points],
                "text": [f"R{p['read_quorum']}W{p['write_quorum']}" for p in points], "textposition": "top center",
                "marker": {"color": color, "size": 9},
            })
        figures.append({
            "data": traces,
            "layout": {
                "title": {"text": f"PACELC frontier, N={summary['replicas']}: else, latency or consistency"},
                "xaxis": {"title": {"text": "p99 read + p99 write latency (ms)"}, "rangemode": "tozero"},
                "yaxis": {"title": {"text": "P(stale read right after the write commits)"}, "rangemode": "tozero"},
                "legend": {"orientation": "h", "y": -0.25}, "margin": {"t": 48, "r": 16, "b": 16, "l": 56},
            },
        })
    return figures


class QuorumsForm(forms.Form):
    # Not required, so that a request without it (older links, the CLI) is a simulation.
    engine = forms.ChoiceField(
        choices=ENGINES, initial=SIMULATION, required=False, label="Engine",
        help_text=f"Live runs take operations × interval of real time: at most {LIVE_MAX_OPERATIONS:,} operations "
                  f"and {LIVE_MAX_MS // 1000} s.",
    )
    replicas = forms.IntegerField(min_value=1, max_value=9, initial=3, label="Replicas (N)", help_text="1 to 9")
    read_quorum = forms.IntegerField(min_value=1, max_value=9, initial=1, label="Read quorum (R)", help_text="1 to N")
    write_quorum = forms.IntegerField(min_value=1, max_value=9, initial=1, label="Write quorum (W)", help_text="1 to N")
    distribution = forms.ChoiceField(choices=DISTRIBUTIONS, initial="lnkd-disk", label="Message delays (WARS)")
    w_rate = forms.FloatField(min_value=0.001, max_value=100, initial=1.0, label="W: write reaches a replica, rate λ (1/ms)",
                              help_text="Exponential only; mean delay 1/λ ms.")
    a_rate = forms.FloatField(min_value=0.001, max_value=100, initial=1.0, label="A: ack returns, rate λ (1/ms)")
    r_rate = forms.FloatField(min_value=0.001, max_value=100, initial=1.0, label="R: read request reaches a replica, rate λ (1/ms)")
    s_rate = forms.FloatField(min_value=0.001, max_value=100, initial=1.0, label="S: read response returns, rate λ (1/ms)")
    trials = forms.IntegerField(
        min_value=1_000, max_value=40_000, initial=40_000, label="PBS trials (a write and a read each)",
        help_text="40,000 keeps the t = 0 figure within ±0.5 percentage points (95% confidence).",
    )
    quorum_mode = forms.ChoiceField(choices=QUORUM_MODES, initial=STRICT, label="Quorums during a partition")
    read_repair = forms.BooleanField(required=False, initial=True, label="Read repair")
    anti_entropy_ms = forms.IntegerField(min_value=0, max_value=60_000, initial=1_000, label="Anti-entropy every (ms)",
                                         help_text="0 turns it off; at least 100 otherwise.")
    operations = forms.IntegerField(min_value=100, max_value=20_000, initial=4_000, label="Client operations")
    interval_ms = forms.IntegerField(min_value=1, max_value=50, initial=2, label="One operation every (ms)")
    read_fraction = forms.FloatField(min_value=0, max_value=1, initial=0.5, label="Share of reads")
    keys = forms.IntegerField(min_value=1, max_value=100, initial=10, label="Keys")
    partition_start_ms = forms.IntegerField(min_value=0, max_value=1_000_000, initial=2_000, label="Partition starts at (ms)")
    partition_ms = forms.IntegerField(min_value=0, max_value=1_000_000, initial=3_000, label="Partition lasts (ms)",
                                      help_text="0 for no partition")
    cut_off_replicas = forms.IntegerField(min_value=0, max_value=8, initial=1, label="Replicas cut off",
                                          help_text="The minority side; fewer than N.")
    minority_clients = forms.FloatField(min_value=0, max_value=1, initial=0.3, label="Share of clients on the cut-off side")

    def clean_engine(self) -> str:
        return self.cleaned_data.get("engine") or SIMULATION

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        operations, interval = cleaned.get("operations"), cleaned.get("interval_ms")
        if cleaned.get("engine") == LIVE and operations is not None and interval is not None:
            if operations > LIVE_MAX_OPERATIONS:
                self.add_error("operations", f"A live run sends real requests to real processes: at most "
                                             f"{LIVE_MAX_OPERATIONS:,} operations when the engine is live.")
            elif operations * interval > LIVE_MAX_MS:
                self.add_error("interval_ms", f"A live run takes operations × interval of real time: keep it "
                                              f"within {LIVE_MAX_MS // 1000} s (this asks for {operations * interval / 1000:.1f} s).")
            elif interval < 5:
                self.add_error("interval_ms", "At least 5 ms between live operations: each may wait 50 ms for a quorum.")
        n = cleaned.get("replicas")
        if n is not None:
            for name in ("read_quorum", "write_quorum"):
                if cleaned.get(name) is not None and cleaned[name] > n:
                    self.add_error(name, f"At most N = {n}: a quorum is drawn from the N replicas.")
            if cleaned.get("cut_off_replicas") is not None and cleaned["cut_off_replicas"] >= n and cleaned["cut_off_replicas"]:
                self.add_error("cut_off_replicas", f"Fewer than N = {n}: some replicas stay on the majority side.")
        anti_entropy = cleaned.get("anti_entropy_ms")
        if anti_entropy is not None and 0 < anti_entropy < 100:
            self.add_error("anti_entropy_ms", "0 (off) or at least 100 ms.")
        return cleaned


def _preset(label: str, description: str, **params: Any) -> Preset:
    return Preset(label, description, params)


NO_PARTITION = {"partition_ms": 0}
PRESETS = {
    # The two the browser test runs first: quick, and visibly different.
    "dynamo-strict": _preset(
        "Dynamo (3, 2, 2), strict", "N=3, R=W=2, one replica cut off: its side refuses reads and writes.",
        distribution="lnkd-disk", replicas=3, read_quorum=2, write_quorum=2, quorum_mode=STRICT,
    ),
    "dynamo-sloppy": _preset(
        "Dynamo (3, 2, 2), sloppy", "The same partition with sloppy quorums and hinted handoff: both sides write, versions diverge.",
        distribution="lnkd-disk", replicas=3, read_quorum=2, write_quorum=2, quorum_mode=SLOPPY,
    ),
    "lnkd-ssd": _preset("LNKD-SSD", "LinkedIn's SSD fit, N=3, R=W=1.", distribution="lnkd-ssd", replicas=3,
                        read_quorum=1, write_quorum=1, **NO_PARTITION),
    "lnkd-disk": _preset("LNKD-DISK", "LinkedIn's disk fit: slow writes, N=3, R=W=1.", distribution="lnkd-disk",
                         replicas=3, read_quorum=1, write_quorum=1, **NO_PARTITION),
    "ymmr": _preset("YMMR", "Yammer's Riak fit, N=3, R=W=1.", distribution="ymmr", replicas=3, read_quorum=1,
                    write_quorum=1, **NO_PARTITION),
    "wan": _preset("WAN", "LNKD-DISK across datacentres, 75 ms between them, N=3, R=W=1.", distribution="wan",
                   replicas=3, read_quorum=1, write_quorum=1, **NO_PARTITION),
    "exp-fast-writes": _preset(
        "Exponential, fast writes (λ=4)", "N=3, R=W=1; W mean 0.25 ms, A=R=S mean 1 ms: about 94% consistent at once.",
        distribution=EXPONENTIAL, replicas=3, read_quorum=1, write_quorum=1, w_rate=4, a_rate=1, r_rate=1, s_rate=1,
        **NO_PARTITION,
    ),
    "exp-slow-writes": _preset(
        "Exponential, slow writes (λ=0.1)", "N=3, R=W=1; W mean 10 ms: about 41% at once, 99.9% by 65 ms.",
        distribution=EXPONENTIAL, replicas=3, read_quorum=1, write_quorum=1, w_rate=0.1, a_rate=1, r_rate=1, s_rate=1,
        **NO_PARTITION,
    ),
    "live-strict": _preset(
        "Live, strict (3, 2, 2), two cut off", "Three real redis-servers; two are SIGSTOPped for 1.5 s: writes and reads time out and are refused.",
        engine=LIVE, replicas=3, read_quorum=2, write_quorum=2, quorum_mode=STRICT, cut_off_replicas=2,
        operations=500, interval_ms=10, partition_start_ms=1_500, partition_ms=1_500, keys=10,
    ),
    "live-sloppy": _preset(
        "Live, sloppy (3, 2, 2), two cut off", "The same, with a stand-in redis-server taking hints and handing them off after SIGCONT.",
        engine=LIVE, replicas=3, read_quorum=2, write_quorum=2, quorum_mode=SLOPPY, cut_off_replicas=2,
        operations=500, interval_ms=10, partition_start_ms=1_500, partition_ms=1_500, keys=10,
    ),
}
assert set(PRODUCTION) <= set(PRESETS)

EXPERIMENT = Experiment(
    slug="quorums",
    title="Replicas, quorums and partitions",
    what_you_will_see=(
        "A key lives on N replicas; writes wait for W of them, reads for R. First on a healthy network: how "
        "long after a write commits until a read surely sees it (the t-visibility curve of Bailis et al.'s PBS), "
        "and what each choice of R and W costs in latency (the PACELC frontier). Then a partition cuts replicas "
        "and clients off: strict quorums refuse on the side that cannot gather a quorum, sloppy quorums keep "
        "accepting there, and when the partition heals you count the conflicting versions."
    ),
    lesson_slug="replication-and-quorums",
    form_class=QuorumsForm,
    presets=PRESETS,
    run=run,
    charts=[
        Chart(
            id="availability",
            title="Availability on each side of the partition",
            x_title="simulated time (ms)",
            y_title="share of requests accepted",
            traces=[
                Trace("majority side", "available_majority", color="#2563eb"),
                Trace("cut-off side", "available_minority", color="#dc2626", dash="dash"),
            ],
        ),
        Chart(
            id="staleness",
            title="Stale reads: a read missed a write committed before it started",
            x_title="simulated time (ms)",
            y_title="share of reads / keys",
            traces=[
                Trace("stale-read rate", "stale_read_rate", color="#9333ea"),
                Trace("keys with conflicting versions", "keys_with_siblings", color="#d97706", dash="dot"),
            ],
        ),
        Chart(
            id="latency",
            title="Read and write latency (p50, p99)",
            x_title="simulated time (ms)",
            y_title="ms",
            traces=[
                Trace("read p50", "read_p50_ms", color="#16a34a"),
                Trace("read p99", "read_p99_ms", color="#16a34a", dash="dash"),
                Trace("write p50", "write_p50_ms", color="#0891b2"),
                Trace("write p99", "write_p99_ms", color="#0891b2", dash="dash"),
            ],
        ),
    ],
    verdict=verdict,
    shapes=shapes,
    summary_figures=summary_figures,
    prediction=Prediction("How many conflicting versions will the replicas hold when the partition heals?",
                          "conflicting_versions", 100_000),
    progress=lambda params, frame: min(1.0, frame["t_ms"] / max(1, params["operations"] * params["interval_ms"])),
    table_columns=[
        ("t_ms", "Time (ms)"),
        ("available_majority", "Accepted, majority side"),
        ("available_minority", "Accepted, cut-off side"),
        ("stale_read_rate", "Stale-read rate"),
        ("keys_with_siblings", "Keys with conflicts"),
        ("read_p99_ms", "Read p99 (ms)"),
        ("write_p99_ms", "Write p99 (ms)"),
    ],
)
