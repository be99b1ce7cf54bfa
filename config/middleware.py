import logging
import re
import uuid

from django.conf import settings
from django.db import OperationalError
from django.shortcuts import render

from .logging import request_id_var

logger = logging.getLogger(__name__)

# Accept an upstream proxy's id only if it looks like one, so that log lines
# cannot be forged through the header.
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request.id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.id
        return response


# What "the database is busy, not broken" looks like: SQLite's lock wait ran out,
# or PostgreSQL's lock_timeout / statement_timeout did.
_BUSY_MESSAGES = ("database is locked", "database table is locked", "lock timeout", "statement timeout")

def is_database_busy(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError) and any(m in str(exc).lower() for m in _BUSY_MESSAGES)


def database_busy_response(request):
    """503 with Retry-After: the browser (static/js/retry.js for htmx) sends the same request again."""
    seconds = settings.DATABASE_BUSY_RETRY_AFTER_SECONDS
    response = render(request, "errors/error.html", {
        "code": 503, "title": "Busy, try again in a moment",
        "message": f"The database is busy with a long write. Nothing you sent was saved; "
                   f"send it again in {seconds} seconds (answers and drafts on this page are re-sent for you).",
    }, status=503)
    response["Retry-After"] = str(seconds)
    return response


class DatabaseBusyMiddleware:
    """A database locked for longer than its timeout is a readable 503, not a 500 with a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_busy(exception):
            return None
        logger.warning("database busy; answered 503", extra={"path": request.path, "error": str(exception)})
        return database_busy_response(request)


class PermissionsPolicyMiddleware:
    """The browser features no page of ours uses are switched off for all of them."""

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.policy = settings.PERMISSIONS_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.policy)
        return response
