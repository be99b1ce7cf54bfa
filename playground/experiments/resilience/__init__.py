"""Metastable failures, retry budgets, load shedding and circuit breakers (lesson 11).

The simulation is in model.py, the trigger (a slowdown or a burst) in
faults.py; this module holds the form, the presets, the charts and the verdict.
"""

from __future__ import annotations

from typing import Any

from django import forms

from ..base import (
    Chart, Check, Emit, Experiment, Frame, Prediction, Preset, Trace, mark_conditional_fields, shaded_window,
)
from .faults import BURST, SLOWDOWN, Trigger
from .model import HEALTHY_SHARE, simulate

TRIGGERS = [(SLOWDOWN, "Slowdown: every service time × factor"), (BURST, "Burst: arrival rate × factor")]
# resilience4j's CircuitBreakerConfig defaults and Hystrix's HystrixCommandProperties defaults.
RESILIENCE4J = {
    "breaker": True, "breaker_window_calls": 100, "breaker_window_ms": 0, "breaker_min_calls": 100,
    "breaker_threshold_percent": 50, "breaker_open_ms": 60_000, "breaker_half_open_calls": 10,
}
HYSTRIX = {
    "breaker": True, "breaker_window_calls": 100_000, "breaker_window_ms": 10_000, "breaker_min_calls": 20,
    "breaker_threshold_percent": 50, "breaker_open_ms": 5000, "breaker_half_open_calls": 1,
}


