"""Raft, simulated: leader election and log replication on a seeded network (plain Python, no Django).

Each node follows Figure 2 of the Raft paper (Ongaro and Ousterhout, 2014):
RequestVote and AppendEntries, a higher term seen anywhere turns a node into a
follower, votes go only to candidates whose log is at least as up to date,
and a follower refuses entries whose previous index and term it does not hold.
A leader sends AppendEntries to every follower on each heartbeat (with every
entry from the follower's nextIndex, up to a batch) and again at once when one
is refused. It appends no no-op entry when it takes office, as in Figure 2.

Two commit rules:
- correct: the leader counts replicas only for an entry of its own term, and
  earlier entries commit with it (section 5.4.2);
- naive: the leader commits any index a majority holds, whatever its term,
  which is what Figure 8 shows to be unsafe.

Every run checks the five safety properties of Figure 3 as it goes:
Election Safety (one leader per term), Leader Append-Only (a leader never
erases its own entries), Log Matching (an index and term name one entry with
one history before it), Leader Completeness (a leader holds every entry
committed in an earlier term) and State Machine Safety (no two nodes apply
different entries at one index), and counts committed entries that a node
later erased from its log.
"""

from __future__ import annotations

import heapq
import random
from typing import Any

from .faults import (COMMAND, CRASH, CUT, FIGURE_8, HEAL, ISOLATE, LEADER, RANDOM, RESTART, SPLIT, TIMEOUT, Action,
                     figure_8_script, random_faults)

CORRECT, NAIVE = "correct", "naive"
FOLLOWER, CANDIDATE, LEADER_ROLE = "follower", "candidate", "leader"
MAX_NODES = 7
TARGET_FRAMES = 150
BATCH = 64  # entries per AppendEntries
MAX_SEGMENTS = 400  # in the timeline of elections
NEVER = 1 << 60

# Event kinds, in the heap as (t_ms, seq, kind, a, b).
DELIVER, ELECTION_TIMER, HEARTBEAT, ACTION, CLIENT = range(5)
# Messages, as tuples whose first item is the type.
VOTE_REQ, VOTE_REPLY, APPEND, APPEND_REPLY = range(4)


class Node:
    def __init__(self, ident: int):
        self.id = ident
        self.term = 0
        self.voted_for = -1
        # Index 0 is a sentinel, so that log index i is list index i.
        self.log_terms = [0]
        self.log_cmds = [0]
        self.log_hash = [0]
        self.commit = 0
        self.applied = 0
        self.role = FOLLOWER
        self.alive = True
        self.timer_gen = 0
        self.votes: set[int] = set()
        self.next_index: list[int] = []
        self.match_index: list[int] = []

    @property
    def last_index(self) -> int:
        return len(self.log_terms) - 1

    @property
    def last_term(self) -> int:
        return self.log_terms[-1]


def entry_hash(previous: int, term: int, cmd: int) -> int:
    # Ints and tuples hash the same in every process, so a run stays deterministic.
    return hash((previous, term, cmd))


