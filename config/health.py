"""Is each moving part up? Used by /healthz and by pages that depend on them."""

from __future__ import annotations

import sqlite3

from django.db import connection, transaction

from playground.live import redis_client, workers_alive


def check_database() -> str | None:
    """None when the database can take a write now, else what is wrong.

    A read is not enough: a SQLite file locked by a long writer, or a PostgreSQL
    replica, answers SELECT 1 but loses every write.
    """
    try:
        if connection.vendor == "sqlite":
            _sqlite_can_write(connection.settings_dict["NAME"])
        else:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout = 2000")
                cursor.execute("SELECT txid_current()")  # needs a writable primary
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _sqlite_can_write(name: str) -> None:
    # Its own connection with a short busy timeout: the app's waits 20 s for a lock.
    db = sqlite3.connect(name, timeout=1, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
    finally:
        db.close()


def check_redis() -> str | None:
    try:
        redis_client().ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def check_workers() -> str | None:
    """From the workers' heartbeats in Redis: no broadcast ping, no waiting."""
    try:
        alive = workers_alive()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    if not alive:
        return "no Celery worker has beaten its heartbeat recently"
    return None


def health_report() -> dict:
    database = check_database()
    redis_error = check_redis()
    # Without Redis no worker can be reached; say so rather than wait for a ping.
    workers = check_workers() if redis_error is None else "unreachable while Redis is down"
    parts = {"database": database, "redis": redis_error, "workers": workers}
    return {
        "status": "ok" if not any(parts.values()) else "unavailable",
        "checks": {name: {"ok": error is None, **({"error": error} if error else {})} for name, error in parts.items()},
        "failing": [name for name, error in parts.items() if error],
    }
