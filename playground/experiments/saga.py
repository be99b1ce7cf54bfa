"""Sagas: compensate in reverse order, or be left half done.

A stream of sagas each runs four local transactions in four services: create
the order, charge the payment, reserve the inventory, book the shipping. Any
step can fail, and any step can be slow enough to time out, which leaves its
outcome unknown: it may still commit after the driver has stopped waiting.

The correct modes keep Garcia-Molina and Salem's promise (SIGMOD 1987): every
saga ends as T1…Tn, or as T1…Tj followed by Cj…C1, the compensations of the
committed steps in exact reverse order. The step that failed is never
compensated, because it never committed. A timed-out step is compensated as
well, because it may have committed: its compensation either undoes a late
commit (so j can reach n when the last step committed late) or, arriving
first, leaves a tombstone that makes the late step a no-op. Compensations fail
transiently too; they are retried with exponential backoff, and one that still
fails after the last attempt sends its saga to a "needs a human" queue, where it
is counted, never dropped.

A compensation can also time out after it took effect: the service refunded,
but its reply was lost. Whoever drives the saga cannot tell that from a refund
that never happened, so it sends the compensation again. An idempotent service
keys each compensation by (saga, step) and answers the retry "already done"
without touching its data; a service that is not idempotent refunds twice,
which breaks the saga guarantee as surely as a skipped compensation does.

- orchestration: a coordinator sends each command and waits for the reply,
  two quick direct hops per step, and drives the compensations itself.
- choreography: no coordinator; each service reacts to the previous service's
  event and publishes its own, so every command and every reply is an event
  through a broker: slower hops, a longer time to notice and repair a failure.
  Compensation is an event chain too: the failing service publishes its
  failure, the service before it undoes its step and publishes that, and so on
  back to the first. Nobody waits for a reply, so there is no reply to lose;
  a service retries its own failed compensation, locally, with backoff. What
  can arrive twice is the event: a relay republishes it, and a service that is
  not idempotent undoes its step again and publishes again, so the duplicate
  travels on up the chain.
  Nobody waits for a reply, so nobody's timer fires at a step's deadline: each
  service owns the timeout of the step after its own, and finds overdue sagas
  by sweeping its table every SWEEP_MS. Until that sweep, a saga whose step is
  overdue is stalled: no service is acting on it, and nothing shows it.
- no-compensation: the naive version. On a failure or a timeout it just stops,
  leaving whatever already committed: charged but never shipped.

A payment provider's charge that times out has an unknown outcome too, and
giving up is not the only answer: the saga can hold the order in a "payment
pending" state and send the charge again. With the provider-side idempotency key
of the first request, the provider answers the resend with the first charge's
outcome once it has one, and the customer is charged once; without a key the
resend is a second charge, and a first one that lands late charges the customer
twice.

A knob turns compensation retries off ("log it and move on"): a compensation
that fails once is skipped and the saga carries on undoing the rest, leaving a
step nobody will ever undo.

Sagas share no data here, so each one is simulated on its own from its start
time, keeping its log; the frames then count, at each moment, the sagas in
each state. The summary carries the logs of a few sagas as Gantt segments.
"""

from __future__ import annotations

import random
from bisect import bisect_right, insort_left
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django import forms

from .base import Chart, Check, Emit, Experiment, Prediction, Preset, Trace, gantt_figure

ORCHESTRATION = "orchestration"
CHOREOGRAPHY = "choreography"
NO_COMPENSATION = "no-compensation"
MODES = [
    (NO_COMPENSATION, "Naive: on a failure, just stop"),
    (ORCHESTRATION, "Orchestration: a coordinator drives steps and compensations"),
    (CHOREOGRAPHY, "Choreography: services react to each other's events"),
]
RETRIES_ON = "on"
RETRIES_OFF = "off"
IDEMPOTENT = "yes"
NOT_IDEMPOTENT = "no"
IDEMPOTENCY_CHOICES = [
    (IDEMPOTENT, "Yes: a repeated compensation is recognised and changes nothing"),
    (NOT_IDEMPOTENT, "No: a repeated compensation is applied again"),
]
PAYMENT_TIMEOUT_COMPENSATE = "compensate"
PAYMENT_TIMEOUT_RESEND_WITH_KEY = "resend-with-key"
PAYMENT_TIMEOUT_RESEND_WITHOUT_KEY = "resend-without-key"
PAYMENT_TIMEOUT_CHOICES = [
    (PAYMENT_TIMEOUT_COMPENSATE, "Give up: compensate, as for any timed-out step"),
    (PAYMENT_TIMEOUT_RESEND_WITH_KEY, "Keep the order pending; resend the charge with the same idempotency key"),
    (PAYMENT_TIMEOUT_RESEND_WITHOUT_KEY, "Keep the order pending; resend the charge with no idempotency key"),
]
RETRY_CHOICES = [
    (RETRIES_ON, "On: retry with backoff, then escalate to a human"),
    (RETRIES_OFF, "Off: log the failure and move on"),
]

STEPS = ("order", "payment", "inventory", "shipping")
COMPENSATIONS = ("cancel order", "refund payment", "release inventory", "cancel shipment")
ORDER, PAYMENT, INVENTORY, SHIPPING = range(len(STEPS))
ALL_COMMITTED = [("T", step) for step in range(len(STEPS))]

