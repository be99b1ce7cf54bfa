"""Consistency models: each guarantee removes exactly its own anomaly, and linearizable reads always pass the checker."""

import json
import random
from pathlib import Path

from hypothesis import given, settings as hsettings
from hypothesis import strategies as st

from playground.experiments import consistency_models
from playground.experiments.consistency_models import model
from playground.experiments.consistency_models.checker import LINEARIZABLE, NOT_LINEARIZABLE, READ, WRITE, Op
from playground.experiments.consistency_models.faults import FaultSchedule, LagSpike
from playground.experiments.consistency_models.model import BS, CP, KINDS, LIN, LIN_LEADER, LIN_OFF, LIN_QUORUM, MR, MW, RYW
from tests.support import run_collecting, valid_params
from tests.test_linearizability_checker import brute_force

EXPERIMENT = consistency_models.EXPERIMENT
SESSION_GUARANTEES = (RYW, MR, MW, CP, BS)


def params(**overrides):
    return valid_params(EXPERIMENT, **overrides)


def anomalies(p, seed, faults=None):
    return model.run_model(p, seed, lambda frame: None, faults)["anomalies"]


def switched_on(kinds, lin=LIN_QUORUM):
    return {kind: (lin if kind == LIN else True) for kind in kinds}


schedules = st.fixed_dictionaries({
    "operations": st.integers(300, 1200),
    "sessions": st.integers(1, 6),
    "replicas": st.integers(1, 5),
    "lag_mean_ms": st.sampled_from([0, 1, 5, 20, 80]),
    "spike_start_ms": st.integers(0, 800),
    "spike_ms": st.sampled_from([0, 50, 300]),
    "primary_distance_ms": st.sampled_from([1, 5, 20]),
    "staleness_bound_ms": st.sampled_from([0, 10, 50]),
})


@hsettings(max_examples=40, deadline=None, derandomize=True)
@given(schedule=schedules, seed=st.integers(0, 10_000), guarantees=st.sets(st.sampled_from(KINDS), min_size=1),
       lin=st.sampled_from([LIN_LEADER, LIN_QUORUM]), spiked=st.integers(0, 5))
def test_each_guarantee_removes_exactly_its_own_anomaly_and_never_another_s(schedule, seed, guarantees, lin, spiked):
    base = params(**schedule, spike_replicas=min(spiked, schedule["replicas"]))
    without = anomalies(base, seed)
    with_them = anomalies({**base, **switched_on(guarantees, lin)}, seed)
    assert with_them == {kind: 0 if kind in guarantees else count for kind, count in without.items()}


@hsettings(max_examples=60, deadline=None, derandomize=True)
@given(schedule=schedules, seed=st.integers(0, 10_000), lin=st.sampled_from([LIN_LEADER, LIN_QUORUM]),
       spiked=st.integers(0, 5))
def test_with_linearizable_reads_the_checker_passes_on_every_schedule(schedule, seed, lin, spiked):
    p = params(**schedule, spike_replicas=min(spiked, schedule["replicas"]), linearizable=lin)
    summary = model.run_model(p, seed, lambda frame: None)
    assert summary["checker"]["verdict"] == LINEARIZABLE
    assert summary["checker"]["keys"] == model.STOCK_KEYS
    assert summary["anomalies"][LIN] == 0


def test_without_guarantees_every_anomaly_shows_up_and_the_checker_finds_the_stock_history_wrong():
    summary, _ = run_collecting(EXPERIMENT, params(), 7)
    assert all(count > 0 for count in summary["anomalies"].values()), summary["anomalies"]
    assert summary["checker"]["verdict"] == NOT_LINEARIZABLE
    assert summary["anomalies_total"] == sum(summary["anomalies"].values())


def test_the_witness_from_a_real_run_is_a_few_operations_that_really_cannot_be_ordered():
    witness = model.run_model(params(), 7, lambda frame: None)["checker"]["witness"]
    assert 2 <= len(witness) <= 6
    ops = [Op(i, w["client"], w["kind"], w["value"], w["call_ms"], w["ret_ms"]) for i, w in enumerate(witness)]
    assert not brute_force(ops)
    assert {op.kind for op in ops} == {WRITE, READ}


