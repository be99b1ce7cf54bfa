"""The locks simulation: leases expire under paused holders; only the storage's token check keeps records whole."""

import json

from hypothesis import example, given, settings as hsettings
from hypothesis import strategies as st

from playground.experiments import locks
from playground.experiments.locks.faults import FIRST_TOKEN, FaultSchedule, fault_schedule
from playground.experiments.locks.model import FENCING, NO_FENCING, simulate
from tests.support import run_collecting, valid_params

EXPERIMENT = locks.EXPERIMENT
TTL_MS = 300


def params(**overrides):
    return valid_params(EXPERIMENT, **overrides)


def accepted_tokens_by_record(landings):
    """The storage's history, replayed here: per record, the tokens it accepted in the order they landed."""
    history = {}
    for _, record, token, accepted in landings:
        if accepted:
            history.setdefault(record, []).append(token)
    return history


@st.composite
def schedules(draw, leases, clients, max_ms=2 * TTL_MS):
    """Any work, pauses, delays and clock rates, each lease's drawn independently."""
    durations = st.lists(st.integers(0, max_ms), min_size=leases, max_size=leases)
    return FaultSchedule(
        work_ms=tuple(max(1, w) for w in draw(durations)),
        pause_ms=tuple(draw(st.lists(st.sampled_from([0, 0, 0, TTL_MS // 2, TTL_MS, 5 * TTL_MS]) | st.integers(0, 10 * TTL_MS), min_size=leases, max_size=leases))),
        delay_ms=tuple(draw(durations)),
        ack_ms=tuple(draw(durations)),
        clock_rate=tuple(draw(st.lists(st.floats(0.5, 1.5), min_size=clients, max_size=clients))),
        salt=draw(st.integers(0, 2**31 - 1)),
    )


def test_the_same_seed_and_parameters_give_the_same_frames_and_summary():
    first = run_collecting(EXPERIMENT, params(clock_drift_pct=10, network_delay_ms=40), seed=11)
    second = run_collecting(EXPERIMENT, params(clock_drift_pct=10, network_delay_ms=40), seed=11)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert run_collecting(EXPERIMENT, params(), seed=1)[0] != run_collecting(EXPERIMENT, params(), seed=2)[0]


def test_both_storages_face_the_same_writes_and_fencing_refuses_exactly_the_stale_ones():
    naive, _ = run_collecting(EXPERIMENT, params(mode=NO_FENCING))
    fenced, _ = run_collecting(EXPERIMENT, params(mode=FENCING))
    for key in ("leases_granted", "writes_landed", "late_writes", "pauses", "duration_ms"):
        assert naive[key] == fenced[key], key
    assert naive["stale_writes_accepted"] > 0 and naive["corrupted_records"] > 0
    # The fence is the highest token landed so far, so it refuses exactly what last-write-wins took stale.
    assert fenced["writes_refused"] == naive["stale_writes_accepted"]
    assert fenced["first_refused"] == naive["first_stale_accepted"]
    assert fenced["stale_writes_accepted"] == fenced["lost_writes"] == fenced["corrupted_records"] == 0


def test_with_nothing_going_wrong_the_clients_own_lease_check_is_enough():
    summary, _ = run_collecting(EXPERIMENT, params(pause_distribution="none", network_delay_ms=0, work_ms=200, lease_ttl_ms=300))
    assert summary["abandoned_by_lease_check"] > 0  # long work: the check caught it
    assert summary["late_writes"] == summary["stale_writes_accepted"] == summary["corrupted_records"] == 0


def test_a_slow_clock_alone_lets_the_check_pass_after_the_lease_expired():
    summary, _ = run_collecting(EXPERIMENT, params(**EXPERIMENT.presets["slow-clocks"].params))
    assert summary["pauses"] == 0 and summary["late_writes"] > 0 and summary["stale_writes_accepted"] > 0


@hsettings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.data(), clients=st.integers(2, 6), records=st.integers(1, 3), leases=st.integers(10, 80))
def test_fencing_never_lets_a_stale_write_through_under_any_schedule(data, clients, records, leases):
    schedule = data.draw(schedules(leases, clients))
    landings = []
    p = params(mode=FENCING, clients=clients, records=records, operations=leases, lease_ttl_ms=TTL_MS)
    summary = simulate(p, schedule, lambda frame: None, landings)
    for record, tokens in accepted_tokens_by_record(landings).items():
        assert tokens == sorted(tokens), f"record {record} accepted a lower token after a higher one: {tokens}"
    assert summary["stale_writes_accepted"] == summary["lost_writes"] == summary["corrupted_records"] == 0
    assert summary["writes_landed"] == len(landings) == summary["writes_accepted"] + summary["writes_refused"]


def kleppmann(leases=34, paused=33):
    """Two clients, one record, short work; the holder of token 33 stops for three TTLs after its check."""
    return 2, FaultSchedule(
        work_ms=(10,) * leases, pause_ms=tuple(3 * TTL_MS if n + FIRST_TOKEN == paused else 0 for n in range(leases)),
        delay_ms=(2,) * leases, ack_ms=(2,) * leases, clock_rate=(1.0, 1.0),
    )


@st.composite
def one_pause_past_the_ttl(draw):
    """(clients, schedule): work, trips and clocks that keep every other lease on time; one lease paused for three TTLs."""
    clients, leases = draw(st.integers(2, 5)), draw(st.integers(10, 60))
    small = st.lists(st.integers(1, TTL_MS // 3), min_size=leases, max_size=leases)
    paused = draw(st.integers(FIRST_TOKEN, leases - 1))  # a newer lease always follows it
    return clients, FaultSchedule(
        work_ms=tuple(draw(small)), pause_ms=tuple(3 * TTL_MS if n + FIRST_TOKEN == paused else 0 for n in range(leases)),
        delay_ms=tuple(draw(small)), ack_ms=tuple(draw(small)),
        clock_rate=tuple(draw(st.lists(st.floats(0.5, 1.5), min_size=clients, max_size=clients))),
    )


@hsettings(max_examples=40, deadline=None, derandomize=True)
@example(case=kleppmann())
@given(case=one_pause_past_the_ttl())
def test_without_fencing_a_pause_past_the_ttl_visibly_corrupts(case):
    clients, schedule = case
    paused = next(n for n, pause in enumerate(schedule.pause_ms) if pause) + FIRST_TOKEN
    p = params(clients=clients, records=1, operations=len(schedule.work_ms), lease_ttl_ms=TTL_MS)
    naive = simulate({**p, "mode": NO_FENCING}, schedule, lambda frame: None)
    assert naive["late_writes"] == 1
    assert naive["first_stale_accepted"]["token"] == paused < naive["first_stale_accepted"]["after"]
    assert naive["stale_writes_accepted"] == naive["lost_writes"] == naive["corrupted_records"] == 1
    assert not all(check.ok for check in EXPERIMENT.verdict(naive) if check.ok is not None)

    fenced = simulate({**p, "mode": FENCING}, schedule, lambda frame: None)
    assert fenced["first_refused"] == naive["first_stale_accepted"]  # e.g. token 33 after 34, refused
    assert fenced["corrupted_records"] == fenced["stale_writes_accepted"] == 0
    assert all(check.ok for check in EXPERIMENT.verdict(fenced) if check.ok is not None)


def test_kleppmanns_token_33_after_34_is_refused_with_fencing():
    clients, schedule = kleppmann()
    p = params(mode=FENCING, clients=clients, records=1, operations=34, lease_ttl_ms=TTL_MS)
    summary = simulate(p, schedule, lambda frame: None)
    # The other client took 34 when 33's lease expired and wrote; 33's write came after it.
    assert summary["first_refused"] == {"token": 33, "after": 34, "record": 0, "t_ms": summary["first_refused"]["t_ms"]}
    assert summary["writes_refused"] == 1 and summary["writes_accepted"] == 33
    checks = {check.label: check for check in EXPERIMENT.verdict(summary)}
    assert "token 33 after token 34" in checks["Stale writes refused by the storage"].explanation
    figure = EXPERIMENT.summary_figures(summary)[0]
    assert "paused" in {trace["name"] for trace in figure["data"]}


def test_the_schedule_is_drawn_once_per_seed_whatever_the_storage():
    p = params()
    assert fault_schedule({**p, "mode": FENCING}, 5) == fault_schedule({**p, "mode": NO_FENCING}, 5)
    # Turning pauses up does not move the other faults.
    more = fault_schedule({**p, "pause_probability": 0.5}, 5)
    assert more.work_ms == fault_schedule(p, 5).work_ms and more.delay_ms == fault_schedule(p, 5).delay_ms


def test_live_runs_are_bounded_tighter_than_simulations():
    _, errors = EXPERIMENT.clean_params({"engine": "live", "operations": 101, "clients": 5, "pause_ms": 2_001})
    assert set(errors) == {"operations", "clients", "pause_ms"}
    _, errors = EXPERIMENT.clean_params({"engine": "live", "clients": 2, "operations": 100, "pause_probability": 1, "pause_ms": 1_000, "pause_distribution": "fixed"})
    assert set(errors) == {"pause_probability"} and "really stop a process" in errors["pause_probability"][0]
    assert not EXPERIMENT.clean_params({"operations": 101, "clients": 5, "pause_ms": 2_001})[1]
    assert EXPERIMENT.clean_params({"engine": ""})[0]["engine"] == "simulation"
