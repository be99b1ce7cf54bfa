import uuid

from django.db import connection
from django.db.models import Count, Q, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from config.pagecache import shared_page, table_version
from lessons.learners import learner_for_request
from lessons.models import Lesson

from .forms import AnswerForm, DraftForm, FollowUpForm, SelfAssessmentForm, StartForm
from .models import FollowUpAnswer, InterviewPrompt, InterviewScript, PracticeSession, PromptAnswer
from .report import assessment_rows, history, session_report
from .scoring import evidence_parts, highlight_segments
from .services import (
    SessionStateError,
    follow_up_answer_submit,
    practice_session_current_number,
    practice_session_finish,
    practice_session_start,
    prompt_answer_assess,
    prompt_answer_open,
    prompt_answer_save_draft,
    prompt_answer_submit,
)


def _get_session_for_learner(request, session_id: int) -> PracticeSession:
    """The session, if it is the requester's; anyone else's is a 404, never a 403 that confirms it exists."""
    learner = learner_for_request(request, create=False)
    if learner is None:
        raise Http404("No such session")
    return get_object_or_404(PracticeSession.objects.select_related("script"), id=session_id, learner=learner)


def _get_answer(session: PracticeSession, number: int) -> PromptAnswer:
    if number not in session.prompt_numbers:
        raise Http404("No such prompt")
    return get_object_or_404(session.answers.select_related("prompt"), number=number)


def _script_list_key(request):
    """A newcomer has no best scores: the list is one per version of the scripts (and the lesson titles)."""
    if request.GET:
        return None
    return table_version(InterviewScript, Lesson, retired=(InterviewScript, InterviewPrompt))


def _best_scores(learner) -> dict[int, int]:
    best: dict[int, int] = {}
    if learner is None:
        return best
    # By hand: the list is on every learner's way, and the ORM's query cost ten times running it.
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT script_id, score FROM "{PracticeSession._meta.db_table}" WHERE learner_id = %s AND status = %s',
                       [learner.id, PracticeSession.Status.FINISHED])
        for script_id, score in cursor.fetchall():
            best[script_id] = max(best.get(script_id, 0), score or 0)
    return best


def _script_list_personal(request) -> dict[str, str]:
    """A learner's best score on each script they finished."""
    return {f"best_{script_id}": render_to_string("interview/script_list.html#best", {"script": {"best_score": score}})
            for script_id, score in _best_scores(learner_for_request(request, create=False)).items()}


@require_GET
@shared_page(_script_list_key, personal=_script_list_personal)
def script_list(request):
    learner = learner_for_request(request, create=False)
    scripts = list(InterviewScript.objects.filter(active=True).annotate(
        prompt_count=Count("prompts", filter=Q(prompts__active=True)),
        minutes=Sum("prompts__minutes", filter=Q(prompts__active=True)),
    ))
    best = _best_scores(learner)
    titles = dict(Lesson.objects.values_list("slug", "title"))
    for script in scripts:
        script.best_score = best.get(script.id)
        script.topic_titles = [titles.get(topic, topic) for topic in script.topics]
    return render(request, "interview/script_list.html", {"scripts": scripts})


@require_GET
def script_detail(request, slug: str):
    script = get_object_or_404(InterviewScript, slug=slug, active=True)
    learner = learner_for_request(request, create=False)
    prompts = list(script.active_prompts())
    return render(request, "interview/script_detail.html", {
        "script": script,
        "prompts": prompts,
        "minutes": sum(p.minutes for p in prompts),
        "lessons": Lesson.objects.filter(slug__in=script.topics),
        "sessions": PracticeSession.objects.filter(learner=learner, script=script) if learner else [],
        "start_key": uuid.uuid4().hex,
    })


@require_POST
def session_start(request, slug: str):
    """Start (or retry) a script: always a new session, so past attempts stay as they were."""
    script = get_object_or_404(InterviewScript, slug=slug, active=True)
    form = StartForm(request.POST)
    if not form.is_valid():
        return render(request, "errors/error.html", {"code": 400, "title": "Start again",
                      "message": "That start button was malformed. Reload the page and press it again."}, status=400)
    try:
        session = practice_session_start(learner=learner_for_request(request), script=script,
                                         start_key=form.cleaned_data["start_key"] or None)
    except SessionStateError:
        raise Http404("This script has no prompts") from None
    return redirect(session)


