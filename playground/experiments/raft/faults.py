"""The raft experiment's faults, decided before a run starts (plain Python, no Django).

A fault schedule is a list of timed actions. The random scenario spreads the
faults the form asks for over the run; the Figure 8 scenario is a fixed script
that walks a five-node cluster through panels (a) to (d) of Figure 8 of the Raft
paper (Ongaro and Ousterhout, 2014). The tests build schedules of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

# Actions. "leader" in a target means the node that leads when the action fires.
CRASH = "crash"  # the node stops; its term, vote and log survive (they are on disk)
RESTART = "restart"  # the node comes back as a follower with commit index 0
ISOLATE = "isolate"  # every link to and from the node is cut
HEAL = "heal"  # every cut link is restored
CUT = "cut"  # one link is cut (both directions)
TIMEOUT = "timeout"  # the node's election timer fires now
SPLIT = "split-vote"  # crash the leader and make every live follower time out at the same instant
COMMAND = "command"  # a client sends one command to the leader

LEADER = -1  # a target meaning "whoever leads at that moment"

# SCRIPTED is Figure 8's mode without its script: timers fire only when an action says so (the tests use it).
RANDOM, FIGURE_8, SCRIPTED = "random", "figure-8", "scripted"
KILL_FAULT, PARTITION_FAULT, SPLIT_FAULT = "kill", "partition", "split"


@dataclass(frozen=True)
class Action:
    t_ms: int
    kind: str
    node: int = LEADER  # 0-based; LEADER for the current leader
    other: int = -1  # the far end of a CUT
    fault: str = ""  # for the liveness figures: which scheduled fault this action starts, if any


def random_faults(params: dict) -> list[Action]:
    """The faults the form asked for, one after another, evenly spread over the run.

    Each lasts fault_ms: a killed leader restarts, a partitioned one is healed,
    and after a split vote the crashed leader comes back.
    """
    kinds = [kind for kind, on in ((KILL_FAULT, params.get("kill_leader")), (PARTITION_FAULT, params.get("partition_leader")),
                                   (SPLIT_FAULT, params.get("split_vote"))) if on]
    duration, length = params["duration_ms"], params["fault_ms"]
    actions: list[Action] = []
    for k, kind in enumerate(kinds):
        start = duration * (k + 1) // (len(kinds) + 1)
        if kind == KILL_FAULT:
            actions += [Action(start, CRASH, fault=kind), Action(start + length, RESTART)]
        elif kind == PARTITION_FAULT:
            actions += [Action(start, ISOLATE, fault=kind), Action(start + length, HEAL)]
        else:
            actions += [Action(start, SPLIT, fault=kind), Action(start + length, RESTART)]
    return actions


S1, S2, S3, S4, S5 = range(5)


def figure_8_script() -> list[Action]:
    """Figure 8 of the Raft paper, as crashes, cut links and timers that fire on cue (10 ms links, 50 ms heartbeats).

    Election timers never fire on their own in this scenario: the script says who
    times out, so the run is the figure's and nothing else.
    """
    cut_from = lambda node, others, t: [Action(t, CUT, node, other) for other in others]  # noqa: E731
    return [
        # Term 1: S1 leads and replicates index 1 everywhere.
        Action(0, TIMEOUT, S1), Action(40, COMMAND),
        # Term 2: S1 again, after a restart.
        Action(200, CRASH, S1), Action(210, RESTART, S1), Action(220, TIMEOUT, S1),
        # (a) S1 replicates index 2 (term 2) to S2 only, then crashes.
        *cut_from(S1, (S3, S4, S5), 300), Action(310, COMMAND), Action(390, CRASH, S1), Action(395, HEAL),
        # (b) S5 wins term 3 with votes from S3, S4 and itself, takes index 2 (term 3) on its own log only, crashes.
        Action(420, TIMEOUT, S5), *cut_from(S5, (S1, S2, S3, S4), 445), Action(450, COMMAND),
        Action(500, CRASH, S5), Action(505, HEAL),
        # (c) S1 restarts, cut off from S4; it fails in term 3 (S3 voted for S5) and wins term 4 with S2 and S3,
        # then copies index 2 (term 2) to S3: a majority holds it. A client command at 670 gives it index 3
        # (term 4), which it never sends: it crashes at 690, before its next heartbeat.
        Action(520, RESTART, S1), *cut_from(S1, (S4,), 520), Action(530, TIMEOUT, S1), Action(580, TIMEOUT, S1),
        Action(670, COMMAND), Action(690, CRASH, S1), Action(695, HEAL),
        # (d) S5 restarts; it loses term 4 (S2 and S3 voted for S1) and wins term 5 with S2, S3 and S4,
        # then makes every log agree with its own: index 2 becomes its entry from term 3.
        Action(700, RESTART, S5), Action(710, TIMEOUT, S5), Action(760, TIMEOUT, S5),
        # A command in term 5, so that the correct rule has an entry of the current term to count.
        Action(900, COMMAND), Action(1000, RESTART, S1),
    ]


FIGURE_8_PARAMS = {
    "scenario": FIGURE_8, "nodes": 5, "election_min_ms": 150, "election_max_ms": 300, "heartbeat_ms": 50,
    "delay_ms": 10, "delay_jitter": 0, "loss": 0.0, "duration_ms": 1_500, "command_interval_ms": 0,
    "kill_leader": False, "partition_leader": False, "split_vote": False, "fault_ms": 1_000,
}
