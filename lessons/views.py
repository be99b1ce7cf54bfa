from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from playground.experiments import get_experiment

from .models import Lesson


@require_GET
def catalogue(request):
    return render(request, "lessons/catalogue.html", {"lessons": Lesson.objects.all()})


@require_GET
def lesson_detail(request, slug: str):
    lesson = get_object_or_404(Lesson, slug=slug)
    return render(
        request,
        "lessons/lesson_detail.html",
        {"lesson": lesson, "experiment": get_experiment(lesson.experiment_slug)},
    )
