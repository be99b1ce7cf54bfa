"""Frames of runs in flight, carried through Redis from the worker to the web.

A run's frames are a Redis list: the index of a frame is the cursor a browser
polls with, and it is the same index in the frames kept in the database once
the run is over, so a reader can move from one source to the other mid-run.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache

import redis
from django.conf import settings

LIVE_FRAMES_TTL_SECONDS = 3600


@lru_cache(maxsize=4)
def _client(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout, health_check_interval=30)


def redis_client() -> redis.Redis:
    # Short timeouts: a stopped (SIGSTOPped) Redis accepts connections and never
    # answers, and a page must not wait for it.
    return _client(settings.REDIS_URL, settings.REDIS_SOCKET_TIMEOUT_SECONDS)


def key(name: str) -> str:
    return f"{settings.REDIS_KEY_PREFIX}{name}"


def frames_key(run_id) -> str:
    return key(f"run:{run_id}:frames")


def push_frames(run_id, frames: list[dict]) -> None:
    if not frames:
        return
    name = frames_key(run_id)
    pipe = redis_client().pipeline(transaction=False)
    pipe.rpush(name, *[json.dumps(frame, separators=(",", ":")) for frame in frames])
    pipe.expire(name, LIVE_FRAMES_TTL_SECONDS)
    pipe.execute()


def cancel_key(run_id) -> str:
    return key(f"run:{run_id}:cancel")


def request_cancel(run_id) -> None:
    """Ask the worker running this run to stop; best effort (the database status is the truth)."""
    try:
        redis_client().set(cancel_key(run_id), 1, ex=LIVE_FRAMES_TTL_SECONDS)
    except redis.RedisError:
        pass


def cancel_requested(run_id) -> bool:
    return bool(redis_client().exists(cancel_key(run_id)))


def clear_frames(run_id) -> None:
    redis_client().delete(frames_key(run_id))


def read_frames(run_id, after: int) -> list[dict]:
    """Frames from index `after` on. Raises redis.RedisError when Redis is down."""
    return [json.loads(raw) for raw in redis_client().lrange(frames_key(run_id), after, -1)]


def workers_key() -> str:
    return key("workers")


def worker_heartbeat(hostname: str) -> None:
    """Say this worker is alive; a sorted set scored by time, so one ZCOUNT tells who is."""
    redis_client().zadd(workers_key(), {hostname: time.time()})


def worker_gone(hostname: str) -> None:
    redis_client().zrem(workers_key(), hostname)


def workers_alive() -> int:
    """How many workers beat recently. Raises redis.RedisError when Redis is down."""
    client = redis_client()
    since = time.time() - settings.WORKER_HEARTBEAT_TTL_SECONDS
    pipe = client.pipeline(transaction=False)
    pipe.zremrangebyscore(workers_key(), "-inf", since)
    pipe.zcard(workers_key())
    return pipe.execute()[1]