def test_with_no_replication_lag_only_the_network_can_break_anything():
    # Replicas apply each write the instant it commits: reads are as good as the primary's,
    # but cart writes still race each other over the network.
    summary = model.run_model(params(spike_ms=0), 7, lambda frame: None, FaultSchedule(lag_mean_ms=0))
    assert {kind: count for kind, count in summary["anomalies"].items() if kind != MW} == dict.fromkeys([RYW, MR, CP, BS, LIN], 0)
    assert summary["anomalies"][MW] > 0
    assert summary["checker"]["verdict"] == LINEARIZABLE


def test_a_lag_spike_alone_causes_read_anomalies_and_only_while_it_lasts():
    spike = LagSpike(start_ms=1000, duration_ms=400, replicas=1)
    ops = simulated(params(lag_mean_ms=0, spike_start_ms=1000, spike_ms=400, spike_replicas=1))
    read_anomalies = [op for op in ops if op.anomaly and op.anomaly != MW]
    assert read_anomalies
    for op in read_anomalies:
        # Served by a stalled replica inside the spike window.
        node, arrived, _ = op.served[-1]
        assert node == 0 and spike.start_ms <= arrived < spike.end_ms


def simulated(p, seed=7):
    faults = FaultSchedule(p["lag_mean_ms"], LagSpike(p["spike_start_ms"], p["spike_ms"], p["spike_replicas"]))
    ops, _ = model.simulate(p, model.draw_workload(p, random.Random(seed), faults), faults)
    return ops


def test_guarantees_pay_in_latency_and_a_redirect_costs_a_round_trip_to_the_primary():
    p = params(replicas=3, primary_distance_ms=20, **switched_on(SESSION_GUARANTEES), linearizable=LIN_LEADER)
    ops = simulated(p)
    for scene in (model.PROFILE, model.THREAD, model.DASHBOARD):
        redirected = [op for op in ops if op.scene == scene and op.evidence.get("redirected")]
        assert redirected, scene
        assert all(op.latency_ms > op.base_ret_ms - op.call_ms + 2 * 20 for op in redirected)
    costs = {row["kind"]: row for row in model.latency_costs(ops, p)}
    assert costs[MW]["mean_ms"] > costs[MW]["mean_ms_without"]  # holding a write back for its predecessor
    assert costs[CP]["mean_ms"] == costs[CP]["mean_ms_without"]  # a snapshot read costs freshness, not time
    assert costs[LIN]["mean_ms"] >= 40 > costs[LIN]["mean_ms_without"]  # every stock read goes to the primary
    quorum = {row["kind"]: row for row in model.latency_costs(simulated({**p, LIN: LIN_QUORUM}), p)}
    # A majority of four nodes is three: three replicas next door answer before the primary does.
    assert quorum[LIN]["mean_ms"] < costs[LIN]["mean_ms"]


def test_the_same_seed_gives_the_same_summary_and_frames():
    first = run_collecting(EXPERIMENT, params(operations=2000), 11)
    assert json.dumps(first, sort_keys=True) == json.dumps(run_collecting(EXPERIMENT, params(operations=2000), 11), sort_keys=True)
    assert first[0] != run_collecting(EXPERIMENT, params(operations=2000), 12)[0]


def test_frames_count_anomalies_so_far_and_end_with_the_summary():
    summary, frames = run_collecting(EXPERIMENT, params(), 7)
    assert 100 <= len(frames) <= 200
    for kind in KINDS:
        series = [frame[kind] for frame in frames]
        assert series == sorted(series) and series[-1] == summary["anomalies"][kind]
    assert frames[-1]["t_ms"] == summary["duration_ms"]
    # The spike (1,000 to 1,500 ms) shows in the replication delay of the first replica.
    assert max(frame["delay_first"] for frame in frames if 1000 <= frame["t_ms"] < 1500) > 200