@require_GET
def session_detail(request, session_id: int):
    """Where a session stands: its current prompt, or its report once finished."""
    session = _get_session_for_learner(request, session_id)
    if session.status == PracticeSession.Status.FINISHED:
        return redirect("interview:report", session.id)
    number = practice_session_current_number(session) or session.prompt_numbers[-1]
    return redirect("interview:prompt", session.id, number)


def _follow_up_context(session, answer, form=None) -> dict:
    """The follow-up box: its question, clock and form until answered (while the interview lasts),
    then the reply's verdict."""
    follow_up = FollowUpAnswer.objects.filter(answer=answer).first()
    if follow_up is None:
        return {"follow_up_answer": None}
    context = {"follow_up_answer": follow_up,
               "follow_up_closed": not follow_up.submitted and session.status == PracticeSession.Status.FINISHED}
    if follow_up.submitted:
        context["follow_up_evidence"] = evidence_parts(follow_up.text, follow_up.result)
    elif not context["follow_up_closed"]:
        remaining = (follow_up.deadline - timezone.now()).total_seconds()
        context.update({"follow_up_form": form or FollowUpForm(), "follow_up_remaining": max(0, int(remaining)),
                        "follow_up_overtime": max(0, int(-remaining))})
    return context


def _prompt_context(session, answer, *, answer_form=None, assessment_form=None, follow_up_form=None) -> dict:
    now = timezone.now()
    context = {
        "session": session,
        "answer": answer,
        "prompt": answer.prompt,
        "position": session.prompt_numbers.index(answer.number) + 1,
        "count": len(session.prompt_numbers),
        "saved_at": answer.draft_saved_at,
    }
    if not answer.submitted:
        remaining = (answer.deadline - now).total_seconds()
        context.update({
            "answer_form": answer_form or AnswerForm(initial={"text": answer.draft_text}),
            "remaining_seconds": max(0, int(remaining)),
            "overtime_seconds": max(0, int(-remaining)),
        })
        return context
    items = answer.results.get("items", [])
    model = answer.results.get("model") or {}
    assessment_form = assessment_form or SelfAssessmentForm(
        answer.prompt.rubric, initial={f"item-{k}": v for k, v in answer.self_assessment.items()})
    rows = {row["item"]["id"]: row for row in assessment_rows(answer)}
    position = context["position"]
    context.update({
        "items": [{**item, "evidence": evidence_parts(answer.final_text, item),
                   "model": model.get("items", {}).get(item["id"])} for item in items],
        "model_grader": model,
        "segments": highlight_segments(answer.final_text, items),
        "follow_up": answer.results.get("follow_up"),
        **_follow_up_context(session, answer, follow_up_form),
        "over_time": (answer.seconds_used or 0) > answer.prompt.minutes * 60,
        "assessment_form": assessment_form,
        # One row per rubric item the learner can rate; an item added to the script later has no verdict.
        "assessment_table": [{"item": item, "field": field, **rows.get(item["id"], {"rubric": "", "gap": "", "note": ""})}
                             for item, field in assessment_form.item_fields()],
        "gap_count": sum(1 for row in rows.values() if row["gap"]),
        "next_number": session.prompt_numbers[position] if position < len(session.prompt_numbers) else None,
    })
    return context


@require_GET
def prompt_page(request, session_id: int, number: int):
    session = _get_session_for_learner(request, session_id)
    if number not in session.prompt_numbers:
        raise Http404("No such prompt")
    current = practice_session_current_number(session)
    if current is not None and session.prompt_numbers.index(number) > session.prompt_numbers.index(current):
        return redirect("interview:prompt", session.id, current)  # prompts are asked in order: no reading ahead
    try:
        answer = prompt_answer_open(session=session, number=number)
    except SessionStateError:
        raise Http404("This prompt was never shown in this session") from None
    return render(request, "interview/prompt.html",
                  _prompt_context(session, answer))


