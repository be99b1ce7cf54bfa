"""Idempotent consumers: naive vs dedup table vs a dedup cache with a TTL.

A payments consumer reads ChargeRequested messages from an at-least-once
broker and charges a customer's account. Messages come back in three ways:
the consumer crashes after charging but before acknowledging, so the broker
redelivers once the visibility timeout has passed; the broker duplicates a
delivery on its own; and now and then a copy arrives much later, after a
partition heals or someone replays the queue.

The naive handler charges on every delivery. The dedup-table handler writes
a processed-message row in the same local transaction as the charge, so a
redelivery finds the row and skips, whenever it comes. The dedup-cache-ttl
handler checks a cache before charging and writes its entry after, in a
separate step, with a TTL: a copy that arrives after the entry expired is
charged again, and so is the redelivery after a crash that lands between the
charge and the cache write. No handler ever loses a message: a crash always
comes after the effect, and the broker redelivers anything unacknowledged.

Deliveries are processed one at a time, in time order, by one consumer, so
two copies of a message are never handled concurrently here.

That is the simulation engine. The live engine (idempotency_live.py) runs the
same fault schedule on a real Redis stream with real consumer processes that
are SIGKILLed before they acknowledge; it is bounded smaller, since it runs in
real time.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from django import forms

from .base import LIVE, SIMULATION, Chart, Check, Emit, Experiment, Prediction, Preset, Trace, shaded_window

NAIVE = "naive"
DEDUP_TABLE = "dedup-table"
DEDUP_CACHE_TTL = "dedup-cache-ttl"
MODES = [
    (NAIVE, "Naive: charge on every delivery"),
    (DEDUP_TABLE, "Dedup table written in the same transaction as the charge"),
    (DEDUP_CACHE_TTL, "Dedup cache with a TTL, checked before and written after the charge"),
]

ENGINES = [
    (SIMULATION, "Simulation: a seeded model of the broker, any size, instant"),
    (LIVE, "Live: a Redis Streams consumer group and real consumer processes, killed before they ack"),
]
# A live run happens in real time and kills a real process per crash; these keep it to seconds.
LIVE_MAX_MESSAGES = 1_000
LIVE_MAX_VISIBILITY_TIMEOUT_MS = 2_000
LIVE_MAX_LATE_REDELIVERY_MS = 5_000
LIVE_MAX_EXPECTED_CRASHES = 50

ARRIVAL_MS = 10  # one new ChargeRequested every 10 ms of simulated time
DUPLICATE_MAX_DELAY_MS = 1_000  # a broker-made copy follows the original within a second
MAX_CRASHES_IN_A_ROW = 10  # a real broker would dead-letter a message long before this
MAX_MESSAGES = 100_000
TARGET_FRAMES = 150

FIRST, REDELIVERY, DUPLICATE, LATE = "first", "redelivery", "duplicate", "late"


def amount_cents(message: int) -> int:
    """1.00 to 9.99 EUR, fixed per message so tests can add up any expected balance."""
    return 100 + (message * 373) % 900


def account_of(message: int, accounts: int) -> int:
    return message % accounts


@dataclass(frozen=True)
class FaultSchedule:
    """Every fault a run suffers, decided before it starts.

    crashes: (message, attempt) pairs whose delivery crashes after the handler
        ran but before the ack; attempt 0 is the first delivery and attempt k
        comes k visibility timeouts later, so a message keeps coming back
        until an attempt does not crash.
    crashes_before_cache_write: those crashes that land between the charge and
        the cache write (only the dedup cache has a gap there to land in).
    duplicates: (message, delay_ms) copies the broker delivers on its own,
        delay_ms after the message's first delivery.
    late: (message, delay_ms) copies redelivered long after the first
        delivery: a healed partition, a dead-letter redrive, a replay.
    Broker-made copies (duplicates and late ones) are acknowledged normally.
    """

    crashes: frozenset[tuple[int, int]] = frozenset()
    crashes_before_cache_write: frozenset[tuple[int, int]] = frozenset()
    duplicates: tuple[tuple[int, int], ...] = ()
    late: tuple[tuple[int, int], ...] = ()

    @classmethod
    def draw(
        cls,
        rng: random.Random,
        *,
        messages: int,
        crash_probability: float,
        crash_before_cache_write_share: float,
        duplicate_rate: float,
        late_redelivery_rate: float,
        late_redelivery_ms: int,
    ) -> FaultSchedule:
        crashes = []
        before_cache_write = []
        duplicates = []
        late = []
        for message in range(messages):
            attempt = 0
            while attempt < MAX_CRASHES_IN_A_ROW and rng.random() < crash_probability:
                crashes.append((message, attempt))
                if rng.random() < crash_before_cache_write_share:
                    before_cache_write.append((message, attempt))
                attempt += 1
            # Always draw the delay, so changing a rate does not reshuffle every later fault.
            duplicated, delay = rng.random() < duplicate_rate, rng.randint(1, DUPLICATE_MAX_DELAY_MS)
            if duplicated:
                duplicates.append((message, delay))
            if rng.random() < late_redelivery_rate:
                late.append((message, late_redelivery_ms))
        return cls(
            crashes=frozenset(crashes),
            crashes_before_cache_write=frozenset(before_cache_write),
            duplicates=tuple(duplicates),
            late=tuple(late),
        )


# One delivery: (t_ms, seq, message, kind, crashes, crashes_before_cache_write).
# Plain tuples, because a run at full size makes hundreds of thousands of them;
# seq is the generation order and breaks ties between deliveries at the same instant.
Delivery = tuple[int, int, int, str, bool, bool]


def deliveries_for(messages: int, visibility_timeout_ms: int, schedule: FaultSchedule) -> list[Delivery]:
    """Every delivery the broker makes, in time order; the same whatever the handler does."""
    out: list[Delivery] = []
    for message in range(messages):
        first_ms = message * ARRIVAL_MS
        attempt = 0
        while True:
            crashed = (message, attempt) in schedule.crashes
            out.append((
                first_ms + attempt * visibility_timeout_ms, len(out), message,
                FIRST if attempt == 0 else REDELIVERY,
                crashed, crashed and (message, attempt) in schedule.crashes_before_cache_write,
            ))
            if not crashed:
                break
            attempt += 1
    for kind, copies in ((DUPLICATE, schedule.duplicates), (LATE, schedule.late)):
        for message, delay_ms in sorted(copies):
            if message < messages:
                out.append((message * ARRIVAL_MS + delay_ms, len(out), message, kind, False, False))
    out.sort()
    return out


@dataclass
class Consumer:
    """The handler, the accounts it charges and its dedup store, as the run goes."""

    mode: str
    messages: int
    accounts: int
    ttl_ms: int
    charges: list[int] = field(default_factory=list)  # per message: times charged
    balances: list[int] = field(default_factory=list)  # per account, in cents
    processed: set[int] = field(default_factory=set)  # dedup-table rows
    cache: dict[int, int] = field(default_factory=dict)  # message -> expires at (ms)
    expiries: deque = field(default_factory=deque)  # (expires at, message), oldest first
    # Per message: did the last charge get its dedup entry written? Tells the
    # two causes of a cache-mode double charge apart.
    recorded: list[bool] = field(default_factory=list)
    deliveries: int = 0
    messages_seen: int = 0
    charges_applied: int = 0
    double_charges: int = 0
    double_charges_after_ttl: int = 0
    double_charges_from_crash_gap: int = 0
    messages_charged_twice: int = 0
    overcharged_cents: int = 0
    consumer_crashes: int = 0
    crashes_before_cache_write: int = 0
    broker_duplicates: int = 0
    late_redeliveries: int = 0
    max_dedup_records: int = 0

    def __post_init__(self) -> None:
        self.charges = [0] * self.messages
        self.recorded = [False] * self.messages
        self.balances = [0] * self.accounts

    def expire(self, now_ms: int) -> None:
        # Entries are written in time order with one TTL, so the oldest expires first.
        # Redis keeps a key set with PX ttl until strictly after its expiry time; so does this cache.
        while self.expiries and self.expiries[0][0] < now_ms:
            expires_at, message = self.expiries.popleft()
            if self.cache.get(message) == expires_at:
                del self.cache[message]

    def deliver(self, t_ms: int, message: int, kind: str, crashes: bool, crashes_before_cache_write: bool) -> None:
        if self.expiries and self.expiries[0][0] < t_ms:
            self.expire(t_ms)
        self.deliveries += 1
        if kind == FIRST:
            self.messages_seen += 1
        elif kind == DUPLICATE:
            self.broker_duplicates += 1
        elif kind == LATE:
            self.late_redeliveries += 1
        if crashes:
            self.consumer_crashes += 1
        if self.mode == NAIVE:
            self.charge(message)
        elif self.mode == DEDUP_TABLE:
            # The row and the charge commit together: both exist or neither does,
            # so a crash after the commit leaves a row for the redelivery to find.
            if message not in self.processed:
                self.charge(message)
                self.processed.add(message)
                self.max_dedup_records = max(self.max_dedup_records, len(self.processed))
        elif message not in self.cache:
            self.charge(message)
            if crashes_before_cache_write:
                # Charged, but the process died before the separate cache write:
                # nothing tells the redelivery this message was already charged.
                self.crashes_before_cache_write += 1
                self.recorded[message] = False
            else:
                expires_at = t_ms + self.ttl_ms
                self.cache[message] = expires_at
                self.expiries.append((expires_at, message))
                self.recorded[message] = True
                self.max_dedup_records = max(self.max_dedup_records, len(self.cache))

    def charge(self, message: int) -> None:
        amount = amount_cents(message)
        self.balances[account_of(message, self.accounts)] += amount
        self.charges_applied += 1
        self.charges[message] += 1
        if self.charges[message] > 1:
            self.double_charges += 1
            self.overcharged_cents += amount
            self.messages_charged_twice += self.charges[message] == 2
            if self.mode == DEDUP_CACHE_TTL:
                if self.recorded[message]:
                    self.double_charges_after_ttl += 1
                else:
                    self.double_charges_from_crash_gap += 1

    def dedup_records(self) -> int:
        if self.mode == DEDUP_TABLE:
            return len(self.processed)
        return len(self.cache)

    def frame(self, t_ms: int) -> dict[str, Any]:
        return {
            "t_ms": t_ms,
            "deliveries": self.deliveries,
            "messages": self.messages_seen,
            "charges": self.charges_applied,
            "redeliveries": self.deliveries - self.messages_seen,
            "double_charges": self.double_charges,
            "overcharged_eur": round(self.overcharged_cents / 100, 2),
            "dedup_records": self.dedup_records(),
        }


def simulate(params: dict[str, Any], schedule: FaultSchedule, emit: Emit) -> dict[str, Any]:
    """Run the scenario under a given fault schedule; return the summary."""
    messages = params["messages"]
    deliveries = deliveries_for(messages, params["visibility_timeout_ms"], schedule)
    consumer = Consumer(mode=params["mode"], messages=messages, accounts=params["accounts"], ttl_ms=params["dedup_ttl_ms"])
    end_ms = deliveries[-1][0]
    frame_every_ms = max(1, -(-end_ms // TARGET_FRAMES))  # ceiling division
    next_frame_ms = 0
    for t_ms, _, message, kind, crashes, crashes_before_cache_write in deliveries:
        # A frame at time t shows everything delivered up to and including t.
        while next_frame_ms < t_ms:
            consumer.expire(next_frame_ms)
            emit(consumer.frame(next_frame_ms))
            next_frame_ms += frame_every_ms
        consumer.deliver(t_ms, message, kind, crashes, crashes_before_cache_write)
    consumer.expire(end_ms)
    last = consumer.frame(end_ms)
    emit(last)

    expected = [0] * consumer.accounts
    for message in range(messages):
        expected[account_of(message, consumer.accounts)] += amount_cents(message)
    return {
        "mode": consumer.mode,
        "messages": messages,
        "accounts": consumer.accounts,
        "deliveries": last["deliveries"],
        "redeliveries": last["redeliveries"],
        "consumer_crashes": consumer.consumer_crashes,
        "broker_duplicates": consumer.broker_duplicates,
        "late_redeliveries": consumer.late_redeliveries,
        "charges_applied": last["charges"],
        "double_charges": last["double_charges"],
        "messages_charged_twice_or_more": consumer.messages_charged_twice,
        "double_charges_after_ttl": consumer.double_charges_after_ttl,
        "double_charges_from_crash_before_cache_write": consumer.double_charges_from_crash_gap,
        "crashes_before_cache_write": consumer.crashes_before_cache_write,
        "overcharged_eur": last["overcharged_eur"],
        "accounts_overcharged": sum(b != e for b, e in zip(consumer.balances, expected)),
        "messages_never_applied": consumer.charges.count(0),
        "max_dedup_records": consumer.max_dedup_records,
        "dedup_ttl_ms": consumer.ttl_ms,
        "duration_ms": end_ms,
    }


def fault_schedule(params: dict[str, Any], seed: int) -> FaultSchedule:
    """The run's faults; both engines draw them here, so a seed means the same faults in each."""
    return FaultSchedule.draw(
        random.Random(seed),
        messages=params["messages"],
        crash_probability=params["crash_probability"],
        crash_before_cache_write_share=params["crash_before_cache_write"],
        duplicate_rate=params["duplicate_rate"],
        late_redelivery_rate=params["late_redelivery_rate"],
        late_redelivery_ms=params["late_redelivery_ms"],
    )


