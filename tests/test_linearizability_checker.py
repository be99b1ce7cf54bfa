"""The linearizability checker: known answers on the classic histories, and agreement with brute force."""

from itertools import permutations

import pytest
from hypothesis import given, settings as hsettings
from hypothesis import strategies as st

from playground.experiments.consistency_models.checker import (
    LINEARIZABLE, NOT_LINEARIZABLE, READ, UNKNOWN, WRITE, Op, check, check_keys, closed, is_linearizable,
)


def history(*specs):
    """(client, 'w' or 'r', value, call, return) tuples as operations."""
    return [Op(i, client, WRITE if kind == "w" else READ, value, call, ret) for i, (client, kind, value, call, ret) in enumerate(specs)]


def brute_force(ops, initial=0):
    """Try every order that respects real time; the definition itself, for small histories."""
    for order in permutations(ops):
        position = {op.id: i for i, op in enumerate(order)}
        if any(a.ret < b.call and position[a.id] > position[b.id] for a in ops for b in ops):
            continue
        value = initial
        for op in order:
            if op.kind == WRITE:
                value = op.value
            elif op.value != value:
                break
        else:
            return True
    return False


CLASSIC = {
    "a read after a write returns it": (history(("a", "w", 1, 0, 10), ("b", "r", 1, 20, 30)), LINEARIZABLE, None),
    "a stale read after a write completed": (
        history(("a", "w", 1, 0, 10), ("b", "r", 0, 20, 30)), NOT_LINEARIZABLE, {0, 1}),
    "a read overlapping a write may return the old value": (
        history(("a", "w", 1, 0, 10), ("b", "r", 0, 5, 15)), LINEARIZABLE, None),
    "a read overlapping a write may return the new value": (
        history(("a", "w", 1, 0, 10), ("b", "r", 1, 5, 15)), LINEARIZABLE, None),
    # Herlihy & Wing's point: once one read has seen the new value, a later read may not see the old one.
    "new-old inversion during a slow write": (
        history(("a", "w", 1, 0, 100), ("b", "r", 1, 10, 20), ("c", "r", 0, 30, 40)), NOT_LINEARIZABLE, {0, 1, 2}),
    "concurrent writes, later reads agree on the winner": (
        history(("a", "w", 1, 0, 50), ("b", "w", 2, 0, 50), ("c", "r", 1, 60, 70), ("d", "r", 1, 80, 90)), LINEARIZABLE, None),
    "concurrent writes, later reads flip between them": (
        history(("a", "w", 1, 0, 50), ("b", "w", 2, 0, 50), ("c", "r", 1, 60, 70), ("c", "r", 2, 80, 90)),
        NOT_LINEARIZABLE, {0, 1, 2, 3}),
    "a read of a value nobody wrote": (history(("a", "w", 1, 0, 10), ("b", "r", 7, 20, 30)), NOT_LINEARIZABLE, {1}),
    # Only the stale read and the writes it is judged against are the problem; the rest is noise.
    "one stale read among many good operations": (
        history(("a", "w", 1, 0, 10), ("b", "r", 1, 12, 14), ("a", "w", 2, 20, 30), ("c", "r", 2, 31, 33),
                ("b", "r", 1, 40, 42), ("a", "w", 3, 50, 60), ("c", "r", 3, 61, 62)),
        NOT_LINEARIZABLE, {0, 2, 4}),
    "nothing happened": ([], LINEARIZABLE, None),
}


@pytest.mark.parametrize("name", CLASSIC)
def test_the_checker_gives_the_known_answer_on_the_classic_histories(name):
    ops, verdict, witness_ids = CLASSIC[name]
    result = check(ops)
    assert result.verdict == verdict
    assert brute_force(ops) == (verdict == LINEARIZABLE)
    if witness_ids is not None:
        assert {op.id for op in result.witness} == witness_ids


def test_a_long_sequential_history_is_linearizable_in_a_linear_number_of_steps():
    specs = []
    for i in range(1, 2001):
        specs.append(("a", "w", i, 10 * i, 10 * i + 3))
        specs.append(("b", "r", i, 10 * i + 5, 10 * i + 8))
    ok, steps = is_linearizable(history(*specs))
    assert ok is True and steps <= 2 * len(specs)


def test_memoization_keeps_many_concurrent_writes_tractable():
    # Twelve writes at once, then reads that see 1 and then 2: impossible, since 2 would have to be
    # written after 1, before the second read, and yet both writes were over long before.
    # Without Lowe's cache the search would try all 12! = 479,001,600 orders of the writes;
    # with it, each (set written, last value) at most once: about 300,000 steps of work.
    ops = history(*[("w%d" % i, "w", i, 0, 100) for i in range(1, 13)], ("r", "r", 1, 200, 210), ("r", "r", 2, 220, 230))
    ok, steps = is_linearizable(ops, max_steps=1_000_000)
    assert ok is False and steps < 1_000_000


def test_the_search_is_bounded_and_says_unknown_rather_than_guessing():
    ops = history(*[("w%d" % i, "w", i, 0, 100) for i in range(1, 13)], ("r", "r", 1, 200, 210), ("r", "r", 2, 220, 230))
    assert check(ops, max_steps=50).verdict == UNKNOWN


def test_keys_are_checked_independently_and_only_the_failing_one_is_explained():
    good = history(("a", "w", 1, 0, 10), ("b", "r", 1, 20, 30))
    bad = history(("a", "w", 1, 0, 10), ("b", "r", 0, 20, 30))
    results = check_keys({"x": good, "y": bad, "z": bad})
    assert [r.verdict for r in results.values()] == [LINEARIZABLE, NOT_LINEARIZABLE, NOT_LINEARIZABLE]
    assert results["y"].witness and not results["z"].witness


@st.composite
def small_histories(draw):
    n = draw(st.integers(1, 6))
    ops = []
    written = []
    for i in range(n):
        call = draw(st.integers(0, 30))
        ret = call + draw(st.integers(0, 12))
        if draw(st.booleans()):
            written.append(i + 1)
            ops.append(Op(i, f"c{i}", WRITE, i + 1, call, ret))
        else:
            ops.append(Op(i, f"c{i}", READ, draw(st.sampled_from([0, *range(1, n + 1)])), call, ret))
    # A read may name a "write" that never happened; keep most reads to real values.
    return ops


@hsettings(max_examples=300, deadline=None, derandomize=True)
@given(ops=small_histories())
def test_the_checker_agrees_with_brute_force_and_its_witness_is_minimal(ops):
    result = check(ops)
    assert (result.verdict == LINEARIZABLE) == brute_force(ops)
    if result.verdict == NOT_LINEARIZABLE:
        witness = list(result.witness)
        assert witness and not brute_force(witness)
        all_written = {op.value for op in ops if op.kind == WRITE}
        for op in witness:
            # Take any one away (with the reads of a write taken away) and the rest can be ordered.
            assert brute_force(closed([other for other in witness if other is not op], all_written))