class Raft:
    def __init__(self, params: dict[str, Any], actions: list[Action], seed: int):
        self.n = params["nodes"]
        self.majority = self.n // 2 + 1
        self.rule = params["commit_rule"]
        self.scenario = params["scenario"]
        self.scripted = self.scenario != RANDOM
        self.election_min, self.election_max = params["election_min_ms"], params["election_max_ms"]
        self.heartbeat = params["heartbeat_ms"]
        self.delay, self.jitter, self.loss = params["delay_ms"], params["delay_jitter"], params["loss"]
        self.duration = params["duration_ms"]
        self.command_interval = params["command_interval_ms"]
        self.rng = random.Random(seed)
        self.nodes = [Node(i) for i in range(self.n)]
        self.cut: set[tuple[int, int]] = set()
        self.heap: list[tuple] = []
        self.seq = 0
        self.now = 0
        self.next_cmd = 1
        self.messages = 0
        self.events = 0
        # What the checks remember.
        self.leader_of_term: dict[int, int] = {}
        self.entry_prefix: dict[tuple[int, int], int] = {}
        self.committed: dict[int, tuple[int, int, int, int]] = {}  # index -> (term, cmd, prefix hash, term committed in)
        self.committed_max = 0
        self.applied_entry: dict[int, tuple[int, int]] = {}  # index -> (term, cmd) first applied anywhere
        self.violations = {"election_safety": 0, "leader_append_only": 0, "log_matching": 0, "leader_completeness": 0,
                           "state_machine_safety": 0}
        self.examples: dict[str, str] = {}
        self.committed_overwritten = 0
        self.uncommitted_discarded = 0
        # Liveness.
        self.elections = 0
        self.leaders_elected = 0
        self.split_votes = 0
        self.effective: int = -1  # the node that leads and reaches a majority, or -1
        self.leaderless_since = 0
        self.leaderless_ms = 0
        self.faults: list[dict] = []
        self.segments: list[dict] = []
        self.open_segment: dict[int, dict] = {}
        self.down_since: dict[int, int] = {}
        self.last_crashed = -1
        for action in actions:
            self.push(action.t_ms, ACTION, action)
        if not self.scripted:
            for node in self.nodes:
                # Nodes boot at different moments, so even equal timeouts do not all fire at once at the start.
                self.reset_timer(node, self.rng.randint(self.election_min, self.election_min + self.election_max))
            if self.command_interval:
                self.push(self.command_interval, CLIENT)

    # --- plumbing ---------------------------------------------------------

    def push(self, t: int, kind: int, a: Any = None, b: Any = None) -> None:
        heapq.heappush(self.heap, (t, self.seq, kind, a, b))
        self.seq += 1

    def link_up(self, a: int, b: int) -> bool:
        return (min(a, b), max(a, b)) not in self.cut

    def send(self, source: int, target: int, message: tuple) -> None:
        self.messages += 1
        if self.loss and self.rng.random() < self.loss:
            return
        spread = self.delay * self.jitter
        delay = self.delay + (round(self.rng.uniform(-spread, spread)) if spread else 0)
        self.push(self.now + max(1, delay), DELIVER, (source, target), message)

    def reset_timer(self, node: Node, at: int | None = None) -> None:
        node.timer_gen += 1
        if self.scripted:
            return  # the script fires timers itself
        if at is None:
            at = self.now + self.rng.randint(self.election_min, self.election_max)
        self.push(at, ELECTION_TIMER, node.id, node.timer_gen)

    # --- roles --------------------------------------------------------------

    def step_down(self, node: Node, term: int) -> None:
        if term > node.term:
            node.term, node.voted_for = term, -1
        if node.role != FOLLOWER:
            self.close_segment(node)
            node.role = FOLLOWER
            self.reset_timer(node)
            self.update_leadership()

    def start_election(self, node: Node) -> None:
        if not node.alive or node.role == LEADER_ROLE:
            return
        self.close_segment(node)
        node.role = CANDIDATE
        node.term += 1
        node.voted_for = node.id
        node.votes = {node.id}
        self.elections += 1
        self.open(node, f"candidate, term {node.term}", "candidate")
        self.reset_timer(node)
        for other in range(self.n):
            if other != node.id:
                self.send(node.id, other, (VOTE_REQ, node.term, node.last_index, node.last_term))
        if len(node.votes) >= self.majority:  # a one-node cluster never happens here (3 to 7), kept for safety
            self.become_leader(node)

    def become_leader(self, node: Node) -> None:
        node.role = LEADER_ROLE
        node.timer_gen += 1  # a leader has no election timer
        self.leaders_elected += 1
        self.close_segment(node)
        self.open(node, f"leader, term {node.term}", "leader")
        previous = self.leader_of_term.setdefault(node.term, node.id)
        if previous != node.id:
            self.violate("election_safety", f"S{previous + 1} and S{node.id + 1} both led term {node.term}.")
        self.check_leader_completeness(node)
        node.next_index = [node.last_index + 1] * self.n
        node.match_index = [0] * self.n
        node.match_index[node.id] = node.last_index
        self.update_leadership()
        self.heartbeat_tick(node.id, node.term)

    def update_leadership(self) -> None:
        """Note when the cluster gains or loses a leader that can reach a majority."""
        best = -1
        for node in self.nodes:
            if node.alive and node.role == LEADER_ROLE:
                reach = sum(1 for other in self.nodes if other.alive and (other.id == node.id or self.link_up(node.id, other.id)))
                if reach >= self.majority and (best < 0 or node.term > self.nodes[best].term):
                    best = node.id
        if best == self.effective:
            return
        if self.effective < 0:
            self.leaderless_ms += self.now - self.leaderless_since
            for fault in self.faults:
                if fault["recovered_ms"] is None:
                    fault["recovered_ms"] = self.now - fault["at_ms"]
                    fault["elections"] = self.elections - fault["elections_before"]
        elif best < 0:
            self.leaderless_since = self.now
        self.effective = best

    # --- timeline -----------------------------------------------------------

    def open(self, node: Node, label: str, outcome: str) -> None:
        self.open_segment[node.id] = {"row": f"S{node.id + 1}", "label": label, "start_ms": self.now, "outcome": outcome}

    def close_segment(self, node: Node, outcome: str | None = None) -> None:
        segment = self.open_segment.pop(node.id, None)
        if segment is None:
            return
        if segment["outcome"] == "candidate" and node.role == CANDIDATE and outcome is None:
            # A candidacy that ends any other way than winning: timed out (a split vote) or stepped down.
            segment["outcome"] = "candidacy lost"
        elif outcome:
            segment["outcome"] = outcome
        segment["end_ms"] = self.now
        if len(self.segments) < MAX_SEGMENTS:
            self.segments.append(segment)

    # --- messages -----------------------------------------------------------

    def deliver(self, source: int, target: int, message: tuple) -> None:
        node = self.nodes[target]
        if not node.alive or not self.link_up(source, target):
            return
        kind, term = message[0], message[1]
        if term > node.term:
            self.step_down(node, term)
        if kind == VOTE_REQ:
            _, _, last_index, last_term = message
            up_to_date = (last_term, last_index) >= (node.last_term, node.last_index)
            grant = term == node.term and node.voted_for in (-1, source) and up_to_date
            if grant:
                node.voted_for = source
                self.reset_timer(node)
            self.send(target, source, (VOTE_REPLY, node.term, grant))
        elif kind == VOTE_REPLY:
            if node.role == CANDIDATE and term == node.term and message[2]:
                node.votes.add(source)
                if len(node.votes) >= self.majority:
                    self.close_segment(node, "candidacy won")
                    self.become_leader(node)
        elif kind == APPEND:
            self.on_append(node, source, message)
        else:
            self.on_append_reply(node, source, message)

    def on_append(self, node: Node, source: int, message: tuple) -> None:
        _, term, prev_index, prev_term, terms, cmds, leader_commit = message
        if term < node.term:
            self.send(node.id, source, (APPEND_REPLY, node.term, False, 0, prev_index))
            return
        if node.role != FOLLOWER:
            self.step_down(node, term)  # a candidate that hears this term's leader gives way
        self.reset_timer(node)
        if prev_index > node.last_index or node.log_terms[prev_index] != prev_term:
            self.send(node.id, source, (APPEND_REPLY, node.term, False, 0, prev_index))
            return
        for k, (entry_term, cmd) in enumerate(zip(terms, cmds)):
            index = prev_index + 1 + k
            if index <= node.last_index:
                if node.log_terms[index] == entry_term:
                    continue
                self.truncate(node, index)
            self.append(node, entry_term, cmd)
        last_new = prev_index + len(terms)
        if leader_commit > node.commit:
            self.advance_commit(node, min(leader_commit, last_new), counted=False)
        self.send(node.id, source, (APPEND_REPLY, node.term, True, last_new, prev_index))

    def on_append_reply(self, node: Node, source: int, message: tuple) -> None:
        _, term, success, match, prev_index = message
        if node.role != LEADER_ROLE or term != node.term:
            return
        if success:
            if match > node.match_index[source]:
                node.match_index[source] = match
                node.next_index[source] = match + 1
                self.leader_commit(node)
        elif node.next_index[source] > 1 and prev_index == node.next_index[source] - 1:
            # Refused: back up one entry and try again at once (Figure 2).
            node.next_index[source] -= 1
            self.send_append(node, source)

    def send_append(self, node: Node, target: int) -> None:
        start = node.next_index[target]
        prev_index = start - 1
        end = min(node.last_index, prev_index + BATCH)
        self.send(node.id, target, (APPEND, node.term, prev_index, node.log_terms[prev_index],
                                    node.log_terms[start:end + 1], node.log_cmds[start:end + 1], node.commit))

    def heartbeat_tick(self, ident: int, term: int) -> None:
        node = self.nodes[ident]
        if not node.alive or node.role != LEADER_ROLE or node.term != term:
            return
        for other in range(self.n):
            if other != ident:
                self.send_append(node, other)
        self.push(self.now + self.heartbeat, HEARTBEAT, ident, term)

    # --- the log, commits and the checks -------------------------------------

    def append(self, node: Node, term: int, cmd: int) -> None:
        index = len(node.log_terms)
        prefix = entry_hash(node.log_hash[-1], term, cmd)
        node.log_terms.append(term)
        node.log_cmds.append(cmd)
        node.log_hash.append(prefix)
        known = self.entry_prefix.setdefault((index, term), prefix)
        if known != prefix:
            self.violate("log_matching", f"Index {index} of term {term} on S{node.id + 1} follows a different history "
                                         "from the same index and term elsewhere.")

    def truncate(self, node: Node, index: int) -> None:
        """Erase the node's entries from index on, counting the committed ones lost."""
        if node.role == LEADER_ROLE:
            self.violate("leader_append_only", f"S{node.id + 1}, leader of term {node.term}, erased its own index {index}.")
        for i in range(index, node.last_index + 1):
            known = self.committed.get(i)
            if known and known[0] == node.log_terms[i] and known[1] == node.log_cmds[i]:
                self.committed_overwritten += 1
                self.examples.setdefault("overwritten", (
                    f"At {self.now:,} ms S{node.id + 1} erased index {i} (term {known[0]}), committed in term "
                    f"{known[3]}, to take the leader's entry of term {self.leader_entry_term(i)}."))
            else:
                self.uncommitted_discarded += 1
        del node.log_terms[index:], node.log_cmds[index:], node.log_hash[index:]

    def leader_entry_term(self, index: int) -> int | str:
        leader = self.nodes[self.effective] if self.effective >= 0 else max(self.nodes, key=lambda n: n.term)
        return leader.log_terms[index] if index <= leader.last_index else "?"

    def leader_commit(self, node: Node) -> None:
        """Advance the leader's commit index as far as its rule allows.

        The highest index a majority holds decides. Terms never fall along a log,
        so if that entry is from an earlier term, every entry below it is too: the
        correct rule then commits nothing, and the naive one commits it anyway.
        """
        for index in range(node.last_index, node.commit, -1):
            if sum(1 for m in node.match_index if m >= index) >= self.majority:
                if self.rule == NAIVE or node.log_terms[index] == node.term:
                    self.advance_commit(node, index, counted=True)
                return

    def advance_commit(self, node: Node, index: int, counted: bool) -> None:
        for i in range(node.commit + 1, index + 1):
            entry = (node.log_terms[i], node.log_cmds[i])
            if counted:
                known = self.committed.get(i)
                if known is None:
                    self.committed[i] = (*entry, node.log_hash[i], node.term)
                    self.committed_max = max(self.committed_max, i)
                elif known[:2] != entry:
                    # Not a property of its own: what it leads to is caught by State Machine Safety at the apply.
                    self.examples.setdefault("committed_twice", f"Index {i} was committed twice, as term {known[0]} "
                                                                f"in term {known[3]} and as term {entry[0]} in term {node.term}.")
        node.commit = index
        while node.applied < node.commit:
            node.applied += 1
            i = node.applied
            entry = (node.log_terms[i], node.log_cmds[i])
            first = self.applied_entry.setdefault(i, entry)
            if first != entry:
                self.violate("state_machine_safety", (
                    f"At {self.now:,} ms S{node.id + 1} applied index {i} of term {entry[0]}, where index {i} of "
                    f"term {first[0]} had already been applied."))

    def check_leader_completeness(self, node: Node) -> None:
        k = self.committed_max
        if not k:
            return
        term, _, prefix, _ = self.committed[k]
        if k <= node.last_index and node.log_hash[k] == prefix and self.committed[k][3] < node.term:
            return
        for i, (term, cmd, _, in_term) in sorted(self.committed.items()):
            if in_term >= node.term:
                continue
            if i > node.last_index or node.log_terms[i] != term or node.log_cmds[i] != cmd:
                self.violate("leader_completeness", (
                    f"S{node.id + 1} became leader of term {node.term} without index {i} (term {term}), "
                    f"committed in term {in_term}."))
                return

    def violate(self, prop: str, example: str) -> None:
        self.violations[prop] += 1
        self.examples.setdefault(prop, example)

    # --- faults and clients ---------------------------------------------------

    def leader_now(self) -> int:
        if self.effective >= 0:
            return self.effective
        leaders = [n for n in self.nodes if n.alive and n.role == LEADER_ROLE]
        return max(leaders, key=lambda n: n.term).id if leaders else -1

    def crash(self, node: Node) -> None:
        if not node.alive:
            return
        self.close_segment(node)
        node.alive = False
        node.role = FOLLOWER
        node.timer_gen += 1
        self.down_since[node.id] = self.now
        self.last_crashed = node.id
        self.update_leadership()

    def restart(self, node: Node) -> None:
        if node.alive:
            return
        start = self.down_since.pop(node.id, self.now)
        if len(self.segments) < MAX_SEGMENTS:
            self.segments.append({"row": f"S{node.id + 1}", "label": "down", "start_ms": start, "end_ms": self.now, "outcome": "down"})
        node.alive = True
        node.commit = node.applied = 0  # volatile state; the state machine is rebuilt from the log
        self.reset_timer(node)
        self.update_leadership()

    def act(self, action: Action) -> None:
        target = self.leader_now() if action.node == LEADER else action.node
        if action.fault:
            self.faults.append({"fault": action.fault, "at_ms": self.now, "node": target + 1 if target >= 0 else None,
                                "elections_before": self.elections, "recovered_ms": None, "elections": None})
        kind = action.kind
        if kind == COMMAND:
            self.client_command()
        elif kind == HEAL:
            self.cut.clear()
            self.update_leadership()
        elif kind == RESTART:
            node = self.last_crashed if action.node == LEADER else action.node
            if node >= 0:
                self.restart(self.nodes[node])
        elif target < 0:
            return  # no leader to crash or isolate right now
        elif kind == CRASH:
            self.crash(self.nodes[target])
        elif kind == ISOLATE:
            self.cut.update((min(target, o), max(target, o)) for o in range(self.n) if o != target)
            self.update_leadership()
        elif kind == CUT:
            self.cut.add((min(target, action.other), max(target, action.other)))
            self.update_leadership()
        elif kind == TIMEOUT:
            self.start_election(self.nodes[target])
        elif kind == SPLIT:
            self.crash(self.nodes[target])
            # Every live follower's timer fires at the same instant: each votes for itself first.
            at = self.now + self.election_min
            for node in self.nodes:
                if node.alive:
                    self.reset_timer(node, at)

    def client_command(self) -> None:
        leader = self.leader_now()
        if leader < 0:
            return
        node = self.nodes[leader]
        self.append(node, node.term, self.next_cmd)
        self.next_cmd += 1
        node.match_index[node.id] = node.last_index

    # --- the run --------------------------------------------------------------

    def run(self, emit) -> dict[str, Any]:
        step = max(1, -(-self.duration // TARGET_FRAMES))
        next_frame = 0
        while self.heap and self.heap[0][0] <= self.duration:
            t, _, kind, a, b = heapq.heappop(self.heap)
            while next_frame < t:
                emit(self.frame(next_frame))
                next_frame += step
            self.now = t
            self.events += 1
            if kind == DELIVER:
                self.deliver(a[0], a[1], b)
            elif kind == ELECTION_TIMER:
                node = self.nodes[a]
                if node.alive and node.timer_gen == b:
                    self.start_election(node)
            elif kind == HEARTBEAT:
                self.heartbeat_tick(a, b)
            elif kind == ACTION:
                self.act(a)
            else:
                self.client_command()
                self.push(t + self.command_interval, CLIENT)
        while next_frame <= self.duration:
            emit(self.frame(next_frame))
            next_frame += step
        self.now = self.duration
        if self.effective < 0:
            self.leaderless_ms += self.duration - self.leaderless_since
            self.leaderless_since = self.duration
        for node in self.nodes:
            if node.alive:
                self.close_segment(node)
        for ident, start in self.down_since.items():
            if len(self.segments) < MAX_SEGMENTS:
                self.segments.append({"row": f"S{ident + 1}", "label": "down", "start_ms": start, "end_ms": self.duration, "outcome": "down"})
        return self.summary()

    def frame(self, t: int) -> dict[str, Any]:
        frame: dict[str, Any] = {"t_ms": t}
        for i in range(MAX_NODES):
            node = self.nodes[i] if i < self.n else None
            up = node is not None and node.alive
            frame[f"term_{i + 1}"] = node.term if up else None
            frame[f"commit_{i + 1}"] = node.commit if up else None
        leaderless = self.leaderless_ms + (t - self.leaderless_since if self.effective < 0 else 0)
        frame.update({
            "leader": self.effective + 1,
            "leader_term": self.nodes[self.effective].term if self.effective >= 0 else 0,
            "elections": self.elections,
            "committed": self.committed_max,
            "leaderless_ms": leaderless,
            "overwritten": self.committed_overwritten,
            "violations": sum(self.violations.values()),
        })
        return frame

    def summary(self) -> dict[str, Any]:
        for fault in self.faults:
            if fault["elections"] is None:  # still without a leader at the end
                fault["elections"] = self.elections - fault["elections_before"]
        faults = [{key: value for key, value in fault.items() if key != "elections_before"} for fault in self.faults]
        logs = [{"node": node.id + 1, "terms": node.log_terms[1:21], "length": node.last_index, "commit": node.commit,
                 "alive": node.alive, "term": node.term} for node in self.nodes]
        return {
            "scenario": self.scenario,
            "commit_rule": self.rule,
            "nodes": self.n,
            "duration_ms": self.duration,
            "messages": self.messages,
            "events": self.events,
            "commands": self.next_cmd - 1,
            "committed": self.committed_max,
            "terms": max(node.term for node in self.nodes),
            "elections": self.elections,
            "leaders_elected": self.leaders_elected,
            "leaderless_ms": self.leaderless_ms,
            "faults": faults,
            "elections_per_fault": round(sum(f["elections"] for f in faults) / len(faults), 2) if faults else None,
            "violations": dict(self.violations),
            "safety_violations": sum(self.violations.values()) + self.committed_overwritten,
            "committed_overwritten": self.committed_overwritten,
            "uncommitted_discarded": self.uncommitted_discarded,
            "examples": dict(sorted(self.examples.items())),
            "logs": logs,
            "timeline": sorted(self.segments, key=lambda s: (s["start_ms"], s["row"])),
        }


def actions_for(params: dict[str, Any]) -> list[Action]:
    return figure_8_script() if params["scenario"] == FIGURE_8 else random_faults(params)


def simulate(params: dict[str, Any], actions: list[Action], seed: int, emit) -> dict[str, Any]:
    return Raft(params, actions, seed).run(emit)