ARRIVAL_MS = 10  # one saga starts every 10 ms of simulated time
RPC_HOP_MS = 2  # a direct call or reply between the coordinator and a service
EVENT_HOP_MS = 10  # an event through an outbox, a relay and a broker to its consumer
SWEEP_MS = 250  # choreography: how often each service looks for sagas whose next event is overdue
BACKOFF_BASE_MS = 20
BACKOFF_CAP_MS = 1000
MAX_ATTEMPTS = 10  # the form's bound; also caps the failures the schedule draws
TARGET_FRAMES = 150
SAMPLE_SAGAS = 20

# What a log entry records. Only COMMIT, LATE_COMMIT and COMPENSATE change a service's data.
COMMIT = "committed"
FAIL = "failed"
TIMEOUT = "timed out"
LATE_COMMIT = "committed late"
COMPENSATE = "compensated"
TOMBSTONE = "no-op, tombstone left"
ATTEMPT_FAILED = "attempt failed"
ABANDONED = "failed, not retried"
ESCALATE = "escalated to a human"
CHARGE_RESENT = "charge resent"  # a timed-out charge sent again, the order pending meanwhile
KEY_REPLAYED = "answered from the key"  # the provider's reply to a resend: the first charge's outcome
REPLY_LOST = "reply lost, retried"  # the compensation took effect; whoever sent it never heard
EVENT_REDELIVERED = "event delivered again"  # choreography: the event that asked for it arrived twice
ALREADY_DONE = "already done, no-op"  # the idempotent answer to that retry
UNDOING = frozenset({COMPENSATE, TOMBSTONE, ATTEMPT_FAILED, ABANDONED, ESCALATE, REPLY_LOST, EVENT_REDELIVERED,
                     ALREADY_DONE})

# How a saga ended, judged by the data it left behind.
COMPLETED = "completed"
UNDONE = "compensated"
ABORTED = "failed before committing anything"
STUCK = "stuck half done"
NEEDS_HUMAN = "needs a human"


@dataclass(frozen=True)
class FaultSchedule:
    """Every fault a run suffers, decided before it starts.

    step_failures: (saga, step) pairs whose local transaction fails and commits nothing.
    latencies: per saga, how long each step's local transaction takes (ms); sagas
        beyond the tuple take the form's mean latency.
    compensation_failures: (saga, step) -> how many attempts at that step's
        compensation fail before one succeeds; missing means the first succeeds.
    lost_replies: (saga, step) pairs whose compensation takes effect but whose
        reply is lost, so the sender times out and sends it again.
    """

    step_failures: frozenset[tuple[int, int]] = frozenset()
    latencies: tuple[tuple[int, ...], ...] = ()
    compensation_failures: dict[tuple[int, int], int] = field(default_factory=dict)
    lost_replies: frozenset[tuple[int, int]] = frozenset()

    @classmethod
    def draw(
        cls,
        rng: random.Random,
        *,
        sagas: int,
        step_failure_probability: float,
        step_latency_ms: int,
        compensation_failure_probability: float,
        reply_loss_probability: float = 0.0,
    ) -> FaultSchedule:
        failures = []
        latencies = []
        compensation_failures = {}
        rate = 1 / step_latency_ms
        for saga in range(sagas):
            row = []
            for step in range(len(STEPS)):
                if rng.random() < step_failure_probability:
                    failures.append((saga, step))
                # Exponential latencies: most steps are quick, a few are slow enough to time out.
                row.append(max(1, round(rng.expovariate(rate))))
                failed_attempts = 0
                while failed_attempts < MAX_ATTEMPTS and rng.random() < compensation_failure_probability:
                    failed_attempts += 1
                if failed_attempts:
                    compensation_failures[(saga, step)] = failed_attempts
            latencies.append(tuple(row))
        # Drawn last, so that adding them left every earlier seed's faults as they were.
        lost = frozenset(
            (saga, step) for saga in range(sagas) for step in range(len(STEPS)) if rng.random() < reply_loss_probability
        ) if reply_loss_probability else frozenset()
        return cls(frozenset(failures), tuple(latencies), compensation_failures, lost)


class Entry(NamedTuple):
    """One line of a saga's log: a step or compensation attempt, or a late effect."""

    at_ms: int  # when it took effect in the service, or when the outcome was decided
    action: str
    step: int
    start_ms: int  # when the command or event was sent
    end_ms: int  # when whoever drives the saga learnt the outcome


Window = tuple[int, int | None]  # (start_ms, end_ms); end None while still open


@dataclass(slots=True)
class Saga:
    index: int
    log: list[Entry]  # in the order things happened
    outcome: str = ""
    ended_ms: int = 0
    # The changes the saga made to the services' data, in order: ("T", step) or ("C", step).
    effects: list[tuple[str, int]] = field(default_factory=list)
    half_done: list[Window] = field(default_factory=list)  # some steps in effect, not all
    charged_not_shipped: list[Window] = field(default_factory=list)
    stalled: tuple[int, int] | None = None  # overdue and not yet noticed by anyone
    pending: tuple[int, int] | None = None  # a timed-out charge resent, its outcome awaited


