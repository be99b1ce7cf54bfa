import sys

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import health_report
from .middleware import database_busy_response, is_database_busy


@require_GET
@never_cache
def healthz(request):
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def bad_request(request, exception=None):
    return render(request, "errors/error.html", {"code": 400, "title": "Bad request",
        "message": "The request could not be understood. Go back and try again."}, status=400)


def permission_denied(request, exception=None):
    return render(request, "errors/error.html", {"code": 403, "title": "Not yours",
        "message": "You do not have access to this page."}, status=403)


def page_not_found(request, exception=None):
    return render(request, "errors/error.html", {"code": 404, "title": "Not found",
        "message": "There is nothing at this address. It may have been mistyped or removed."}, status=404)


def server_error(request):
    # Also reached when the database was busy outside a view (e.g. saving the session).
    if is_database_busy(sys.exc_info()[1]):
        return database_busy_response(request)
    return render(request, "errors/error.html", {"code": 500, "title": "Something broke",
        "message": "An unexpected error happened on our side. It has been logged."}, status=500)


def too_many(request, *, title: str, message: str, retry_after: int):
    """429 with Retry-After and a page saying when to try again."""
    when = f"{retry_after // 60} minutes" if retry_after >= 120 else f"{retry_after} seconds"
    response = render(request, "errors/error.html", {"code": 429, "title": title,
                      "message": f"{message} Try again in {when}."}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def signin_locked_out(request, response=None, credentials=None):
    """django-axes' lockout page: the same readable 429 as every other limit."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return too_many(request, title="Too many wrong passwords",
                    message=f"Sign-in is paused for this account and this address for {minutes} minutes.",
                    retry_after=int(settings.AXES_COOLOFF_TIME.total_seconds()))
