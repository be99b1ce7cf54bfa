import logging
import sys

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


def too_many_requests(request, exception=None, *, retry_after: int = 60, message: str = ""):
    """429, for rate limits (e.g. django-ratelimit's RATELIMIT_VIEW)."""
    return error_page(request, 429, "Slow down", message or "Too many requests in a short time. Wait a moment, then try again.",
                      retry_after=retry_after)


def service_unavailable(request, exception=None, *, retry_after: int = 30, message: str = ""):
    """503, for a part of the system that is busy or down (a locked database, a full queue)."""
    return error_page(request, 503, "Busy right now", message or "The server is busy for a moment. Nothing you sent was lost; try again shortly.",
                      retry_after=retry_after)
