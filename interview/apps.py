from django.apps import AppConfig


class InterviewConfig(AppConfig):
    name = "interview"
    default_auto_field = "django.db.models.BigAutoField"
