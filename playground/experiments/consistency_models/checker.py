"""A linearizability checker for registers: Wing & Gong's search, with Lowe's memoization, per key.

Given a history of reads and writes on one register (each with its call and
return time), is there one order of the operations that respects real time (an
operation that returned before another was called comes first) and in which
every read returns the latest write before it? The search is the one Knossos
and Porcupine run (Wing & Gong 1993; Lowe, "Testing for linearizability",
2017): walk the history's call and return events as a linked list; at each step
try to linearize a call whose operation is still pending, lifting it and its
return out of the list; when a return is reached whose operation was not
linearized yet, undo the last choice. Lowe's cache of (set of operations
linearized, register value) configurations already seen cuts the search from
exponential to roughly the number of reachable configurations. Two register
rules prune further (see `choices`): a pending read of the current value is
taken at once, and a read whose write was overwritten ends the branch.

P-compositionality (Herlihy & Wing's locality): a history of several keys is
linearizable exactly when each key's sub-history is, so `check_keys` checks
keys one by one.

Writes must write distinct values (here: a write's id), none of them the
initial value, so a read names the one write it observed. That makes "linearizable" closed under taking subsets
that keep, with each read, the write it read: delete those operations from a
valid order and what remains is still valid. So a non-linearizable subset of
this kind proves the whole history is not linearizable, and `witness` shrinks
one to a small set: removing any one of its operations (with the reads of a
removed write) leaves operations that can be ordered.

The search is bounded by `max_steps`; past it the answer is "unknown", never a
guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

WRITE = "write"
READ = "read"
LINEARIZABLE = "linearizable"
NOT_LINEARIZABLE = "not linearizable"
UNKNOWN = "unknown"
MAX_STEPS = 600_000  # work units for a whole run; about a second of CPU
MAX_WITNESS_SEARCH = 60  # operations; a larger window is reported unshrunk


@dataclass(frozen=True)
class Op:
    """One completed operation on the register; `value` is what was written or what the read returned."""

    id: int
    client: str
    kind: str
    value: int
    call: float
    ret: float


@dataclass(frozen=True)
class Result:
    verdict: str
    steps: int
    witness: tuple[Op, ...] = ()

    @property
    def ok(self) -> bool | None:
        return {LINEARIZABLE: True, NOT_LINEARIZABLE: False}.get(self.verdict)


def is_linearizable(ops: list[Op], *, initial: int = 0, max_steps: int = MAX_STEPS) -> tuple[bool | None, int]:
    """The Wing & Gong search over one register's history: (True/False, or None past max_steps; steps taken)."""
    n = len(ops)
    if n == 0:
        return True, 0
    # Events: 2i is op i's call, 2i + 1 its return. At equal times calls come first,
    # so operations that touch at an instant count as concurrent (the lenient reading).
    events = sorted(range(2 * n), key=lambda e: (ops[e >> 1].ret if e & 1 else ops[e >> 1].call, e & 1))
    # A doubly linked list over the events, with a head sentinel at index 2n.
    head = 2 * n
    nxt = [-1] * (2 * n + 1)
    prv = [-1] * (2 * n + 1)
    last = head
    for e in events:
        nxt[last] = e
        prv[e] = last
        last = e
    is_write = [op.kind == WRITE for op in ops]
    values = [op.value for op in ops]
    rets = [op.ret for op in ops]
    writer = {op.value: op.id for op in ops if op.kind == WRITE}

    def lift(call: int) -> None:
        ret = call + 1
        nxt[prv[call]] = nxt[call]
        if nxt[call] != -1:
            prv[nxt[call]] = prv[call]
        nxt[prv[ret]] = nxt[ret]
        if nxt[ret] != -1:
            prv[nxt[ret]] = prv[ret]

    def unlift(call: int) -> None:
        ret = call + 1
        nxt[prv[ret]] = ret
        if nxt[ret] != -1:
            prv[nxt[ret]] = ret
        nxt[prv[call]] = call
        if nxt[call] != -1:
            prv[nxt[call]] = call

    def choices(state: int, linearized: int) -> list[int]:
        """The calls worth trying next, best first; empty when this configuration is a dead end.

        Only a call before the first pending return may go next (the minimal
        operations). A minimal read of the current value is always safe to take
        at once: it changes nothing, and nothing that must precede it is left.
        A read whose write is already in the order and overwritten can never be
        satisfied (values are unique), so the configuration is dead. Otherwise
        try first the writes that a minimal read is waiting for, then the others
        by return time.
        """
        nonlocal steps
        calls = []
        e = nxt[head]
        while e != -1 and not e & 1:
            calls.append(e)
            e = nxt[e]
        steps += len(calls)  # the scan is work too: with thousands of operations pending it dominates
        first_return = e >> 1 if e != -1 else -1
        wanted = []
        for call in calls:
            i = call >> 1
            if is_write[i]:
                continue
            if values[i] == state:
                return [call]
            w = writer.get(values[i])
            if w is None or linearized >> w & 1:
                return []  # a value never written, or written and already overwritten
            wanted.append(2 * w)
        if first_return != -1 and not is_write[first_return] and values[first_return] != state:
            w = writer.get(values[first_return])
            if w is None or linearized >> w & 1:
                return []
        # Among the rest, the writes that returned first are the likelier to have taken effect first.
        writes = sorted((call for call in calls if is_write[call >> 1]), key=lambda call: rets[call >> 1])
        pending = set(writes)
        first = [call for call in dict.fromkeys(wanted) if call in pending]
        chosen = set(first)
        return first + [call for call in writes if call not in chosen]

    steps = 0  # work done: choices tried plus pending calls scanned
    state = initial
    linearized = 0  # a bitset of op ids, as a Python int
    seen: set[tuple[int, int]] = set()
    # One level per operation placed: (the choices there, which one is being tried, the state before it).
    stack: list[tuple[list[int], int, int]] = []
    options, index = choices(state, linearized), 0
    while nxt[head] != -1:
        steps += 1
        if steps > max_steps:
            return None, steps
        if index < len(options):
            call = options[index]
            i = call >> 1
            bits = linearized | (1 << i)
            new_state = values[i]
            if (bits, new_state) in seen:
                index += 1
                continue
            seen.add((bits, new_state))
            stack.append((options, index, state))
            state, linearized = new_state, bits
            lift(call)
            options, index = choices(state, linearized), 0
        else:  # every choice here failed: undo the last one and try the next at its level
            if not stack:
                return False, steps
            options, index, state = stack.pop()
            call = options[index]
            linearized &= ~(1 << (call >> 1))
            unlift(call)
            index += 1
    return True, steps


