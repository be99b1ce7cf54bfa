"""The hashing simulation: keys moved per change against theory, minimal disruption, bounded loads' cap."""

from __future__ import annotations

import math

from hypothesis import example, given, settings, strategies as st

from playground.experiments import get_experiment
from playground.experiments.hashing import model

EXPERIMENT = get_experiment("hashing")
# The moved share is random, so "about its theoretical share" means within Z standard deviations of it.
# A fixed tolerance (0.05 for the ring) was tighter than the theory at few nodes: seed 22211 with 4 or 5 nodes
# moves 21.8% instead of 16.7% (3.1 sd), and the model is right (its z-scores over 1,500 seeded runs have sd 1).
# Z = 5 makes a false alarm about one in a million checks, and the bound still shrinks as nodes are added.
Z = 5
KEYS, VNODE_COUNT = 3000, 100


def spread(scheme: str, change: dict) -> float:
    """Standard deviation of the moved share around theory for this change.

    Every key moves independently with probability p for mod N, rendezvous and jump: Binomial(KEYS, p) / KEYS.
    On a ring with virtual nodes the moving share is the joining (or leaving) node's V arcs out of the N = V·n
    on the ring, Beta(V, N - V) (V of N uniform spacings) with variance p(1 - p)/(N + 1), and the keys then
    fall on it binomially. A ring with one token has no useful bound (its share is Beta(1, n - 1)).
    """
    p = change["theory"][scheme]
    variance = p * (1 - p) / KEYS
    if scheme == model.VNODES:
        tokens = VNODE_COUNT * max(change["nodes_before"], change["nodes_after"])
        variance += p * (1 - p) / (tokens + 1)
    return math.sqrt(variance)


def run(seed: int, **overrides):
    params, errors = EXPERIMENT.clean_params(overrides)
    assert not errors, errors
    frames: list[dict] = []
    return EXPERIMENT.run(params, seed, frames.append), frames


@settings(max_examples=12, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32), nodes=st.integers(4, 20))
@example(seed=22211, nodes=4)  # failed a fixed 0.05 tolerance: the new node's 100 arcs held 21.8%, not 16.7%
@example(seed=22211, nodes=5)
def test_each_scheme_moves_about_its_theoretical_share(seed, nodes):
    summary, _ = run(seed, keys=KEYS, nodes=nodes, changes=3, vnodes=VNODE_COUNT)
    for change in summary["changes"]:
        for scheme in (model.MODULO, model.VNODES, model.RENDEZVOUS, model.JUMP):
            deviation = abs(change["moved"][scheme] - change["theory"][scheme])
            assert deviation <= Z * spread(scheme, change), (scheme, deviation / spread(scheme, change), change)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32), nodes=st.integers(2, 12), vnodes=st.integers(1, 50))
def test_minimal_disruption_schemes_move_only_the_changed_nodes_keys(seed, nodes, vnodes):
    summary, _ = run(seed, keys=1000, nodes=nodes, changes=6, vnodes=vnodes)
    for scheme in model.MINIMAL:
        assert summary["strays"][scheme] == 0, scheme
    # the naive scheme visibly breaks it: keys shuffle between nodes that did not change
    assert summary["strays"][model.MODULO] > 0


@settings(max_examples=15, deadline=None, derandomize=True)
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
