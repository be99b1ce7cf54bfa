"""Dual write vs transactional outbox.

An order service must both commit an order and publish OrderCreated. The
naive service does the two steps one after the other, so a crash between
them (or a broker outage) splits the two stores for good. The outbox service
commits the order and its event in one local transaction; a relay publishes
the outbox later, retrying while the broker is down, so nothing is lost — at
the price of lag, and of duplicates when the relay dies between publishing
and marking a row as sent.

Customers may also cancel an order shortly after placing it, which writes an
OrderCancelled row to the outbox. A relay that dies after publishing a batch
publishes it again, so a consumer can see OrderCreated again after
OrderCancelled. A consumer that applies every delivery (set the status to what
the event says) is idempotent per event and still brings the cancelled order
back; one that applies only newer versions of an order does not.

The `engine` parameter picks how it runs: the simulation below, or the same
scenario on real processes, SQLite and a Redis Stream (dual_write_live.py).
"""

from __future__ import annotations

import bisect
import heapq
import random
from dataclasses import dataclass, field
from typing import Any

from django import forms

from .base import LIVE, SIMULATION, Chart, Check, Emit, Experiment, Prediction, Preset, Trace, shaded_window

NAIVE = "naive"
PUBLISH_FIRST = "publish-first"
OUTBOX = "outbox"
MODES = [
    (NAIVE, "Naive: commit to the DB, then publish"),
    (PUBLISH_FIRST, "Naive: publish, then commit to the DB"),
    (OUTBOX, "Transactional outbox with a polling relay"),
]

ENGINES = [
    (SIMULATION, "Simulation: computed, deterministic, instant"),
    (LIVE, "Live: a real SQLite database, a Redis Stream on its own redis-server (SIGSTOPped for the outage), processes killed with SIGKILL"),
]
# Live runs place one real order every 10 ms and start a process per crash: keep them short.
LIVE_MAX_CRASHES = 200
LIVE_MAX_ORDERS = 2_000
# The live outage SIGSTOPs a real redis-server, and each order that meets it waits out a
# publish timeout (dual_write_live.PUBLISH_TIMEOUT_S): 200 orders wait 40 s.
LIVE_MAX_OUTAGE_MS = 2_000

ARRIVAL_MS = 10  # one order every 10 ms of simulated time
RELAY_POLL_MS = 50
RELAY_BATCH = 100
TARGET_FRAMES = 150
READ_UNSENT = "unsent"
READ_AFTER_LAST_ID = "after-last-id"
CREATED, CANCELLED = "created", "cancelled"
CANCEL_AFTER_MS = 20  # a cancelled order is cancelled this long after it was placed
APPLY_EVERY = "every"
APPLY_NEWER = "newer"
CONSUMER_APPLIES = [
    (APPLY_NEWER, "Only a newer version of the order (WHERE version < the event's)"),
    (APPLY_EVERY, "Every delivery: set the status to what the event says"),
]
RELAY_READS = [
    (READ_UNSENT, "Rows not yet marked sent, oldest first"),
    (READ_AFTER_LAST_ID, "Rows with an id above the last one published (a cursor)"),
]


@dataclass(frozen=True)
class FaultSchedule:
    """Every fault a run suffers, decided before it starts.

    crashes: orders whose writer process dies between its two steps.
    outages: broker unavailable during [start_ms, end_ms).
    relay_crashes: orders whose batch kills the relay: it dies after publishing the
        batch that carries the next of them, before marking it sent. Keyed by order,
        not by poll or batch number, because polls and batch sizes follow the clock,
        which the live engine does not share exactly; so one seed kills the relay the
        same number of times (one per order here) in the simulation and the live engine.
    """

    crashes: frozenset[int] = frozenset()
    outages: tuple[tuple[int, int], ...] = ()
    relay_crashes: frozenset[int] = frozenset()
    # Per order, how long its transaction stays open after it took its id (ms, a multiple of
    # ARRIVAL_MS): concurrent writers commit out of id order. Missing means at once.
    commit_delays: tuple[int, ...] = ()
    cancels: frozenset[int] = frozenset()  # orders the customer cancels CANCEL_AFTER_MS after placing

    @classmethod
    def draw(
        cls,
        rng: random.Random,
        *,
        orders: int,
        crash_probability: float,
        outage_start_ms: int,
        outage_ms: int,
        relay_crash_probability: float,
        commit_spread_ms: int = 0,
        cancel_probability: float = 0.0,
    ) -> FaultSchedule:
        crashes = frozenset(i for i in range(orders) if rng.random() < crash_probability)
        relay_crashes = frozenset(i for i in range(orders) if rng.random() < relay_crash_probability)
        outages = ((outage_start_ms, outage_start_ms + outage_ms),) if outage_ms > 0 else ()
        # Drawn last, so that the earlier faults of a seed stay what they were.
        steps = commit_spread_ms // ARRIVAL_MS
        delays = tuple(rng.randint(0, steps) * ARRIVAL_MS for _ in range(orders)) if steps else ()
        cancels = frozenset(i for i in range(orders) if rng.random() < cancel_probability) if cancel_probability else frozenset()
        return cls(crashes=crashes, outages=outages, relay_crashes=relay_crashes, commit_delays=delays, cancels=cancels)

    def broker_up(self, t_ms: int) -> bool:
        return not any(start <= t_ms < end for start, end in self.outages)


