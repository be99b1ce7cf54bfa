"""Whole pages rendered once, and only what is the visitor's own rendered per request.

A first-time visitor (no session, no messages, no learner) sees the same catalogue,
lesson, quiz, experiment form or finished run as every other such visitor, but for
the CSRF token and a few one-off keys (a quiz answer's, a run's idempotency key).
Such a page is rendered once per key — which names the content version it was made
from — in each process, with slots where those per-visitor strings go; each request
fills the slots in.

A returning learner's page differs from it only in a few marked parts (`{% personal %}`
in the templates: their score on a quiz, their runs, their name in the header). A view
that says how to render those (`personal=`) serves learners the same shared page with
those parts rendered for them, per request; the shared page itself is always rendered
as if by a newcomer, whoever asked first, so nothing of anyone's own is ever in it.
Views without `personal=`, a query string we do not know, htmx requests and anything
but GET get the view itself, as before.

The views give the key (`key(request, ...)` returns None to skip the cache); the
version in it is what invalidates: `lessons_version()` changes whenever a lesson or a
question is saved or deleted (a load of the files, the admin, a shell).
"""

from __future__ import annotations

import copy
import re
import threading
import time
import uuid
from functools import wraps
from importlib import import_module
from typing import Callable, Hashable

from django.conf import settings
from django.contrib.auth.context_processors import PermWrapper
from django.contrib.auth.models import AnonymousUser
from django.core.signals import request_finished, request_started, setting_changed
from django.db.models.signals import post_delete, post_save
from django.db import connection
from django.dispatch import receiver
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers

# Letters, digits and underscores only: nothing an HTML escape or a JSON encoder changes.
CSRF_SLOT = "__pagecache_slot_csrf_token__"
KEY_SLOT = "__pagecache_slot_one_off_key__"
PERSONAL_START = "__pagecache_personal_{}__"
PERSONAL_END = "__pagecache_personal_end__"
MAX_PAGES = 512

_pages: dict[Hashable, list] = {}


@receiver(setting_changed)
def _forget_pages(**kwargs) -> None:
    """A page can show settings (a configured broker, a limit): changed settings (tests do it) start afresh."""
    _pages.clear()
    _by_version.clear()
    _by_visitor.clear()


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


def is_newcomer(request, *, learners_matter: bool = True) -> bool:
    """Nobody we know: no session, no pending messages, no learner found by the CSRF cookie.

    With learners_matter=False (a page that shows nobody anything of their own but the header), a learner
    without a session is a newcomer too: nobody is signed in without one, and their page would be the same.
    """
    if settings.SESSION_COOKIE_NAME in request.COOKIES or "messages" in request.COOKIES:
        return False
    if not learners_matter:
        return True
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


def as_newcomer(request):
    """The same request as a stranger would send it: no cookies, no session, nobody signed in.

    The shared page is rendered from this, so that a learner who happens to ask first
    leaves nothing of their own in what everyone else is served.
    """
    stranger = copy.copy(request)
    stranger.__dict__.pop("_anonymous_learner", None)  # whoever this request's learner is, not theirs
    stranger.COOKIES = {}
    stranger.META = {name: value for name, value in request.META.items()
                     if name not in ("HTTP_COOKIE", "CSRF_COOKIE", "CSRF_COOKIE_NEEDS_UPDATE")}
    stranger.session = import_module(settings.SESSION_ENGINE).SessionStore()
    stranger.user = AnonymousUser()
    stranger._messages = []
    return stranger


_CSRF = CSRF_SLOT.encode()
_KEY = KEY_SLOT.encode()
# A part's name never holds "__", so an empty part's start mark cannot swallow its end mark.
PERSONAL_NAME = r"[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*"
_PERSONAL = re.compile(PERSONAL_START.format(f"({PERSONAL_NAME})").encode() + b"(.*?)" + PERSONAL_END.encode(),
                       re.S)


def _split(content: bytes) -> list:
    """The page as [text, slot, text, (name, [the newcomer's part]), …], encoded once."""
    parts: list = []
    at = 0
    for match in _PERSONAL.finditer(content):
        parts += _split_slots(content[at:match.start()])
        parts.append((match.group(1).decode(), _split_slots(match.group(2))))
        at = match.end()
    return parts + _split_slots(content[at:])


def _split_slots(content: bytes) -> list[bytes]:
    parts = [content]
    for slot in (_CSRF, _KEY):
        parts = [piece for part in parts for piece in _interleave(part.split(slot), slot)]
    return parts


def _interleave(pieces: list[bytes], slot: bytes) -> list[bytes]:
    out = [pieces[0]]
    for piece in pieces[1:]:
        out += [slot, piece]
    return out


def _fill(request, parts: list, personal: dict[str, str]) -> bytes:
    """The page with its slots filled in: one CSRF token for the page (as Django's own pages), a fresh key
    per form, and each personal part this visitor has rendered for them (else the newcomer's)."""
    token = b""
    out = []
    for part in parts:
        if isinstance(part, tuple):
            name, default = part
            if name in personal:
                out.append(personal[name].encode())
                continue
            pieces = default
        else:
            pieces = (part,)
        for piece in pieces:
            if piece == _CSRF:
                token = token or get_token(request).encode()
                out.append(token)
            elif piece == _KEY:
                out.append(uuid.uuid4().hex.encode())
            else:
                out.append(piece)
    return b"".join(out)


def header_parts(request) -> dict[str, str]:
    """The header's own parts: a signed-in user's name, sign-out form and (instructors) their classes."""
    if not request.user.is_authenticated:
        return {}
    context = {"user": request.user, "perms": PermWrapper(request.user), "csrf_token": get_token(request)}
    return {name: render_to_string(f"base.html#{name}", context) for name in ("account", "classes_link")}


