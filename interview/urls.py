from django.urls import path

from . import views

app_name = "interview"
urlpatterns = [
    path("", views.script_list, name="script_list"),
    path("history/", views.history_page, name="history"),
    path("scripts/<slug:slug>/", views.script_detail, name="script_detail"),
    path("scripts/<slug:slug>/start", views.session_start, name="start"),
    path("sessions/<int:session_id>/", views.session_detail, name="session"),
    path("sessions/<int:session_id>/prompts/<int:number>/", views.prompt_page, name="prompt"),
    path("sessions/<int:session_id>/prompts/<int:number>/draft", views.draft_save, name="draft"),
    path("sessions/<int:session_id>/prompts/<int:number>/submit", views.answer_submit, name="submit"),
    path("sessions/<int:session_id>/prompts/<int:number>/assess", views.answer_assess, name="assess"),
    path("sessions/<int:session_id>/prompts/<int:number>/follow-up", views.follow_up_submit, name="follow_up"),
    path("sessions/<int:session_id>/finish", views.session_finish, name="finish"),
    path("sessions/<int:session_id>/report/", views.session_report_page, name="report"),
]