@dataclass
class World:
    """The two stores the service writes to, as the simulation goes."""

    committed: set[int] = field(default_factory=set)
    published: dict[int, int] = field(default_factory=dict)  # order -> times published
    # (outbox id, committed at ms, order, event), oldest id first. An OrderCreated row's id is
    # (order, 0); an OrderCancelled row's sorts after every row written before it.
    outbox: list[tuple[tuple[int, int], int, int, str]] = field(default_factory=list)
    matched: int = 0  # orders that are both committed and published
    deliveries: int = 0
    rejected: int = 0
    writer_crashes: int = 0
    relay_crashes: int = 0
    max_lag_ms: int = 0
    cursor: int = -1  # the highest id a cursor relay has read
    skipped: int = 0  # rows that committed below the cursor: a cursor relay never reads them
    in_flight: list[tuple[int, int, int]] = field(default_factory=list)  # (commits at, order, arrived at)
    applies: str = APPLY_NEWER
    view: dict[int, str] = field(default_factory=dict)  # the consumer's projection: order -> status
    cancelled: set[int] = field(default_factory=set)
    resurrected: int = 0  # a cancelled order shown as placed again by the consumer

    def consume(self, order: int, event: str) -> None:
        """The consumer applies one delivery to its projection."""
        before = self.view.get(order)
        if self.applies == APPLY_NEWER and before == CANCELLED:
            return  # the version it holds (2) is newer than OrderCreated's (1), or the same
        self.view[order] = event
        self.resurrected += before == CANCELLED and event == CREATED

    def commit(self, order: int) -> None:
        self.committed.add(order)
        self.matched += order in self.published

    def publish(self, order: int) -> bool:
        """Deliver the event; True when it is the order's first."""
        self.deliveries += 1
        first = order not in self.published
        if first:
            self.published[order] = 0
            self.matched += order in self.committed
        self.published[order] += 1
        return first

    def frame(self, t_ms: int, broker_up: bool) -> dict[str, Any]:
        events = len(self.published)
        return {
            "t_ms": t_ms,
            "orders": len(self.committed),
            "events": events,
            "orders_without_event": len(self.committed) - self.matched,
            "events_without_order": events - self.matched,
            "duplicates": self.deliveries - events,
            "outbox_backlog": len(self.outbox),
            "broker_up": broker_up,
        }


