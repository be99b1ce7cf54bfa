from django.urls import path

from . import views

app_name = "playground"
urlpatterns = [
    path("experiments/<slug:slug>/", views.experiment_detail, name="experiment_detail"),
    path("runs/<uuid:run_id>/", views.run_detail, name="run_detail"),
    path("runs/<uuid:run_id>/status", views.run_status, name="run_status"),
    path("runs/<uuid:run_id>/frames", views.run_frames, name="run_frames"),
    path("runs/<uuid:run_id>/cancel", views.run_cancel_view, name="run_cancel"),
    path("runs/compare", views.run_compare, name="run_compare"),
]
