"""Whole pages rendered once, for visitors who have nothing of their own yet.

A first-time visitor (no session, no messages, no learner) sees the same catalogue,
lesson, quiz, experiment form or finished run as every other such visitor, but for
the CSRF token and a few one-off keys (a quiz answer's, a run's idempotency key).
Such a page is rendered once per key — which names the content version it was made
from — in each process, with slots where those per-visitor strings go; each request
fills the slots in. Anyone with a session, a learner or a query string we do not
know gets the view itself, as before.

The views give the key (`key(request, ...)` returns None to skip the cache); the
version in it is what invalidates: `lessons_version()` changes whenever a lesson or a
question is saved or deleted (a load of the files, the admin, a shell).
"""

from __future__ import annotations

import uuid
from functools import wraps
from typing import Callable, Hashable

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils.cache import patch_vary_headers

# Letters and underscores only: nothing an HTML escape or a JSON encoder changes.
CSRF_SLOT = "__pagecache_slot_csrf_token__"
KEY_SLOT = "__pagecache_slot_one_off_key__"
MAX_PAGES = 512

_pages: dict[Hashable, list[bytes]] = {}


@receiver(setting_changed)
def _forget_pages(**kwargs) -> None:
    """A page can show settings (a configured broker, a limit): changed settings (tests do it) start afresh."""
    _pages.clear()


def is_shared_render(request) -> bool:
    return getattr(request, "_pagecache_shared", False)


def csrf_token_for(request) -> str:
    """What to put where a CSRF token goes: the slot while rendering a shared page."""
    return CSRF_SLOT if is_shared_render(request) else get_token(request)


def one_off_key_for(request) -> str:
    """A fresh random key per rendered form (its double-submit guard); a slot in a shared page."""
    return KEY_SLOT if is_shared_render(request) else uuid.uuid4().hex


def csrf_slot(request) -> dict:
    """Context processor: {{ csrf_token }} and {% csrf_token %} leave a slot in a shared page.

    Configured context processors run after Django's built-in CSRF one, so this wins.
    """
    return {"csrf_token": CSRF_SLOT} if is_shared_render(request) else {}


def is_newcomer(request) -> bool:
    """Nobody we know: no session, no pending messages, no learner found by the CSRF cookie."""
    if request.method != "GET" or request.headers.get("HX-Request"):
        return False
    if settings.SESSION_COOKIE_NAME in request.COOKIES or "messages" in request.COOKIES:
        return False
    # Without a session cookie nobody is signed in (Django keeps who is in the session).
    from lessons.learners import anonymous_key
    from lessons.models import Learner

    key = anonymous_key(request)  # a learner outlives an expired session: found by the CSRF cookie
    if not key:
        return True
    # By hand: building this query with the ORM cost more than serving the whole page.
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT 1 FROM "{Learner._meta.db_table}" WHERE anonymous_key = %s AND user_id IS NULL', [key])
        return cursor.fetchone() is None


_CSRF = CSRF_SLOT.encode()
_KEY = KEY_SLOT.encode()


def _split(content: bytes) -> list[bytes]:
    """The page as [text, slot, text, slot, …, text], encoded once."""
    parts = [content]
    for slot in (_CSRF, _KEY):
        parts = [piece for part in parts for piece in _interleave(part.split(slot), slot)]
    return parts


def _interleave(pieces: list[bytes], slot: bytes) -> list[bytes]:
    out = [pieces[0]]
    for piece in pieces[1:]:
        out += [slot, piece]
    return out


def _fill(request, parts: list[bytes]) -> bytes:
    """The page with its slots filled in: one CSRF token for the page (as Django's own pages), a fresh key per form."""
    token = get_token(request).encode() if _CSRF in parts else b""
    return b"".join(token if part == _CSRF else uuid.uuid4().hex.encode() if part == _KEY else part for part in parts)


def shared_for_newcomers(key: Callable[..., Hashable | None]):
    """Serve a newcomer the page rendered once for `key(request, *args, **kwargs)` (None: not cacheable)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not is_newcomer(request):
                return view(request, *args, **kwargs)
            page_key = key(request, *args, **kwargs)
            if page_key is None:
                return view(request, *args, **kwargs)
            page_key = (view.__module__, view.__name__, request.scheme, request.get_host(), request.path, page_key)
            parts = _pages.get(page_key)
            if parts is None:
                request._pagecache_shared = True
                try:
                    response = view(request, *args, **kwargs)
                finally:
                    request._pagecache_shared = False
                if response.status_code != 200 or response.streaming or response.cookies:
                    # Not a page to share (an error, a redirect): the slots still get filled in.
                    if not response.streaming:
                        response.content = _fill(request, _split(response.content))
                    return response
                parts = _split(response.content)
                if len(_pages) >= MAX_PAGES:  # many versions or runs seen: start again
                    _pages.clear()
                _pages[page_key] = parts
            response = HttpResponse(_fill(request, parts))
            patch_vary_headers(response, ("Cookie",))
            return response

        return wrapper

    return decorator


def table_version(*models, active: tuple = ()) -> tuple:
    """One query: each table's newest update and row count, and the number of active rows of `active`.

    Any load of content saves every row (auto_now), so the newest update moves on every reload.
    """
    parts = [f'(SELECT MAX(updated_at) FROM "{m._meta.db_table}"), (SELECT COUNT(*) FROM "{m._meta.db_table}")'
             for m in models]
    parts += [f'(SELECT COUNT(*) FROM "{m._meta.db_table}" WHERE active)' for m in active]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        return tuple(cursor.fetchone())


def run_final_state(run_id) -> tuple | None:
    """(status, finished_at) of a run that has ended, else None: a finished run never changes again."""
    from playground.models import ExperimentRun

    with connection.cursor() as cursor:  # by hand, as above, and without the run's frames
        cursor.execute(f'SELECT status, finished_at FROM "{ExperimentRun._meta.db_table}" WHERE id = %s',
                       [ExperimentRun._meta.pk.get_db_prep_value(run_id, connection)])
        row = cursor.fetchone()
    return tuple(row) if row and row[0] in ExperimentRun.FINAL else None


def lessons_version() -> tuple:
    from lessons.models import Lesson, Question

    # Retiring questions is an UPDATE that leaves updated_at alone: their active count says it.
    return table_version(Lesson, Question, active=(Question,))
