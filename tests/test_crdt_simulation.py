"""The CRDT experiment: each CRDT's merge is a join and converges under any delivery; the naive merges visibly fail."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from playground.experiments import get_experiment
from playground.experiments.crdt import MAX_GOSSIP, gossip_messages
from playground.experiments.crdt.datatypes import (
    LWWCounter, LWWSet, MaxCounter, ORSet, PNCounter, TwoPhaseSet, UnionSet,
)

EXPERIMENT = get_experiment("crdt")
REPLICAS = 3
ELEMENTS = 4


def run(seed: int, **overrides):
    params, errors = EXPERIMENT.clean_params(overrides)
    assert not errors, errors
    frames: list[dict] = []
    return EXPERIMENT.run(params, seed, frames.append), frames


# --- The types on their own: histories of updates and stale, duplicated, reordered deliveries ---------

COUNTERS = {"pn": lambda: PNCounter.empty(REPLICAS), "lww": LWWCounter, "max": MaxCounter}
SETS = {"or": lambda: ORSet.empty(REPLICAS), "two_phase": TwoPhaseSet, "lww": LWWSet, "union": UnionSet}

# A step: an update at a replica, or a delivery of any state a replica ever had (so: late, repeated, out of order).
step = st.one_of(
    st.tuples(st.just("update"), st.integers(0, REPLICAS - 1), st.booleans(), st.integers(0, ELEMENTS - 1)),
    st.tuples(st.just("deliver"), st.integers(0, REPLICAS - 1), st.integers(0, REPLICAS - 1), st.integers(0, 10**6)),
)
history = st.lists(step, min_size=1, max_size=40)


def play(make, steps, update):
    """Run a history; return every state each replica passed through, and the final ones."""
    replicas = [make() for _ in range(REPLICAS)]
    past = [[state] for state in replicas]
    clock = 0.0
    for kind, a, b, c in steps:
        clock += 1.0
        if kind == "update":
            replicas[a] = update(replicas[a], a, b, c, clock)
            past[a].append(replicas[a])
        else:
            sent = past[a][c % len(past[a])]
            replicas[b] = replicas[b].merge(sent)
            past[b].append(replicas[b])
    return [state for states in past for state in states], replicas


def counter_update(state, replica, up, _, clock):
    return state.add(replica, 1 if up else -1, clock)


def set_update(state, replica, add, element, clock):
    return state.add(replica, element, clock) if add else state.remove(replica, element, clock)


def assert_join_laws(states, picks):
    for i, j, k in picks:
        a, b, c = states[i % len(states)], states[j % len(states)], states[k % len(states)]
        assert a.merge(b) == b.merge(a)
        assert a.merge(b).merge(c) == a.merge(b.merge(c))
        assert a.merge(a) == a
        assert a.merge(b).merge(b) == a.merge(b)


picks = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6)), min_size=1, max_size=15)


@settings(max_examples=150, deadline=None)
@given(steps=history, picks=picks, name=st.sampled_from(sorted(COUNTERS)))
def test_every_counter_merge_is_commutative_associative_and_idempotent_on_reachable_states(steps, picks, name):
    states, _ = play(COUNTERS[name], steps, counter_update)
    assert_join_laws(states, picks)


@settings(max_examples=150, deadline=None)
@given(steps=history, picks=picks, name=st.sampled_from(sorted(SETS)))
def test_every_set_merge_is_commutative_associative_and_idempotent_on_reachable_states(steps, picks, name):
    states, _ = play(SETS[name], steps, set_update)
    assert_join_laws(states, picks)


def merge_all(states):
    result = states[0]
    for state in states[1:]:
        result = result.merge(state)
    return result


@settings(max_examples=150, deadline=None)
@given(steps=history, order=st.randoms(use_true_random=False), extra=st.lists(st.integers(0, 10**6), max_size=8),
       name=st.sampled_from(["pn", "or", "two_phase"]))
def test_crdt_replicas_converge_whatever_the_delivery_order_and_duplicates(steps, order, extra, name):
    make, update = (COUNTERS[name], counter_update) if name == "pn" else (SETS[name], set_update)
    states, finals = play(make, steps, update)
    reference = merge_all(finals)
    # Any order, any stale states mixed in, any of them twice: the same state.
    shuffled = finals + [states[i % len(states)] for i in extra] + finals[:1]
    order.shuffle(shuffled)
    assert merge_all(shuffled) == reference
    # And every replica that merges everyone's final state ends in that state.
    assert all(final.merge(reference) == reference for final in finals)


@settings(max_examples=150, deadline=None)
@given(steps=history)
def test_the_pn_counter_counts_every_update_exactly_once(steps):
    _, finals = play(COUNTERS["pn"], steps, counter_update)
    expected = sum(1 if up else -1 for kind, _, up, _ in steps if kind == "update")
    assert merge_all(finals).value == expected


@settings(max_examples=150, deadline=None)
@given(steps=history)
def test_the_or_set_keeps_exactly_the_adds_no_remove_has_observed(steps):
    """Add-wins from first principles: an add survives unless a remove ran where that add had been seen."""
    _, finals = play(SETS["or"], steps, set_update)
    known = [frozenset() for _ in range(REPLICAS)]  # the adds, as (element, replica, n), each replica has seen
    past = [[frozenset()] for _ in range(REPLICAS)]  # indexed like play()'s states
    removed: set = set()
    made = [0] * REPLICAS
    for kind, a, b, c in steps:
        if kind == "update" and b:
            made[a] += 1
            known[a] = known[a] | {(c, a, made[a])}
        elif kind == "update":
            removed |= {add for add in known[a] if add[0] == c}
        else:
            known[b] = known[b] | past[a][c % len(past[a])]
        target = a if kind == "update" else b
        past[target].append(known[target])
    every_add = frozenset().union(*known)
    assert merge_all(finals).members == {add[0] for add in every_add - removed}


# --- The naive merges, caught in the act: deterministic counterexamples -------------------------


def test_a_counter_merged_by_max_loses_a_concurrent_increment_and_the_pn_counter_does_not():
    a, b = MaxCounter().add(0, 1), MaxCounter().add(1, 1)
    assert a.merge(b).value == b.merge(a).value == 1  # converged, and wrong
    a, b = PNCounter.empty(2).add(0, 1), PNCounter.empty(2).add(1, 1)
    assert a.merge(b).value == b.merge(a).value == 2


def test_a_counter_merged_by_last_write_drops_the_earlier_of_two_concurrent_increments():
    a, b = LWWCounter().add(0, 1, stamp=10.0), LWWCounter().add(1, 1, stamp=11.0)
    assert a.merge(b).value == b.merge(a).value == 1


def test_a_decrement_shrinks_a_max_counter_so_replicas_that_saw_the_same_updates_disagree():
    a = MaxCounter().add(0, 1)           # replica A: +1
    b = MaxCounter().merge(a).add(1, -1)  # replica B hears of it, then -1
    a = a.merge(b)                       # A hears of B's -1: both have seen both updates
    assert (a.value, b.value) == (1, 0)  # and they differ: not strongly convergent
    p = PNCounter.empty(2).add(0, 1)
    q = PNCounter.empty(2).merge(p).add(1, -1)
    assert p.merge(q) == q and p.merge(q).value == 0


def test_a_union_set_brings_back_an_element_removed_after_its_only_add():
    a = UnionSet().add(0, 7)
    b = UnionSet().merge(a).remove(1, 7)  # B saw the add, then removed it
    assert b.merge(a).contains(7)         # A's old state re-adds it
    a = ORSet.empty(2).add(0, 7)
    b = ORSet.empty(2).merge(a).remove(1, 7)
    assert not b.merge(a).contains(7) and not a.merge(b).contains(7)


def test_an_lww_set_lets_a_fast_clock_undo_a_later_remove():
    a = LWWSet().add(0, 7, stamp=100.0)        # A's clock runs ahead
    b = LWWSet().merge(a).remove(1, 7, stamp=90.0)  # B removes it after seeing it, with a slower clock
    assert b.merge(a).contains(7)
    o = ORSet.empty(2).add(0, 7)
    assert not ORSet.empty(2).merge(o).remove(1, 7).merge(o).contains(7)


def test_a_two_phase_set_never_takes_an_element_back_and_the_or_set_does():
    two = TwoPhaseSet().add(0, 7).remove(0, 7).add(0, 7)
    assert not two.contains(7)
    assert ORSet.empty(1).add(0, 7).remove(0, 7).add(0, 7).contains(7)


def test_an_or_set_lets_a_concurrent_add_win_over_a_remove():
    a = ORSet.empty(2).add(0, 7)
    b = ORSet.empty(2).merge(a)
    a = a.remove(0, 7)     # A removes the add it saw
    b = b.add(1, 7)        # B adds 7 again, concurrently
    assert a.merge(b).contains(7) and b.merge(a).contains(7)
    assert a.merge(b) == b.merge(a)


# --- The simulation ------------------------------------------------------------------------


scenarios = st.fixed_dictionaries({
    "replicas": st.integers(2, 5),
    "operations": st.integers(100, 600),
    "interval_ms": st.sampled_from([0.5, 2.0, 5.0]),
    "counter_share": st.sampled_from([0.0, 0.5, 1.0]),
    "decrement_share": st.sampled_from([0.0, 0.3, 0.5]),
    "remove_share": st.sampled_from([0.1, 0.5, 0.9]),
    "elements": st.integers(1, 12),
    "gossip_ms": st.sampled_from([10.0, 50.0, 200.0]),
    "delay_ms": st.sampled_from([0.0, 5.0, 50.0]),
    "loss": st.sampled_from([0.0, 0.1, 0.5]),
    "duplicate": st.sampled_from([0.0, 0.1, 0.5]),
    "skew_ms": st.sampled_from([0.0, 20.0, 500.0]),
    "cut_off_replicas": st.integers(0, 4),
    "partition_start_ms": st.sampled_from([0.0, 200.0]),
    "partition_ms": st.sampled_from([0.0, 500.0, 3000.0]),
    "quiet_ms": st.sampled_from([500.0, 5000.0]),
})


@settings(max_examples=40, deadline=None)
@given(params=scenarios, seed=st.integers(0, 2**31 - 1))
def test_the_crdts_are_strongly_convergent_and_never_lose_or_resurrect_under_any_schedule(params, seed):
    params["cut_off_replicas"] = min(params["cut_off_replicas"], params["replicas"] - 1)
    summary, _ = run(seed, **params)
    pn, orset, two = summary["counters"]["pn"], summary["sets"]["or"], summary["sets"]["two_phase"]
    assert pn["sec_violations"] == orset["sec_violations"] == two["sec_violations"] == 0
    assert pn["error_vs_seen"] == 0
    assert orset["came_back"] == orset["lost_adds"] == 0
    assert two["came_back"] == 0
    if summary["all_seen"]:
        assert pn["converged"] and orset["converged"] and two["converged"]
        assert pn["values"] == [summary["truth"]] * params["replicas"]
    if params["skew_ms"] == 0:
        # With perfect clocks a causally later write always has the larger timestamp.
        assert summary["sets"]["lww"]["came_back"] == summary["sets"]["lww"]["lost_adds"] == 0


def test_the_naive_variants_visibly_fail_on_the_default_partition():
    summary, _ = run(7)
    assert summary["all_seen"]
    counters, sets = summary["counters"], summary["sets"]
    assert counters["max"]["converged"] and counters["max"]["off_by"] > 0  # converged on a wrong number
    assert counters["lww"]["converged"] and counters["lww"]["off_by"] > 0
    assert not counters["ops"]["converged"]  # cut-off and lost "+1" messages are never resent
    assert sets["union"]["came_back"] > 0
    assert summary["max_counter_error"] == counters["max"]["off_by"]


def test_the_op_based_counter_is_exact_on_a_perfect_channel_and_diverges_on_a_lossy_one():
    perfect, _ = run(7, **EXPERIMENT.presets["no-faults"].params)
    assert perfect["counters"]["ops"]["converged"] and perfect["counters"]["ops"]["off_by"] == 0
    lossy, _ = run(7, **EXPERIMENT.presets["lossy"].params)
    assert not lossy["counters"]["ops"]["converged"] and lossy["counters"]["ops"]["off_by"] > 0
    assert lossy["counters"]["pn"]["off_by"] == 0


def test_skewed_clocks_make_the_lww_set_resurrect_removed_elements():
    skewed, _ = run(7, **EXPERIMENT.presets["skewed-clocks"].params)
    assert skewed["sets"]["lww"]["came_back"] + skewed["sets"]["lww"]["lost_adds"] > 0
    assert skewed["sets"]["or"]["came_back"] == skewed["sets"]["or"]["lost_adds"] == 0


def test_the_textbook_or_set_keeps_a_tag_per_add_and_the_optimized_one_stays_small():
    summary, frames = run(7)
    orset = summary["sets"]["or"]
    assert orset["textbook_tags"] == summary["adds"]
    # At most one live dot per element and adding replica, plus the version vector.
    assert orset["metadata"] <= 50 * 3 + 3
    assert frames[-1]["tags_or_textbook"] > 10 * frames[-1]["metadata_or"]


def test_the_same_seed_gives_the_same_frames_and_another_seed_does_not():
    assert run(7, operations=500)[1] == run(7, operations=500)[1]
    assert run(7, operations=500)[1] != run(8, operations=500)[1]


def test_the_verdict_marks_the_crdts_held_and_the_naive_merges_broken():
    summary, _ = run(7)
    checks = {check.label: check for check in EXPERIMENT.verdict(summary)}
    assert checks["PN-counter: same updates seen, different state"].ok is True
    assert checks["OR-set (CRDT): removed elements that came back"].ok is True
    assert checks["counter merged by max: off from the true count, worst replica"].ok is False
    assert checks["set merged by union: removed elements that came back"].ok is False


def test_it_rejects_unbounded_runs_and_a_partition_with_nobody_on_the_other_side():
    assert "operations" in EXPERIMENT.clean_params({"operations": 100_001})[1]
    assert "cut_off_replicas" in EXPERIMENT.clean_params({"replicas": 3, "cut_off_replicas": 3})[1]
    errors = EXPERIMENT.clean_params({"operations": 100_000, "replicas": 7, "gossip_ms": 10})[1]
    assert "gossip_ms" in errors and "15,000" in errors["gossip_ms"][0]
    largest, errors = EXPERIMENT.clean_params({"operations": 100_000, "interval_ms": 0.5, "replicas": 7, "gossip_ms": 25})
    assert not errors and gossip_messages(largest) <= MAX_GOSSIP
