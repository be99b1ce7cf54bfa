from django.urls import path

from . import views

app_name = "classroom"
urlpatterns = [
    # Instructors
    path("classes/", views.classroom_list, name="list"),
    path("classes/<int:classroom_id>/", views.console, name="console"),
    path("classes/<int:classroom_id>/projector", views.projector, name="projector"),
    path("classes/<int:classroom_id>/qr.svg", views.qr_svg, name="qr"),
    path("classes/<int:classroom_id>/members", views.members_live, name="members"),
    path("classes/<int:classroom_id>/open", views.classroom_open, name="open"),
    path("classes/<int:classroom_id>/polls/new/<str:source>", views.poll_new, name="poll_new"),
    path("classes/<int:classroom_id>/polls/<int:poll_id>/start-run", views.prediction_start, name="prediction_start"),
    path("classes/<int:classroom_id>/polls/<int:poll_id>/<slug:action>", views.poll_control, name="poll_control"),
    path("classes/<int:classroom_id>/present", views.present, name="present"),
    path("classes/<int:classroom_id>/step", views.replay_step, name="replay_step"),
    path("classes/<int:classroom_id>/sync", views.sync, name="sync"),
    path("classes/<int:classroom_id>/assignments/new", views.assignment_new, name="assignment_new"),
    path("classes/<int:classroom_id>/assignments/<int:assignment_id>/delete", views.assignment_delete,
         name="assignment_delete"),
    path("classes/<int:classroom_id>/assignments.csv", views.dashboard_csv, {"table": "assignments"},
         name="assignments_csv"),
    path("classes/<int:classroom_id>/dashboard", views.dashboard, name="dashboard"),
    path("classes/<int:classroom_id>/mastery.csv", views.dashboard_csv, {"table": "mastery"}, name="mastery_csv"),
    path("classes/<int:classroom_id>/polls.csv", views.dashboard_csv, {"table": "polls"}, name="polls_csv"),
    path("polls/<int:poll_id>/results", views.poll_results_view, name="poll_results"),
    # Students
    path("join/", views.join, name="join"),
    path("join/<str:code>/", views.join_code, name="join_code"),
    path("c/<str:code>/", views.room, name="room"),
    path("c/<str:code>/polls/<int:poll_id>/answer", views.answer, name="answer"),
    path("live", views.room_live, name="room_live"),
]