@require_POST
def draft_save(request, session_id: int, number: int):
    """Autosave (htmx, every few seconds) and the no-JavaScript "Save draft" button."""
    session = _get_session_for_learner(request, session_id)
    answer = _get_answer(session, number)
    form = DraftForm(request.POST)
    status, error, saved_at = 200, "", None
    if not form.is_valid():
        status, error = 400, " ".join(form.errors.get("text", ["This draft could not be read."]))
    else:
        try:
            saved_at = prompt_answer_save_draft(answer=answer, text=form.cleaned_data["text"])
        except SessionStateError as exc:
            status, error = 409, str(exc)
    if request.htmx or status != 200:
        return render(request, "interview/prompt.html#draft-status",
                      {"saved_at": saved_at, "draft_error": error, "answer": answer}, status=status)
    return redirect(reverse("interview:prompt", args=[session.id, number]) + "#draft-status")


@require_POST
def answer_submit(request, session_id: int, number: int):
    session = _get_session_for_learner(request, session_id)
    answer = _get_answer(session, number)
    if not answer.submitted:
        form = AnswerForm(request.POST)
        if not form.is_valid():
            context = _prompt_context(session, answer, answer_form=form)
            template = "interview/prompt.html#prompt-panel" if request.htmx else "interview/prompt.html"
            return render(request, template, context, status=400)
        answer = prompt_answer_submit(answer=answer, text=form.cleaned_data["text"])
    if request.htmx:
        return render(request, "interview/prompt.html#prompt-panel", _prompt_context(session, answer))
    return redirect("interview:prompt", session.id, number)


@require_POST
def follow_up_submit(request, session_id: int, number: int):
    """The reply to the interviewer's follow-up: in place with htmx, or a plain form and a redirect."""
    session = _get_session_for_learner(request, session_id)
    answer = _get_answer(session, number)
    follow_up = FollowUpAnswer.objects.select_related("answer__prompt").filter(answer=answer).first()
    if follow_up is None:
        return render(request, "errors/error.html", {"code": 409, "title": "No follow-up yet",
                      "message": "Submit your answer first: the interviewer's follow-up comes after it."}, status=409)
    if not follow_up.submitted and session.status == PracticeSession.Status.FINISHED:
        return render(request, "errors/error.html", {"code": 409, "title": "The interview is over",
                      "message": "This session is finished, so its follow-ups are closed."}, status=409)
    if not follow_up.submitted:
        form = FollowUpForm(request.POST)
        if not form.is_valid():
            context = _prompt_context(session, answer, follow_up_form=form)
            template = "interview/prompt.html#follow-up" if request.htmx else "interview/prompt.html"
            return render(request, template, context, status=400)
        try:
            follow_up_answer_submit(follow_up=follow_up, text=form.cleaned_data["text"])
        except SessionStateError as exc:
            return render(request, "errors/error.html", {"code": 409, "title": "Follow-up closed",
                          "message": str(exc)}, status=409)
    if request.htmx:
        return render(request, "interview/prompt.html#follow-up", _prompt_context(session, answer))
    return redirect(reverse("interview:prompt", args=[session.id, number]) + "#follow-up")


@require_POST
def answer_assess(request, session_id: int, number: int):
    session = _get_session_for_learner(request, session_id)
    answer = _get_answer(session, number)
    if not answer.submitted:
        return render(request, "errors/error.html", {"code": 409, "title": "Not yet",
                      "message": "Submit your answer before rating it."}, status=409)
    form = SelfAssessmentForm(answer.prompt.rubric, request.POST)
    if form.is_valid():
        prompt_answer_assess(answer=answer, assessment=form.assessment)
        if not request.htmx:
            return redirect(reverse("interview:prompt", args=[session.id, number]) + "#assessment")
        return render(request, "interview/prompt.html#assessment", _prompt_context(session, answer))
    context = _prompt_context(session, answer, assessment_form=form)
    template = "interview/prompt.html#assessment" if request.htmx else "interview/prompt.html"
    return render(request, template, context, status=400)


@require_POST
def session_finish(request, session_id: int):
    session = _get_session_for_learner(request, session_id)
    try:
        practice_session_finish(session=session)
    except SessionStateError:
        return redirect(session)  # back to the prompt still unanswered
    return redirect("interview:report", session.id)


@require_GET
def session_report_page(request, session_id: int):
    session = _get_session_for_learner(request, session_id)
    if session.status != PracticeSession.Status.FINISHED:
        return redirect(session)
    return render(request, "interview/report.html", {"session": session, **session_report(session)})


@require_GET
def history_page(request):
    return render(request, "interview/history.html", history(learner_for_request(request, create=False)))
