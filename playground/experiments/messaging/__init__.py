"""Messaging trade-offs: a log, pub/sub and a queue side by side, under the same faults (lesson 12).

The simulation is in model.py, the workload and the faults it shares with the
live engine in faults.py, and the live engine (Redis Pub/Sub, Streams with a
consumer group, a reliable list queue, RabbitMQ where configured) in live.py.
This module holds the form, the presets, the charts and the verdict.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from ..base import (
    LIVE, SIMULATION, Chart, Check, Emit, Experiment, Frame, Prediction, Preset, Trace, mark_conditional_fields,
    shaded_window,
)
from .faults import KEY_PARTITIONING, ROUND_ROBIN, fault_schedule, workload
from .model import LABELS, LOG, MODELS, PUBSUB, QUEUE, simulate

MAX_OPERATIONS = 100_000
REDIS_LIST, RABBITMQ = "redis-list", "rabbitmq"
ENGINES = [
    (SIMULATION, "Simulation: a seeded model of the three, any size, instant"),
    (LIVE, "Live: Redis Pub/Sub, Streams and a list queue, with consumer processes really killed"),
]
# A live run happens in real time with real processes: these keep it to seconds.
LIVE_MAX_MESSAGES = 300
LIVE_MAX_RATE = 200
LIVE_MAX_PARTITIONS = 4
LIVE_MAX_CONSUMERS = 3
LIVE_MAX_MS = 3000
COLORS = {LOG: "#2563eb", PUBSUB: "#dc2626", QUEUE: "#d97706"}


def rabbitmq_url() -> str:
    return getattr(settings, "RABBITMQ_URL", "")


def queue_brokers() -> list[tuple[str, str]]:
    rabbit = "RabbitMQ: a classic queue with manual acks" if rabbitmq_url() else "RabbitMQ: not configured (set RABBITMQ_URL)"
    return [(REDIS_LIST, "Redis list: LMOVE to a processing list"), (RABBITMQ, rabbit)]


class MessagingForm(forms.Form):
    engine = forms.ChoiceField(choices=ENGINES, initial=SIMULATION, required=False, label="Engine",
                               help_text=f"Live runs take at most {LIVE_MAX_MESSAGES} messages and last seconds.")
    queue_broker = forms.ChoiceField(choices=queue_brokers, initial=REDIS_LIST, required=False, label="Live queue on")
    messages = forms.IntegerField(min_value=10, max_value=30_000, initial=5000, label="Messages",
                                  help_text="10 to 30,000, each through all three models.")
    publish_rate = forms.IntegerField(min_value=1, max_value=10_000, initial=500, label="Published per second")
    keys = forms.IntegerField(min_value=1, max_value=1000, initial=20, label="Keys",
                              help_text="1 to 1,000 (order ids, say): order matters per key.")
    partitions = forms.IntegerField(min_value=1, max_value=32, initial=4, label="Log: partitions (one stream each)")
    log_partitioning = forms.ChoiceField(
        choices=[(KEY_PARTITIONING, "By key: hash(key) mod partitions"), (ROUND_ROBIN, "Round-robin, ignoring the key")],
        initial=KEY_PARTITIONING, label="Log: how the producer picks a partition",
    )
    consumers = forms.IntegerField(min_value=1, max_value=16, initial=3, label="Consumers (the log's group, the queue's competitors)")
    subscribers = forms.IntegerField(min_value=1, max_value=8, initial=2, label="Pub/sub: subscribers",
                                     help_text="Each should get every message.")
    handling_ms = forms.FloatField(min_value=0.1, max_value=1000, initial=1, label="Handling time (ms, mean)",
                                   help_text="Exponential, per delivery.")
    commit_every = forms.IntegerField(min_value=1, max_value=1000, initial=1, label="Log: commit the offset every N messages")
    visibility_timeout_ms = forms.IntegerField(
        min_value=10, max_value=60_000, initial=500, label="Visibility timeout / redelivery after (ms)",
        help_text="An unacknowledged message comes back after this long (queue; the log's retry of a failed message).",
    )
    dead_letter = forms.BooleanField(required=False, initial=True, label="Dead-letter queue after N deliveries")
    max_deliveries = forms.IntegerField(min_value=1, max_value=20, initial=5, label="N: deliveries before dead-lettering")
    crash_probability = forms.FloatField(min_value=0, max_value=0.5, initial=0.001, label="Crash before ack, per delivery",
                                         help_text="0 to 0.5: the handler's effect lands, then the consumer dies before its ack.")
    restart_ms = forms.IntegerField(min_value=0, max_value=60_000, initial=200, label="Restart after a crash (ms)")
    disconnect_start_ms = forms.IntegerField(min_value=0, max_value=600_000, initial=3000, label="Consumer 0 disconnects at (ms)")
    disconnect_ms = forms.IntegerField(min_value=0, max_value=600_000, initial=2000, label="Disconnected for (ms)", help_text="0 for none.")
    slow_factor = forms.FloatField(min_value=1, max_value=1000, initial=1, label="Slow consumer: the last one handles × this",
                                   help_text="1 for none.")
    poison_messages = forms.IntegerField(min_value=0, max_value=10, initial=0, label="Poison messages",
                                         help_text="0 to 10 messages that fail on every delivery.")
    rebalance_ms = forms.IntegerField(min_value=0, max_value=600_000, initial=0, label="Log: a member leaves the group at (ms)",
                                      help_text="0 for never; the group rebalances its partitions.")
    pubsub_buffer = forms.IntegerField(min_value=1, max_value=100_000, initial=1000, label="Pub/sub: output buffer limit (messages)",
                                       help_text="Past it Redis closes the subscriber's connection.")
    replay_from_offset = forms.IntegerField(min_value=0, max_value=30_000, initial=0, label="Replay from offset",
                                            help_text="A new consumer group reads every partition from here.")
    drain_ms = forms.IntegerField(min_value=0, max_value=120_000, initial=5000, label="Keep consuming after the last publish (ms)",
                                  help_text="Live: until nothing has moved for this long.")

    show_when = {"queue_broker": ("engine", LIVE), "max_deliveries": ("dead_letter", True)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mark_conditional_fields(self)

    def clean_engine(self) -> str:
        return self.cleaned_data["engine"] or SIMULATION

    def clean_queue_broker(self) -> str:
        return self.cleaned_data["queue_broker"] or REDIS_LIST

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        operations = cleaned["messages"] * (2 + cleaned["subscribers"])
        if operations > MAX_OPERATIONS:
            self.add_error("messages", f"Messages × (2 + subscribers) must be at most {MAX_OPERATIONS:,} (it is {operations:,}).")
            return cleaned
        publishing_ms = cleaned["messages"] * 1000 / cleaned["publish_rate"]
        if cleaned["poison_messages"] and not cleaned["dead_letter"]:
            retries = cleaned["poison_messages"] * (publishing_ms + cleaned["drain_ms"]) / cleaned["visibility_timeout_ms"]
            if retries > 20_000:
                self.add_error("visibility_timeout_ms", "Without a dead-letter queue each poison message comes back every "
                               "visibility timeout for the whole run: make it longer, or the run shorter.")
        if cleaned["engine"] == LIVE:
            self._clean_live(cleaned, publishing_ms)
        return cleaned

    def _clean_live(self, cleaned: dict[str, Any], publishing_ms: float) -> None:
        limits = [
            ("messages", LIVE_MAX_MESSAGES, f"Live runs take at most {LIVE_MAX_MESSAGES} messages."),
            ("publish_rate", LIVE_MAX_RATE, f"Live runs publish at most {LIVE_MAX_RATE} a second."),
            ("partitions", LIVE_MAX_PARTITIONS, f"Live runs use at most {LIVE_MAX_PARTITIONS} streams."),
            ("consumers", LIVE_MAX_CONSUMERS, f"Live runs start at most {LIVE_MAX_CONSUMERS} consumers per model."),
            ("subscribers", LIVE_MAX_CONSUMERS, f"Live runs start at most {LIVE_MAX_CONSUMERS} subscribers."),
        ] + [(name, LIVE_MAX_MS, f"Live runs take at most {LIVE_MAX_MS:,} ms here: the run really waits for it.")
             for name in ("visibility_timeout_ms", "restart_ms", "disconnect_ms", "drain_ms")]
        for name, limit, message in limits:
            if cleaned[name] > limit:
                self.add_error(name, message)
        if cleaned["handling_ms"] * cleaned["slow_factor"] > LIVE_MAX_MS:
            self.add_error("slow_factor", f"Live runs handle a message in at most {LIVE_MAX_MS:,} ms.")
        if cleaned["commit_every"] != 1:
            self.add_error("commit_every", "Live runs XACK each entry: commit every 1.")
        if cleaned["rebalance_ms"]:
            self.add_error("rebalance_ms", "Live runs have one consumer per stream; a killed one's stream goes to a spare "
                           "that takes its pending entries with XAUTOCLAIM. Set 0.")
        if cleaned["queue_broker"] == RABBITMQ and not rabbitmq_url():
            self.add_error("queue_broker", "RabbitMQ is not configured here: set RABBITMQ_URL, or run the queue on a Redis list.")


def run(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    if params.get("engine") == LIVE:
        return run_live(params, seed, emit)
    return simulate(params, workload(params, seed), fault_schedule(params, seed), seed, emit)


def run_live(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    """The live engine, on the app's Redis (and RabbitMQ where chosen), under the run's own key prefix."""
    from playground import live as frames_channel
    from playground.scratch import scratch_dir

    from . import live

    with scratch_dir("messaging-") as workdir:
        return live.run_live(params, seed, emit, redis_url=settings.REDIS_URL, key_prefix=frames_channel.key("live:"),
                             workdir=workdir, rabbitmq_url=rabbitmq_url())


def verdict(summary: dict[str, Any]) -> list[Check]:
    n = summary["messages"]
    checks = []
    for name in MODELS:
        label = LABELS[name]
        lost, dup, reordered = summary[f"{name}_lost"], summary[f"{name}_duplicates"], summary[f"{name}_reordered"]
        expected = summary[f"{name}_expected"]
        copies = f" ({summary['subscribers']} subscribers × {n:,} messages)" if name == PUBSUB else ""
        checks.append(Check(f"{label}: messages lost", lost, lost == 0, _lost_text(name, summary) + copies))
        checks.append(Check(
            f"{label}: handled more than once", dup, None,
            "At-least-once: a crash after the effect and before the ack, a visibility timeout shorter than the handling, "
            "or a rebalance before the commit, hands it over again." if dup else "Nothing was handled twice.",
        ))
        checks.append(Check(f"{label}: handled out of order for their key", reordered, reordered == 0, _order_text(name, summary)))
        checks.append(Check(
            f"{label}: consumer lag, highest and at the end", f"{summary[f'{name}_max_lag']:,} / {summary[f'{name}_lag_end']:,}", None,
            f"Published and not yet handled, lost or dead-lettered, of {expected:,}.",
        ))
    if summary["poison"]:
        for name in (LOG, QUEUE):
            label = LABELS[name]
            seen = summary[f"{name}_poison_dead_letter_deliveries"]
            if summary["dead_letter"]:
                n_deliveries = summary["max_deliveries"]
                checks.append(Check(
                    f"{label}: poison messages dead-lettered after exactly {n_deliveries} deliveries", f"{len(seen)} of {len(summary['poison'])}",
                    len(seen) == len(summary["poison"]) and all(d == n_deliveries for d in seen),
                    f"Deliveries each had when it was moved: {seen or 'none'}.",
                ))
        blocked = summary["log_blocked_messages"]
        checks.append(Check(
            "Log: messages stuck behind a poison message", blocked, blocked == 0,
            f"{summary['log_blocked_partitions']} partition(s) retry their head for ever: head-of-line blocking. "
            "A dead-letter stream lets the partition move on." if blocked else
            "No partition is stuck: the poison went to the dead-letter stream and the partition moved on."
            if summary["dead_letter"] else "No partition is stuck (yet).",
        ))
    if "log_replayable" in summary:
        checks.append(Check(
            "Replay: what a new consumer group can still read", summary["log_replayable"], None,
            "The log keeps every message, read or not, from the chosen offset on. Pub/sub kept nothing and the queue "
            "deleted each message once acknowledged: 0 to replay in both.",
        ))
    return checks


def _lost_text(name: str, s: dict[str, Any]) -> str:
    if name == PUBSUB:
        return (f"{s['pubsub_lost_while_disconnected']:,} published while subscriber 0 was disconnected, "
                f"{s['pubsub_lost_while_restarting']:,} while a subscriber restarted, {s['pubsub_lost_in_crash']:,} "
                f"in a crashed subscriber's buffer, {s['pubsub_lost_in_overflow']:,} when Redis closed a subscriber "
                f"past its output buffer limit, {s['pubsub_poison_dropped']:,} poison messages failed once and never came back")
    where = "the log keeps them until handled" if name == LOG else "an unacknowledged message comes back"
    return f"Nothing acknowledged or unacknowledged vanishes: {where}. Still unhandled at the end: {s[f'{name}_unfinished']:,}."


def _order_text(name: str, s: dict[str, Any]) -> str:
    if name == LOG:
        if s["log_partitioning"] == ROUND_ROBIN:
            return "Round-robin spreads one key over several partitions, read by different members at different speeds."
        return "One key, one partition, one reader at a time, which resumes from its last commit: order holds per key."
    if name == PUBSUB:
        return "Each subscriber gets what it gets in publish order; what it missed is lost, not late."
    return "Competing consumers finish in their own order, and a redelivered message goes behind those published after it."


def progress(params: dict[str, Any], frame: Frame) -> float:
    return min(1.0, frame["published"] / max(1, params["messages"]))


def _model_chart(name: str) -> Chart:
    return Chart(
        id=f"{name}-delivered", title=f"{LABELS[name]}: delivered, lost, duplicated and dead-lettered",
        x_title=X_TITLE, y_title="messages" + (" (summed over subscribers)" if name == PUBSUB else ""),
        traces=[Trace("published" + (" × subscribers" if name == PUBSUB else ""), f"{name}_published", color="#94a3b8", dash="dot"),
                Trace("handled (first time)", f"{name}_delivered", color="#16a34a"),
                Trace("lost", f"{name}_lost", color="#dc2626"),
                Trace("handled again (duplicates)", f"{name}_duplicates", color="#9333ea", dash="dash"),
                Trace("dead-lettered", f"{name}_dead_lettered", color="#0f172a", dash="dot")],
    )


def shapes(params: dict[str, Any]) -> list[dict]:
    """Shade consumer 0's disconnection, and mark the rebalance."""
    out = []
    if params["disconnect_ms"]:
        out.append(shaded_window(params["disconnect_start_ms"], params["disconnect_start_ms"] + params["disconnect_ms"],
                                 "consumer 0 offline"))
    if params["rebalance_ms"]:
        out.append({"type": "line", "xref": "x", "yref": "paper", "x0": params["rebalance_ms"], "x1": params["rebalance_ms"],
                    "y0": 0, "y1": 1, "line": {"color": "#2563eb", "dash": "dot"}})
    return out


