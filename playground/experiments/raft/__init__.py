"""Consensus with Raft: elections, log replication and the Figure 8 trap (lesson 17).

The form, presets, charts and verdict; the simulation is in model.py and the
fault schedules (the random faults and the Figure 8 script) in faults.py.
"""

from __future__ import annotations

from typing import Any

from django import forms

from ..base import (
    Chart, Check, Emit, Experiment, Prediction, Preset, Trace, gantt_figure, mark_conditional_fields, shaded_window,
)
from .faults import FIGURE_8, FIGURE_8_PARAMS, KILL_FAULT, PARTITION_FAULT, RANDOM, SPLIT_FAULT, random_faults
from .model import CORRECT, MAX_NODES, NAIVE, actions_for, simulate

MAX_OPERATIONS = 100_000
SCENARIOS = [
    (RANDOM, "Random network: randomized timers, message delay and loss, the faults ticked below"),
    (FIGURE_8, "Figure 8 of the Raft paper, step by step (5 nodes, scripted crashes and timeouts)"),
]
RULES = [
    (CORRECT, "Correct: count replicas only for an entry of the leader's own term (section 5.4.2)"),
    (NAIVE, "Naive: commit any entry a majority holds, whatever its term"),
]
FAULT_NAMES = {KILL_FAULT: "leader killed", PARTITION_FAULT: "leader partitioned away", SPLIT_FAULT: "split vote"}
NODE_COLORS = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#d97706", "#0891b2", "#be185d"]


def estimated_operations(params: dict[str, Any]) -> int:
    """Messages and client commands a run can take: heartbeats to and replies from every follower, plus commands."""
    duration = params["duration_ms"]
    messages = duration // params["heartbeat_ms"] * (params["nodes"] - 1) * 2
    commands = duration // params["command_interval_ms"] if params["command_interval_ms"] else 0
    return messages + commands