class ResilienceForm(forms.Form):
    requests = forms.IntegerField(min_value=1000, max_value=100_000, initial=20_000, label="Requests", help_text="1,000 to 100,000.")
    arrival_rate = forms.IntegerField(
        min_value=10, max_value=5000, initial=700, label="Arrivals per second",
        help_text="10 to 5,000, Poisson; they keep coming whatever happens (an open system).",
    )
    concurrency = forms.IntegerField(min_value=1, max_value=200, initial=10, label="Dependency concurrency (slots)")
    service_ms = forms.FloatField(
        min_value=0.1, max_value=1000, initial=10, label="Mean service time (ms)",
        help_text="Exponential. Capacity is slots ÷ service time: 10 ÷ 10 ms = 1,000 a second.",
    )
    timeout_ms = forms.FloatField(min_value=1, max_value=60_000, initial=100, label="Client timeout (ms)")
    max_attempts = forms.IntegerField(min_value=1, max_value=10, initial=3, label="Attempts per request", help_text="The first included.")
    retry_backoff_ms = forms.FloatField(min_value=0, max_value=10_000, initial=0, label="Wait before retrying a timeout (ms)")
    trigger = forms.ChoiceField(choices=TRIGGERS, initial=SLOWDOWN, label="Trigger")
    trigger_start_ms = forms.FloatField(min_value=0, max_value=1_000_000, initial=5000, label="Trigger starts at (ms)")
    trigger_ms = forms.FloatField(min_value=0, max_value=60_000, initial=1000, label="Trigger lasts (ms)", help_text="0 for none.")
    trigger_factor = forms.FloatField(min_value=1, max_value=20, initial=5, label="Trigger factor", help_text="1 to 20.")
    caller_workers = forms.IntegerField(
        min_value=0, max_value=10_000, initial=0, label="Caller worker threads",
        help_text="0 for unbounded. Each call to the dependency holds one until it answers or times out.",
    )
    healthy_rate = forms.IntegerField(
        min_value=0, max_value=2000, initial=0, label="Healthy endpoint: arrivals per second",
        help_text="0 for none. A second endpoint on the same caller that never calls the dependency.",
    )
    healthy_service_ms = forms.FloatField(min_value=0.1, max_value=1000, initial=5, label="Healthy endpoint: mean service time (ms)")
    bulkhead = forms.BooleanField(required=False, initial=False, label="Bulkheads: a separate pool per endpoint")
    bulkhead_workers = forms.IntegerField(
        min_value=1, max_value=10_000, initial=40, label="Bulkhead: workers for the dependency's endpoint",
        help_text="The rest of the caller's workers serve the healthy endpoint.",
    )
    retry_budget = forms.BooleanField(required=False, initial=False, label="Retry budget")
    budget_percent = forms.FloatField(
        min_value=0, max_value=100, initial=10, label="Budget: retries as % of requests",
        help_text="Each request earns this share of a retry token; a retry spends one (Finagle, gRPC).",
    )
    budget_max_tokens = forms.IntegerField(min_value=1, max_value=10_000, initial=100, label="Budget: most tokens saved")
    load_shedding = forms.BooleanField(required=False, initial=False, label="Load shedding (429 + Retry-After)")
    max_queue = forms.IntegerField(min_value=1, max_value=100_000, initial=50, label="Shed beyond this queue length")
    retry_after_ms = forms.FloatField(min_value=0, max_value=60_000, initial=1000, label="Retry-After (ms)")
    breaker = forms.BooleanField(required=False, initial=False, label="Circuit breaker")
    breaker_window_calls = forms.IntegerField(min_value=1, max_value=100_000, initial=100, label="Breaker: window (calls)")
    breaker_window_ms = forms.FloatField(
        min_value=0, max_value=600_000, initial=0, label="Breaker: rolling window (ms)",
        help_text="0 for a count-based window (resilience4j); Hystrix rolls 10,000 ms.",
    )
    breaker_min_calls = forms.IntegerField(min_value=1, max_value=100_000, initial=100, label="Breaker: minimum calls")
    breaker_threshold_percent = forms.FloatField(min_value=1, max_value=100, initial=50, label="Breaker: failure rate to open (%)")
    breaker_open_ms = forms.FloatField(min_value=1, max_value=600_000, initial=60_000, label="Breaker: open for (ms)")
    breaker_half_open_calls = forms.IntegerField(min_value=1, max_value=1000, initial=10, label="Breaker: trial calls half-open")

    show_when = {
        "bulkhead_workers": ("bulkhead", True),
        **{name: ("retry_budget", True) for name in ("budget_percent", "budget_max_tokens")},
        **{name: ("load_shedding", True) for name in ("max_queue", "retry_after_ms")},
        **{name: ("breaker", True) for name in (
            "breaker_window_calls", "breaker_window_ms", "breaker_min_calls", "breaker_threshold_percent",
            "breaker_open_ms", "breaker_half_open_calls")},
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mark_conditional_fields(self)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("bulkhead") and cleaned.get("bulkhead_workers", 0) >= (cleaned.get("caller_workers") or 0):
            self.add_error("bulkhead_workers", "Bulkheads need a bounded pool larger than the dependency's share.")
        return cleaned


def trigger_of(params: dict[str, Any]) -> Trigger:
    return Trigger(params["trigger"], params["trigger_start_ms"], params["trigger_ms"], params["trigger_factor"])


def run(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    return simulate(params, seed, trigger_of(params), emit)


def verdict(summary: dict[str, Any]) -> list[Check]:
    checks = [Check(
        "Recovered after the trigger ended", "yes" if summary["recovered"] else "no", summary["recovered"],
        f"Healthy means at least {round(HEALTHY_SHARE * 100)}% of the outcomes are successes in every "
        f"{summary['bucket_ms']} ms from then to the end of the run. At the end: goodput {summary['final_goodput_rate']} a second "
        f"for {summary['final_offered_rate']} offered." + ("" if summary["recovered"] else
        " The trigger is gone, but timed-out retries keep the dependency busy with work nobody waits for: a metastable failure."),
    )]
    if summary["recovered"]:
        checks.append(Check("Time to recover after the trigger ended (ms)", summary["recovery_ms"], None))
    if summary["healthy"]:
        checks.append(Check(
            "The healthy endpoint kept serving (no cascade)", f"{summary['healthy_error_percent']}% refused",
            not summary["cascade"],
            f"{summary['healthy_rejected']:,} of {summary['healthy']:,} requests to the endpoint that never calls the "
            "dependency found no free worker." + (" The slow dependency held every worker: a cascade." if summary["cascade"] else ""),
        ))
    if summary["retry_budget"]:
        allowed = summary["requests"] * summary["budget_percent"] / 100 + summary["budget_max_tokens"]
        checks.append(Check(
            "Retries within the budget", summary["retries"], summary["retries"] <= allowed,
            f"At most {summary['budget_percent']}% of {summary['requests']:,} requests plus {summary['budget_max_tokens']} saved "
            f"tokens: {allowed:,.0f}. {summary['retries_denied']:,} retries were refused.",
        ))
    checks += [
        Check("Requests that succeeded (%)", summary["success_percent"], None,
              f"{summary['succeeded']:,} of {summary['requests']:,}; {summary['retries']:,} retries "
              f"({summary['retry_percent']}% of requests)."),
        Check("Wasted work: attempts served after their caller gave up", summary["wasted"], None,
              f"Of {summary['served']:,} the dependency served."),
        Check("Load shed (429) and calls the open breaker refused", summary["shed"] + summary["rejected"], None,
              f"{summary['shed']:,} shed, {summary['rejected']:,} refused; the breaker opened {summary['breaker_openings']} times."),
    ]
    return checks


def shapes(params: dict[str, Any]) -> list[dict]:
    """Shade the trigger."""
    if not params["trigger_ms"] or params["trigger_factor"] == 1:
        return []
    return [shaded_window(params["trigger_start_ms"], params["trigger_start_ms"] + params["trigger_ms"], params["trigger"])]


BREAKER_COLORS = {"open": "#dc2626", "half-open": "#f59e0b"}


def breaker_figure(summary: dict[str, Any]) -> dict:
    """Goodput against offered load, with the spans the breaker was open (red) or half-open (amber) shaded."""
    series = summary["goodput_series"]
    shapes = [{
        "type": "rect", "xref": "x", "yref": "paper", "x0": span["start_ms"], "x1": span["end_ms"], "y0": 0, "y1": 1,
        "fillcolor": BREAKER_COLORS[span["state"]], "opacity": 0.2, "line": {"width": 0},
    } for span in summary["breaker_intervals"]]
    return {
        "data": [
            {"type": "scatter", "mode": "lines", "name": "offered", "x": [row[0] for row in series],
             "y": [row[2] for row in series], "line": {"color": "#64748b"}},
            {"type": "scatter", "mode": "lines", "name": "goodput", "x": [row[0] for row in series],
             "y": [row[1] for row in series], "line": {"color": "#16a34a"}},
        ],
        "layout": {
            "title": {"text": "Circuit breaker: open (red) and half-open (amber) shaded"},
            "xaxis": {"title": {"text": "simulated time (ms)"}, "rangemode": "tozero"},
            "yaxis": {"title": {"text": "per second"}, "rangemode": "tozero"},
            "shapes": shapes, "legend": {"orientation": "h", "y": -0.25},
            "margin": {"t": 48, "r": 16, "b": 16, "l": 56},
        },
    }


def summary_figures(summary: dict[str, Any]) -> list[dict]:
    return [breaker_figure(summary)] if summary.get("breaker_intervals") else []


def progress(params: dict[str, Any], frame: Frame) -> float:
    return min(1.0, frame["t_ms"] / max(1.0, params["requests"] / params["arrival_rate"] * 1000))


EXPERIMENT = Experiment(
    slug="resilience",
    title="Metastable failures: retry storms, retry budgets, load shedding and circuit breakers",
    what_you_will_see=(
        "Steady traffic at 70% of a dependency's capacity, clients that time out after 100 ms and retry, and a one-second "
        "slowdown. Without protection the queue outgrows the timeout, the dependency serves only callers who have given up, "
        "retries triple the load, and goodput stays at zero long after the slowdown has ended: a metastable failure. A retry "
        "budget, load shedding with 429 and Retry-After, or a circuit breaker each let it recover; the verdict says how fast."
    ),
    lesson_slug="circuit-breakers-bulkheads-backpressure",
    form_class=ResilienceForm,
    presets={
        "unprotected": Preset("No protection", "Up to 3 attempts per request, retried at once on timeout.", {}),
        "retry-budget": Preset("Retry budget 10%", "Retries at most 10% of requests, as Finagle and gRPC allow.", {"retry_budget": True}),
        "load-shedding": Preset(
            "Load shedding", "The dependency answers 429 with Retry-After: 1 s once 50 requests are queued.", {"load_shedding": True},
        ),
        "hystrix": Preset("Breaker: Hystrix defaults", "20 requests in a 10 s rolling window, 50% errors, 5 s sleep window.", HYSTRIX),
        "resilience4j": Preset(
            "Breaker: resilience4j defaults",
            "50% of a 100-call window, at least 100 calls, open 60 s, 10 trial calls; 80,000 requests so the run outlasts the wait.",
            {**RESILIENCE4J, "requests": 80_000},
        ),
        "cascade": Preset(
            "Shared pool: a cascade", "60 caller workers shared by both endpoints; the healthy one gets 200 requests a second.",
            {"caller_workers": 60, "healthy_rate": 200},
        ),
        "bulkheads": Preset(
            "Bulkheads", "The same 60 workers split: 40 for the dependency's endpoint, 20 for the healthy one.",
            {"caller_workers": 60, "healthy_rate": 200, "bulkhead": True, "bulkhead_workers": 40},
        ),
        "burst": Preset("Burst, no protection", "Arrivals triple for one second instead of a slowdown.", {"trigger": BURST, "trigger_factor": 3}),
    },
    run=run,
    charts=[
        Chart(
            id="goodput", title="Offered load, attempts and goodput", x_title="simulated time (ms)", y_title="per second",
            traces=[Trace("offered (new requests)", "offered_rate", color="#64748b"),
                    Trace("attempts sent, with retries", "attempt_rate", color="#d97706", dash="dot"),
                    Trace("goodput", "goodput_rate", color="#16a34a"),
                    Trace("wasted: served after the caller gave up", "wasted_rate", color="#dc2626", dash="dash")],
        ),
        Chart(
            id="errors", title="Error rate: timeouts, 429s and calls the breaker refused", x_title="simulated time (ms)",
            y_title="% of outcomes", traces=[Trace("errors", "error_percent", color="#dc2626")],
        ),
        Chart(
            id="latency", title="Latency of successful requests, first try to answer", x_title="simulated time (ms)", y_title="ms",
            traces=[Trace("p50", "p50_ms", color="#2563eb"), Trace("p99", "p99_ms", color="#7c3aed", dash="dash")],
        ),
        Chart(
            id="healthy", title="Healthy endpoint: p99 latency and refusals; the caller's pool in use",
            x_title="simulated time (ms)", y_title="ms / %",
            traces=[Trace("healthy p99 (ms)", "healthy_p99_ms", color="#2563eb"),
                    Trace("healthy refused (%)", "healthy_error_percent", color="#dc2626", dash="dot"),
                    Trace("dependency endpoint's workers busy (%)", "pool_busy_percent", color="#d97706", dash="dash")],
        ),
        Chart(
            id="queue", title="Dependency queue", x_title="simulated time (ms)", y_title="requests waiting",
            traces=[Trace("queued", "queue", color="#0891b2")],
        ),
        Chart(
            id="breaker", title="Circuit breaker state (0 closed, 1 half-open, 2 open)", x_title="simulated time (ms)",
            y_title="state", traces=[Trace("breaker", "breaker_state", color="#9333ea")], only_when={"breaker": True},
        ),
    ],
    verdict=verdict,
    shapes=shapes,
    summary_figures=summary_figures,
    prediction=Prediction("What share of requests will succeed (%)?", "success_percent", 100),
    progress=progress,
    table_columns=[
        ("t_ms", "Time (ms)"), ("offered_rate", "Offered per s"), ("attempt_rate", "Attempts per s"),
        ("goodput_rate", "Goodput per s"), ("error_percent", "Errors (%)"), ("p50_ms", "p50 (ms)"),
        ("p99_ms", "p99 (ms)"), ("queue", "Queued"), ("healthy_p99_ms", "Healthy p99 (ms)"), ("healthy_error_percent", "Healthy refused (%)"), ("breaker_state", "Breaker state"),
    ],
)