X_TITLE = "time (ms): simulated, or wall clock in a live run"
LIVE_PRESET = {
    "engine": LIVE, "messages": 120, "publish_rate": 40, "keys": 6, "partitions": 2, "consumers": 2, "subscribers": 1,
    "handling_ms": 5, "visibility_timeout_ms": 400, "crash_probability": 0.03, "restart_ms": 300,
    "disconnect_start_ms": 1000, "disconnect_ms": 700, "poison_messages": 1, "max_deliveries": 3, "drain_ms": 2500,
}

EXPERIMENT = Experiment(
    slug="messaging",
    title="Messaging trade-offs: a log, pub/sub and a queue, lost, duplicated and reordered",
    what_you_will_see=(
        "The same 5,000 keyed messages go through a partitioned log with a consumer group, fire-and-forget pub/sub with "
        "two subscribers, and a queue with competing consumers and a visibility timeout. Consumers crash before their "
        "ack, one disconnects for two seconds. Pub/sub loses what was published while its subscriber was away; the log and "
        "the queue lose nothing but hand some messages over twice, and only the queue hands a key's messages over out of order. "
        "Add a poison message: without a dead-letter queue it blocks its log partition for ever."
    ),
    lesson_slug="messaging-trade-offs",
    form_class=MessagingForm,
    presets={
        "crash-and-disconnect": Preset("Crashes and a disconnect", "The defaults: 0.1% of deliveries crash before the ack; "
                                       "consumer 0 is away from 3 s to 5 s.", {}),
        "poison-dlq": Preset("Poison, with a DLQ", "Three poison messages; each goes to the dead-letter queue after 5 deliveries.",
                             {"poison_messages": 3}),
        "poison-no-dlq": Preset("Poison, no DLQ", "The same poison, no dead-letter queue: the log partition behind it stops.",
                                {"poison_messages": 3, "dead_letter": False}),
        "slow-consumer": Preset("A slow consumer", "The last consumer takes 500 times as long: past the visibility timeout, "
                                "and past pub/sub's output buffer.", {"slow_factor": 500, "crash_probability": 0, "disconnect_ms": 0}),
        "rebalance": Preset("Rebalance, batched commits", "Offsets committed every 50 messages; a member leaves at 4 s.",
                            {"commit_every": 50, "rebalance_ms": 4000, "crash_probability": 0, "disconnect_ms": 0}),
        "round-robin": Preset("Log without keys", "The producer spreads messages round-robin: the log reorders keys too.",
                              {"log_partitioning": ROUND_ROBIN}),
        "live": Preset("Live on Redis", "120 messages on a real Redis: a subscriber process that really disconnects, one "
                       "stream per partition with a consumer group, a list queue; consumers really SIGKILLed before their ack.",
                       LIVE_PRESET),
    },
    run=run,
    charts=[
        _model_chart(LOG),
        _model_chart(PUBSUB),
        _model_chart(QUEUE),
        Chart(id="lag", title="Consumer lag: published, not yet handled", x_title=X_TITLE, y_title="messages",
              traces=[Trace(LABELS[name], f"{name}_lag", color=COLORS[name]) for name in MODELS]),
        Chart(id="order", title="Per-key order violations", x_title=X_TITLE, y_title="messages handled out of order",
              traces=[Trace(LABELS[name], f"{name}_reordered", color=COLORS[name]) for name in MODELS]),
    ],
    verdict=verdict,
    shapes=shapes,
    prediction=Prediction("How many messages will pub/sub lose (summed over subscribers)?", "pubsub_lost", MAX_OPERATIONS),
    progress=progress,
    table_columns=[("t_ms", "Time (ms)"), ("published", "Published")] + [
        (f"{name}_{counter}", f"{LABELS[name]} {heading}") for name in MODELS
        for counter, heading in (("delivered", "handled"), ("lost", "lost"), ("duplicates", "duplicates"),
                                 ("reordered", "out of order"), ("lag", "lag"))
    ],
)
