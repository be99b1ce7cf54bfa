"""Reconciliation: finding and repairing the drift that gets through.

A product catalogue is the source of truth for each product's price and
stock. Every change emits an event, and a storefront search index (the
projection) applies those events after a propagation lag. Four things go
wrong on the way: events are lost; a buggy handler applies some with the
wrong amount; a straggler arrives after a newer price change and overwrites
it, because the index applies prices last-writer-wins without versions; and
a redelivered stock movement is added a second time, because the index
applies stock movements as non-idempotent increments. No later event will
fix a lost or doubled stock movement, so without a check the drift only grows.

A reconciliation job runs every few seconds. It compares source and index
for the products that have settled (last changed longer ago than the settle
window), and overwrites the index from the source where they differ. With a
settle window at least as long as the longest propagation lag, every product
it judges has no event left in flight, so every repair is real drift and a
repair is never raced by a late event. With a shorter window it also flags
products whose update was simply still on its way (false positives); when
that update lands on top of the repair it is applied a second time, and the
next pass has to repair the damage it caused.

A real job compares every settled product. The simulation looks only at the
products changed since its previous pass, plus those a late event broke after
it, which finds exactly the same mismatches at a fraction of the cost.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple

from django import forms

from .base import Chart, Check, Emit, Experiment, Prediction, Preset, Trace

PRICE_SHARE = 0.3  # the rest of the operations are stock movements
STOCK_MOVES = (-3, -2, -1, 1, 2, 3)  # sales and returns, never zero so a lost one always matters
INITIAL_STOCK = 100
INITIAL_PRICE_CENTS = 1_000
HANDLER_BUG = 1  # the buggy handler is off by one: one unit, or one cent, too many
TARGET_FRAMES = 150

OVERWRITE = "overwrite"
VERSIONED = "versioned"
REPAIRS = [
    (OVERWRITE, "Overwrite: copy the source's values over the index"),
    (VERSIONED, "Versioned: the repair stamps the source's version; the index drops events it already covers"),
]


class Operation(NamedTuple):
    """One change in the source of truth, and the normal lag of its event."""

    t_ms: int
    product: int
    is_price: bool  # a PriceChanged (absolute, last writer wins) or a StockMoved (an increment)
    value: int  # the new price in cents, or the stock delta
    lag_ms: int


def draw_traffic(params: dict[str, Any], traffic_seed: int) -> list[Operation]:
    """The workload: which product each operation changes, how, and its event's normal lag.

    Operations are evenly spread over the traffic period. A normal event
    takes between a tenth and a half of the maximum lag; only stragglers and
    redeliveries take the whole of it.
    """
    rng = random.Random(traffic_seed)
    count = params["operations"]
    traffic_ms = params["traffic_s"] * 1000
    lag_ms = params["lag_ms"]
    entities = params["entities"]
    shortest, spread = lag_ms // 10, lag_ms // 2 - lag_ms // 10 + 1
    operations = []
    # random() scaled by hand, because randrange() would take most of a large run's time.
    for i in range(count):
        product = int(rng.random() * entities)
        is_price = rng.random() < PRICE_SHARE
        if is_price:
            value = 100 + int(rng.random() * 9_900)  # 1.00 to 99.99
        else:
            value = STOCK_MOVES[int(rng.random() * len(STOCK_MOVES))]
        lag = shortest + int(rng.random() * spread)
        operations.append(Operation(i * traffic_ms // count, product, is_price, value, lag))
    return operations


@dataclass(frozen=True)
class FaultSchedule:
    """Every fault a run suffers, decided before it starts, by operation index.

    lost: the event never reaches the index.
    buggy: the handler applies the event with the wrong amount.
    duplicated: the event is delivered twice, the copy at the end of the lag window.
    out_of_order: the event is a straggler that arrives at the end of the lag window,
        after any newer event for the same product that overtook it.
    traffic_seed: not a fault but the workload, drawn with the faults so that one
        seed fixes a whole run.
    """

    lost: frozenset[int] = frozenset()
    buggy: frozenset[int] = frozenset()
    duplicated: frozenset[int] = frozenset()
    out_of_order: frozenset[int] = frozenset()
    traffic_seed: int = 0

    @classmethod
    def draw(
        cls,
        rng: random.Random,
        *,
        operations: int,
        lost_rate: float,
        buggy_rate: float,
        duplicate_rate: float,
        out_of_order_rate: float,
    ) -> FaultSchedule:
        traffic_seed = rng.getrandbits(32)

        def pick(rate: float) -> frozenset[int]:
            return frozenset(i for i in range(operations) if rng.random() < rate)

        return cls(
            lost=pick(lost_rate),
            buggy=pick(buggy_rate),
            duplicated=pick(duplicate_rate),
            out_of_order=pick(out_of_order_rate),
            traffic_seed=traffic_seed,
        )


class Pipeline:
    """The source of truth, the index fed from it by events, and the reconciler between them."""

    def __init__(self, params: dict[str, Any], schedule: FaultSchedule) -> None:
        n = params["entities"]
        self.schedule = schedule
        self.operations = draw_traffic(params, schedule.traffic_seed)
        self.lag_ms = params["lag_ms"]
        self.settle_ms = params["settle_ms"]
        self.source_stock = [INITIAL_STOCK] * n
        self.source_price = [INITIAL_PRICE_CENTS] * n
        self.index_stock = [INITIAL_STOCK] * n
        self.index_price = [INITIAL_PRICE_CENTS] * n
        self.last_change_ms = [-1] * n
        self.last_operation = [-1] * n
        self.newest_price_applied = [-1] * n  # operation index, to spot stale overwrites
        self.repaired_through = [-1] * n  # the newest operation a repair already copied
        self.repair_exposed = [False] * n  # repaired, and no late event has landed on top of it yet
        self.versioned_repair = params.get("repair") == VERSIONED
        self.in_flight = [0] * n  # deliveries still on their way, per product
        # A product's normal events travel one queue, so they arrive in the order they were made.
        self.queue_free_at = [0] * n
        # Deliveries in time order; the sequence number keeps ties in the order they were sent.
        self.deliveries: list[tuple[int, int, int, bool]] = []  # (deliver at ms, seq, operation, is a copy)
        self.sent = 0
        self.next_operation = 0
        # What the reconciler still has to look at: every change in time order, and products
        # a late delivery made wrong after a pass had already judged their last change.
        self.changes_to_judge: deque[tuple[int, int]] = deque()
        self.wrong_after_judged: list[int] = []
        self.last_cutoff_ms = -1
        self.wrong: set[int] = set()  # products where index and source differ right now
        self.drifted = 0  # wrong, with no event in flight that could still change that
        self.drifted_since: dict[int, int] = {}
        self.drift_incidents = 0
        self.drift_ms_total = 0
        self.peak_drifted = 0
        self.events_applied = 0
        self.events_lost = 0
        self.events_misapplied = 0
        self.duplicates_applied = 0
        self.stale_overwrites = 0
        self.max_lag_ms = 0
        self.passes = 0
        self.repairs = 0
        self.false_positives = 0
        self.repairs_undone = 0
        self.events_dropped_as_repaired = 0
        self.last_pass_repairs = 0
        self.last_pass_false_positives = 0

    @property
    def traffic_done(self) -> bool:
        return self.next_operation == len(self.operations) and not self.deliveries

    def advance_to(self, t_ms: int) -> None:
        """Apply every change and delivery up to and including t_ms, in time order."""
        operations = self.operations
        deliveries = self.deliveries
        while True:
            op_at = operations[self.next_operation].t_ms if self.next_operation < len(operations) else None
            delivery_at = deliveries[0][0] if deliveries else None
            if op_at is not None and op_at <= t_ms and (delivery_at is None or op_at <= delivery_at):
                self.change(self.next_operation)
                self.next_operation += 1
            elif delivery_at is not None and delivery_at <= t_ms:
                _, _, i, is_copy = heapq.heappop(deliveries)
                self.deliver(delivery_at, i, is_copy)
            else:
                return

    def change(self, i: int) -> None:
        """Operation i commits in the source of truth and sends its event (unless it is lost)."""
        t_ms, product, is_price, value, lag_ms = self.operations[i]
        was_wrong = product in self.wrong
        was_drifted = was_wrong and not self.in_flight[product]
        if is_price:
            self.source_price[product] = value
        else:
            self.source_stock[product] += value
        self.last_change_ms[product] = t_ms
        self.last_operation[product] = i
        self.changes_to_judge.append((t_ms, product))
        if i in self.schedule.lost:
            self.events_lost += 1
        else:
            if i in self.schedule.out_of_order:
                arrive = t_ms + self.lag_ms  # a straggler: it does not hold up the product's queue
            else:
                arrive = t_ms + lag_ms
                if arrive < self.queue_free_at[product]:
                    arrive = self.queue_free_at[product]
                self.queue_free_at[product] = arrive
            self.send(arrive, i, False)
            if i in self.schedule.duplicated:
                self.send(t_ms + self.lag_ms, i, True)
        self.track(product, t_ms, was_wrong, was_drifted)

    def send(self, arrive_ms: int, i: int, is_copy: bool) -> None:
        heapq.heappush(self.deliveries, (arrive_ms, self.sent, i, is_copy))
        self.sent += 1
        self.in_flight[self.operations[i].product] += 1

    def deliver(self, t_ms: int, i: int, is_copy: bool) -> None:
        """The index applies operation i's event: prices last-writer-wins, stock as an increment."""
        changed_at, product, is_price, value, _ = self.operations[i]
        was_wrong = product in self.wrong
        was_drifted = was_wrong and not self.in_flight[product]
        self.in_flight[product] -= 1
        if self.versioned_repair and i <= self.repaired_through[product]:
            # The index's version already covers this operation (the repair copied it):
            # a compare-and-set on the version turns the late event away.
            self.events_dropped_as_repaired += 1
            self.track(product, t_ms, was_wrong, was_drifted)
            return
        buggy = i in self.schedule.buggy
        applied = value + HANDLER_BUG if buggy else value
        if is_price:
            changes_index = applied != self.index_price[product]
            if i < self.newest_price_applied[product]:
                self.stale_overwrites += 1  # last writer wins, and the last writer is older
            else:
                self.newest_price_applied[product] = i
            self.index_price[product] = applied
        else:
            changes_index = True
            self.index_stock[product] += applied
        if changes_index and i <= self.repaired_through[product] and self.repair_exposed[product]:
            # The repair already copied this change, and now it lands again: that repair is undone
            # (counted once per repair, however many late events then land on it).
            self.repairs_undone += 1
            self.repair_exposed[product] = False
        self.events_applied += 1
        self.events_misapplied += buggy
        self.duplicates_applied += is_copy
        if t_ms - changed_at > self.max_lag_ms:
            self.max_lag_ms = t_ms - changed_at
        self.track(product, t_ms, was_wrong, was_drifted)
        if product in self.wrong and self.last_change_ms[product] <= self.last_cutoff_ms:
            self.wrong_after_judged.append(product)

    def reconcile(self, t_ms: int) -> None:
        """One pass: compare every settled product with the source and overwrite the index where they differ."""
        # Products changed within the settle window may still have an event on its
        # way; judging them now would mistake lag for drift.
        cutoff = t_ms - self.settle_ms
        candidates = self.wrong_after_judged
        while self.changes_to_judge and self.changes_to_judge[0][0] <= cutoff:
            changed_at, product = self.changes_to_judge.popleft()
            if self.last_change_ms[product] == changed_at:  # a later change is judged later
                candidates.append(product)
        flagged = sorted({p for p in candidates if p in self.wrong and self.last_change_ms[p] <= cutoff})
        self.wrong_after_judged = []
        self.last_cutoff_ms = cutoff
        false_positives = 0
        for product in flagged:
            was_drifted = not self.in_flight[product]
            false_positives += not was_drifted
            self.index_stock[product] = self.source_stock[product]
            self.index_price[product] = self.source_price[product]
            self.repaired_through[product] = self.last_operation[product]
            self.repair_exposed[product] = True
            self.track(product, t_ms, True, was_drifted)
        self.passes += 1
        self.repairs += len(flagged)
        self.false_positives += false_positives
        self.last_pass_repairs = len(flagged)
        self.last_pass_false_positives = false_positives

    def track(self, product: int, t_ms: int, was_wrong: bool, was_drifted: bool) -> None:
        """Keep the wrong set, the drift count and drift lifetimes up to date for one product."""
        is_wrong = (
            self.index_stock[product] != self.source_stock[product]
            or self.index_price[product] != self.source_price[product]
        )
        is_drifted = is_wrong and not self.in_flight[product]
        if is_wrong and not was_wrong:
            self.wrong.add(product)
        elif was_wrong and not is_wrong:
            self.wrong.discard(product)
        if is_drifted and not was_drifted:
            self.drifted += 1
            if self.drifted > self.peak_drifted:
                self.peak_drifted = self.drifted
        elif was_drifted and not is_drifted:
            self.drifted -= 1
        # An incident lasts from the first moment the product is wrong with nothing on its
        # way until it is right again; a new update in flight does not end it.
        if is_drifted and product not in self.drifted_since:
            self.drifted_since[product] = t_ms
        elif not is_wrong and product in self.drifted_since:
            self.drift_incidents += 1
            self.drift_ms_total += t_ms - self.drifted_since.pop(product)

    def average_drift_lifetime_ms(self, end_ms: int) -> int:
        """Drift still open at the end counts up to the end, so lifetimes are never understated."""
        incidents = self.drift_incidents + len(self.drifted_since)
        total = self.drift_ms_total + sum(end_ms - since for since in self.drifted_since.values())
        return total // incidents if incidents else 0

    def frame(self, t_ms: int) -> dict[str, Any]:
        return {
            "t_ms": t_ms,
            "operations": self.next_operation,
            "events_applied": self.events_applied,
            "events_lost": self.events_lost,
            "events_applied_wrongly": self.events_misapplied + self.duplicates_applied + self.stale_overwrites,
            "in_flight": len(self.deliveries),
            "out_of_sync": len(self.wrong),
            "drifted": self.drifted,
            "passes": self.passes,
            "repairs": self.repairs,
            "false_positives": self.false_positives,
            "repairs_undone": self.repairs_undone,
            "last_pass_repairs": self.last_pass_repairs,
            "last_pass_false_positives": self.last_pass_false_positives,
        }