def test_the_space_time_diagram_shows_a_few_sessions_and_explains_every_anomaly():
    summary, _ = run_collecting(EXPERIMENT, params(), 7)
    picture = summary["diagram"]
    sessions = [lane for lane in picture["lanes"] if lane.startswith("session")]
    assert 1 <= len(sessions) <= model.DIAGRAM_SESSIONS
    assert picture["lanes"][len(sessions):] == ["primary", "replica 1", "replica 2"]
    flagged = [op for op in picture["operations"] if op["anomaly"]]
    assert len({op["anomaly"] for op in flagged}) >= 3
    assert all(op["explanation"] and op["client"] in sessions for op in flagged)
    (figure,) = EXPERIMENT.summary_figures(summary)
    notes = figure["layout"]["annotations"]
    assert len(notes) == len(flagged) and all(note["hovertext"] for note in notes)
    assert figure["layout"]["yaxis"]["categoryarray"] == picture["lanes"]


def test_the_verdict_holds_the_switched_on_guarantees_to_zero_and_only_measures_the_rest():
    summary, _ = run_collecting(EXPERIMENT, params(**EXPERIMENT.presets["session"].params), 7)
    checks = {check.label: check for check in EXPERIMENT.verdict(summary)}
    invariants = [check for check in checks.values() if check.ok is not None]
    assert len(invariants) == 4 and all(check.ok and check.value == 0 for check in invariants)
    measured = [check for check in checks.values() if check.ok is None]
    assert {check.value for check in measured if check.label.startswith("Linearizability")} == {NOT_LINEARIZABLE}
    leader, _ = run_collecting(EXPERIMENT, params(**EXPERIMENT.presets["leader"].params), 7)
    checker_line = EXPERIMENT.verdict(leader)[-1]
    assert checker_line.ok is True and checker_line.value == LINEARIZABLE


def test_parameters_are_bounded():
    _, errors = EXPERIMENT.clean_params({
        "operations": 100_001, "sessions": 0, "replicas": 6, "lag_mean_ms": -1, "primary_distance_ms": 0,
        "linearizable": "always", "staleness_bound_ms": 10_001,
    })
    assert set(errors) == {"operations", "sessions", "replicas", "lag_mean_ms", "primary_distance_ms", "linearizable", "staleness_bound_ms"}
    _, errors = EXPERIMENT.clean_params({"replicas": 2, "spike_replicas": 3})
    assert set(errors) == {"spike_replicas"}
    assert params(**EXPERIMENT.presets["everything"].params)[LIN] == LIN_LEADER
    assert params()[LIN] == LIN_OFF and not any(params()[kind] for kind in SESSION_GUARANTEES)


def test_the_lesson_quotes_this_experiment_s_seed_7_numbers():
    lesson = (Path(__file__).resolve().parent.parent / "lessons/content/09-consistency-models.md").read_text()
    eventual = model.run_model(params(), 7, lambda frame: None)
    counts = eventual["anomalies"]
    assert f"**Eventual only** gives {eventual['anomalies_total']} anomalies: {counts[RYW]} read-your-writes, " \
           f"{counts[MR]} monotonic reads, {counts[MW]} monotonic writes, {counts[CP]} consistent prefix, " \
           f"{counts[BS]} bounded staleness and {counts[LIN]} stale stock reads" in lesson
    session = model.run_model(params(**EXPERIMENT.presets["session"].params), 7, lambda frame: None)
    assert f"{session['anomalies_total']} in all" in lesson
    quorum = {row["kind"]: row for row in model.run_model(params(linearizable=LIN_QUORUM), 7, lambda frame: None)["latency"]}
    assert f"at {quorum[LIN]['mean_ms']} ms a read" in lesson
    assert f"{quorum[LIN]['write_mean_ms']} ms on average against {quorum[LIN]['write_mean_ms_without']} ms" in lesson
    first, second, read = [f"{op['client']} {op['kind']}s v{op['version']} ({op['call_ms']:.2f}–{op['ret_ms']:.2f} ms)"
                           for op in eventual["checker"]["witness"]]
    assert f"{first}, {second}, and then {read}" in lesson
