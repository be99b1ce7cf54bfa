"""Distributed locks: leases, process pauses and fencing tokens (lesson 14).

The form, presets, charts and verdict; the simulation is in model.py, the
faults it shares with the live engine in faults.py, and the live engine (a
real Redis lock, client processes really SIGSTOPped) in live.py.
"""

from __future__ import annotations

from typing import Any

from django import forms

from ..base import LIVE, SIMULATION, Chart, Check, Emit, Experiment, Prediction, Preset, Trace, gantt_figure
from .faults import FIXED, PARETO, PAUSE_DISTRIBUTIONS, fault_schedule, pause_length_mean
from .model import FENCING, NO_FENCING, simulate

MODES = [
    (NO_FENCING, "No fencing: the storage takes every write (last write wins)"),
    (FENCING, "Fencing tokens: the storage refuses a token lower than one it has seen"),
]
ENGINES = [
    (SIMULATION, "Simulation: a seeded model of clients, lock and storage, any size, instant"),
    (LIVE, "Live: SET NX PX on a real Redis, client processes really paused with SIGSTOP, a SQLite storage"),
]
MAX_OPERATIONS = 100_000
# A live run happens in real time and pauses real processes: these keep it to seconds.
LIVE_MAX_OPERATIONS = 100
LIVE_MAX_CLIENTS = 4
LIVE_MAX_MS = 2_000  # for the TTL, the work, the pause and the network delay
LIVE_MAX_EXPECTED_PAUSE_S = 10


