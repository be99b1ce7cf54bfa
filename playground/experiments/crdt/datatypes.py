"""The replicated types the experiment compares: four counters and four sets, each an immutable value.

Plain Python, no Django. Every update and every merge returns a new state and
never changes its argument, so a state sent by gossip is a snapshot for free
and the tests can hold on to any state a replica ever had.

The CRDTs (PNCounter, TwoPhaseSet, ORSet and, convergent but clock-dependent,
LWWCounter and LWWSet) merge by a join: commutative, associative, idempotent.
MaxCounter's merge is a join too, but its decrement does not inflate the state,
and UnionSet's remove does not either: both are the naive versions, which the
verdict shows losing updates or bringing removed elements back.
"""

from __future__ import annotations

from typing import Iterable

Dot = tuple[int, int]  # (replica, sequence number): a unique tag for one add


class _Value:
    """Equality and a repr over __slots__, for immutable states."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()  # what the state is; other slots are derived from it

    def _key(self) -> tuple:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._key() == other._key()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # equal states may be built in different orders

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self._key()!r}"


# --- Counters -------------------------------------------------------------------------------


class MaxCounter(_Value):
    """Naive: one number per replica, merged by taking the larger. Concurrent increments are lost."""

    __slots__ = _fields = ("count",)

    def __init__(self, count: int = 0):
        self.count = count

    def add(self, replica: int, delta: int, stamp: float = 0.0) -> MaxCounter:
        return MaxCounter(self.count + delta)

    def merge(self, other: MaxCounter) -> MaxCounter:
        return self if self.count >= other.count else other

    @property
    def value(self) -> int:
        return self.count


class LWWCounter(_Value):
    """Naive: the number with the timestamp of its last write; merge keeps the later write, ties to the higher replica.

    An LWW-register holding a number. It converges, and of two concurrent
    increments one is discarded; with a slow clock even a later one is.
    """

    __slots__ = _fields = ("count", "stamp", "replica")

    def __init__(self, count: int = 0, stamp: float = float("-inf"), replica: int = -1):
        self.count, self.stamp, self.replica = count, stamp, replica

    def add(self, replica: int, delta: int, stamp: float = 0.0) -> LWWCounter:
        return LWWCounter(self.count + delta, stamp, replica)

    def merge(self, other: LWWCounter) -> LWWCounter:
        return self if (self.stamp, self.replica) >= (other.stamp, other.replica) else other

    @property
    def value(self) -> int:
        return self.count


class PNCounter(_Value):
    """Two grow-only vectors, increments P and decrements N, one entry per replica; merge is pointwise max."""

    __slots__ = _fields = ("p", "n")

    def __init__(self, p: tuple[int, ...], n: tuple[int, ...]):
        self.p, self.n = p, n

    @classmethod
    def empty(cls, replicas: int) -> PNCounter:
        return cls((0,) * replicas, (0,) * replicas)

    def add(self, replica: int, delta: int, stamp: float = 0.0) -> PNCounter:
        if delta >= 0:
            return PNCounter(_bump(self.p, replica, delta), self.n)
        return PNCounter(self.p, _bump(self.n, replica, -delta))

    def merge(self, other: PNCounter) -> PNCounter:
        return PNCounter(tuple(map(max, self.p, other.p)), tuple(map(max, self.n, other.n)))

    @property
    def value(self) -> int:
        return sum(self.p) - sum(self.n)


def _bump(entries: tuple[int, ...], index: int, by: int) -> tuple[int, ...]:
    return entries[:index] + (entries[index] + by,) + entries[index + 1:]


# --- Sets -------------------------------------------------------------------------------------


class UnionSet(_Value):
    """Naive: the elements; remove deletes locally, merge is union, so any copy still holding it brings it back."""

    __slots__ = _fields = ("elements",)

    def __init__(self, elements: frozenset = frozenset()):
        self.elements = elements

    @property
    def members(self) -> frozenset:
        return self.elements

    def add(self, replica: int, element: int, stamp: float = 0.0) -> UnionSet:
        return self if element in self.elements else UnionSet(self.elements | {element})

    def remove(self, replica: int, element: int, stamp: float = 0.0) -> UnionSet:
        return UnionSet(self.elements - {element}) if element in self.elements else self

    def merge(self, other: UnionSet) -> UnionSet:
        return UnionSet(self.elements | other.elements)

    def contains(self, element: int) -> bool:
        return element in self.elements


class LWWSet(_Value):
    """LWW-element-set: each element's latest add and remove timestamps; present if the add is later (remove wins ties).

    It converges, and whether a remove beats an add depends on whose clock stamped them.
    """

    __slots__ = ("adds", "removes", "_members")
    _fields = ("adds", "removes")

    def __init__(self, adds: dict | None = None, removes: dict | None = None):
        # element -> latest stamp; never changed once built, so states can share them
        self.adds, self.removes = adds or {}, removes or {}
        self._members: frozenset | None = None

    def add(self, replica: int, element: int, stamp: float = 0.0) -> LWWSet:
        return LWWSet(_stamp(self.adds, element, stamp), self.removes)

    def remove(self, replica: int, element: int, stamp: float = 0.0) -> LWWSet:
        return LWWSet(self.adds, _stamp(self.removes, element, stamp))

    def merge(self, other: LWWSet) -> LWWSet:
        adds, removes = _max_stamps(self.adds, other.adds), _max_stamps(self.removes, other.removes)
        if adds is self.adds and removes is self.removes:
            return self
        return LWWSet(adds, removes)

    @property
    def members(self) -> frozenset:
        if self._members is None:
            removed = self.removes
            self._members = frozenset(e for e, stamp in self.adds.items() if stamp > removed.get(e, float("-inf")))
        return self._members

    def contains(self, element: int) -> bool:
        return element in self.members


def _stamp(stamps: dict, element: int, stamp: float) -> dict:
    if stamp <= stamps.get(element, float("-inf")):
        return stamps
    return {**stamps, element: stamp}


def _max_stamps(a: dict, b: dict) -> dict:
    """Pointwise maximum; returns `a` itself when `b` adds nothing, so unchanged states stay shared."""
    if a is b:
        return a
    newer = {element: stamp for element, stamp in b.items() if stamp > a.get(element, float("-inf"))}
    return {**a, **newer} if newer else a


class TwoPhaseSet(_Value):
    """2P-set: a grow-only set of added elements and one of removed ones (tombstones); removed is removed for good."""

    __slots__ = _fields = ("added", "removed")

    def __init__(self, added: frozenset = frozenset(), removed: frozenset = frozenset()):
        self.added, self.removed = added, removed

    @property
    def members(self) -> frozenset:
        return self.added - self.removed

    def add(self, replica: int, element: int, stamp: float = 0.0) -> TwoPhaseSet:
        return self if element in self.added else TwoPhaseSet(self.added | {element}, self.removed)

    def remove(self, replica: int, element: int, stamp: float = 0.0) -> TwoPhaseSet:
        # The precondition of Shapiro et al.'s specification: only an element present here can be removed.
        if not self.contains(element):
            return self
        return TwoPhaseSet(self.added, self.removed | {element})

    def merge(self, other: TwoPhaseSet) -> TwoPhaseSet:
        return TwoPhaseSet(self.added | other.added, self.removed | other.removed)

    def contains(self, element: int) -> bool:
        return element in self.added and element not in self.removed

    @property
    def tombstones(self) -> int:
        return len(self.removed)


class ORSet(_Value):
    """Observed-remove set without tombstones (Bieniusa et al. 2012; Riak's ORSWOT). Add wins.

    `entries` maps each present element to the dots of its adds not yet removed;
    `context` is a version vector of every dot this state has seen. A dot one side
    holds and the other lacks survives the merge only if the other has not seen it:
    if the other has, its absence there means a remove took it out.
    """

    __slots__ = ("entries", "context")
    _fields = ("entries", "context")

    def __init__(self, entries: dict, context: tuple[int, ...]):
        self.entries = entries  # element -> frozenset of dots, never empty; never changed once built
        self.context = context

    @classmethod
    def empty(cls, replicas: int) -> ORSet:
        return cls({}, (0,) * replicas)

    def add(self, replica: int, element: int, stamp: float = 0.0) -> ORSet:
        seq = self.context[replica] + 1
        # The new dot replaces the element's dots seen so far (Almeida et al.'s add-wins set): the context still
        # covers them, so a merge drops them everywhere, and an element keeps at most one dot per concurrent adder.
        return ORSet({**self.entries, element: frozenset({(replica, seq)})}, _bump(self.context, replica, 1))

    def remove(self, replica: int, element: int, stamp: float = 0.0) -> ORSet:
        if element not in self.entries:
            return self
        return ORSet({e: dots for e, dots in self.entries.items() if e != element}, self.context)

    def merge(self, other: ORSet) -> ORSet:
        if self is other:
            return self
        mine, theirs = self.entries, other.entries
        merged = {}
        for element in mine.keys() | theirs.keys():
            a, b = mine.get(element), theirs.get(element)
            if a == b:
                merged[element] = a
                continue
            a, b = a or frozenset(), b or frozenset()
            kept = (a & b) | _unseen(a - b, other.context) | _unseen(b - a, self.context)
            if kept:
                merged[element] = frozenset(kept)
        return ORSet(merged, tuple(map(max, self.context, other.context)))

    @property
    def members(self) -> frozenset:
        return frozenset(self.entries)

    def contains(self, element: int) -> bool:
        return element in self.entries

    @property
    def live_dots(self) -> int:
        return sum(len(dots) for dots in self.entries.values())

    @property
    def textbook_tags(self) -> int:
        """The tags a textbook OR-set keeps for the same history: one per add seen, live or tombstoned."""
        return sum(self.context)

    @property
    def metadata(self) -> int:
        """What this one keeps instead: its live dots and one version-vector entry per replica."""
        return self.live_dots + len(self.context)


def _unseen(dots: Iterable[Dot], context: tuple[int, ...]) -> set[Dot]:
    return {dot for dot in dots if dot[1] > context[dot[0]]}


COUNTER_TYPES = ("max", "lww", "ops", "pn")
SET_TYPES = ("union", "lww", "two_phase", "or")
