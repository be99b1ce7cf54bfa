"""Is each moving part up? Used by /healthz and by pages that depend on them."""

from __future__ import annotations

from django.db import connection

from playground.live import redis_client


def check_database() -> str | None:
    """None when healthy, else what is wrong."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def check_redis() -> str | None:
    try:
        redis_client().ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def check_workers(timeout: float = 1.0) -> str | None:
    from django.conf import settings

    from config.celery import app

    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            replies = app.control.ping(timeout=timeout, connection=conn)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    if not replies:
        return "no Celery worker answered a ping"
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