def closed(ops: Iterable[Op], all_written: set[int]) -> list[Op]:
    """These operations, less the reads of a write (one of `all_written`) that is not among them.

    A read of a value nobody wrote stays: it fails on its own.
    """
    ops = list(ops)
    kept = {op.value for op in ops if op.kind == WRITE}
    return [op for op in ops if op.kind == WRITE or op.value in kept or op.value not in all_written]


def _renumbered(ops: list[Op]) -> list[Op]:
    return [Op(i, op.client, op.kind, op.value, op.call, op.ret) for i, op in enumerate(ops)]


def _fails(ops: list[Op], max_steps: int) -> bool:
    return is_linearizable(_renumbered(ops), max_steps=max_steps)[0] is False


def witness(ops: list[Op], *, max_steps: int = MAX_STEPS) -> tuple[Op, ...]:
    """A small set of these operations that cannot be ordered (the history must not be linearizable)."""
    by_call = sorted(ops, key=lambda op: op.call)
    written = {op.value for op in ops if op.kind == WRITE}

    def closed_subset(subset: Iterable[Op]) -> list[Op]:
        return closed(subset, written)

    # The shortest prefix by call time that already fails: the first impossibility.
    lo, hi = 1, len(by_call)
    while lo < hi:
        mid = (lo + hi) // 2
        if _fails(closed_subset(by_call[:mid]), max_steps):
            hi = mid
        else:
            lo = mid + 1
    window = closed_subset(by_call[:lo])
    # Then drop from the left everything that returned before the trouble began.
    rets = sorted({op.ret for op in window})
    lo, hi = 0, len(rets) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _fails(closed_subset(op for op in window if op.ret >= rets[mid]), max_steps):
            lo = mid
        else:
            hi = mid - 1
    window = closed_subset(op for op in window if op.ret >= rets[lo])
    if len(window) <= MAX_WITNESS_SEARCH:
        # Greedy shrinking, reads first: keep each removal that still leaves a failing set.
        for op in sorted(window, key=lambda op: (op.kind == WRITE, -op.call)):
            if op in window:
                smaller = closed_subset(other for other in window if other is not op)
                if _fails(smaller, max_steps):
                    window = smaller
    return tuple(sorted(window, key=lambda op: op.call))


def check(ops: list[Op], *, max_steps: int = MAX_STEPS) -> Result:
    """The verdict on one register's history, with a small failing set when it is not linearizable."""
    ok, steps = is_linearizable(_renumbered(ops), max_steps=max_steps)
    if ok is None:
        return Result(UNKNOWN, steps)
    if ok:
        return Result(LINEARIZABLE, steps)
    return Result(NOT_LINEARIZABLE, steps, witness(ops, max_steps=max_steps))


def check_keys(histories: dict[str, list[Op]], *, max_steps: int = MAX_STEPS) -> dict[str, Result]:
    """Each key on its own (P-compositionality), sharing `max_steps` between them; only the first failing key
    gets a witness, to stay fast."""
    results = {}
    explained = False
    max_steps = max(1, max_steps // max(1, len(histories)))
    for key, ops in histories.items():
        ok, steps = is_linearizable(_renumbered(ops), max_steps=max_steps)
        if ok is None:
            results[key] = Result(UNKNOWN, steps)
        elif ok:
            results[key] = Result(LINEARIZABLE, steps)
        else:
            results[key] = Result(NOT_LINEARIZABLE, steps, () if explained else witness(ops, max_steps=max_steps))
            explained = True
    return results
