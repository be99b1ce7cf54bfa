"""The clocks simulation: wall-clock LWW loses acknowledged writes under skew; version vectors never do; HLC stays near physical time."""

from __future__ import annotations

import math

from hypothesis import given, settings, strategies as st

from playground.experiments import get_experiment
from playground.experiments.clocks import model
from playground.experiments.clocks.faults import ClockSchedule, Operation
from playground.experiments.clocks.model import HLC, LAMPORT, RULES, VV, WALL, simulate

EXPERIMENT = get_experiment("clocks")


def run(seed: int, **overrides):
    params, errors = EXPERIMENT.clean_params(overrides)
    assert not errors, errors
    frames: list[dict] = []
    return EXPERIMENT.run(params, seed, frames.append), frames


def still_clocks(*skews: float) -> ClockSchedule:
    return ClockSchedule(tuple(skews), tuple(0.0 for _ in skews), tuple(0.0 for _ in skews))


@st.composite
def schedules(draw):
    """Any small schedule: replicas, keys, reads, think times, per-replica delays, skews, drifts and a step."""
    replicas = draw(st.integers(2, 4))
    keys = draw(st.integers(1, 3))
    operations = []
    for _ in range(draw(st.integers(1, 25))):
        replica = draw(st.integers(0, replicas - 1))
        read = draw(st.floats(0, 200, allow_nan=False))
        think = draw(st.sampled_from([0.0, 0.5, 3.0, 20.0, 60.0]))
        delays = tuple(0.0 if x == replica else draw(st.floats(0, 100, allow_nan=False)) for x in range(replicas))
        operations.append(Operation(draw(st.integers(0, keys - 1)), replica, read, read + think, delays))
    clocks = ClockSchedule(
        skew_ms=tuple(draw(st.floats(-100, 100, allow_nan=False)) for _ in range(replicas)),
        drift_ppm=tuple(draw(st.floats(-5000, 5000, allow_nan=False)) for _ in range(replicas)),
        step_ms=tuple(draw(st.sampled_from([0.0, 0.0, 30.0, 150.0])) for _ in range(replicas)),
        step_at_ms=draw(st.one_of(st.just(math.inf), st.floats(0, 250, allow_nan=False))),
    )
    return operations, clocks


@settings(max_examples=300, deadline=None, derandomize=True)
@given(schedules())
def test_version_vectors_never_silently_lose_a_write_under_any_schedule(schedule):
    operations, clocks = schedule
    outcome = simulate(operations, clocks, VV)
    assert outcome.lost == []
    assert outcome.violations == []
    assert outcome.converged


@settings(max_examples=300, deadline=None, derandomize=True)
@given(schedules())
def test_hlc_stays_within_the_skew_bound_and_respects_causality_under_any_schedule(schedule):
    operations, clocks = schedule
    outcome = simulate(operations, clocks, HLC)
    # Clocks are read in whole milliseconds, so the bound is ε plus the last millisecond's rounding.
    assert 0 <= outcome.max_hlc_lead_ms <= outcome.offset_spread_ms + 1
    assert outcome.violations == []
    assert outcome.converged
    lamport = simulate(operations, clocks, LAMPORT)
    assert lamport.violations == [] and lamport.converged


@settings(max_examples=200, deadline=None, derandomize=True)
@given(schedules())
def test_every_lww_rule_converges_on_one_version_per_key_and_loses_every_write_its_survivor_never_saw(schedule):
    operations, clocks = schedule
    for rule in (WALL, LAMPORT, HLC):
        outcome = simulate(operations, clocks, rule)
        assert outcome.converged
        assert outcome.final_versions == len({op.key for op in operations})
        # A write that nobody read is in no other write's past: unless it survived, it is lost.
        read = {cause for context in outcome.contexts for cause in context}
        unread = set(range(len(operations))) - read
        assert len(unread - set(outcome.lost)) <= outcome.final_versions


def test_wall_clock_lww_loses_the_write_that_read_the_winner_and_logical_clocks_keep_it():
    # Replica 1 runs 40 ms fast. Write 1 there at 1,000 ms is stamped 1,040; it reaches replica 2 at 1,005 ms.
    # At 1,015 ms a client reads it on replica 2 and writes it back, stamped 1,015 by a correct clock.
    operations = [
        Operation(key=0, replica=0, read_ms=1000.0, write_ms=1000.0, delays_ms=(0.0, 5.0)),
        Operation(key=0, replica=1, read_ms=1015.0, write_ms=1015.0, delays_ms=(5.0, 0.0)),
    ]
    clocks = still_clocks(40.0, 0.0)
    wall = simulate(operations, clocks, WALL)
    assert wall.contexts[1] == (0,)  # the second write read the first
    assert wall.lost == [1] and wall.violations == [1]
    assert wall.witness["cause_stamp"] == 1040 and wall.witness["effect_stamp"] == 1015
    for rule in (LAMPORT, HLC, VV):
        outcome = simulate(operations, clocks, rule)
        assert outcome.lost == [] and outcome.violations == [], rule
    # With the clocks in step, wall-clock LWW keeps it too: the loss is the skew's doing.
    assert simulate(operations, still_clocks(0.0, 0.0), WALL).lost == []


