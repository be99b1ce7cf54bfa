import logging
import sys

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import health_report
from .middleware import database_busy_response, is_database_busy

logger = logging.getLogger(__name__)


@require_GET
@never_cache
def healthz(request):
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def error_page(request, code: int, title: str, message: str, *, retry_after: int | None = None) -> HttpResponse:
    """The readable page of every error status; `Retry-After` when waiting will help."""
    context = {"code": code, "title": title, "message": message, "retry_after": retry_after}
    try:
        response = render(request, "errors/error.html", context, status=code)
    except Exception:
        # The page itself needs the database (who is signed in); when that is
        # what failed, a plain page still beats a traceback or nothing.
        logger.exception("the %s page could not be rendered", code)
        response = HttpResponse(f"{code} {title}\n\n{message}\n", status=code, content_type="text/plain; charset=utf-8")
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def bad_request(request, exception=None):
    return error_page(request, 400, "Bad request", "The request could not be understood. Go back and try again.")


def permission_denied(request, exception=None):
    return error_page(request, 403, "Not yours", "You do not have access to this page.")


def page_not_found(request, exception=None):
    return error_page(request, 404, "Not found", "There is nothing at this address. It may have been mistyped or removed.")


def server_error(request):
    # Also reached when the database was busy outside a view (e.g. saving the session).
    if is_database_busy(sys.exc_info()[1]):
        return database_busy_response(request)
    return error_page(request, 500, "Something broke", "An unexpected error happened on our side. It has been logged.")


def too_many(request, *, title: str, message: str, retry_after: int):
    """429 with Retry-After and a page saying when to try again."""
    when = f"{retry_after // 60} minutes" if retry_after >= 120 else f"{retry_after} seconds"
    return error_page(request, 429, title, f"{message} Try again in {when}.", retry_after=retry_after)


def signin_locked_out(request, response=None, credentials=None):
    """django-axes' lockout page: the same readable 429 as every other limit."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return too_many(request, title="Too many wrong passwords",
                    message=f"Sign-in is paused for this account and this address for {minutes} minutes.",
                    retry_after=int(settings.AXES_COOLOFF_TIME.total_seconds()))
