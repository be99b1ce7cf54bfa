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

from playground.live import frames_key, key, redis_client

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


def _watch_key(classroom_id: int) -> str:
    return key(f"classroom:{classroom_id}:watch")


def _check_key(classroom_id: int) -> str:
    return key(f"classroom:{classroom_id}:checked")


# How often, at most, the server reads a presented run's status from the database while it is live.
RUN_CHECK_INTERVAL_MS = 500


def class_version(classroom_id: int) -> int | None:
    """The class's state version; None when the class no longer exists."""
    return class_live(classroom_id)[0]


def class_live(classroom_id: int) -> tuple[int | None, str | None]:
    """The class's state version (None when the class no longer exists), and the run on its screens while it is live.

    While the class is shown a run that has not ended, the server itself (not the
    instructor's page, which may be closed) notices the run ending and moves the
    class on: at most one students' poll every RUN_CHECK_INTERVAL_MS reads the run's status.
    """
    try:
        cached, watching = redis_client().mget(_version_key(classroom_id), _watch_key(classroom_id))
    except redis.RedisError:
        cached, watching = None, None
    if cached is None:
        cached, watching = _version_from_database(classroom_id)
        if cached is None:
            return None, None
    watching = watching.decode() if isinstance(watching, bytes) else watching
    if watching is not None and _may_check(classroom_id):
        moved = presented_run_check(classroom_id)
        if moved is not None:
            return moved, None
    return int(cached), watching


def _may_check(classroom_id: int) -> bool:
    if RUN_CHECK_INTERVAL_MS <= 0:
        return True
    try:
        return bool(redis_client().set(_check_key(classroom_id), 1, px=RUN_CHECK_INTERVAL_MS, nx=True))
    except redis.RedisError:
        return False


def _version_from_database(classroom_id: int) -> tuple[int | None, str | None]:
    """Redis forgot (restarted, expired): the database has the version and the run on screen.

    Whether screens saw that run end went with Redis, so a presented run is watched
    again; if it has ended, every screen fetches the class once more, which is harmless.
    """
    from .models import Classroom

    row = Classroom.objects.filter(id=classroom_id).values("state_version", "presented_run_id").first()
    if row is None:
        return None, None
    _raise_version(classroom_id, row["state_version"])
    if row["presented_run_id"] is None:
        return row["state_version"], None
    watch_run(classroom_id, row["presented_run_id"])
    return row["state_version"], str(row["presented_run_id"])


def presented_run_check(classroom_id: int) -> int | None:
    """If the run on the class's screens has ended, bump the class (once) and stop watching; the new version."""
    from playground.models import ExperimentRun

    from .models import Classroom

    row = Classroom.objects.filter(id=classroom_id).values("state_version", "presented_run_id", "presented_run__status").first()
    if row is None:
        return None
    if row["presented_run_id"] and row["presented_run__status"] not in ExperimentRun.FINAL:
        return None
    # Conditional on the version read: of many screens noticing at once, one bump wins.
    moved = Classroom.objects.filter(id=classroom_id, state_version=row["state_version"]).update(
        state_version=F("state_version") + 1)
    version = row["state_version"] + 1 if moved else Classroom.objects.filter(id=classroom_id).values_list(
        "state_version", flat=True).first()
    _raise_version(classroom_id, version)
    unwatch_run(classroom_id)
    return version


# The frames of a run after a screen's cursor, as the text of a JSON list, in one round trip. The worker
# stored each frame as JSON, so Redis joins them and the web never decodes one: the same work for every
# screen, whatever its cursor, and nothing to build or share per cursor.
_FRAMES_AFTER = """
local n = redis.call('LLEN', KEYS[1])
local after = tonumber(ARGV[1])
if after >= n then return {n} end
return {n, table.concat(redis.call('LRANGE', KEYS[1], after, n - 1), ',')}
"""


def run_frames_after(run_id, after: int) -> tuple[int, bytes] | None:
    """(next cursor, the JSON list of the live run's frames from `after` on); None when there are none yet."""
    try:
        found = redis_client().eval(_FRAMES_AFTER, 1, frames_key(run_id), after)
    except redis.RedisError:
        return None  # the screen keeps its cursor and asks again
    if len(found) < 2:
        return None
    return int(found[0]), b"[" + found[1] + b"]"


def watch_run(classroom_id: int, run_id) -> None:
    try:
        redis_client().set(_watch_key(classroom_id), str(run_id), ex=VERSION_TTL_SECONDS)
    except redis.RedisError:
        pass


def unwatch_run(classroom_id: int) -> None:
    try:
        redis_client().delete(_watch_key(classroom_id))
    except redis.RedisError:
        pass


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


def _token(name: str) -> str:
    """A token that changes whenever what `name` stands for changes ("" without Redis: always stale)."""
    try:
        client = redis_client()
        token = client.get(name)
        if token is None:
            client.set(name, uuid.uuid4().hex, ex=VERSION_TTL_SECONDS, nx=True)
            token = client.get(name)
        return token.decode() if token else ""
    except redis.RedisError:
        return ""