def simulate(params: dict[str, Any], schedule: FaultSchedule, emit: Emit) -> dict[str, Any]:
    """Run the scenario under a given fault schedule; return the summary."""
    mode = params["mode"]
    orders = params["orders"]
    world = World(applies=params.get("consumer_applies") or APPLY_NEWER)
    cancel_steps = CANCEL_AFTER_MS // ARRIVAL_MS
    last_cancel_ms = max((order * ARRIVAL_MS + CANCEL_AFTER_MS for order in schedule.cancels), default=0)
    frame_every_ms = max(ARRIVAL_MS, (orders * ARRIVAL_MS) // TARGET_FRAMES // ARRIVAL_MS * ARRIVAL_MS)
    relay_crashes = sorted(schedule.relay_crashes)
    by_cursor = params.get("relay_reads") == READ_AFTER_LAST_ID
    t = 0
    while True:
        up = schedule.broker_up(t)
        if t % ARRIVAL_MS == 0 and t // ARRIVAL_MS < orders:
            _handle_order(mode, t // ARRIVAL_MS, t, up, schedule, world)
        cancelling = t // ARRIVAL_MS - cancel_steps
        if t % ARRIVAL_MS == 0 and cancelling in schedule.cancels and cancelling in world.committed:
            # One transaction: the order's status and its OrderCancelled row, after every row before it.
            world.cancelled.add(cancelling)
            bisect.insort(world.outbox, ((cancelling + cancel_steps, 1), t, cancelling, CANCELLED))
        while world.in_flight and world.in_flight[0][0] <= t:
            _, order, arrived = heapq.heappop(world.in_flight)
            world.commit(order)
            if by_cursor and order < world.cursor:
                world.skipped += 1  # its id was taken before the cursor moved past it
            else:
                bisect.insort(world.outbox, ((order, 0), arrived, order, CREATED))
        if mode == OUTBOX and t % RELAY_POLL_MS == 0:
            _relay_poll(t, up, relay_crashes, world)
        arrivals_done = t // ARRIVAL_MS >= orders - 1
        finished = arrivals_done and not world.outbox and not world.in_flight and t >= last_cancel_ms
        if t % frame_every_ms == 0 or finished:
            emit(world.frame(t, up))
        if finished:
            break
        t += ARRIVAL_MS

    last = world.frame(t, schedule.broker_up(t))
    return {
        "mode": mode,
        "orders_attempted": orders,
        "orders_committed": last["orders"],
        "events_published": last["events"],
        "orders_without_event": last["orders_without_event"],
        "events_without_order": last["events_without_order"],
        "duplicate_deliveries": last["duplicates"],
        "orders_rejected": world.rejected,
        "writer_crashes": world.writer_crashes,
        "relay_crashes": world.relay_crashes,
        "rows_skipped_by_the_relay": world.skipped,
        "max_publish_lag_ms": world.max_lag_ms,
        "orders_cancelled": len(world.cancelled),
        "cancelled_orders_resurrected": world.resurrected,
        "cancelled_orders_shown_live_at_end": sum(world.view.get(order) == CREATED for order in world.cancelled),
        "duration_ms": t,
    }


def _handle_order(mode: str, order: int, t: int, broker_up: bool, schedule: FaultSchedule, world: World) -> None:
    crashes = order in schedule.crashes
    if mode == NAIVE:
        world.writer_crashes += crashes
        world.commit(order)
        if not crashes and broker_up:
            world.publish(order)
        # A crash or a failed publish after the commit: nobody will ever send it.
    elif mode == PUBLISH_FIRST:
        if not broker_up:
            # Rejected at the first step, so it never reached the point where its writer would crash.
            world.rejected += 1  # nothing written anywhere: consistent, but unavailable
            return
        world.writer_crashes += crashes
        world.publish(order)
        if not crashes:
            world.commit(order)
        # A crash before the commit leaves an event about an order that never existed.
    else:
        # One local transaction writes the order and its outbox row; a crash
        # after it loses nothing, because the relay owns publishing now.
        world.writer_crashes += crashes
        delay = schedule.commit_delays[order] if order < len(schedule.commit_delays) else 0
        if delay:
            heapq.heappush(world.in_flight, (t + delay, order, t))  # committed (and visible) later
            return
        world.commit(order)
        bisect.insort(world.outbox, ((order, 0), t, order, CREATED))


def _relay_poll(t: int, broker_up: bool, relay_crashes: list[int], world: World) -> None:
    if not broker_up or not world.outbox:
        return  # the rows stay in the outbox; the next poll tries again
    batch = world.outbox[:RELAY_BATCH]
    for _, committed_at, order, event in batch:
        world.consume(order, event)
        if event == CANCELLED:
            continue  # the counts below are about OrderCreated, the event both engines publish
        if world.publish(order):
            # Lag to the first publish, as the live engine reads it from the stream:
            # a republish after a relay crash is a duplicate, not a later arrival.
            world.max_lag_ms = max(world.max_lag_ms, t - committed_at)
    # Crashes happen in order (the outbox is read oldest first), so those done so far
    # say which one is next; a restarted live relay is told the same count.
    upcoming = relay_crashes[world.relay_crashes] if world.relay_crashes < len(relay_crashes) else None
    if upcoming is not None and any(order == upcoming and event == CREATED for _, _, order, event in batch):
        world.relay_crashes += 1
        return  # published but never marked sent: the next poll sends them again
    world.cursor = max(world.cursor, batch[-1][0][0])  # a cursor relay saves its place with the batch
    del world.outbox[:RELAY_BATCH]


def run(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    if params.get("engine") == LIVE:
        return _run_live(params, seed, emit)
    return simulate(params, fault_schedule(params, seed), emit)


def fault_schedule(params: dict[str, Any], seed: int) -> FaultSchedule:
    """The run's faults; both engines draw them here, so a seed means the same faults in each."""
    return FaultSchedule.draw(
        random.Random(seed),
        orders=params["orders"],
        crash_probability=params["crash_probability"],
        outage_start_ms=params["outage_start_ms"],
        outage_ms=params["outage_ms"],
        relay_crash_probability=params["relay_crash_probability"],
        commit_spread_ms=params.get("commit_spread_ms") or 0,
        cancel_probability=params.get("cancel_probability") or 0.0,
    )


def _run_live(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    """The same scenario on real processes and stores (see dual_write_live), in a scratch dir per run."""
    from django.conf import settings

    from . import dual_write_live

    from playground.scratch import scratch_dir

    with scratch_dir("dual-write-") as workdir:
        return dual_write_live.run_live(params, seed, emit, redis_url=settings.REDIS_URL, workdir=workdir)


def verdict(summary: dict[str, Any]) -> list[Check]:
    lost = summary["orders_without_event"]
    phantom = summary["events_without_order"]
    checks = [
        Check(
            "Orders with no event",
            lost,
            lost == 0,
            "Downstream services never hear of these orders: never shipped, never invoiced.",
        ),
        Check(
            "Events with no order",
            phantom,
            phantom == 0,
            "Consumers act on orders that do not exist in the order service's database.",
        ),
        Check(
            "Duplicate deliveries",
            summary["duplicate_deliveries"],
            None,
            "At-least-once publishing: harmless only if consumers are idempotent.",
        ),
    ]
    if summary["orders_rejected"]:
        checks.append(
            Check(
                "Orders rejected while the broker was down",
                summary["orders_rejected"],
                None,
                "Consistent, but the broker's outage became the order service's outage.",
            )
        )
    if summary.get("orders_cancelled"):
        resurrected = summary["cancelled_orders_resurrected"]
        checks.append(
            Check(
                "Cancelled orders the consumer showed as placed again",
                resurrected,
                resurrected == 0,
                "A relay crash republished a batch, so OrderCreated arrived again after OrderCancelled. Applying "
                "every delivery brought the order back until the replayed OrderCancelled arrived (a shipping "
                "consumer would have shipped it); applying only newer versions ignores the replay.",
            )
        )
    if summary.get("engine") == LIVE:
        checks.extend(_live_checks(summary))
    return checks


def _live_checks(summary: dict[str, Any]) -> list[Check]:
    """What only a live run can say: real processes died, and the stores were read back."""
    checks = [
        Check(
            "Writer processes killed with SIGKILL",
            summary["writer_processes_killed"],
            None,
            "Each died at the injected point between its two steps; a new writer took the next order.",
        )
    ]
    if summary.get("broker_stopped_ms"):
        checks.append(
            Check(
                "Broker's redis-server SIGSTOPped (ms)",
                summary["broker_stopped_ms"],
                None,
                "The outage was real: the stream's redis-server was stopped and every publish to it timed out "
                "until it was continued.",
            )
        )
    if summary["mode"] == OUTBOX:
        checks.append(
            Check(
                "Relay processes killed with SIGKILL",
                summary["relay_processes_killed"],
                None,
                "Each died after publishing a batch and before marking it sent: the batch was published again.",
            )
        )
    checks.append(
        Check(
            "Consumer projection caught up with the stream",
            summary["consumer_caught_up"],
            summary["consumer_caught_up"],
            "Every stream entry was read through the consumer group, counted in the projection and acknowledged.",
        )
    )
    if summary["timed_out"]:
        checks.append(
            Check(
                "Finished within the time limit",
                False,
                False,
                "The run did not drain in time; its processes were killed and these numbers are what was measured.",
            )
        )
    return checks


def shapes(params: dict[str, Any]) -> list[dict]:
    """Shade the broker outage on every chart, so cause and effect line up."""
    if not params.get("outage_ms"):
        return []
    start = params["outage_start_ms"]
    return [shaded_window(start, start + params["outage_ms"], "broker down")]


class DualWriteForm(forms.Form):
    # Not required, so that a request without it (older links, the CLI) is a simulation.
    engine = forms.ChoiceField(
        choices=ENGINES, initial=SIMULATION, required=False, label="Engine",
        help_text=f"Live runs take about orders × 10 ms of real time; at most {LIVE_MAX_ORDERS:,} orders.",
    )
    mode = forms.ChoiceField(choices=MODES, initial=NAIVE, label="Mode")
    orders = forms.IntegerField(min_value=10, max_value=100_000, initial=1000, label="Orders", help_text="10 to 100,000; one every 10 ms.")
    crash_probability = forms.FloatField(
        min_value=0, max_value=0.5, initial=0.02, label="Crash probability between the two steps", help_text="0 to 0.5"
    )
    outage_start_ms = forms.IntegerField(min_value=0, max_value=1_000_000, initial=3000, label="Broker outage starts at (ms)")
    outage_ms = forms.IntegerField(min_value=0, max_value=600_000, initial=2000, label="Broker outage lasts (ms)", help_text="0 for no outage")
    relay_crash_probability = forms.FloatField(
        min_value=0, max_value=0.5, initial=0.0, label="Relay crash probability per order (outbox only)",
        help_text="For each order, the chance that the relay dies after publishing the batch carrying it, "
                  "before marking that batch sent.",
    )

    commit_spread_ms = forms.IntegerField(
        min_value=0, max_value=1000, initial=0, required=False, label="Writers' transactions stay open for up to (ms)",
        help_text="Outbox only, simulation only: concurrent writers take their ids in order but commit out of order.",
    )
    relay_reads = forms.ChoiceField(
        choices=RELAY_READS, initial=READ_UNSENT, required=False, label="The relay reads (outbox only)",
    )
    cancel_probability = forms.FloatField(
        min_value=0, max_value=0.5, initial=0, required=False, label="Probability a customer cancels an order",
        help_text=f"Outbox only, simulation only: OrderCancelled follows {CANCEL_AFTER_MS} ms after the order.",
    )
    consumer_applies = forms.ChoiceField(
        choices=CONSUMER_APPLIES, initial=APPLY_NEWER, required=False, label="The consumer applies",
    )

    def clean_engine(self) -> str:
        return self.cleaned_data.get("engine") or SIMULATION

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        orders = cleaned.get("orders")
        if cleaned.get("engine") == LIVE and orders is not None and orders > LIVE_MAX_ORDERS:
            self.add_error(
                "orders",
                f"A live run places real orders in real time (10 ms each) and starts a real process per crash: "
                f"at most {LIVE_MAX_ORDERS:,} orders when the engine is live. Use the simulation for more.",
            )
        cleaned["commit_spread_ms"] = cleaned.get("commit_spread_ms") or 0
        cleaned["relay_reads"] = cleaned.get("relay_reads") or READ_UNSENT
        if cleaned.get("engine") == LIVE and (cleaned["commit_spread_ms"] or cleaned["relay_reads"] != READ_UNSENT):
            self.add_error("commit_spread_ms", "Out-of-order commits and a cursor relay exist in the simulation only.")
        cleaned["cancel_probability"] = cleaned.get("cancel_probability") or 0.0
        cleaned["consumer_applies"] = cleaned.get("consumer_applies") or APPLY_NEWER
        if cleaned["cancel_probability"] and (
            cleaned.get("engine") == LIVE or cleaned.get("mode") != OUTBOX
            or cleaned["commit_spread_ms"] or cleaned["relay_reads"] != READ_UNSENT
        ):
            self.add_error("cancel_probability",
                           "Cancellations exist in the simulation's outbox mode only, with writers committing in order.")
        outage = cleaned.get("outage_ms")
        if cleaned.get("engine") == LIVE and outage is not None and outage > LIVE_MAX_OUTAGE_MS:
            self.add_error(
                "outage_ms",
                f"A live outage really stops the broker, and every order in it waits out a publish timeout: "
                f"at most {LIVE_MAX_OUTAGE_MS:,} ms when the engine is live.",
            )
        crash = cleaned.get("crash_probability")
        relay_crash = cleaned.get("relay_crash_probability")
        if cleaned.get("engine") == LIVE and orders and relay_crash is not None and orders * relay_crash > LIVE_MAX_CRASHES:
            self.add_error(
                "relay_crash_probability",
                f"A live run kills a real relay process per relay crash: keep orders × relay crash probability at "
                f"most {LIVE_MAX_CRASHES} (this asks for about {orders * relay_crash:.0f}).",
            )
        if cleaned.get("engine") == LIVE and orders and crash is not None and orders * crash > LIVE_MAX_CRASHES:
            # Each crash kills and restarts a real process; past this the run is mostly process start-up.
            self.add_error(
                "crash_probability",
                f"A live run kills a real writer process per crash: keep orders × crash probability at most "
                f"{LIVE_MAX_CRASHES} (this asks for about {orders * crash:.0f}).",
            )
        return cleaned


EXPERIMENT = Experiment(
    slug="dual-write",
    title="Dual write vs transactional outbox",
    what_you_will_see=(
        "A stream of orders hits an order service that must commit each order and publish an "
        "OrderCreated event. Writers crash between the two steps and the broker goes down for a while. "
        "Watch the gap between orders and events: with a naive dual write it only ever grows; with an "
        "outbox it opens during the outage and closes again when the relay catches up."
    ),
    lesson_slug="dual-write",
    form_class=DualWriteForm,
    presets={
        NAIVE: Preset("Naive", "Commit the order, then publish the event.", {"mode": NAIVE}),
        OUTBOX: Preset("Outbox", "Order and event in one transaction; a relay publishes.", {"mode": OUTBOX}),
        "outbox-cursor": Preset(
            "Outbox, cursor relay, concurrent writers",
            "Writers commit out of id order; a relay reading 'id above the last one' skips the late commits forever.",
            {"mode": OUTBOX, "crash_probability": 0, "outage_ms": 0, "commit_spread_ms": 200,
             "relay_reads": READ_AFTER_LAST_ID},
        ),
        "outbox-replay-after-cancel": Preset(
            "Outbox, a replayed batch after a cancellation",
            "Some orders are cancelled; relay crashes republish batches, and the consumer applies every delivery.",
            {"mode": OUTBOX, "crash_probability": 0, "outage_ms": 0, "relay_crash_probability": 0.02,
             "cancel_probability": 0.2, "consumer_applies": APPLY_EVERY},
        ),
        "outbox-live": Preset(
            "Outbox, live",
            "The outbox on real parts: SQLite, a Redis Stream, writer and relay processes killed with SIGKILL.",
            {"engine": LIVE, "mode": OUTBOX, "orders": 1000, "relay_crash_probability": 0.01},
        ),
    },
    run=run,
    charts=[
        Chart(
            id="stores",
            title="Orders committed vs events published",
            x_title="time (ms): simulated, or wall clock in a live run",
            y_title="count",
            traces=[
                Trace("orders committed", "orders", color="#2563eb"),
                Trace("events published", "events", color="#16a34a", dash="dot"),
            ],
        ),
        Chart(
            id="divergence",
            title="Divergence: orders with no event, events with no order",
            x_title="time (ms): simulated, or wall clock in a live run",
            y_title="count",
            traces=[
                Trace("orders with no event", "orders_without_event", color="#dc2626"),
                Trace("events with no order", "events_without_order", color="#9333ea", dash="dash"),
                Trace("outbox backlog", "outbox_backlog", color="#d97706", dash="dot"),
            ],
        ),
    ],
    verdict=verdict,
    shapes=shapes,
    prediction=Prediction("How many orders will end up with no OrderCreated event?", "orders_without_event", 100_000),
    # Arrivals end at orders × 10 ms; an outbox may need a little longer to drain.
    progress=lambda params, frame: min(1.0, frame["t_ms"] / max(1, params["orders"] * ARRIVAL_MS)),
    table_columns=[
        ("t_ms", "Time (ms)"),
        ("orders", "Orders committed"),
        ("events", "Events published"),
        ("orders_without_event", "Orders with no event"),
        ("events_without_order", "Events with no order"),
        ("outbox_backlog", "Outbox backlog"),
    ],
)
