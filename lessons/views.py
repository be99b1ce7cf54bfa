import hashlib
import json
import uuid
from datetime import datetime, timezone

from django import forms
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.views import LoginView
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.pagecache import (CSRF_SLOT, KEY_SLOT, csrf_token_for, lessons_version, nothing_personal, one_off_key_for,
                              per_content_version, per_visitor, shared_page)
from playground.experiments import get_experiment

from .export import questions_to_apkg, questions_to_csv
from .grading import AnswerForm
from .learners import SESSION_KEY, learner_adopt_anonymous, learner_for_request
from .models import Lesson, Question
from .review import answer_record, answers_version, interview_days_left, mastery_by_topic, next_due, quiz_summary, review_queue


def _content_page_key(request, *args, **kwargs):
    """A page that shows only lesson content to a newcomer: one per content version."""
    return None if request.GET else lessons_version()


def _learners_parts(request, key, compute) -> dict[str, str]:
    """`compute(learner)`'s parts for the request's learner, kept until they answer again; none for nobody."""
    learner = learner_for_request(request, create=False)
    if learner is None:
        return {}
    return per_visitor(("learner", learner.id), key, answers_version(learner), lambda: compute(learner))


def _catalogue_personal(request) -> dict[str, str]:
    """A learner's progress on each lesson they have started (the others say "Not started" to everyone)."""
    return _learners_parts(request, "catalogue", lambda learner: {
        f"progress_{row.lesson.id}": render_to_string("lessons/catalogue.html#progress", {"lesson": {
            "progress": row, "question_count": row.questions}}) for row in mastery_by_topic(learner) if row.seen})


@require_GET
@shared_page(_content_page_key, personal=_catalogue_personal)
def catalogue(request):
    # An aggregate drops Meta.ordering, hence the explicit order_by; the bodies are most
    # of each row and the catalogue shows none of them.
    lessons = list(Lesson.objects.defer("body_markdown", "body_html")
                   .annotate(question_count=Count("questions", filter=Q(questions__active=True)))
                   .order_by("order", "slug"))
    learner = learner_for_request(request, create=False)
    mastery = {row.lesson.id: row for row in mastery_by_topic(learner)} if learner else {}
    for lesson in lessons:
        lesson.experiment = get_experiment(lesson.experiment_slug)
        lesson.progress = mastery.get(lesson.id)
    return render(request, "lessons/catalogue.html", {"lessons": lessons})


@require_GET
@shared_page(_content_page_key, personal=nothing_personal)
def lesson_detail(request, slug: str):
    lesson = get_object_or_404(Lesson, slug=slug)
    return render(request, "lessons/lesson_detail.html", {
        "lesson": lesson,
        "experiment": get_experiment(lesson.experiment_slug),
        "question_count": lesson.questions.filter(active=True).count(),
    })


def _question_context(request, question, *, form=None, result=None, source="quiz"):
    return {
        "question": question,
        "form": form or AnswerForm(question),
        "result": result,
        "source": source,
        "answer_key": uuid.uuid4().hex,
    }


# A blank question's HTML is the same for every visitor but its CSRF token and answer key,
# and building its form widgets is most of a quiz page's cost: render it once per content
# version (the fingerprint below) in each process, with placeholders filled in per request.
_blank_questions: dict[tuple[int, str], str] = {}


def _blank_question_html(request, question: Question) -> str:
    fingerprint = hashlib.sha256(json.dumps(
        [question.key, question.kind, question.prompt, question.data], sort_keys=True, default=str,
    ).encode()).hexdigest()
    html = _blank_questions.get((question.pk, fingerprint))
    if html is None:
        html = render_to_string("lessons/quiz.html#question", {
            "question": question, "form": AnswerForm(question), "result": None, "source": "quiz",
            "answer_key": KEY_SLOT, "csrf_token": CSRF_SLOT,
        })
        if len(_blank_questions) > 4096:  # content reloaded many times: start again
            _blank_questions.clear()
        _blank_questions[(question.pk, fingerprint)] = html
    return mark_safe(html.replace(CSRF_SLOT, csrf_token_for(request)).replace(KEY_SLOT, one_off_key_for(request)))