def test_a_clock_stepped_back_makes_a_replica_lose_its_own_later_write():
    operations = [
        Operation(key=0, replica=0, read_ms=100.0, write_ms=100.0, delays_ms=(0.0, 50.0)),
        Operation(key=0, replica=0, read_ms=120.0, write_ms=120.0, delays_ms=(0.0, 50.0)),
    ]
    stepped = ClockSchedule((0.0, 0.0), (0.0, 0.0), (100.0, 0.0), step_at_ms=110.0)
    wall = simulate(operations, stepped, WALL)
    assert wall.lost == [1] and wall.violations == [1]
    hlc = simulate(operations, stepped, HLC)
    assert hlc.lost == [] and hlc.max_hlc_lead_ms == 80  # l stays at 100 while the clock reads 20


def test_concurrent_writes_cost_lww_one_write_whatever_the_clock_and_version_vectors_keep_both_as_siblings():
    # Two clients write the same key on two replicas 1 ms apart, neither seeing the other.
    operations = [
        Operation(key=0, replica=0, read_ms=10.0, write_ms=10.0, delays_ms=(0.0, 30.0)),
        Operation(key=0, replica=1, read_ms=11.0, write_ms=11.0, delays_ms=(30.0, 0.0)),
    ]
    for rule in (WALL, LAMPORT, HLC):
        assert len(simulate(operations, still_clocks(0.0, 0.0), rule).lost) == 1, rule
    vv = simulate(operations, still_clocks(0.0, 0.0), VV)
    assert vv.lost == [] and vv.keys_with_siblings_at_end == 1


def test_two_clients_writing_through_one_server_from_the_same_read_become_siblings_not_a_lost_write():
    # Per-server version vectors would give these {S:1} and {S:2} and drop the first; dots keep both.
    operations = [
        Operation(key=0, replica=0, read_ms=10.0, write_ms=20.0, delays_ms=(0.0, 5.0)),
        Operation(key=0, replica=0, read_ms=11.0, write_ms=25.0, delays_ms=(0.0, 5.0)),
        Operation(key=0, replica=1, read_ms=40.0, write_ms=41.0, delays_ms=(5.0, 0.0)),
    ]
    vv = simulate(operations, still_clocks(0.0, 0.0), VV)
    assert vv.contexts[0] == vv.contexts[1] == ()
    assert vv.reads_with_siblings == 1  # the third client read both, merged them, and wrote over both
    assert vv.contexts[2] == (0, 1)
    assert vv.lost == [] and vv.keys_with_siblings_at_end == 0
    assert len(simulate(operations, still_clocks(0.0, 0.0), LAMPORT).lost) == 1


def test_the_loss_under_wall_clock_lww_grows_with_skew_and_is_zero_with_version_vectors():
    summary, _ = run(7)
    sweep = summary["sweep"]
    assert [row["skew_ms"] for row in sweep] == list(model.SWEEP_SKEWS_MS)
    wall = [row["lost"][WALL] for row in sweep]
    assert wall[-1] > 2 * wall[0]
    assert all(row["lost"][VV] == 0 for row in sweep)
    # Without skew, every LWW rule loses the same concurrent writes, give or take ties.
    assert abs(sweep[0]["lost"][WALL] - sweep[0]["lost"][LAMPORT]) <= 2
    assert summary["lost"][WALL] > summary["lost"][HLC] > summary["lost"][VV] == 0
    assert summary["lost_wall_causal"] == summary["violations"][WALL] > 0


def test_a_dead_ntp_daemon_loses_far_more_than_ntp_on_a_lan():
    lan, _ = run(7, **EXPERIMENT.presets["lan-ntp"].params)
    broken, _ = run(7, **EXPERIMENT.presets["broken-ntp"].params)
    assert lan["violations"][WALL] <= 2
    assert broken["violations"][WALL] > 50 * max(1, lan["violations"][WALL])
    assert broken["lost"][WALL] > 3 * lan["lost"][WALL]
    # The logical rules do not care what the clocks say.
    assert broken["lost"][LAMPORT] == lan["lost"][LAMPORT]


def test_frames_count_up_to_the_summary_and_keep_every_replica_in_its_lane():
    summary, frames = run(7, replicas=3)
    last = frames[-1]
    assert last["acked"] == summary["writes"]
    for rule in RULES:
        assert last[f"lost_{rule}"] == summary["lost"][rule]
        assert last[f"violations_{rule}"] == summary["violations"][rule]
    assert last["offset_3"] is None and last["offset_0"] is not None
    assert max(frame["hlc_lead_ms"] for frame in frames) == summary["max_hlc_lead_ms"]


def test_the_same_seed_gives_the_same_frames_and_another_seed_does_not():
    assert run(7, writes=500)[1] == run(7, writes=500)[1]
    assert run(7, writes=500)[1] != run(8, writes=500)[1]


def test_it_rejects_more_than_its_bounds():
    assert "writes" in EXPERIMENT.clean_params({"writes": 19_001})[1]
    assert "replicas" in EXPERIMENT.clean_params({"replicas": 8})[1]
    assert "skew_ms" in EXPERIMENT.clean_params({"skew_ms": -1})[1]