def nothing_personal(request, *args, **kwargs) -> dict[str, str]:
    """For a page that shows a learner nothing of their own but the header."""
    return {}


def shared_page(key: Callable[..., Hashable | None], *, personal: Callable[..., dict[str, str] | None] | None = None):
    """Serve the page rendered once for `key(request, *args, **kwargs)` (None: not cacheable).

    Newcomers get it as it is. Anyone else gets it with the parts `personal(request, *args, **kwargs)`
    renders for them (None from it: the view itself), or, without `personal`, the view itself.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method != "GET" or request.headers.get("HX-Request"):
                return view(request, *args, **kwargs)
            newcomer = is_newcomer(request, learners_matter=personal is not nothing_personal)
            if not newcomer and (personal is None or "messages" in request.COOKIES):
                return view(request, *args, **kwargs)
            page_key = key(request, *args, **kwargs)
            if page_key is None:
                return view(request, *args, **kwargs)
            page_key = (view.__module__, view.__name__, request.scheme, request.get_host(), request.path, page_key)
            parts = _pages.get(page_key)
            if parts is None:
                stranger = request if newcomer else as_newcomer(request)
                stranger._pagecache_shared = True
                try:
                    response = view(stranger, *args, **kwargs)
                finally:
                    stranger._pagecache_shared = False
                if response.status_code != 200 or response.streaming or response.cookies:
                    # Not a page to share (an error, a redirect): the slots still get filled in.
                    if not newcomer:
                        return view(request, *args, **kwargs)
                    if not response.streaming:
                        response.content = _fill(request, _split(response.content), {})
                    return response
                parts = _split(response.content)
                if len(_pages) >= MAX_PAGES:  # many versions or runs seen: start again
                    _pages.clear()
                _pages[page_key] = parts
            if newcomer:
                own = {}
            else:
                own = personal(request, *args, **kwargs)
                if own is None:
                    return view(request, *args, **kwargs)
                own = {**header_parts(request), **own}
            response = HttpResponse(_fill(request, parts, own))
            patch_vary_headers(response, ("Cookie",))
            return response

        return wrapper

    return decorator


def table_version(*models, retired: tuple = ()) -> tuple:
    """One query: each table's newest update and row count, and the number of retired (inactive) rows of `retired`.

    Any load of content saves every row (auto_now), so the newest update moves on every reload; retiring rows
    is an UPDATE that leaves it alone, so their count says it. Every page asks, so each part is an index lookup
    (updated_at and active are indexed; the few retired rows, not the many active ones, are counted).
    (Scalar subqueries: in SQLite they cost less than one pass over each table through derived tables.)
    """
    parts = [f'(SELECT MAX(updated_at) FROM "{m._meta.db_table}"), (SELECT COUNT(*) FROM "{m._meta.db_table}")'
             for m in models]
    parts += [f'(SELECT COUNT(*) FROM "{m._meta.db_table}" WHERE active = false)' for m in retired]
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


_by_version: dict[Hashable, tuple] = {}


def _remembered(store: dict, key: Hashable, version: Hashable, compute: Callable[[], object], *, cap: int):
    """`compute()`'s value kept in `store` under `key` while `version` stays; a full store starts again."""
    seen = store.get(key)
    if seen is not None and seen[0] == version:
        return seen[1]
    value = compute()
    if len(store) >= cap:
        store.clear()
    store[key] = (version, value)
    return value


def per_content_version(key: Hashable, compute: Callable[[], object]):
    """What `compute()` gives from the lessons and quizzes alone (nothing of anyone's), once per content version."""
    return _remembered(_by_version, key, lessons_version(), compute, cap=MAX_PAGES)


# The content version asked for once per request (a page's key, its lessons, its quiz all ask): kept on the
# thread from request_started to request_finished only, and forgotten when a lesson or question is saved meanwhile.
_this_request = threading.local()


@receiver(request_started)
def _request_starts(**kwargs) -> None:
    _this_request.lessons_version = None
    _this_request.active = True


@receiver(request_finished)
def _request_ends(**kwargs) -> None:
    _this_request.lessons_version = None
    _this_request.active = False


@receiver(post_save)
@receiver(post_delete)
def _content_saved(sender, **kwargs) -> None:
    if sender._meta.label in ("lessons.Lesson", "lessons.Question"):
        _this_request.lessons_version = None


def lessons_version() -> tuple:
    if getattr(_this_request, "active", False) and _this_request.lessons_version is not None:
        return _this_request.lessons_version
    from lessons.models import Lesson, Question

    version = table_version(Lesson, Question, retired=(Question,))
    if getattr(_this_request, "active", False):
        _this_request.lessons_version = version
    return version


_by_visitor: dict[Hashable, tuple] = {}
# Parts that say how long ago something was ("3 minutes ago") or what is due now are kept a minute at most.
VISITOR_PART_SECONDS = 60


def per_visitor(visitor: Hashable, key: Hashable, version: Hashable, compute: Callable[[], object]):
    """What `compute()` gives for one visitor (their learner id, session, user: `visitor`), once per `version`.

    The version is read from the visitor's own rows on every request (a count and the newest of what they wrote),
    so any write of theirs, by whatever path, changes it at once; the content version and the minute are in it
    too. Kept per process, under the visitor's own identity: never served to anyone else.
    """
    version = (version, lessons_version(), int(time.time() // VISITOR_PART_SECONDS))
    return _remembered(_by_visitor, (visitor, key), version, compute, cap=4 * MAX_PAGES)
