"""The cheap half of a classroom's live state: version numbers cached in Redis.

A student's screen polls with the version it has; when nothing changed that
poll is one Redis GET and an empty 204. The database holds the truth
(`Classroom.state_version`); Redis only caches it, and is only ever moved
forward (a reader holding an old value cannot overwrite a newer one).
"""

from __future__ import annotations

import json
import uuid

import redis
from django.db import transaction
from django.db.models import F

from playground.live import key, redis_client

VERSION_TTL_SECONDS = 24 * 3600
RESULTS_TTL_SECONDS = 60

# SET the key to ARGV[1] only if that is greater than what it holds.
_SET_IF_GREATER = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1 end
return 0
"""


def _version_key(classroom_id: int) -> str:
    return key(f"classroom:{classroom_id}:v")


def _raise_version(classroom_id: int, version: int) -> None:
    try:
        redis_client().eval(_SET_IF_GREATER, 1, _version_key(classroom_id), version, VERSION_TTL_SECONDS)
    except redis.RedisError:
        pass


def class_version(classroom_id: int) -> int | None:
    """The class's state version; None when the class no longer exists."""
    from .models import Classroom

    try:
        cached = redis_client().get(_version_key(classroom_id))
    except redis.RedisError:
        cached = None
    if cached is not None:
        return int(cached)
    version = Classroom.objects.filter(id=classroom_id).values_list("state_version", flat=True).first()
    if version is not None:
        _raise_version(classroom_id, version)
    return version


def class_bump(classroom_id: int) -> None:
    """Tell every screen in the class to fetch the new state (after the change commits)."""
    from .models import Classroom

    Classroom.objects.filter(id=classroom_id).update(state_version=F("state_version") + 1)

    def publish():
        version = Classroom.objects.filter(id=classroom_id).values_list("state_version", flat=True).first()
        if version is not None:
            _raise_version(classroom_id, version)

    transaction.on_commit(publish)


def _results_key(poll_id: int) -> str:
    return key(f"poll:{poll_id}:rv")


def results_token(poll_id: int) -> str:
    """A token that changes whenever the poll's answers change ("" without Redis: always stale)."""
    try:
        client = redis_client()
        token = client.get(_results_key(poll_id))
        if token is None:
            client.set(_results_key(poll_id), uuid.uuid4().hex, ex=VERSION_TTL_SECONDS, nx=True)
            token = client.get(_results_key(poll_id))
        return token.decode() if token else ""
    except redis.RedisError:
        return ""


def results_changed(poll_id: int) -> None:
    """A random token rather than a counter, so a restarted Redis can never repeat one a screen holds."""

    def publish():
        try:
            redis_client().set(_results_key(poll_id), uuid.uuid4().hex, ex=VERSION_TTL_SECONDS)
        except redis.RedisError:
            pass

    transaction.on_commit(publish)


def cached_results(poll_id: int, token: str, compute) -> dict:
    """The poll's results for this token, computed once and shared by every screen that asks."""
    if not token:
        return compute()
    name = key(f"poll:{poll_id}:results:{token}")
    try:
        raw = redis_client().get(name)
        if raw is not None:
            return json.loads(raw)
        results = compute()
        redis_client().set(name, json.dumps(results, separators=(",", ":")), ex=RESULTS_TTL_SECONDS)
        return results
    except redis.RedisError:
        return compute()
