"""The hashing simulation: keys moved per change against theory, minimal disruption, bounded loads' cap."""

from __future__ import annotations

import math

from hypothesis import given, settings, strategies as st

from playground.experiments import get_experiment
from playground.experiments.hashing import model

EXPERIMENT = get_experiment("hashing")
# How far one run's moved share may sit from theory: a binomial spread for rendezvous, jump and modulo,
# plus the spread of the new node's arcs for the ring with virtual nodes. A ring with one token has no useful bound.
TOLERANCE = {model.MODULO: 0.03, model.VNODES: 0.05, model.RENDEZVOUS: 0.03, model.JUMP: 0.03}


def run(seed: int, **overrides):
    params, errors = EXPERIMENT.clean_params(overrides)
    assert not errors, errors
    frames: list[dict] = []
    return EXPERIMENT.run(params, seed, frames.append), frames


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32), nodes=st.integers(4, 20))
def test_each_scheme_moves_about_its_theoretical_share(seed, nodes):
    summary, _ = run(seed, keys=3000, nodes=nodes, changes=3, vnodes=100)
    for change in summary["changes"]:
        for scheme, tolerance in TOLERANCE.items():
            assert abs(change["moved"][scheme] - change["theory"][scheme]) <= tolerance, (scheme, change)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32), nodes=st.integers(2, 12), vnodes=st.integers(1, 50))
def test_minimal_disruption_schemes_move_only_the_changed_nodes_keys(seed, nodes, vnodes):
    summary, _ = run(seed, keys=1000, nodes=nodes, changes=6, vnodes=vnodes)
    for scheme in model.MINIMAL:
        assert summary["strays"][scheme] == 0, scheme
    # the naive scheme visibly breaks it: keys shuffle between nodes that did not change
    assert summary["strays"][model.MODULO] > 0


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32), nodes=st.integers(2, 15), epsilon=st.floats(0.01, 2.0),
       hot=st.floats(0.0, 0.5), keys=st.integers(100, 2000))
def test_bounded_loads_never_put_more_than_the_cap_on_a_node(seed, nodes, epsilon, hot, keys):
    key_hashes = [model.stable_hash(seed, f"key-{i}") for i in range(keys)]
    names = [f"node-{i}" for i in range(nodes)]
    placement = model.place(model.BOUNDED, seed, names, key_hashes, vnodes=20, epsilon=epsilon)
    cap = math.ceil((1 + epsilon) * keys / nodes)
    assert max(placement.count(name) for name in names) <= cap
    summary, _ = run(seed, keys=keys, nodes=nodes, changes=3, epsilon=epsilon, hot_key_share=hot, vnodes=20)
    assert summary["bounded_over_cap"] == 0


def test_jump_hash_fills_buckets_evenly_and_only_moves_keys_to_a_new_last_bucket():
    keys = [model.stable_hash(1, f"k{i}") for i in range(5000)]
    before = [model.jump_hash(k, 9) for k in keys]
    after = [model.jump_hash(k, 10) for k in keys]
    assert set(before) == set(range(9))
    assert all(a == b or a == 9 for a, b in zip(after, before))
    assert abs(after.count(9) / len(keys) - 0.1) < 0.02


def test_the_same_seed_gives_the_same_frames_and_another_seed_does_not():
    assert run(7, keys=500)[1] == run(7, keys=500)[1]
    assert run(7, keys=500)[1] != run(8, keys=500)[1]


def test_a_hot_key_makes_its_shard_the_most_loaded():
    summary, _ = run(7, keys=2000, hot_key_share=0.3, changes=1)
    load = summary["final_load"][model.VNODES]
    assert max(load, key=load.get) == summary["hot_node"]
    assert summary["max_skew"][model.VNODES] > 3


def test_it_rejects_more_than_100000_placements():
    _, errors = EXPERIMENT.clean_params({"keys": 50_000, "changes": 9})
    assert "keys" in errors