def _changed(name: str) -> None:
    """A random token rather than a counter, so a restarted Redis can never repeat one a screen holds."""

    def publish():
        try:
            redis_client().set(name, uuid.uuid4().hex, ex=VERSION_TTL_SECONDS)
        except redis.RedisError:
            pass

    transaction.on_commit(publish)


def results_token(poll_id: int) -> str:
    return _token(_results_key(poll_id))


def results_changed(poll_id: int) -> None:
    _changed(_results_key(poll_id))


def _members_key(classroom_id: int) -> str:
    return key(f"classroom:{classroom_id}:members")


def members_token(classroom_id: int) -> str:
    """Changes whenever someone joins: the instructor's member list asks with the one it has."""
    return _token(_members_key(classroom_id))


def members_changed(classroom_id: int) -> None:
    _changed(_members_key(classroom_id))


def _cached(full_name: str, build, *, dump, load, ttl: int, fresh: bool = False):
    """A value computed once for every screen that asks under the same name; computed afresh if Redis is away.

    fresh: build it now and keep that, whatever was kept before.
    """
    try:
        raw = None if fresh else redis_client().get(full_name)
    except redis.RedisError:
        return build()  # Redis is away: do not wait on it a second time to keep the value
    if raw is not None:
        return load(raw)
    value = build()  # once, even if Redis cannot keep it
    try:
        redis_client().set(full_name, dump(value), ex=ttl)
    except redis.RedisError:
        pass
    return value


def _dump_json(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def cached_results(poll_id: int, token: str, compute) -> dict:
    """The poll's results for this token, computed once and shared by every screen that asks."""
    if not token:
        return compute()
    return _cached(key(f"poll:{poll_id}:results:{token}"), compute, dump=_dump_json, load=json.loads,
                   ttl=RESULTS_TTL_SECONDS)


FRAGMENT_TTL_SECONDS = 300


def cached_fragment(name: str, build) -> str:
    """HTML that is the same for every screen (a presented run's charts), rendered once and shared."""
    return _cached(key(f"classroom:fragment:{name}"), lambda: str(build()), dump=str, load=bytes.decode,
                   ttl=FRAGMENT_TTL_SECONDS)


def cached_json(name: str, build, ttl: int = RESULTS_TTL_SECONDS, *, fresh: bool = False):
    """A JSON-able value computed once for every screen that asks with the same name."""
    return _cached(key(f"classroom:json:{name}"), build, dump=_dump_json, load=json.loads, ttl=ttl, fresh=fresh)


# --- Members' answers, so that a student's screen is rebuilt without the database ------------------
# A hash per poll: member id → [value, correct, stamp]; the field "_" says the hash is complete
# (written when the poll is created or reset, or refilled from the database after Redis forgot).

def _answers_key(poll_id: int) -> str:
    return key(f"poll:{poll_id}:answers")


def answers_opened(poll_id: int) -> None:
    def publish():
        try:
            pipe = redis_client().pipeline()
            pipe.delete(_answers_key(poll_id))
            pipe.hset(_answers_key(poll_id), "_", 1)
            pipe.expire(_answers_key(poll_id), VERSION_TTL_SECONDS)
            pipe.execute()
        except redis.RedisError:
            pass

    transaction.on_commit(publish)


def answer_saved(poll_id: int, member_id: int, value, correct, stamp: float) -> None:
    def publish():
        try:
            redis_client().hset(_answers_key(poll_id), str(member_id), json.dumps([value, correct, stamp]))
        except redis.RedisError:
            pass

    transaction.on_commit(publish)


def member_answer(poll_id: int, member_id: int, from_database):
    """(value, correct, stamp) of a member's answer, or None; from_database() gives every answer of the poll."""
    try:
        complete, raw = redis_client().hmget(_answers_key(poll_id), "_", str(member_id))
    except redis.RedisError:
        complete, raw = None, None
    if complete is not None:
        return tuple(json.loads(raw)) if raw is not None else None
    every = from_database()  # {member id: (value, correct, stamp)}
    try:
        pipe = redis_client().pipeline()
        for other, answer in every.items():
            # HSETNX: an answer saved since the database was read is newer; never overwrite it.
            pipe.hsetnx(_answers_key(poll_id), str(other), json.dumps(list(answer)))
        pipe.hset(_answers_key(poll_id), "_", 1)
        pipe.expire(_answers_key(poll_id), VERSION_TTL_SECONDS)
        pipe.execute()
    except redis.RedisError:
        pass
    return every.get(member_id)


def state_document(classroom_id: int, version: int, build) -> dict:
    """What every screen of the class shows at this version, built once from the database and shared.

    Built after the version was read, so it is never older than the version it is filed under.
    """
    return cached_json(f"classroom:{classroom_id}:state:{version}", build, ttl=FRAGMENT_TTL_SECONDS)