def follows_saga_guarantee(effects: list[tuple[str, int]], *, escalated: bool = False) -> bool:
    """T1…Tn, or T1…Tj then Cj…C1; an escalated saga may stop partway through its Cs."""
    if effects == ALL_COMMITTED:
        return True  # the common case, checked first to keep large runs fast
    j = 0
    while j < len(effects) and effects[j] == ("T", j):
        j += 1
    undo = effects[j:]
    expected = [("C", step) for step in reversed(range(j))]
    if escalated:
        return undo == expected[: len(undo)]
    return undo == expected or (j == len(STEPS) and not undo)


def _run_saga(index: int, params: dict[str, Any], schedule: FaultSchedule) -> Saga:
    mode = params["mode"]
    mean_latency = params["step_latency_ms"]
    timeout = params["step_timeout_ms"]
    hop = EVENT_HOP_MS if mode == CHOREOGRAPHY else RPC_HOP_MS
    log: list[Entry] = []
    t = index * ARRIVAL_MS
    reached = len(STEPS)  # the first step that did not reply with success
    unknown = None  # the step that timed out, if any
    late_at = None  # when that step commits anyway, unless a tombstone gets there first
    escalated = False
    stalled = None  # (deadline passed, someone noticed) for a timed-out step
    pending = None  # (charge's deadline, its outcome known) while a resent charge is awaited
    resend = params.get("payment_timeout") or PAYMENT_TIMEOUT_COMPENSATE
    latencies = schedule.latencies[index] if index < len(schedule.latencies) else None

    for step in range(len(STEPS)):
        sent = t
        finished = sent + hop + (latencies[step] if latencies else mean_latency)
        replied = finished + hop
        deadline = sent + timeout
        failed = (index, step) in schedule.step_failures
        if replied > deadline:
            # A timeout means "unknown", not "failed": the service may still commit.
            # A coordinator's timer fires at the deadline; a choreographed service's sweep, later.
            noticed = -(-deadline // SWEEP_MS) * SWEEP_MS if mode == CHOREOGRAPHY else deadline
            log.append(Entry(noticed, TIMEOUT, step, sent, noticed))
            stalled = (deadline, noticed)
            if step == PAYMENT and resend != PAYMENT_TIMEOUT_COMPENSATE and mode != NO_COMPENSATION:
                # The provider is the service here: the first charge still lands (or is declined)
                # at `finished`, whatever the saga does about it.
                again = noticed + hop + mean_latency
                if resend == PAYMENT_TIMEOUT_RESEND_WITH_KEY:
                    known = max(again, finished) + hop  # the key's stored outcome, once there is one
                    log.append(Entry(finished, FAIL if failed else LATE_COMMIT, step, sent, finished))
                    log.append(Entry(known - hop, KEY_REPLAYED, step, noticed, known))
                else:
                    known = again + hop
                    log.append(Entry(finished, FAIL if failed else LATE_COMMIT, step, sent, finished))
                    log.append(Entry(again, FAIL if failed else CHARGE_RESENT, step, noticed, known))
                log.sort(key=lambda entry: entry.at_ms)
                pending = (deadline, known)
                t = known
                if failed:  # declined, now known: undo what came before, as for any failure
                    reached = step
                    break
                continue
            t = noticed
            reached = unknown = step
            late_at = None if failed else finished
            break
        if failed:
            log.append(Entry(finished, FAIL, step, sent, replied))
            # A coordinator hears of it with the reply; in a choreography the failing
            # service's own event, published as it fails, starts the compensations.
            t = finished if mode == CHOREOGRAPHY else replied
            reached = step
            break
        log.append(Entry(finished, COMMIT, step, sent, replied))
        t = replied

    if reached < len(STEPS) and mode == CHOREOGRAPHY:
        t, escalated, late_at = _compensate_by_events(index, params, schedule, log, t, reached, unknown, late_at)
    elif reached < len(STEPS) and mode != NO_COMPENSATION:
        # Compensate what may have committed, newest first: a timed-out step may have,
        # a failed one did not.
        newest = reached if unknown is not None else reached - 1
        for step in range(newest, -1, -1):
            failures_left = schedule.compensation_failures.get((index, step), 0)
            attempt = 0
            while True:
                sent = t
                finished = sent + hop + mean_latency
                replied = finished + hop
                t = replied
                attempt += 1
                if attempt <= failures_left:
                    # A transient failure: nothing changed in the service, not even a tombstone.
                    if params["compensation_retries"] == RETRIES_OFF:
                        log.append(Entry(finished, ABANDONED, step, sent, replied))
                        break
                    log.append(Entry(finished, ATTEMPT_FAILED, step, sent, replied))
                    if attempt >= params["compensation_max_attempts"]:
                        log.append(Entry(replied, ESCALATE, step, replied, replied))
                        escalated = True
                        break
                    t = replied + min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1))
                    continue
                if step == unknown and (late_at is None or late_at > finished):
                    # Nothing to undo yet: the tombstone turns a late commit into a no-op.
                    action = TOMBSTONE
                    late_at = None
                else:
                    action = COMPENSATE
                if (index, step) in schedule.lost_replies:
                    # It took effect, but the sender hears nothing until its timeout and sends it again.
                    given_up = max(sent + timeout, replied)
                    log.append(Entry(finished, action, step, sent, given_up))
                    log.append(Entry(given_up, REPLY_LOST, step, given_up, given_up))
                    sent = given_up
                    finished = sent + hop + mean_latency
                    replied = t = finished + hop
                    if params["compensation_idempotent"] == IDEMPOTENT or action == TOMBSTONE:
                        log.append(Entry(finished, ALREADY_DONE, step, sent, replied))
                    else:
                        log.append(Entry(finished, COMPENSATE, step, sent, replied))  # refunded twice
                else:
                    log.append(Entry(finished, action, step, sent, replied))
                break
            if escalated:
                break  # a human takes over; undoing older steps first would break the reverse order

    if late_at is not None:
        # Before anything logged at the same moment: the service committed first.
        insort_left(log, Entry(late_at, LATE_COMMIT, unknown, late_at, late_at), key=lambda entry: entry.at_ms)
    saga = Saga(index, log, ended_ms=max(t, late_at or 0), stalled=stalled, pending=pending)
    live = _replay(saga)
    if escalated:
        saga.outcome = NEEDS_HUMAN
    elif len(live) == len(STEPS):
        saga.outcome = COMPLETED
    elif not live and any(entry.action in (COMPENSATE, TOMBSTONE) for entry in log):
        saga.outcome = UNDONE
    elif not live:
        # Its first step failed (or timed out and never committed): nothing to undo, so not "compensated".
        saga.outcome = ABORTED
    else:
        saga.outcome = STUCK
    return saga


