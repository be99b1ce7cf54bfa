import sys

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