def run(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    if params.get("engine") == LIVE:
        return run_live(params, seed, emit)
    return simulate(params, fault_schedule(params, seed), emit)


def run_live(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    """The live engine, on the app's Redis, with its storage in a scratch directory removed after."""
    from django.conf import settings

    from playground import live as frames_channel
    from playground.scratch import scratch_dir

    from . import live

    with scratch_dir("locks-") as workdir:
        return live.run_live(
            params, seed, emit, redis_url=settings.REDIS_URL, key_prefix=frames_channel.key("live:"), workdir=workdir
        )


def verdict(summary: dict[str, Any]) -> list[Check]:
    fencing = summary["mode"] == FENCING
    stale, corrupted, lost = summary["stale_writes_accepted"], summary["corrupted_records"], summary["lost_writes"]
    late, refused = summary["late_writes"], summary["writes_refused"]
    checks = [
        Check(
            "Writes from a client that no longer held its lease",
            late,
            None,
            f"They landed after the writer's lease had expired: {summary['late_writes_accepted']} accepted, "
            f"{late - summary['late_writes_accepted']} refused. Pauses, slow clocks and slow networks make these "
            "certain; what the storage does with them is the choice.",
        ),
        Check(
            "Stale writes accepted (a lower token after a higher one)",
            stale,
            stale == 0,
            _example(summary["first_stale_accepted"], "accepted")
            or "No write ever landed on a record after a write with a higher token.",
        ),
        Check(
            "Corrupted records",
            corrupted,
            corrupted == 0,
            f"{lost} newer writes were silently replaced by a write from an expired lease, on {corrupted} of "
            f"{summary['records']} records. Nobody got an error.",
        ),
    ]
    if fencing:
        checks.append(Check(
            "Stale writes refused by the storage",
            refused,
            None,
            _example(summary["first_refused"], "refused") or "No write came in after a newer token had written.",
        ))
    checks.append(Check(
        "Writes given up by the client's own lease check",
        summary["abandoned_by_lease_check"],
        None,
        f"The client's clock said the lease was over before it wrote. The check cannot see a pause after it: "
        f"{summary['pauses']} pauses, {summary['pauses_past_ttl']} of them longer than the "
        f"{summary['lease_ttl_ms']:,} ms TTL, the longest {summary['longest_pause_ms']:,} ms.",
    ))
    return checks


def _example(example: dict | None, verb: str) -> str:
    if not example:
        return ""
    return (
        f"The first: token {example['token']} after token {example['after']}, on record {example['record']}, "
        f"at {example['t_ms']:,} ms, {verb} by the storage."
    )


def summary_figures(summary: dict[str, Any]) -> list[dict]:
    segments = summary.get("timeline") or []
    if not segments:
        return []
    return [gantt_figure(
        "The first stale write: leases, pauses and writes on its record",
        segments,
        {"lease held": "#cbd5e1", "paused": "#f59e0b", "on time": "#16a34a", "late, accepted": "#a3e635",
         "late, overwrote a newer write": "#dc2626", "refused by the storage": "#2563eb"},
    )]


def progress(params: dict[str, Any], frame: dict[str, Any]) -> float:
    return min(1.0, frame["leases"] / max(1, params["operations"]))


class LocksForm(forms.Form):
    engine = forms.ChoiceField(
        choices=ENGINES, initial=SIMULATION, required=False, label="Engine",
        help_text=(
            f"Live runs take at most {LIVE_MAX_OPERATIONS} leases, {LIVE_MAX_CLIENTS} clients and "
            f"{LIVE_MAX_MS:,} ms for each duration, and last seconds."
        ),
    )
    mode = forms.ChoiceField(choices=MODES, initial=NO_FENCING, label="Storage")
    clients = forms.IntegerField(min_value=2, max_value=50, initial=5, label="Clients", help_text="2 to 50, each taking leases one after another.")
    records = forms.IntegerField(
        min_value=1, max_value=100, initial=2, label="Records",
        help_text="1 to 100, each with its own lock; fewer records, more contention.",
    )
    operations = forms.IntegerField(
        min_value=10, max_value=MAX_OPERATIONS, initial=2_000, label="Leases granted",
        help_text="10 to 100,000: each is a lease, some work and one write.",
    )
    lease_ttl_ms = forms.IntegerField(min_value=10, max_value=60_000, initial=500, label="Lease TTL (ms)", help_text="SET ... NX PX ttl: 10 ms to 1 minute.")
    work_ms = forms.IntegerField(
        min_value=1, max_value=60_000, initial=50, label="Work per lease (ms, mean)",
        help_text="Exponentially distributed: from taking the lease to the client's own check that it still holds it.",
    )
    network_delay_ms = forms.IntegerField(
        min_value=0, max_value=10_000, initial=5, label="Network delay (ms, mean)",
        help_text="Exponentially distributed, for the write's trip to the storage and for the reply.",
    )
    pause_distribution = forms.ChoiceField(choices=PAUSE_DISTRIBUTIONS, initial=PARETO, label="Stop-the-world pauses")
    pause_probability = forms.FloatField(
        min_value=0, max_value=1, initial=0.02, label="Pause probability per lease",
        help_text="0 to 1; the pause lands after the client's lease check, before its write is sent.",
    )
    pause_ms = forms.IntegerField(
        min_value=1, max_value=60_000, initial=100, label="Pause length (ms)",
        help_text="The fixed length, the mean or the Pareto minimum; no pause lasts over 20 times this.",
    )
    clock_drift_pct = forms.FloatField(
        min_value=0, max_value=50, initial=0, label="Client clock drift (±%)",
        help_text="0 to 50; each client's clock runs up to this much slow or fast against the lock service's.",
    )

    def clean_engine(self) -> str:
        return self.cleaned_data["engine"] or SIMULATION

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("engine") != LIVE:
            return cleaned
        limits = [
            ("operations", LIVE_MAX_OPERATIONS, f"Live runs take at most {LIVE_MAX_OPERATIONS} leases: each is real work in real time."),
            ("clients", LIVE_MAX_CLIENTS, f"Live runs start at most {LIVE_MAX_CLIENTS} client processes."),
        ] + [
            (name, LIVE_MAX_MS, f"Live runs take at most {LIVE_MAX_MS:,} ms here: the run really waits for it.")
            for name in ("lease_ttl_ms", "work_ms", "network_delay_ms", "pause_ms")
        ]
        for name, limit, message in limits:
            if cleaned.get(name) is not None and cleaned[name] > limit:
                self.add_error(name, message)
        if not self.errors:
            expected_s = (
                cleaned["operations"] * cleaned["pause_probability"]
                * pause_length_mean(cleaned["pause_distribution"], cleaned["pause_ms"]) / 1000
            )
            if expected_s > LIVE_MAX_EXPECTED_PAUSE_S:
                self.add_error("pause_probability", (
                    f"Live runs really stop a process for every pause: keep leases × pause probability × pause "
                    f"length at or under {LIVE_MAX_EXPECTED_PAUSE_S} s (it is {expected_s:.1f} s)."
                ))
        return cleaned


X_TITLE = "time (ms): simulated, or wall clock in a live run"
LIVE_PRESET = {
    "engine": LIVE, "clients": 2, "records": 1, "operations": 30, "lease_ttl_ms": 300, "work_ms": 20,
    "network_delay_ms": 2, "pause_distribution": FIXED, "pause_probability": 0.1, "pause_ms": 800, "clock_drift_pct": 0,
}

EXPERIMENT = Experiment(
    slug="locks",
    title="Distributed locks: leases, process pauses and fencing tokens",
    what_you_will_see=(
        "Clients take a lease on a record's lock, work, check that the lease is still theirs and write. "
        "Now and then one stops the world for a while after its check, some clocks run slow and some "
        "packets dawdle, so writes land after their lease expired. Without fencing the storage takes them "
        "and a newer holder's write is silently replaced; with fencing tokens it refuses token 33 once it "
        "has seen 34, and nothing is corrupted."
    ),
    lesson_slug="distributed-locks-and-fencing",
    form_class=LocksForm,
    presets={
        NO_FENCING: Preset("No fencing", "A lease and last-write-wins storage, with GC pauses.", {"mode": NO_FENCING}),
        FENCING: Preset("Fencing tokens", "The same faults; the storage checks each write's token.", {"mode": FENCING}),
        "slow-clocks": Preset(
            "Slow clocks, no pauses",
            "Work near the TTL and client clocks ±30%: a slow clock's check passes after its lease expired.",
            {"mode": NO_FENCING, "pause_distribution": "none", "work_ms": 300, "clock_drift_pct": 30},
        ),
        "slow-network": Preset(
            "Slow network, no pauses",
            "Writes take 100 ms on average to reach the storage, past a 200 ms TTL now and then.",
            {"mode": NO_FENCING, "pause_distribution": "none", "lease_ttl_ms": 200, "network_delay_ms": 100},
        ),
        "live-no-fencing": Preset(
            "Live, no fencing",
            "A real Redis lock; the paused client processes are really stopped with SIGSTOP past their TTL, "
            "and their late writes land in a SQLite file.",
            {**LIVE_PRESET, "mode": NO_FENCING},
        ),
        "live-fencing": Preset(
            "Live, fencing tokens",
            "The same, with the storage's UPDATE ... WHERE fence <= token refusing the late writes.",
            {**LIVE_PRESET, "mode": FENCING},
        ),
    },
    run=run,
    charts=[
        Chart(
            id="writes",
            title="Writes landed, and those from clients that no longer held the lease",
            x_title=X_TITLE,
            y_title="writes",
            traces=[
                Trace("writes accepted", "accepted", color="#16a34a"),
                Trace("landed after the lease expired", "late_writes", color="#f59e0b", dash="dash"),
                Trace("refused by the storage", "refused", color="#2563eb", dash="dot"),
            ],
        ),
        Chart(
            id="damage",
            title="Stale writes accepted and corrupted records",
            x_title=X_TITLE,
            y_title="count",
            traces=[
                Trace("stale writes accepted", "stale_accepted", color="#dc2626"),
                Trace("newer writes lost", "lost_writes", color="#9333ea", dash="dash"),
                Trace("corrupted records", "corrupted_records", color="#7f1d1d", dash="dot"),
            ],
        ),
        Chart(
            id="pauses",
            title="Pauses and writes the client gave up on",
            x_title=X_TITLE,
            y_title="count",
            traces=[
                Trace("stop-the-world pauses", "pauses", color="#d97706"),
                Trace("given up by the client's lease check", "abandoned", color="#64748b", dash="dash"),
            ],
        ),
    ],
    verdict=verdict,
    prediction=Prediction("How many stale writes will the storage accept?", "stale_writes_accepted", MAX_OPERATIONS),
    progress=progress,
    summary_figures=summary_figures,
    table_columns=[
        ("t_ms", "Time (ms)"),
        ("leases", "Leases granted"),
        ("accepted", "Writes accepted"),
        ("late_writes", "Landed after the lease expired"),
        ("refused", "Refused"),
        ("stale_accepted", "Stale writes accepted"),
        ("lost_writes", "Newer writes lost"),
        ("corrupted_records", "Corrupted records"),
    ],
)