def _compensate_by_events(
    index: int, params: dict[str, Any], schedule: FaultSchedule, log: list[Entry],
    published: int, reached: int, unknown: int | None, late_at: int | None,
) -> tuple[int, bool, int | None]:
    """Choreography's compensations: each service reacts to the event of the service after it.

    `published` is when the chain's first event went out: the failing service's failure,
    or the sweep that found a step overdue. Returns (when the last effect landed,
    escalated, when the timed-out step still commits late, or None).
    """
    latency = params["step_latency_ms"]
    last = published
    escalated = False
    duplicate_published = None  # this step's event is delivered a second time, published then
    newest = reached if unknown is not None else reached - 1
    for step in range(newest, -1, -1):
        if (index, step) in schedule.lost_replies:
            duplicate_published = published + EVENT_HOP_MS  # the sender's relay published it again
        failures_left = schedule.compensation_failures.get((index, step), 0)
        start = published + EVENT_HOP_MS  # the event reaches the service
        attempt = 0
        handled = None  # when this service's own event goes out
        while True:
            attempt += 1
            done = start + latency
            if attempt <= failures_left:
                if params["compensation_retries"] == RETRIES_OFF:
                    log.append(Entry(done, ABANDONED, step, start if attempt > 1 else published, done))
                    handled = done  # logged, and the chain moves on as if it had worked
                    action = ABANDONED
                    break
                log.append(Entry(done, ATTEMPT_FAILED, step, start if attempt > 1 else published, done))
                if attempt >= params["compensation_max_attempts"]:
                    log.append(Entry(done, ESCALATE, step, done, done))
                    escalated = True
                    break
                # The service's own retry: the event is already here, no broker hop.
                start = done + min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1))
                continue
            if step == unknown and (late_at is None or late_at > done):
                action = TOMBSTONE
                late_at = None
            else:
                action = COMPENSATE
            log.append(Entry(done, action, step, start if attempt > 1 else published, done))
            handled = done
            break
        last = max(last, done)
        if escalated:
            break  # the services before it never hear: a human takes over from here
        next_duplicate = None
        if duplicate_published is not None:
            arrives = duplicate_published + EVENT_HOP_MS
            again = max(arrives, handled) + latency
            log.append(Entry(arrives, EVENT_REDELIVERED, step, duplicate_published, arrives))
            if action == ABANDONED:
                # Never applied, so the second delivery is a second chance, idempotent or not.
                log.append(Entry(again, COMPENSATE, step, max(arrives, handled), again))
                next_duplicate = None if params["compensation_idempotent"] == IDEMPOTENT else again
            elif params["compensation_idempotent"] == IDEMPOTENT or action == TOMBSTONE:
                log.append(Entry(again, ALREADY_DONE, step, max(arrives, handled), again))
            else:
                # Undone again, and announced again: the service before it gets two events too.
                log.append(Entry(again, COMPENSATE, step, max(arrives, handled), again))
                next_duplicate = again
            last = max(last, again)
        duplicate_published = next_duplicate
        published = handled
    log.sort(key=lambda entry: entry.at_ms)  # the chain's entries interleave once an event arrives twice
    return last, escalated, late_at


def _replay(saga: Saga) -> set[int]:
    """Fill in the saga's effects and half-done windows from its log; return the steps still in effect."""
    live: set[int] = set()
    half_since = charged_since = None
    for entry in saga.log:
        if entry.action in (COMMIT, LATE_COMMIT, CHARGE_RESENT):
            live.add(entry.step)
            saga.effects.append(("T", entry.step))
        elif entry.action == COMPENSATE:
            live.discard(entry.step)
            saga.effects.append(("C", entry.step))
        else:
            continue
        is_half = 0 < len(live) < len(STEPS)
        if is_half and half_since is None:
            half_since = entry.at_ms
        elif not is_half and half_since is not None:
            saga.half_done.append((half_since, entry.at_ms))
            half_since = None
        is_charged = PAYMENT in live and SHIPPING not in live
        if is_charged and charged_since is None:
            charged_since = entry.at_ms
        elif not is_charged and charged_since is not None:
            saga.charged_not_shipped.append((charged_since, entry.at_ms))
            charged_since = None
    if half_since is not None:
        saga.half_done.append((half_since, None))
    if charged_since is not None:
        saga.charged_not_shipped.append((charged_since, None))
    return live