def _quiz_personal(request, slug: str) -> dict[str, str]:
    """A learner's score on this quiz; the questions themselves are the same for everyone."""
    return _learners_parts(request, ("quiz", slug), lambda learner: _quiz_summary_part(learner, slug))


def _quiz_summary_part(learner, slug: str) -> dict[str, str]:
    lesson = per_content_version(("lesson", slug), lambda: Lesson.objects.defer("body_markdown", "body_html")
                                 .filter(slug=slug).first())
    if lesson is None:
        return {}
    summary = quiz_summary(learner, lesson)
    if not summary.answered:
        return {}
    return {"summary": render_to_string("lessons/quiz.html#summary", {
        "lesson": lesson, "summary": summary, "experiment": get_experiment(lesson.experiment_slug)})}


@require_GET
@shared_page(_content_page_key, personal=_quiz_personal)
def quiz(request, slug: str):
    lesson = get_object_or_404(Lesson, slug=slug)
    answered = _answered_result(request)
    questions = []
    for q in lesson.questions.filter(active=True):
        if answered and answered["question"] == q:
            questions.append(_question_context(request, q, result=answered))
        else:
            questions.append({"html": _blank_question_html(request, q)})
    return render(request, "lessons/quiz.html", {"lesson": lesson, "questions": questions,
                                                 **_summary_context(request, lesson)})


def _summary_context(request, lesson: Lesson) -> dict:
    return {"lesson": lesson, "summary": quiz_summary(learner_for_request(request, create=False), lesson),
            "experiment": get_experiment(lesson.experiment_slug)}


class SourceForm(forms.Form):
    source = forms.ChoiceField(choices=[("quiz", "quiz"), ("review", "review")])
    # One per rendered question: the same answer posted twice is recorded once.
    answer_key = forms.RegexField(regex=r"^[0-9a-f]{32}$", required=False)


@require_POST
def question_answer(request, key: str):
    """Grade one answer. htmx swaps the question's partial; without JavaScript
    the learner is redirected back (POST/redirect/GET) to see the result."""
    question = get_object_or_404(Question, key=key, active=True)
    source_form = SourceForm(request.POST)
    learner = learner_for_request(request)
    form = AnswerForm(question, request.POST)
    if not source_form.is_valid() or not form.is_valid():
        # Only a tampered or blank submission gets here: the form offers nothing else.
        context = _question_context(request, question, form=form, source=source_form.data.get("source", "quiz"))
        template = "lessons/quiz.html#question" if request.htmx else "lessons/question_page.html"
        return render(request, template, context, status=400)
    result = answer_record(learner=learner, question=question, answer=form.answer,
                           idempotency_key=source_form.cleaned_data["answer_key"] or None)
    source = source_form.cleaned_data["source"]
    if request.htmx:
        # Out of band, the part of the page that counts answers follows this one.
        if source == "review":
            extra = render_to_string("lessons/review.html#queue-count",
                                     {"queue": review_queue(learner), "oob": True}, request)
        else:
            extra = render_to_string("lessons/quiz.html#summary",
                                     {**_summary_context(request, question.lesson), "oob": True}, request)
        response = render(request, "lessons/quiz.html#question",
                          _question_context(request, question, form=form, result=result, source=source))
        response.content += extra.encode()
        return response
    request.session["last_result"] = {"key": key, "correct": result.correct, "expected": result.expected}
    if source == "review":
        return redirect(reverse("lessons:review") + f"?answered={key}")
    return redirect(reverse("lessons:quiz", args=[question.lesson.slug]) + f"?answered={key}#q-{key}")


class InterviewDateForm(forms.Form):
    # A date input only shows a value written as ISO YYYY-MM-DD, whatever the locale.
    interview_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                     help_text="The queue makes sure every topic you have practised comes up before it.")

    def clean_interview_date(self):
        value = self.cleaned_data["interview_date"]
        if value and value < datetime.now(timezone.utc).date():
            raise forms.ValidationError("Pick today or a day in the future.")
        return value


