import os

from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path

from . import metrics, views

urlpatterns = [
    path("", include("lessons.urls")),
    path("", include("playground.urls")),
    path("interview/", include("interview.urls")),
    path("", include("classroom.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"

if os.environ.get("BENCH_NOOP") == "1":
    # `make bench`'s ceiling: the whole middleware stack, then nothing.
    urlpatterns.append(path("bench/noop", lambda request: HttpResponse("ok"), name="bench_noop"))