@dataclass(slots=True)
class _Windows:
    """Intervals during which some condition held, for counting them at any time."""

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

    def add(self, start: int, end: int | None) -> None:
        self.starts.append(start)
        if end is not None:
            self.ends.append(end)

    def sort(self) -> None:
        self.starts.sort()
        self.ends.sort()

    def open_at(self, t_ms: int) -> int:
        return bisect_right(self.starts, t_ms) - bisect_right(self.ends, t_ms)


def simulate(
    params: dict[str, Any], schedule: FaultSchedule, emit: Emit, journal: list[Saga] | None = None
) -> dict[str, Any]:
    """Run every saga under a given fault schedule, emit the frames; return the summary.

    Pass a list as `journal` to get every saga with its log, for checking each one's shape.
    """
    sagas = params["sagas"]
    half = _Windows()
    charged = _Windows()
    compensating = _Windows()
    stalled = _Windows()
    unnoticed_ms: list[int] = []
    pending_ms: list[int] = []
    charged_twice = 0
    ended = {COMPLETED: [], UNDONE: [], ABORTED: [], STUCK: [], NEEDS_HUMAN: []}
    counts = {action: 0 for action in (FAIL, TIMEOUT, LATE_COMMIT, COMPENSATE, TOMBSTONE, ATTEMPT_FAILED, ABANDONED,
                                       REPLY_LOST, EVENT_REDELIVERED, ALREADY_DONE, CHARGE_RESENT, KEY_REPLAYED)}
    windows_so_far: list[tuple[int, int | None]] = []  # per saga: closed ms, and since when still open
    durations = {COMPLETED: 0, UNDONE: 0}
    violations = 0
    charged_at_end = 0
    sample: dict[str, list[Saga]] = {outcome: [] for outcome in ended}
    t_end = 0

    for index in range(sagas):
        saga = _run_saga(index, params, schedule)
        if journal is not None:
            journal.append(saga)
        t_end = max(t_end, saga.ended_ms)
        ended[saga.outcome].append(saga.ended_ms)
        if saga.outcome in durations:
            durations[saga.outcome] += saga.ended_ms - index * ARRIVAL_MS
        if len(sample[saga.outcome]) < SAMPLE_SAGAS:
            sample[saga.outcome].append(saga)
        undoing = None  # (first compensation sent, last one's outcome known)
        for entry in saga.log:
            if entry.action in counts:
                counts[entry.action] += 1
            if entry.action in UNDOING:
                undoing = (undoing[0] if undoing else entry.start_ms, entry.end_ms)
        if undoing:
            compensating.add(*undoing)
        if saga.pending is not None:
            pending_ms.append(saga.pending[1] - saga.pending[0])
        charged_twice += saga.effects.count(("T", PAYMENT)) > 1
        if saga.stalled is not None:
            stalled.add(*saga.stalled)
            unnoticed_ms.append(saga.stalled[1] - saga.stalled[0])
        violations += not follows_saga_guarantee(saga.effects, escalated=saga.outcome == NEEDS_HUMAN)

        closed_ms = 0
        open_since = None
        for start, end in saga.half_done:
            half.add(start, end)
            if end is None:
                open_since = start
            else:
                closed_ms += end - start
        if saga.half_done:
            windows_so_far.append((closed_ms, open_since))
        for start, end in saga.charged_not_shipped:
            charged.add(start, end)
            charged_at_end += end is None

    # A window still open at the end is measured up to the end: a lower bound on "forever".
    windows = [
        closed_ms if open_since is None else closed_ms + t_end - open_since
        for closed_ms, open_since in windows_so_far
    ]

    for series in (half, charged, compensating, stalled):
        series.sort()
    for times in ended.values():
        times.sort()

    def frame(t_ms: int) -> dict[str, Any]:
        return {
            "t_ms": t_ms,
            "started": min(sagas, t_ms // ARRIVAL_MS + 1),
            "completed": bisect_right(ended[COMPLETED], t_ms),
            "compensated": bisect_right(ended[UNDONE], t_ms),
            "aborted": bisect_right(ended[ABORTED], t_ms),
            "stuck": bisect_right(ended[STUCK], t_ms),
            "needs_human": bisect_right(ended[NEEDS_HUMAN], t_ms),
            "half_done": half.open_at(t_ms),
            "charged_not_shipped": charged.open_at(t_ms),
            "compensating": compensating.open_at(t_ms),
            "stalled": stalled.open_at(t_ms),
        }

    frame_every_ms = max(1, -(-t_end // TARGET_FRAMES))
    for t_ms in range(0, t_end, frame_every_ms):
        emit(frame(t_ms))
    last = frame(t_end)
    emit(last)

    return {
        "mode": params["mode"],
        "compensation_retries": params["compensation_retries"],
        "sagas_started": sagas,
        "sagas_completed": last["completed"],
        "sagas_compensated": last["compensated"],
        "sagas_aborted": last["aborted"],
        "sagas_stuck_half_done": last["stuck"],
        "sagas_escalated_to_human": last["needs_human"],
        "sagas_left_half_done": last["half_done"],
        "charged_not_shipped_at_end": charged_at_end,
        "saga_guarantee_violations": violations,
        "steps_failed": counts[FAIL],
        "steps_timed_out": counts[TIMEOUT],
        "late_commits": counts[LATE_COMMIT],
        "tombstones_left": counts[TOMBSTONE],
        "compensations_applied": counts[COMPENSATE],
        "compensation_attempts_failed": counts[ATTEMPT_FAILED] + counts[ABANDONED],
        "compensations_abandoned": counts[ABANDONED],
        "compensation_replies_lost": counts[REPLY_LOST],
        "compensation_events_redelivered": counts[EVENT_REDELIVERED],
        "payment_timeout": params.get("payment_timeout") or PAYMENT_TIMEOUT_COMPENSATE,
        "charges_resent": counts[CHARGE_RESENT] + counts[KEY_REPLAYED],
        "customers_charged_twice": charged_twice,
        "max_payment_pending_ms": max(pending_ms, default=0),
        "compensation_retries_recognised": counts[ALREADY_DONE],
        "max_unnoticed_overdue_ms": max(unnoticed_ms, default=0),
        "mean_unnoticed_overdue_ms": _mean(sum(unnoticed_ms), len(unnoticed_ms)),
        "max_inconsistency_window_ms": max(windows, default=0),
        "mean_inconsistency_window_ms": _mean(sum(windows), len(windows)),
        "mean_completed_saga_ms": _mean(durations[COMPLETED], len(ended[COMPLETED])),
        "mean_compensated_saga_ms": _mean(durations[UNDONE], len(ended[UNDONE])),
        "duration_ms": t_end,
        "sample_timeline": _sample_timeline(sample),
    }


def _mean(total: int, count: int) -> float:
    return round(total / count, 1) if count else 0.0


def _sample_timeline(sample: dict[str, list[Saga]]) -> list[dict[str, Any]]:
    """Gantt segments for up to SAMPLE_SAGAS sagas, the unhappy ones first."""
    chosen: list[Saga] = []
    rank = 0
    while len(chosen) < SAMPLE_SAGAS and any(rank < len(sagas) for sagas in sample.values()):
        for outcome in (STUCK, NEEDS_HUMAN, UNDONE, COMPLETED, ABORTED):
            if rank < len(sample[outcome]) and len(chosen) < SAMPLE_SAGAS:
                chosen.append(sample[outcome][rank])
        rank += 1
    segments = []
    for saga in sorted(chosen, key=lambda s: s.index):
        for entry in sorted(saga.log, key=lambda e: (e.start_ms, e.end_ms)):
            forward = entry.action in (COMMIT, FAIL, TIMEOUT, LATE_COMMIT, CHARGE_RESENT, KEY_REPLAYED)
            segments.append({
                "saga": saga.index,
                "step": STEPS[entry.step] if forward else COMPENSATIONS[entry.step],
                "start_ms": entry.start_ms,
                "end_ms": entry.end_ms,
                "outcome": entry.action,
            })
    return segments


def run(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    schedule = FaultSchedule.draw(
        random.Random(seed),
        sagas=params["sagas"],
        step_failure_probability=params["step_failure_probability"],
        step_latency_ms=params["step_latency_ms"],
        compensation_failure_probability=params["compensation_failure_probability"],
        reply_loss_probability=params["compensation_reply_loss_probability"],
    )
    return simulate(params, schedule, emit)


def verdict(summary: dict[str, Any]) -> list[Check]:
    stuck = summary["sagas_stuck_half_done"]
    return [
        Check(
            "Sagas completed (T1…Tn)",
            summary["sagas_completed"],
            None,
            "Order, payment, inventory and shipping all committed.",
        ),
        Check(
            "Sagas compensated (T1…Tj, Cj…C1)",
            summary["sagas_compensated"],
            None,
            "A step failed or timed out and nothing of the saga is left: every committed step was undone, newest first.",
        ),
        Check(
            "Sagas that failed before committing anything",
            summary.get("sagas_aborted", 0),
            None,
            "The first step failed, so there was nothing to undo: these are neither completed nor compensated.",
        ),
        Check(
            "Sagas stuck half done",
            stuck,
            stuck == 0,
            (
                f"These ended with some steps committed and nothing coming to undo them; "
                f"{summary['charged_not_shipped_at_end']} customers were charged for orders that will never ship."
                if stuck
                else "No saga was left with some steps committed and nothing coming to undo them."
            ),
        ),
        Check(
            "Sagas escalated to a human",
            summary["sagas_escalated_to_human"],
            None,
            "A compensation still failed after its last retry, so its saga went to a person's queue: "
            "half done until someone acts, but counted and visible, never silently dropped.",
        ),
        Check(
            "Sagas that broke the saga guarantee",
            summary["saga_guarantee_violations"],
            summary["saga_guarantee_violations"] == 0,
            "Every saga must end as T1…Tn or as T1…Tj, Cj…C1, compensations in exact reverse order; these did not.",
        ),
        Check(
            "Compensations whose reply was lost, sent again",
            summary["compensation_replies_lost"],
            None,
            f"The service had already undone the step; {summary['compensation_retries_recognised']} of the retries "
            "were recognised by their (saga, step) key and changed nothing.",
        ) if summary["mode"] != CHOREOGRAPHY else Check(
            "Compensation events delivered twice",
            summary["compensation_events_redelivered"],
            None,
            "No service waits for a reply in a choreography; what repeats is the event asking for an undo. "
            f"{summary['compensation_retries_recognised']} were recognised by their (saga, step) key; a service "
            "that is not idempotent undoes its step again and announces it again, so the duplicate travels upstream.",
        ),
        *([
            Check(
                "Customers charged twice",
                summary["customers_charged_twice"],
                summary["customers_charged_twice"] == 0,
                f"{summary['charges_resent']} timed-out charges were resent while their orders waited in "
                "'payment pending'. With the first request's idempotency key the provider answers a resend with the "
                "first charge's outcome; without one, a first charge that lands late is a second charge.",
            ),
            Check(
                "Longest a payment stayed pending (ms)",
                summary["max_payment_pending_ms"],
                None,
                "From the charge's deadline until its outcome was known: the order's honest 'payment pending' state.",
            ),
        ] if summary["payment_timeout"] != PAYMENT_TIMEOUT_COMPENSATE else []),
        Check(
            "Longest a timed-out step went unnoticed (ms)",
            summary["max_unnoticed_overdue_ms"],
            None,
            "From a step's deadline until someone acted on it. A coordinator's timer fires at the deadline; "
            f"in a choreography the owning service finds the saga at its next sweep (every {SWEEP_MS} ms), "
            "and until then no service is working on it.",
        ),
        Check(
            "Longest inconsistency window (ms)",
            summary["max_inconsistency_window_ms"],
            stuck == 0,
            "The longest a saga's data stayed half done; a stuck saga's window never closes, "
            "so it is measured up to the end of the run.",
        ),
        Check(
            "Mean inconsistency window (ms)",
            summary["mean_inconsistency_window_ms"],
            None,
            "Even a saga that completes is visibly half done while it runs: sagas are atomic in outcome, not isolated.",
        ),
    ]


def shapes(params: dict[str, Any]) -> list[dict]:
    """Mark when the last saga starts: from there on, half-done sagas should drain to zero."""
    last_start = (params["sagas"] - 1) * ARRIVAL_MS
    return [{
        "type": "line", "xref": "x", "yref": "paper", "x0": last_start, "x1": last_start, "y0": 0, "y1": 1,
        "line": {"color": "#6b7280", "width": 1, "dash": "dot"},
        "label": {"text": "last saga starts", "textposition": "end", "font": {"size": 11}},
    }]


class SagaForm(forms.Form):
    mode = forms.ChoiceField(choices=MODES, initial=NO_COMPENSATION, label="Mode")
    sagas = forms.IntegerField(
        min_value=10, max_value=100_000, initial=500, label="Sagas", help_text="10 to 100,000; one starts every 10 ms."
    )
    step_failure_probability = forms.FloatField(
        min_value=0, max_value=0.5, initial=0.05, label="Failure probability of each step",
        help_text="0 to 0.5; applies to order, payment, inventory and shipping alike.",
    )
    step_latency_ms = forms.IntegerField(
        min_value=1, max_value=1000, initial=20, label="Mean step latency (ms)",
        help_text="Each step's local transaction; a few take much longer than the mean.",
    )
    step_timeout_ms = forms.IntegerField(
        min_value=10, max_value=10_000, initial=100, label="Step timeout (ms)",
        help_text="How long the saga waits for a step's reply; the step may still commit afterwards.",
    )
    compensation_failure_probability = forms.FloatField(
        min_value=0, max_value=0.5, initial=0.3, label="Failure probability of each compensation attempt",
        help_text="0 to 0.5; transient failures: a later attempt can succeed.",
    )
    compensation_retries = forms.ChoiceField(
        choices=RETRY_CHOICES, initial=RETRIES_ON, label="Compensation retries"
    )
    compensation_reply_loss_probability = forms.FloatField(
        min_value=0, max_value=0.5, initial=0.0, label="Probability that a compensation's reply is lost",
        help_text="0 to 0.5; the compensation took effect, the sender times out and sends it again. "
                  "In a choreography there is no reply: the event asking for it is delivered twice.",
    )
    compensation_idempotent = forms.ChoiceField(
        choices=IDEMPOTENCY_CHOICES, initial=IDEMPOTENT, label="Compensations idempotent"
    )
    payment_timeout = forms.ChoiceField(
        choices=PAYMENT_TIMEOUT_CHOICES, initial=PAYMENT_TIMEOUT_COMPENSATE, required=False,
        label="When the payment provider times out",
    )
    compensation_max_attempts = forms.IntegerField(
        min_value=1, max_value=MAX_ATTEMPTS, initial=4, label="Compensation attempts before escalating",
        help_text=f"1 to {MAX_ATTEMPTS}; backoff doubles from {BACKOFF_BASE_MS} ms between attempts.",
    )

    def clean_payment_timeout(self) -> str:
        return self.cleaned_data.get("payment_timeout") or PAYMENT_TIMEOUT_COMPENSATE


GANTT_COLORS = {
    "committed": "#16a34a", "committed late": "#65a30d", "failed": "#dc2626", "timed out": "#f97316",
    "compensated": "#2563eb", "attempt failed": "#f59e0b", "escalated to a human": "#7c3aed",
    REPLY_LOST: "#db2777", EVENT_REDELIVERED: "#be185d", ALREADY_DONE: "#94a3b8",
    CHARGE_RESENT: "#b91c1c", KEY_REPLAYED: "#0d9488",
}


def summary_figures(summary: dict[str, Any]) -> list[dict]:
    """A Gantt chart of the sampled sagas: each step and compensation as a bar."""
    segments = [
        {"row": f"saga {s['saga']}", "label": s["step"], "start_ms": s["start_ms"], "end_ms": s["end_ms"],
         "outcome": s["outcome"]}
        for s in summary.get("sample_timeline", [])
    ]
    if not segments:
        return []
    return [gantt_figure("Sampled sagas: steps and compensations over time", segments, GANTT_COLORS)]


EXPERIMENT = Experiment(
    slug="saga",
    title="Sagas: compensate, or be left half done",
    what_you_will_see=(
        "Hundreds of sagas each create an order, charge a payment, reserve stock and book shipping. "
        "Steps fail or time out, and the compensations that undo them fail too. Watch the number of "
        "sagas that are half done right now: without compensation it only ever grows; with an "
        "orchestrator or a choreography it rises while sagas run and drains back to zero, except for "
        "the few handed to a human."
    ),
    lesson_slug="sagas",
    form_class=SagaForm,
    presets={
        NO_COMPENSATION: Preset("No compensation", "On a failure the saga just stops where it is.", {"mode": NO_COMPENSATION}),
        ORCHESTRATION: Preset(
            "Orchestration", "A coordinator drives every step and compensation, retrying with backoff.",
            {"mode": ORCHESTRATION, "compensation_retries": RETRIES_ON},
        ),
        CHOREOGRAPHY: Preset(
            "Choreography", "Each service reacts to events; every hop goes through a broker.",
            {"mode": CHOREOGRAPHY, "compensation_retries": RETRIES_ON},
        ),
        "lost-replies": Preset(
            "Lost replies",
            "Orchestration where a compensation's reply is often lost; idempotent services make the resend harmless.",
            {"mode": ORCHESTRATION, "compensation_reply_loss_probability": 0.3, "compensation_idempotent": IDEMPOTENT},
        ),
        "lost-replies-not-idempotent": Preset(
            "Lost replies, not idempotent",
            "The same, but a resent refund is refunded again.",
            {"mode": ORCHESTRATION, "compensation_reply_loss_probability": 0.3,
             "compensation_idempotent": NOT_IDEMPOTENT},
        ),
        "choreography-redelivered-not-idempotent": Preset(
            "Choreography, events redelivered, not idempotent",
            "Compensation as an event chain; a republished event makes each service undo twice, all the way up.",
            {"mode": CHOREOGRAPHY, "compensation_reply_loss_probability": 0.1,
             "compensation_idempotent": NOT_IDEMPOTENT},
        ),
        "payment-timeout-key": Preset(
            "Payment timeouts, resent with the key",
            "Slow provider: a timed-out charge keeps the order pending and is resent with the same idempotency key.",
            {"mode": ORCHESTRATION, "step_latency_ms": 40, "payment_timeout": PAYMENT_TIMEOUT_RESEND_WITH_KEY},
        ),
        "payment-timeout-no-key": Preset(
            "Payment timeouts, resent without a key",
            "The same, but the resend is a new charge: a first charge that lands late charges the customer twice.",
            {"mode": ORCHESTRATION, "step_latency_ms": 40, "payment_timeout": PAYMENT_TIMEOUT_RESEND_WITHOUT_KEY},
        ),
        "retries-off": Preset(
            "Retries off", "Orchestration, but a failed compensation is logged and skipped.",
            {"mode": ORCHESTRATION, "compensation_retries": RETRIES_OFF},
        ),
    },
    run=run,
    charts=[
        Chart(
            id="inconsistency",
            title="Inconsistency window: sagas half done right now",
            x_title="simulated time (ms)",
            y_title="sagas",
            traces=[
                Trace("half done", "half_done", color="#dc2626"),
                Trace("charged, not shipped", "charged_not_shipped", color="#9333ea", dash="dash"),
                Trace("compensating", "compensating", color="#d97706", dash="dot"),
                Trace("overdue, nobody acting", "stalled", color="#0f172a", dash="dashdot"),
            ],
        ),
        Chart(
            id="outcomes",
            title="How sagas ended so far",
            x_title="simulated time (ms)",
            y_title="sagas",
            traces=[
                Trace("started", "started", color="#2563eb"),
                Trace("completed", "completed", color="#16a34a"),
                Trace("compensated", "compensated", color="#0891b2", dash="dash"),
                Trace("failed at the first step", "aborted", color="#64748b", dash="dot"),
                Trace("stuck half done", "stuck", color="#dc2626", dash="dot"),
                Trace("needs a human", "needs_human", color="#d97706", dash="dashdot"),
            ],
        ),
    ],
    verdict=verdict,
    summary_figures=summary_figures,
    shapes=shapes,
    prediction=Prediction("How many sagas will be left half done at the end?", "sagas_left_half_done", 100_000),
    # Arrivals end at sagas × 10 ms; the last sagas' compensations may need a little longer.
    progress=lambda params, frame: min(1.0, frame["t_ms"] / max(1, params["sagas"] * ARRIVAL_MS)),
    table_columns=[
        ("t_ms", "Time (ms)"),
        ("started", "Started"),
        ("completed", "Completed"),
        ("compensated", "Compensated"),
        ("aborted", "Failed at the first step"),
        ("half_done", "Half done now"),
        ("charged_not_shipped", "Charged, not shipped"),
        ("stuck", "Stuck half done"),
        ("needs_human", "Needs a human"),
    ],
)