@require_http_methods(["GET", "POST"])
def review(request):
    learner = learner_for_request(request, create=request.method == "POST")
    status = 200
    if request.method == "POST":
        date_form = InterviewDateForm(request.POST)
        if date_form.is_valid():
            learner.interview_date = date_form.cleaned_data["interview_date"]
            learner.save(update_fields=["interview_date"])
            return redirect("lessons:review")
        status = 400
    else:
        date_form = InterviewDateForm(initial={"interview_date": learner.interview_date if learner else None})
    now = datetime.now(timezone.utc)
    queue = review_queue(learner, now) if learner else []
    answered = _answered_result(request)
    current = None
    if queue:
        item = queue[0]
        current = {**_question_context(request, item.card.question, source="review"), "reason": item.reason}
    return render(request, "lessons/review.html", {
        "queue": queue,
        "current": current,
        "answered": answered,
        "date_form": date_form,
        "days_left": interview_days_left(learner, now.date()) if learner else None,
        "seen_any": bool(learner and learner.cards.exists()),
        "next_due": next_due(learner) if learner else None,
    }, status=status)


def _answered_result(request):
    """The result of the answer just posted without JavaScript, if it is the one asked about."""
    key = request.GET.get("answered")
    last = request.session.get("last_result")
    if key and last and last["key"] == key:
        question = Question.objects.filter(key=key).first()
        return {"question": question, **last} if question else None
    return None


@require_GET
def progress(request):
    rows = mastery_by_topic(learner_for_request(request, create=False))
    figure = {
        "data": [{
            "type": "bar", "orientation": "h",
            "y": [row.lesson.title for row in rows], "x": [round(row.mastery * 100) for row in rows],
            "marker": {"color": "#2563eb"}, "hovertemplate": "%{y}: %{x}%<extra></extra>",
        }],
        "layout": {
            "title": {"text": "Mastery per topic (%)"},
            "xaxis": {"range": [0, 100], "title": {"text": "mastery (%)"}},
            "yaxis": {"autorange": "reversed", "automargin": True},
            "margin": {"t": 48, "r": 16, "b": 48, "l": 16}, "height": 80 + 28 * len(rows),
        },
    }
    return render(request, "lessons/progress.html", {"rows": rows, "figure": figure,
                                                     "any_seen": any(row.seen for row in rows)})


def _download(content, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def quiz_export(request, slug: str, fmt: str):
    lesson = get_object_or_404(Lesson, slug=slug)
    questions = lesson.questions.filter(active=True).select_related("lesson")
    if fmt == "csv":
        return _download(questions_to_csv(questions), f"{slug}.csv", "text/csv; charset=utf-8")
    return _download(questions_to_apkg(questions, f"Consistency Lab — {lesson.title}"), f"{slug}.apkg",
                     "application/octet-stream")


@require_GET
def review_export(request, fmt: str):
    learner = learner_for_request(request, create=False)
    queue = review_queue(learner) if learner else []
    questions = [item.card.question for item in queue]
    if fmt == "csv":
        return _download(questions_to_csv(questions), "due-cards.csv", "text/csv; charset=utf-8")
    return _download(questions_to_apkg(questions, "Consistency Lab — due cards"), "due-cards.apkg",
                     "application/octet-stream")


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.method == "POST":
        form = UserCreationForm(request.POST)
        if form.is_valid():
            anonymous_id = request.session.get(SESSION_KEY)
            try:
                with transaction.atomic():
                    user = form.save()
            except IntegrityError:  # someone took the name between the check and the insert
                form.add_error("username", User._meta.get_field("username").error_messages["unique"])
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                learner_adopt_anonymous(user=user, anonymous_id=anonymous_id)
                return redirect("lessons:progress")
    else:
        form = UserCreationForm()
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


class SignInView(LoginView):
    """Django's login, then the anonymous session's progress joins the account."""

    def form_valid(self, form):
        anonymous_id = self.request.session.get(SESSION_KEY)
        response = super().form_valid(form)
        learner_adopt_anonymous(user=form.get_user(), anonymous_id=anonymous_id)
        return response