def run(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    if params["scenario"] == FIGURE_8:
        # The script assumes the figure's cluster and timings; only the commit rule is the learner's.
        params = {**params, **FIGURE_8_PARAMS}
    return simulate(params, actions_for(params), seed, emit)


class RaftForm(forms.Form):
    scenario = forms.ChoiceField(choices=SCENARIOS, initial=RANDOM, label="Scenario")
    commit_rule = forms.ChoiceField(choices=RULES, initial=CORRECT, label="Commit rule")
    nodes = forms.IntegerField(min_value=3, max_value=MAX_NODES, initial=5, label="Nodes", help_text="3 to 7.")
    election_min_ms = forms.IntegerField(
        min_value=10, max_value=10_000, initial=150, label="Election timeout, shortest (ms)",
        help_text="Each follower draws its timeout anew, uniformly between the shortest and the longest.",
    )
    election_max_ms = forms.IntegerField(
        min_value=10, max_value=10_000, initial=300, label="Election timeout, longest (ms)",
        help_text="Equal to the shortest: no randomization, and split votes can repeat.",
    )
    heartbeat_ms = forms.IntegerField(
        min_value=5, max_value=5_000, initial=50, label="Heartbeat interval (ms)",
        help_text="The leader sends AppendEntries to every follower this often; keep it well under the timeout.",
    )
    delay_ms = forms.IntegerField(min_value=1, max_value=1_000, initial=10, label="Message delay (ms)")
    delay_jitter = forms.FloatField(
        min_value=0, max_value=1, initial=0.5, label="Delay jitter (±share)",
        help_text="0 to 1: each message takes the delay ± this share of it, uniformly.",
    )
    loss = forms.FloatField(min_value=0, max_value=0.5, initial=0.01, label="Message loss", help_text="0 to 0.5, per message.")
    duration_ms = forms.IntegerField(min_value=1_000, max_value=120_000, initial=10_000, label="Simulated time (ms)")
    command_interval_ms = forms.IntegerField(
        min_value=0, max_value=10_000, initial=20, label="Client command every (ms)",
        help_text="A client sends a command to the leader this often; 0 for none.",
    )
    kill_leader = forms.BooleanField(required=False, initial=True, label="Kill the leader, restart it later")
    partition_leader = forms.BooleanField(required=False, initial=True, label="Partition the leader away, then heal")
    split_vote = forms.BooleanField(
        required=False, initial=True, label="Split vote",
        help_text="The leader crashes and every follower's timer fires at the same instant.",
    )
    fault_ms = forms.IntegerField(
        min_value=100, max_value=60_000, initial=1_000, label="Each fault lasts (ms)",
        help_text="Faults come one after another, evenly spread over the run.",
    )

    show_when = {name: ("scenario", RANDOM) for name in (
        "nodes", "election_min_ms", "election_max_ms", "heartbeat_ms", "delay_ms", "delay_jitter", "loss",
        "duration_ms", "command_interval_ms", "kill_leader", "partition_leader", "split_vote", "fault_ms")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mark_conditional_fields(self)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if cleaned["election_max_ms"] < cleaned["election_min_ms"]:
            self.add_error("election_max_ms", "The longest election timeout cannot be shorter than the shortest.")
        elif cleaned["scenario"] == RANDOM and estimated_operations(cleaned) > MAX_OPERATIONS:
            self.add_error("duration_ms", (
                f"That is about {estimated_operations(cleaned):,} messages and commands; at most {MAX_OPERATIONS:,}. "
                "Shorten the run, or send heartbeats or commands less often."))
        return cleaned


HOW_CHECKED = {
    "election_safety": "Checked each time a node becomes leader.",
    "leader_append_only": "Checked each time a log is cut back.",
    "log_matching": "Checked at every append: each copy of an index and term must follow the same history.",
    "leader_completeness": "Checked at every election, against every entry committed so far.",
    "state_machine_safety": "Checked at every commit and every apply, on every node.",
}
PROPERTIES = [
    ("election_safety", "Election Safety: at most one leader per term"),
    ("leader_append_only", "Leader Append-Only: a leader never erases or rewrites its own entries"),
    ("log_matching", "Log Matching: an index and a term name one entry and one history"),
    ("leader_completeness", "Leader Completeness: every leader holds every entry committed before its term"),
    ("state_machine_safety", "State Machine Safety: no two nodes apply different entries at one index"),
]


def verdict(summary: dict[str, Any]) -> list[Check]:
    violations, examples = summary["violations"], summary["examples"]
    checks = [
        Check(label, violations[key], violations[key] == 0,
              examples.get(key) or HOW_CHECKED[key])
        for key, label in PROPERTIES
    ]
    overwritten = summary["committed_overwritten"]
    checks.append(Check(
        "Committed entries erased from a log", overwritten, overwritten == 0,
        " ".join(filter(None, [examples.get("overwritten"), examples.get("committed_twice")])) or (
            f"{summary['uncommitted_discarded']:,} uncommitted entries were erased, as Raft allows: a leader that "
            "lost office before a majority held them. No committed one ever was."),
    ))
    faults = summary["faults"]
    recovery = "; ".join(_recovery(fault) for fault in faults)
    checks.append(Check(
        "Time without a leader that reaches a majority (ms)", summary["leaderless_ms"], None,
        (recovery + ". " if recovery else "") + f"{summary['elections']} elections in all, "
        f"{summary['leaders_elected']} won; the last term was {summary['terms']}.",
    ))
    if faults:
        checks.append(Check(
            "Elections per fault", summary["elections_per_fault"], None,
            "One means the first candidate won; more are split votes or candidates that lost to a longer log.",
        ))
    checks.append(Check(
        "Entries committed", summary["committed"], None,
        f"Of {summary['commands']:,} client commands, in {summary['messages']:,} messages.",
    ))
    return checks


def _recovery(fault: dict[str, Any]) -> str:
    name = FAULT_NAMES.get(fault["fault"], fault["fault"])
    if fault["node"] is None:
        # The fault found no leader to strike: the cluster was already between leaders.
        return f"{name} at {fault['at_ms']:,} ms: no leader to strike then"
    if fault["recovered_ms"] is None:
        return f"{name} (S{fault['node']}) at {fault['at_ms']:,} ms: no leader by the end, {fault['elections']} election(s)"
    return (f"{name} (S{fault['node']}) at {fault['at_ms']:,} ms: a leader again after {fault['recovered_ms']:,} ms, "
            f"{fault['elections']} election(s)")


TIMELINE_COLORS = {"leader": "#16a34a", "candidacy won": "#2563eb", "candidacy lost": "#f59e0b",
                   "candidate": "#f59e0b", "down": "#94a3b8"}
TERM_COLORS = ["#e2e8f0", "#bfdbfe", "#fde68a", "#fecaca", "#bbf7d0", "#ddd6fe", "#fbcfe8", "#a5f3fc"]


def summary_figures(summary: dict[str, Any]) -> list[dict]:
    figures = []
    if summary.get("timeline"):
        figures.append(gantt_figure("Timeline of elections: candidates, leaders and crashed nodes", summary["timeline"],
                                    TIMELINE_COLORS))
    # Logs short enough to read whole: the scripted scenario's, where the entries' terms are the story.
    logs = summary.get("logs") if summary.get("scenario") != RANDOM else None
    if logs:
        segments = [{"row": f"S{log['node']}", "label": f"term {term}", "start_ms": index, "end_ms": index + 1,
                     "outcome": f"term {term}"} for log in logs for index, term in enumerate(log["terms"], start=1)]
        colors = {f"term {t}": TERM_COLORS[t % len(TERM_COLORS)] for t in range(summary["terms"] + 1)}
        if segments:
            figure = gantt_figure("The logs at the end: the term of each entry, by index (the first 20)", segments, colors)
            figure["layout"]["xaxis"]["title"]["text"] = "log index"
            figure["data"] = sorted(figure["data"], key=lambda trace: int(trace["name"].split()[1]))
            for trace in figure["data"]:
                trace["hovertemplate"] = "%{y}: %{text} at index %{base}<extra></extra>"
            figures.append(figure)
    return figures


def shapes(params: dict[str, Any]) -> list[dict]:
    """Shade each scheduled fault on every chart."""
    if params.get("scenario") != RANDOM:
        return []
    actions = random_faults(params)
    return [shaded_window(start.t_ms, end.t_ms, FAULT_NAMES[start.fault]) for start, end in zip(actions[::2], actions[1::2])]


def progress(params: dict[str, Any], frame: dict[str, Any]) -> float:
    duration = FIGURE_8_PARAMS["duration_ms"] if params.get("scenario") == FIGURE_8 else params["duration_ms"]
    return min(1.0, frame["t_ms"] / max(1, duration))


def per_node_charts(n: int) -> list[Chart]:
    nodes = range(1, n + 1)
    return [
        Chart(id=f"terms-{n}", title="Term per node (a gap: the node is down)", x_title="simulated time (ms)",
              y_title="term", traces=[Trace(f"S{i}", f"term_{i}", color=NODE_COLORS[i - 1]) for i in nodes],
              only_when={"nodes": n}),
        Chart(id=f"commit-{n}", title="Commit index per node", x_title="simulated time (ms)", y_title="commit index",
              traces=[Trace(f"S{i}", f"commit_{i}", color=NODE_COLORS[i - 1]) for i in nodes], only_when={"nodes": n}),
    ]


def charts_for_all() -> list[Chart]:
    """One term chart and one commit chart per cluster size; Figure 8 always runs on five nodes."""
    charts = []
    for n in range(3, MAX_NODES + 1):
        for chart in per_node_charts(n):
            charts.append(Chart(chart.id, chart.title, chart.x_title, chart.y_title, chart.traces,
                                {"scenario": RANDOM, "nodes": n}))
    charts += [Chart(f"{chart.id}-figure-8", chart.title, chart.x_title, chart.y_title, chart.traces,
                     {"scenario": FIGURE_8}) for chart in per_node_charts(5)]
    return charts + [
        Chart(id="leader", title="Who leads (0: no leader that reaches a majority)", x_title="simulated time (ms)",
              y_title="leader (node number)", traces=[Trace("leader", "leader", color="#0f172a"),
                                                       Trace("its term", "leader_term", color="#64748b", dash="dot")]),
        Chart(id="elections", title="Elections started, time without a leader, and safety", x_title="simulated time (ms)",
              y_title="count", traces=[
                  Trace("elections started", "elections", color="#2563eb"),
                  Trace("committed entries erased", "overwritten", color="#dc2626", dash="dash"),
                  Trace("safety violations", "violations", color="#7f1d1d", dash="dot"),
              ]),
    ]


PRESET_FAULTS = {"kill_leader": True, "partition_leader": True, "split_vote": True}
NO_FAULTS = {"kill_leader": False, "partition_leader": False, "split_vote": False}

EXPERIMENT = Experiment(
    slug="raft",
    title="Consensus with Raft: elections, log replication and the Figure 8 trap",
    what_you_will_see=(
        "Five nodes elect a leader with randomized timeouts and replicate a client's commands. You kill the "
        "leader, cut it off from the others and force a split vote: terms climb, a new leader takes over, and "
        "the commit index stalls and resumes. Every run checks Raft's four safety properties. The Figure 8 "
        "preset replays the paper's trap: a leader that commits an entry of an earlier term by counting its "
        "replicas sees that entry erased by the next leader; the correct rule never commits it."
    ),
    lesson_slug="consensus-raft",
    form_class=RaftForm,
    presets={
        "faults": Preset("Kill, partition, split vote", "Five nodes, 150–300 ms timeouts, 1% loss, the three faults in turn.",
                         {"scenario": RANDOM, "commit_rule": CORRECT, **PRESET_FAULTS}),
        "figure-8": Preset("Figure 8, naive commit rule",
                           "The paper's scenario, with a leader that commits an earlier term's entry by counting replicas.",
                           {"scenario": FIGURE_8, "commit_rule": NAIVE}),
        "figure-8-correct": Preset("Figure 8, correct commit rule", "The same script; only entries of the leader's term are counted.",
                                   {"scenario": FIGURE_8, "commit_rule": CORRECT}),
        "fixed-timeouts": Preset("Split vote, no randomization",
                                 "Every timeout is 150 ms: after a split vote, the candidates time out together again.",
                                 {"scenario": RANDOM, **NO_FAULTS, "split_vote": True, "election_min_ms": 150,
                                  "election_max_ms": 150, "loss": 0.0, "delay_jitter": 0.0, "fault_ms": 3_000}),
        "lossy-seven": Preset("Seven nodes, 20% loss", "Heartbeats go missing: followers time out under a live leader.",
                              {"scenario": RANDOM, **PRESET_FAULTS, "nodes": 7, "loss": 0.2}),
        "slow-heartbeat": Preset("Heartbeats slower than the timeout",
                                 "A 200 ms heartbeat against 150–300 ms timeouts: leaders come and go with no fault at all.",
                                 {"scenario": RANDOM, **NO_FAULTS, "heartbeat_ms": 200}),
    },
    run=run,
    charts=charts_for_all(),
    verdict=verdict,
    shapes=shapes,
    prediction=Prediction("For how many milliseconds will the cluster have no leader that reaches a majority?",
                          "leaderless_ms", 120_000),
    progress=progress,
    summary_figures=summary_figures,
    table_columns=[
        ("t_ms", "Time (ms)"),
        ("leader", "Leader (0: none)"),
        ("leader_term", "Its term"),
        ("elections", "Elections started"),
        ("committed", "Highest committed index"),
        ("leaderless_ms", "Time without a leader (ms)"),
        ("overwritten", "Committed entries erased"),
        ("violations", "Safety violations"),
    ],
)
