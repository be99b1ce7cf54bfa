from django.contrib.auth.views import LogoutView
from django.urls import path

from . import views

app_name = "lessons"
urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("lessons/<slug:slug>/", views.lesson_detail, name="detail"),
    path("lessons/<slug:slug>/quiz/", views.quiz, name="quiz"),
    path("lessons/<slug:slug>/quiz/export.csv", views.quiz_export, {"fmt": "csv"}, name="quiz_export_csv"),
    path("lessons/<slug:slug>/quiz/export.apkg", views.quiz_export, {"fmt": "apkg"}, name="quiz_export_apkg"),
    path("questions/<slug:key>/answer", views.question_answer, name="question_answer"),
    path("review/", views.review, name="review"),
    path("review/export.csv", views.review_export, {"fmt": "csv"}, name="review_export_csv"),
    path("review/export.apkg", views.review_export, {"fmt": "apkg"}, name="review_export_apkg"),
    path("progress/", views.progress, name="progress"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(next_page="/"), name="logout"),
]