def simulate(params: dict[str, Any], schedule: FaultSchedule, emit: Emit) -> dict[str, Any]:
    """Run the scenario under a given fault schedule; return the summary."""
    pipeline = Pipeline(params, schedule)
    every_ms = params["reconcile_every_s"] * 1000
    settle_ms = params["settle_ms"]
    last_operation_ms = pipeline.operations[-1].t_ms
    frame_every_ms = max(1, -(-expected_duration_ms(params) // TARGET_FRAMES))
    next_frame = 0
    next_pass = every_ms if every_ms else None
    while True:
        t = next_frame if next_pass is None else min(next_frame, next_pass)
        pipeline.advance_to(t)
        if next_pass is None:
            finished = pipeline.traffic_done
        elif t == next_pass:
            pipeline.reconcile(t)
            next_pass += every_ms
            # The first pass after traffic that judges every product, with nothing left in flight.
            finished = pipeline.traffic_done and t - settle_ms >= last_operation_ms
        else:
            finished = False
        if t == next_frame or finished:
            emit(pipeline.frame(t))
        if t == next_frame:
            next_frame += frame_every_ms
        if finished:
            break

    return {
        "entities": params["entities"],
        "operations": pipeline.next_operation,
        "events_applied": pipeline.events_applied,
        "events_lost": pipeline.events_lost,
        "events_misapplied": pipeline.events_misapplied,
        "duplicates_applied": pipeline.duplicates_applied,
        "stale_overwrites": pipeline.stale_overwrites,
        "passes": pipeline.passes,
        "repairs": pipeline.repairs,
        "false_positives": pipeline.false_positives,
        "repairs_undone": pipeline.repairs_undone,
        "repair": VERSIONED if pipeline.versioned_repair else OVERWRITE,
        "events_dropped_as_repaired": pipeline.events_dropped_as_repaired,
        "peak_drift": pipeline.peak_drifted,
        "final_drift": len(pipeline.wrong),
        "average_drift_lifetime_ms": pipeline.average_drift_lifetime_ms(t),
        "max_observed_lag_ms": pipeline.max_lag_ms,
        "traffic_ms": params["traffic_s"] * 1000,
        "duration_ms": t,
    }


def expected_duration_ms(params: dict[str, Any]) -> int:
    """An upper bound on a run's length: traffic, the lag, and one more pass after both."""
    tail = params["lag_ms"]
    if params["reconcile_every_s"]:
        tail = max(tail, params["settle_ms"]) + params["reconcile_every_s"] * 1000
    return params["traffic_s"] * 1000 + tail


def run(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    schedule = FaultSchedule.draw(
        random.Random(seed),
        operations=params["operations"],
        lost_rate=params["lost_rate"],
        buggy_rate=params["buggy_rate"],
        duplicate_rate=params["duplicate_rate"],
        out_of_order_rate=params["out_of_order_rate"],
    )
    return simulate(params, schedule, emit)


def verdict(summary: dict[str, Any]) -> list[Check]:
    return [
        Check(
            "Products still wrong at the end",
            summary["final_drift"],
            summary["final_drift"] == 0,
            "No event will ever arrive to fix these: shoppers see the wrong price or stock until someone notices.",
        ),
        Check(
            "False positives",
            summary["false_positives"],
            summary["false_positives"] == 0,
            "Products flagged while their update was still in flight: a settle window shorter than the lag mistakes lag for drift.",
        ),
        Check(
            "Repairs undone by a late event",
            summary["repairs_undone"],
            summary["repairs_undone"] == 0,
            "A repair already copied the change, then its in-flight event landed on top and applied it a second time.",
        ),
        Check(
            "Repairs made",
            summary["repairs"],
            None,
            "Each repair is drift that got through lost, mis-applied, duplicated or reordered events (or a false positive).",
        ),
        Check(
            "Average time a product stayed wrong (ms)",
            summary["average_drift_lifetime_ms"],
            None,
            "Reconciling more often does not make drift rarer, it makes it shorter-lived.",
        ),
    ]


def shapes(params: dict[str, Any]) -> list[dict]:
    """Mark where traffic stops: after it, only in-flight events and the reconciler change anything."""
    end = params["traffic_s"] * 1000
    return [{
        "type": "line", "xref": "x", "yref": "paper", "x0": end, "x1": end, "y0": 0, "y1": 1,
        "line": {"color": "#6b7280", "dash": "dot", "width": 1},
        "label": {"text": "traffic stops", "textposition": "end", "font": {"size": 11}},
    }]


class ReconciliationForm(forms.Form):
    entities = forms.IntegerField(
        min_value=10, max_value=100_000, initial=2_000, label="Products",
        help_text="10 to 100,000; each has a price and a stock level.",
    )
    operations = forms.IntegerField(
        min_value=10, max_value=100_000, initial=20_000, label="Changes in the source",
        help_text="10 to 100,000; 30% price changes, 70% stock movements.",
    )
    traffic_s = forms.IntegerField(
        min_value=5, max_value=600, initial=60, label="Traffic lasts (s)",
        help_text="The changes are spread evenly over this period.",
    )
    lag_ms = forms.IntegerField(
        min_value=0, max_value=30_000, initial=1_000, label="Maximum propagation lag (ms)",
        help_text="Normal events take a tenth to a half of this; stragglers and redeliveries all of it.",
    )
    lost_rate = forms.FloatField(min_value=0, max_value=0.2, initial=0.005, label="Lost events", help_text="Share of events, 0 to 0.2")
    buggy_rate = forms.FloatField(
        min_value=0, max_value=0.2, initial=0.005, label="Events applied wrongly by a buggy handler",
        help_text="Share of events, 0 to 0.2; the handler is off by one unit or cent.",
    )
    duplicate_rate = forms.FloatField(
        min_value=0, max_value=0.2, initial=0.005, label="Events delivered twice",
        help_text="Share of events, 0 to 0.2; a redelivered stock movement is added twice.",
    )
    out_of_order_rate = forms.FloatField(
        min_value=0, max_value=0.2, initial=0.05, label="Straggling events",
        help_text="Share of events, 0 to 0.2; a straggler can overwrite a newer price.",
    )
    reconcile_every_s = forms.IntegerField(
        min_value=0, max_value=300, initial=0, label="Reconcile every (s)", help_text="0 turns the job off",
    )
    settle_ms = forms.IntegerField(
        min_value=0, max_value=60_000, initial=1_500, label="Settle window (ms)",
        help_text="Skip products changed more recently than this; keep it at least the maximum lag.",
    )
    # Not required, so that older links and the CLI keep the plain overwrite.
    repair = forms.ChoiceField(
        choices=REPAIRS, initial=OVERWRITE, required=False, label="Repair",
        help_text="A versioned repair closes the race between the reconciler and an event still in flight.",
    )

    def clean_repair(self) -> str:
        return self.cleaned_data.get("repair") or OVERWRITE


EXPERIMENT = Experiment(
    slug="reconciliation",
    title="Reconciliation: finding the drift that got through",
    what_you_will_see=(
        "A product catalogue changes prices and stock; a storefront index follows it through events that "
        "are sometimes lost, mis-applied, delivered twice or overtaken. Watch the count of products the "
        "storefront gets wrong: without reconciliation it only climbs; with a reconciler it becomes a "
        "sawtooth that drops at every pass. Shrink the settle window below the lag and the reconciler "
        "starts 'repairing' products whose update was still on its way."
    ),
    lesson_slug="reconciliation",
    form_class=ReconciliationForm,
    presets={
        "no-reconciliation": Preset(
            "No reconciliation", "Trust the event stream; nothing checks it.",
            {"reconcile_every_s": 0, "settle_ms": 1_500},
        ),
        "reconcile-every-5s": Preset(
            "Reconcile every 5 s", "Compare and repair every 5 s, skipping products changed in the last 1.5 s.",
            {"reconcile_every_s": 5, "settle_ms": 1_500},
        ),
        "settle-window-too-short": Preset(
            "Settle window too short", "Reconcile every 5 s, but judge products changed only 200 ms ago.",
            {"reconcile_every_s": 5, "settle_ms": 200},
        ),
        "versioned-repair": Preset(
            "Versioned repair", "The same too-short window, but each repair stamps the source's version and "
            "the index turns away events it already covers.",
            {"reconcile_every_s": 5, "settle_ms": 200, "repair": VERSIONED},
        ),
    },
    run=run,
    charts=[
        Chart(
            id="drift",
            title="Products the storefront gets wrong",
            x_title="simulated time (ms)",
            y_title="products",
            traces=[
                Trace("drifted (wrong, nothing in flight)", "drifted", color="#dc2626"),
                Trace("out of sync (including in flight)", "out_of_sync", color="#6b7280", dash="dot"),
            ],
        ),
        Chart(
            id="passes",
            title="Reconciler: repairs and false positives in the latest pass",
            x_title="simulated time (ms)",
            y_title="products in that pass",
            traces=[
                Trace("repairs", "last_pass_repairs", color="#16a34a"),
                Trace("false positives (still in flight)", "last_pass_false_positives", color="#d97706", dash="dash"),
            ],
        ),
        Chart(
            id="events",
            title="Events: applied vs lost",
            x_title="simulated time (ms)",
            y_title="events",
            traces=[
                Trace("applied", "events_applied", color="#2563eb"),
                Trace("lost", "events_lost", color="#dc2626", dash="dash"),
                Trace("applied wrongly (bug, twice, stale)", "events_applied_wrongly", color="#9333ea", dash="dot"),
            ],
        ),
    ],
    verdict=verdict,
    shapes=shapes,
    prediction=Prediction("How many products will the storefront still show wrongly at the end?", "final_drift", 100_000),
    progress=lambda params, frame: min(1.0, frame["t_ms"] / max(1, expected_duration_ms(params))),
    table_columns=[
        ("t_ms", "Time (ms)"),
        ("drifted", "Drifted products"),
        ("out_of_sync", "Out of sync, including in flight"),
        ("repairs", "Repairs so far"),
        ("false_positives", "False positives so far"),
        ("events_applied", "Events applied"),
        ("events_lost", "Events lost"),
    ],
)