def run(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    # Runs stored before there was an engine field are simulations.
    if params.get("engine") == LIVE:
        return run_live(params, seed, emit)
    return simulate(params, fault_schedule(params, seed), emit)


def run_live(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    """The live engine, on the app's Redis, with its ledger in a scratch directory removed after."""
    from django.conf import settings

    from . import idempotency_live  # imported late: it imports this module

    from playground.scratch import scratch_dir

    with scratch_dir("idempotency-") as workdir:
        return idempotency_live.run_live(params, seed, emit, redis_url=settings.REDIS_URL, workdir=workdir)


def verdict(summary: dict[str, Any]) -> list[Check]:
    double = summary["double_charges"]
    never = summary["messages_never_applied"]
    checks = [
        Check(
            "Double charges",
            double,
            double == 0,
            "Each one is a customer charged again for a payment they asked for once; "
            "an idempotent handler keeps this at 0 however often the broker redelivers.",
        ),
        Check(
            "Balance drift (EUR overcharged)",
            summary["overcharged_eur"],
            summary["overcharged_eur"] == 0,
            f"The sum of every extra charge, spread over {summary['accounts_overcharged']} of "
            f"{summary['accounts']} accounts: money to refund and customers who noticed.",
        ),
        Check(
            "Messages never applied",
            never,
            never == 0,
            "At-least-once delivery loses nothing: the broker redelivers until it gets an ack, "
            "so the only way left to be wrong is to charge too often.",
        ),
        Check(
            "Redeliveries",
            summary["redeliveries"],
            None,
            "Crashes before the ack, broker duplicates and late copies make these certain; "
            "they are harmless only to an idempotent handler.",
        ),
    ]
    if summary["mode"] == DEDUP_CACHE_TTL:
        after_ttl = summary["double_charges_after_ttl"]
        gap = summary["double_charges_from_crash_before_cache_write"]
        checks.append(Check(
            "Double charges after the dedup entry expired",
            after_ttl,
            after_ttl == 0,
            f"These copies arrived more than the TTL ({summary['dedup_ttl_ms']} ms) after the charge, "
            "found no entry and charged again: size the TTL from the longest redelivery delay, not the typical one.",
        ))
        checks.append(Check(
            "Double charges from a crash between the charge and the cache write",
            gap,
            gap == 0,
            f"{summary['crashes_before_cache_write']} crashes landed after a charge but before its separate cache "
            "write, and in this model each leaves no entry, so the next copy charges again however long the TTL; "
            "only a record committed in the same transaction as the charge closes that gap.",
        ))
    return checks


def late_window(params: dict[str, Any]) -> tuple[int, int] | None:
    if not params.get("late_redelivery_rate"):
        return None
    start = params["late_redelivery_ms"]
    return start, start + (params["messages"] - 1) * ARRIVAL_MS


def shapes(params: dict[str, Any]) -> list[dict]:
    """Shade when late copies arrive, and mark when the first cache entries expire."""
    out = []
    window = late_window(params)
    if window:
        out.append(shaded_window(window[0], window[1], "late redeliveries"))
    # A line beyond the run's end would stretch the time axis for nothing.
    if params.get("mode") == DEDUP_CACHE_TTL and params["dedup_ttl_ms"] <= horizon_ms(params):
        ttl = params["dedup_ttl_ms"]
        out.append({
            "type": "line", "xref": "x", "yref": "paper", "x0": ttl, "x1": ttl, "y0": 0, "y1": 1,
            "line": {"color": "#9333ea", "dash": "dot", "width": 1},
            "label": {"text": "first cache entries expire", "textposition": "end", "font": {"size": 11}},
        })
    return out


def horizon_ms(params: dict[str, Any]) -> int:
    """Roughly when a run ends: the last first delivery plus the longest usual delay.

    Chains of crashes can run a little past it; progress just stays at 1 then.
    """
    tail = DUPLICATE_MAX_DELAY_MS if params["duplicate_rate"] else 0
    if params["crash_probability"]:
        tail = max(tail, params["visibility_timeout_ms"])
    if params["late_redelivery_rate"]:
        tail = max(tail, params["late_redelivery_ms"])
    return (params["messages"] - 1) * ARRIVAL_MS + tail


def progress(params: dict[str, Any], frame: dict[str, Any]) -> float:
    return min(1.0, frame["t_ms"] / max(1, horizon_ms(params)))


class IdempotencyForm(forms.Form):
    # Not required: a form posted without it (an old page, the API) means a simulation.
    engine = forms.ChoiceField(
        choices=ENGINES, initial=SIMULATION, required=False, label="Engine",
        help_text=(
            f"Live runs take at most {LIVE_MAX_MESSAGES:,} messages, a {LIVE_MAX_VISIBILITY_TIMEOUT_MS:,} ms "
            f"visibility timeout and {LIVE_MAX_LATE_REDELIVERY_MS:,} ms late redeliveries, and last seconds."
        ),
    )
    mode = forms.ChoiceField(choices=MODES, initial=NAIVE, label="Handler")
    messages = forms.IntegerField(
        min_value=10, max_value=MAX_MESSAGES, initial=2000, label="ChargeRequested messages",
        help_text="10 to 100,000; one every 10 ms, each for 1.00 to 9.99 EUR.",
    )
    accounts = forms.IntegerField(min_value=1, max_value=20, initial=5, label="Customer accounts", help_text="1 to 20")
    crash_probability = forms.FloatField(
        min_value=0, max_value=0.5, initial=0.05, label="Crash probability after charging, before the ack",
        help_text="0 to 0.5, per delivery; the broker redelivers after the visibility timeout.",
    )
    visibility_timeout_ms = forms.IntegerField(
        min_value=100, max_value=600_000, initial=2_000, label="Visibility timeout (ms)",
        help_text="How long the broker waits for an ack before redelivering: 100 ms to 10 minutes.",
    )
    duplicate_rate = forms.FloatField(
        min_value=0, max_value=0.5, initial=0.02, label="Broker duplicate rate",
        help_text="0 to 0.5; the copy arrives within a second of the original.",
    )
    late_redelivery_rate = forms.FloatField(
        min_value=0, max_value=1, initial=0.02, label="Late redelivery rate",
        help_text="0 to 1; the share of messages redelivered long after the first delivery (a replay, a healed partition).",
    )
    late_redelivery_ms = forms.IntegerField(
        min_value=100, max_value=3_600_000, initial=15_000, label="Late redelivery arrives after (ms)",
        help_text="Counted from the first delivery: 100 ms to 1 hour.",
    )
    dedup_ttl_ms = forms.IntegerField(
        min_value=100, max_value=3_600_000, initial=5_000, label="Dedup cache TTL (ms, dedup cache only)",
        help_text="How long a cache entry lives after it is written: 100 ms to 1 hour.",
    )
    crash_before_cache_write = forms.FloatField(
        min_value=0, max_value=1, initial=0.0, label="Share of crashes between the charge and the cache write (dedup cache only)",
        help_text="0 to 1; the rest land after the cache write, just before the ack.",
    )

    def clean_engine(self) -> str:
        return self.cleaned_data["engine"] or SIMULATION

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("engine") != LIVE:
            return cleaned
        # Read before the limits below remove a field they reject, so every error is reported at once.
        messages, crash_probability = cleaned.get("messages"), cleaned.get("crash_probability")
        # A live run happens in real time: keep it to seconds, not minutes.
        limits = [
            ("messages", LIVE_MAX_MESSAGES, f"Live runs take at most {LIVE_MAX_MESSAGES:,} messages (one every {ARRIVAL_MS} ms, in real time)."),
            ("visibility_timeout_ms", LIVE_MAX_VISIBILITY_TIMEOUT_MS,
             f"Live runs take a visibility timeout of at most {LIVE_MAX_VISIBILITY_TIMEOUT_MS:,} ms: every redelivery really waits for it."),
            ("late_redelivery_ms", LIVE_MAX_LATE_REDELIVERY_MS,
             f"Live runs take late redeliveries of at most {LIVE_MAX_LATE_REDELIVERY_MS:,} ms: the run waits for the last one."),
        ]
        for name, limit, message in limits:
            if cleaned.get(name) is not None and cleaned[name] > limit:
                self.add_error(name, message)
        if messages is not None and crash_probability is not None and messages * crash_probability > LIVE_MAX_EXPECTED_CRASHES:
            self.add_error("crash_probability", (
                f"Live runs kill and restart a real consumer process for every crash: keep messages × crash "
                f"probability at or under {LIVE_MAX_EXPECTED_CRASHES} (it is {messages * crash_probability:.0f})."
            ))
        return cleaned


EXPERIMENT = Experiment(
    slug="idempotency",
    title="Idempotent consumers: charging exactly once on an at-least-once broker",
    what_you_will_see=(
        "A payments consumer charges customers for ChargeRequested messages from a broker that "
        "redelivers whatever it did not see acknowledged: after consumer crashes, as broker duplicates, "
        "and as late copies long after the first. Watch deliveries pull away from distinct messages: "
        "a naive handler's charges follow the deliveries, a dedup table keeps charges on the messages "
        "line, and a dedup cache holds only until its entries expire."
    ),
    lesson_slug="idempotency",
    form_class=IdempotencyForm,
    presets={
        NAIVE: Preset("Naive", "Charge on every delivery.", {"mode": NAIVE}),
        DEDUP_TABLE: Preset(
            "Dedup table", "A processed-message row in the same transaction as the charge.", {"mode": DEDUP_TABLE}
        ),
        "ttl-too-short": Preset(
            "TTL too short",
            "A dedup cache whose 5 s TTL is shorter than the 15 s late redeliveries.",
            {"mode": DEDUP_CACHE_TTL, "dedup_ttl_ms": 5_000, "late_redelivery_ms": 15_000, "crash_before_cache_write": 0.0},
        ),
        "cache-write-gap": Preset(
            "Long TTL, cache written after the charge",
            "A 60 s TTL outlives every redelivery, but half the crashes land before the cache write.",
            {"mode": DEDUP_CACHE_TTL, "dedup_ttl_ms": 60_000, "late_redelivery_ms": 15_000, "crash_before_cache_write": 0.5},
        ),
        "dedup-table-live": Preset(
            "Dedup table, live",
            "The dedup table on a real Redis stream: consumer processes are SIGKILLed after charging, "
            "before the XACK, and XAUTOCLAIM hands their entries to the next one.",
            {
                "engine": LIVE, "mode": DEDUP_TABLE, "messages": 300, "crash_probability": 0.05,
                "visibility_timeout_ms": 1_000, "duplicate_rate": 0.02, "late_redelivery_rate": 0.02,
                "late_redelivery_ms": 3_000,
            },
        ),
    },
    run=run,
    charts=[
        Chart(
            id="flow",
            title="Deliveries vs distinct messages vs charges applied",
            x_title="time (ms): simulated, or wall clock in a live run",
            y_title="count",
            traces=[
                Trace("deliveries", "deliveries", color="#2563eb"),
                Trace("distinct messages", "messages", color="#16a34a", dash="dot"),
                Trace("charges applied", "charges", color="#dc2626", dash="dash"),
            ],
        ),
        Chart(
            id="damage",
            title="Double charges and balance drift",
            x_title="time (ms): simulated, or wall clock in a live run",
            y_title="double charges · EUR overcharged",
            traces=[
                Trace("double charges", "double_charges", color="#dc2626"),
                Trace("EUR overcharged", "overcharged_eur", color="#9333ea", dash="dash"),
            ],
        ),
        Chart(
            id="dedup-store",
            title="Dedup store size",
            x_title="time (ms): simulated, or wall clock in a live run",
            y_title="records held",
            traces=[Trace("dedup records", "dedup_records", color="#d97706")],
        ),
    ],
    verdict=verdict,
    shapes=shapes,
    prediction=Prediction(
        "How many double charges will customers see?", "double_charges", MAX_MESSAGES * (MAX_CRASHES_IN_A_ROW + 2)
    ),
    progress=progress,
    table_columns=[
        ("t_ms", "Time (ms)"),
        ("deliveries", "Deliveries"),
        ("messages", "Distinct messages"),
        ("charges", "Charges applied"),
        ("double_charges", "Double charges"),
        ("overcharged_eur", "EUR overcharged"),
        ("dedup_records", "Dedup records"),
    ],
)
