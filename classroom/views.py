"""Classroom pages. Instructors see only their own classes, students only theirs; anyone else gets a 404."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass

import segno
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.views import too_many
from lessons.learners import learner_for_request
from playground.forms import FramesCursorForm
from playground.limits import counted_usage, session_key
from playground.models import ExperimentRun

from . import assignments as class_assignments
from . import dashboard as class_dashboard
from . import live, services
from .access import (get_member_classroom, get_owned_classroom, is_instructor, live_token, membership_for,
                     read_live_token, remember_membership)
from .forms import (AnswerForm, AssignmentForm, BankPollForm, ClassroomForm, JoinCodeForm, NicknameForm, PredictionPollForm,
                    PresentForm, ReplayStepForm, TypedPollForm, poll_from_question)
from .models import Answer, Assignment, Classroom, Membership, Poll
from .results import poll_results, prediction_reveal

JOINS_PER_MINUTE = 10
ANSWERS_PER_MINUTE = 30


def _too_many(request, what: str, limit: int) -> bool:
    """Counts one more join or answer of this session; True once it is over `limit` a minute."""
    if not request.session.session_key:
        request.session.save()
    usage = counted_usage(request, group=f"classroom-{what}", key=session_key, per_minute=limit)
    return bool(usage and usage["should_limit"])  # no counter without Redis: let the student through


def _slow_down(request, message: str):
    return too_many(request, title="Slow down", message=message, retry_after=60)


# --- Instructors ---------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def classroom_list(request):
    if not is_instructor(request.user):
        raise PermissionDenied("Only instructors run classes.")
    form = ClassroomForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        classroom = services.classroom_create(owner=request.user, name=form.cleaned_data["name"])
        return redirect(classroom)
    return render(request, "classroom/classroom_list.html", {
        "form": form, "classrooms": Classroom.objects.filter(owner=request.user),
    }, status=400 if form.errors else 200)


def _console_context(request, classroom: Classroom) -> dict:
    poll = classroom.current_poll
    run = classroom.presented_run
    return {
        "classroom": classroom,
        "join_url": request.build_absolute_uri(classroom.join_url()),
        **_members_context(classroom),
        "poll": poll,
        "poll_actions": _poll_actions(poll) if poll else [],
        "reveal": prediction_reveal(poll) if poll and poll.is_prediction else None,
        "typed_form": TypedPollForm(), "bank_form": BankPollForm(), "prediction_form": PredictionPollForm(),
        "run": run, **_run_context(run),
        "my_runs": ExperimentRun.objects.filter(created_by=request.user, status=ExperimentRun.Status.SUCCEEDED)[:20],
        "past_polls": classroom.polls.exclude(id=poll.id if poll else None)[:10],
        "assignment_form": AssignmentForm(classroom=classroom),
        "assignments": _assignments_with_totals(classroom),
    }


def _assignments_with_totals(classroom: Classroom) -> list[tuple[Assignment, int]]:
    matrix = class_assignments.completion_matrix(classroom)
    return list(zip(matrix["assignments"], matrix["totals"]))


MEMBERS_SHOWN = 500


def _members_context(classroom: Classroom) -> dict:
    # The token first: a join landing between the two reads is then fetched again, never missed.
    token = live.members_token(classroom.id)
    members = list(classroom.members.values_list("nickname", flat=True)[:MEMBERS_SHOWN])
    count = len(members) if len(members) < MEMBERS_SHOWN else classroom.members.count()
    return {"members_version": token, "member_count": count, "members": members}


def _poll_actions(poll: Poll) -> list[tuple[str, str]]:
    actions = [("close", "Close") if poll.is_open else ("reopen", "Reopen"),
               ("hide", "Hide results") if poll.results_visible else ("reveal", "Reveal results"),
               ("reset", "Reset"), ("dismiss", "Take off screen")]
    if poll.is_prediction and poll.run_id:
        actions.append(("hide-closest", "Hide who was closest") if poll.show_closest else ("show-closest", "Show who was closest"))
    return actions


@require_GET
def console(request, classroom_id: int):
    classroom = get_owned_classroom(request, classroom_id)
    return render(request, "classroom/console.html", _console_context(request, classroom))


@require_GET
def projector(request, classroom_id: int):
    classroom = get_owned_classroom(request, classroom_id)
    return render(request, "classroom/projector.html", {
        "classroom": classroom, "join_url": request.build_absolute_uri(classroom.join_url()),
        **_members_context(classroom),
    })


@require_GET
@never_cache
def members_live(request, classroom_id: int):
    """Who has joined, for the instructor's pages; 204 when no one has since the token they hold."""
    classroom = get_owned_classroom(request, classroom_id)
    if request.GET.get("v") and request.GET["v"] == live.members_token(classroom.id):
        return HttpResponse(status=204)
    context = _members_context(classroom)
    return JsonResponse({"v": context["members_version"], "count": context["member_count"],
                         "html": render_to_string("classroom/_members.html", context, request)})


@require_GET
def qr_svg(request, classroom_id: int):
    classroom = get_owned_classroom(request, classroom_id)
    buffer = io.BytesIO()
    segno.make(request.build_absolute_uri(classroom.join_url()), error="m").save(
        buffer, kind="svg", scale=10, border=2, title=f"Join {classroom.name}")
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")


@require_POST
def classroom_open(request, classroom_id: int):
    classroom = get_owned_classroom(request, classroom_id)
    services.classroom_set_open(classroom=classroom, is_open=request.POST.get("open") == "1")
    return redirect(classroom)


@require_POST
def poll_new(request, classroom_id: int, source: str):
    classroom = get_owned_classroom(request, classroom_id)
    form_class = {"typed": TypedPollForm, "bank": BankPollForm, "prediction": PredictionPollForm}[source]
    form = form_class(request.POST)
    if not form.is_valid():
        context = _console_context(request, classroom)
        context[f"{source}_form"] = form
        return render(request, "classroom/console.html", context, status=400)
    data = form.cleaned_data
    if source == "typed":
        services.poll_create(classroom=classroom, kind=data["kind"], prompt=data["prompt"],
                             choices=data["choices"], correct=data["correct"])
    elif source == "bank":
        services.poll_create(classroom=classroom, **poll_from_question(data["question"]))
    else:
        experiment, preset = data["experiment"], data["preset"]
        services.poll_create(
            classroom=classroom, kind=Poll.Kind.NUMBER,
            prompt=f"{experiment.title}, {preset.label.lower()} ({preset.description}) — {experiment.prediction.question}",
            experiment_slug=experiment.slug, experiment_params=data["params"],
        )
    return redirect(classroom)


def _owned_poll(request, classroom_id: int, poll_id: int) -> Poll:
    classroom = get_owned_classroom(request, classroom_id)
    return get_object_or_404(Poll, id=poll_id, classroom=classroom)


@require_POST
def poll_control(request, classroom_id: int, poll_id: int, action: str):
    poll = _owned_poll(request, classroom_id, poll_id)
    if action not in services.POLL_ACTIONS:
        raise Http404("No such action")
    services.poll_control(poll=poll, action=action)
    return redirect(poll.classroom)


@require_POST
def prediction_start(request, classroom_id: int, poll_id: int):
    poll = _owned_poll(request, classroom_id, poll_id)
    if not poll.is_prediction:
        raise Http404("This poll has no experiment")
    if not request.session.session_key:
        request.session.save()
    services.prediction_run_start(poll=poll, user=request.user, session_key=request.session.session_key)
    return redirect(poll.classroom)


@require_POST
def present(request, classroom_id: int):
    classroom = get_owned_classroom(request, classroom_id)
    form = PresentForm(request.POST)
    run = None
    if form.is_valid() and form.cleaned_data["run"]:
        run = get_object_or_404(ExperimentRun, id=form.cleaned_data["run"])
    services.classroom_present(classroom=classroom, run=run)
    return redirect(classroom)


@require_POST
def replay_step(request, classroom_id: int):
    classroom = get_owned_classroom(request, classroom_id)
    form = ReplayStepForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"error": "step must be a whole number of at least 0"}, status=400)
    services.classroom_replay_step(classroom=classroom, step=form.cleaned_data["step"])
    return HttpResponse(status=204)


@require_POST
def sync(request, classroom_id: int):
    """The presenter's screen saw the presented run end: show every student the final charts and verdict."""
    classroom = get_owned_classroom(request, classroom_id)
    if classroom.presented_run and classroom.presented_run.is_final:
        services.classroom_replay_step(classroom=classroom, step=None)
    return HttpResponse(status=204)


@require_POST
def assignment_new(request, classroom_id: int):
    classroom = get_owned_classroom(request, classroom_id)
    form = AssignmentForm(request.POST, classroom=classroom)
    if not form.is_valid():
        context = _console_context(request, classroom)
        context["assignment_form"] = form
        return render(request, "classroom/console.html", context, status=400)
    data = form.cleaned_data
    services.assignment_create(classroom=classroom, kind=data["kind"], target=data["target"], title=data["title"],
                               due=data["due"], note=data["note"])
    return redirect(f"{classroom.get_absolute_url()}#assignments")


@require_POST
def assignment_delete(request, classroom_id: int, assignment_id: int):
    classroom = get_owned_classroom(request, classroom_id)
    services.assignment_delete(assignment=get_object_or_404(Assignment, id=assignment_id, classroom=classroom))
    return redirect(f"{classroom.get_absolute_url()}#assignments")


@require_GET
def dashboard(request, classroom_id: int):
    classroom = get_owned_classroom(request, classroom_id)
    matrix = class_dashboard.mastery_matrix(classroom)
    return render(request, "classroom/dashboard.html", {
        "classroom": classroom, "matrix": matrix, "polls": class_dashboard.poll_history(classroom),
        "figure": class_dashboard.heatmap_figure(matrix) if matrix["rows"] else None,
        "completion": class_assignments.completion_matrix(classroom),
    })


@require_GET
def dashboard_csv(request, classroom_id: int, table: str):
    classroom = get_owned_classroom(request, classroom_id)
    if table == "mastery":
        content = class_dashboard.mastery_csv(class_dashboard.mastery_matrix(classroom))
    elif table == "assignments":
        content = class_assignments.completion_csv(class_assignments.completion_matrix(classroom))
    else:
        content = class_dashboard.polls_csv(class_dashboard.poll_history(classroom))
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{classroom.code}-{table}.csv"'
    return response


# --- Live results, shared by the instructor's console and students' screens ----------------------

@require_GET
@never_cache
def poll_results_view(request, poll_id: int):
    """The poll's counts as JSON; 204 when they have not changed since the token the caller holds."""
    token = live.results_token(poll_id)
    if token and request.GET.get("v") == token:
        return HttpResponse(status=204)
    poll = get_object_or_404(Poll.objects.select_related("classroom"), id=poll_id)
    is_owner = request.user.is_authenticated and poll.classroom.owner_id == request.user.id
    if not is_owner:
        classroom_id, member_id = read_live_token(request.GET.get("t", ""))
        if classroom_id != poll.classroom_id or not poll.results_visible:
            raise Http404("No such poll")
    results = live.cached_results(poll.id, token, lambda: poll_results(poll))
    if not is_owner and not poll.results_visible:
        results = {**results, "correct": []}
    return JsonResponse({**results, "v": token})


# --- Students -------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def join(request):
    form = JoinCodeForm(request.POST or request.GET or None)
    if form.is_bound and form.is_valid():
        return redirect("classroom:join_code", code=form.cleaned_data["code"])
    return render(request, "classroom/join.html", {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def join_code(request, code: str):
    classroom = Classroom.objects.filter(code=code.upper()).first()
    if classroom is None:
        return render(request, "classroom/join.html", {
            "form": JoinCodeForm(), "not_found": code,
        }, status=404)
    if membership_for(request, classroom):
        return redirect("classroom:room", code=classroom.code)
    form = NicknameForm(request.POST or None, initial={"nickname": request.user.get_username()})
    error = None
    if request.method == "POST":
        if _too_many(request, "join", JOINS_PER_MINUTE):
            return _slow_down(request, "Too many tries at joining in a minute. Wait a moment, then try again.")
        if form.is_valid():
            try:
                member = services.membership_join(
                    classroom=classroom, nickname=form.cleaned_data["nickname"], user=request.user,
                    learner=learner_for_request(request), session_key=request.session.session_key or "",
                )
            except services.JoinRefused as refused:
                error = str(refused)
            else:
                remember_membership(request, member)
                return redirect("classroom:room", code=classroom.code)
    status = 200 if request.method == "GET" else 400
    return render(request, "classroom/join_code.html", {"classroom": classroom, "form": form, "error": error,
                                                        "full": classroom.members.count() >= classroom.capacity},
                  status=status)


def _run_key(run_id, final: bool) -> str:
    """What a screen holds of the presented run: its id and whether it had ended."""
    return f"{run_id}:{final}" if run_id else ""


def _run_context(run: ExperimentRun | None) -> dict:
    if run is None or run.experiment is None:
        return {"run": None}
    return {"run": run, "run_figures": run.experiment.figures(run.frames, run.params),
            "run_verdict": run.experiment.verdict(run.summary) if run.summary else None,
            "run_key": _run_key(run.id, run.is_final)}


def _run_html(run_id, status: str | None = None) -> tuple[str, str]:
    """The presented run's key and HTML for students' screens, rendered once per run state and shared.

    Only the run's status is read per request (unless the caller has it): its frames (the bulk of the row)
    only when the HTML is built.
    """
    if run_id is None:
        return "", ""
    status = status or ExperimentRun.objects.filter(id=run_id).values_list("status", flat=True).first()
    if status is None:
        return "", ""

    def build():
        return render_to_string("classroom/_run.html", _run_context(ExperimentRun.objects.get(id=run_id)))

    return _run_key(run_id, status in ExperimentRun.FINAL), mark_safe(live.cached_fragment(f"run:{run_id}:{status}", build))


def _reveal(poll: Poll, run_status: str | None) -> dict | None:
    """Predictions beside the result: the same for everyone, so computed once per change of answers or run."""
    return live.cached_json(f"poll:{poll.id}:reveal:{run_status}:{live.results_token(poll.id)}",
                            lambda: prediction_reveal(poll))


@dataclass(frozen=True)
class MemberAnswer:
    value: object
    correct: bool | None
    stamp: float  # when it was last changed


def _member_answer(poll_id: int, member_id: int) -> MemberAnswer | None:
    def from_database():
        return {row["member_id"]: (row["value"], row["correct"], row["updated_at"].timestamp())
                for row in Answer.objects.filter(poll_id=poll_id).values("member_id", "value", "correct", "updated_at")}

    found = live.member_answer(poll_id, member_id, from_database)
    return MemberAnswer(*found) if found is not None else None


_UNREAD = object()


def _poll_context(poll: Poll | None, member: Membership, *, form=None, saved=False, error=None,
                  run_status=_UNREAD) -> dict:
    context = {"poll": poll, "member": member, "token": live_token(member), "saved": saved, "error": error}
    if poll is None:
        return context
    answer = _member_answer(poll.id, member.id)
    if form is None and poll.is_open:
        initial = None
        if answer is not None:
            initial = {"choice": str(answer.value[0])} if poll.kind == Poll.Kind.SINGLE else (
                {"choices": [str(v) for v in answer.value]} if poll.kind == Poll.Kind.MULTIPLE else {"number": answer.value})
        form = AnswerForm(poll, initial=initial)
    if run_status is _UNREAD:
        run_status = (ExperimentRun.objects.filter(id=poll.run_id).values_list("status", flat=True).first()
                      if poll.run_id else None)
    context.update(answer=answer, form=form, poll_key=":".join(map(str, [
        poll.id, poll.status, poll.results_visible, poll.show_closest, run_status, answer and answer.stamp])),
                   my_choices=[poll.choices[i] for i in answer.value] if answer and poll.kind != Poll.Kind.NUMBER else [],
                   reveal=_reveal(poll, run_status) if poll.is_prediction else None)
    return context


def _assignments_part(classroom_id: int, member_id: int, rows: list[dict] | None = None, *, fresh: bool = False
                      ) -> tuple[str, str]:
    """A student's assignment list as HTML, and a key that changes when it does (the screen swaps it only then)."""
    html = render_to_string("classroom/_assignments.html", {
        "assignments": class_assignments.for_student(classroom_id, member_id, rows, fresh=fresh)})
    return hashlib.sha256(html.encode()).hexdigest()[:16], mark_safe(html)


@require_GET
def room(request, code: str):
    classroom, member = get_member_classroom(request, code)
    run_key, run_html = _run_html(classroom.presented_run_id, classroom.presented_run_status)
    assignments_key, assignments_html = _assignments_part(classroom.id, member.id, fresh=True)
    return render(request, "classroom/room.html", {
        "classroom": classroom, "version": classroom.state_version,
        "assignments_key": assignments_key, "assignments_html": assignments_html,
        **_poll_context(classroom.current_poll, member), "run_key": run_key, "run_html": run_html,
    })


@require_POST
def answer(request, code: str, poll_id: int):
    classroom, member = get_member_classroom(request, code)
    poll = get_object_or_404(Poll, id=poll_id, classroom=classroom)
    template = "classroom/_poll.html" if request.htmx else "classroom/room.html"
    if _too_many(request, "answer", ANSWERS_PER_MINUTE):
        return _slow_down(request, "Too many answers in a minute. Wait a moment, then try again.")
    form = AnswerForm(poll, request.POST)
    status, saved, error = 400, False, None
    if form.is_valid():
        try:
            services.poll_answer(poll=poll, member=member, value=form.value)
        except services.AnswerRefused as refused:
            error, status = str(refused), 409
        else:
            if not request.htmx:
                return redirect("classroom:room", code=classroom.code)
            form, saved, status = None, True, 200
    poll.refresh_from_db()
    context = {"classroom": classroom, **_poll_context(poll, member, form=form, saved=saved, error=error)}
    if not request.htmx:  # the whole page; an htmx answer replaces only the poll box
        context["run_key"], context["run_html"] = _run_html(classroom.presented_run_id, classroom.presented_run_status)
    return render(request, template, context, status=status)


@require_GET
@never_cache
def room_live(request):
    """What a student's screen shows now. With the version it already has: 204, one Redis GET.

    While a presented run is live, the screen also sends its frame cursor and gets the run's new frames
    here, so that following the class and the run is one request a second, not two.
    """
    classroom_id, member_id = read_live_token(request.GET.get("t", ""))
    version, live_run = live.class_live(classroom_id)
    if version is None:
        raise Http404("This class no longer exists")
    cursor = FramesCursorForm({"after": request.GET.get("f")})
    if not cursor.is_valid():
        return JsonResponse({"error": "f must be a whole number of at least 0"}, status=400)
    after = cursor.cleaned_data["after"]  # None: the screen follows no live run
    # Frames only for the run the screen shows, and only while it is live (after, its final charts come whole).
    shows_it = live_run is not None and after is not None and request.GET.get("run") == _run_key(live_run, False)
    new_frames = live.run_frames_after(live_run, after) if shows_it else None
    if request.GET.get("v") == str(version):
        if new_frames is None:
            return HttpResponse(status=204)
        # The frames are JSON text already: put them in the body as they are.
        return HttpResponse(b'{"v":%d,"next":%d,"frames":%s}' % (version, *new_frames), content_type="application/json")
    # The signed token names the member; memberships are never removed from a class that still exists.
    state = live.state_document(classroom_id, version, lambda: _state_document(classroom_id))
    if state is None:
        raise Http404("This class no longer exists")
    classroom = Classroom.from_db("default", ["id", "code"], [classroom_id, state["code"]])
    member = Membership.from_db("default", ["id", "classroom_id"], [member_id, classroom_id])
    poll = Poll.from_db("default", list(state["poll"]), list(state["poll"].values())) if state["poll"] else None
    poll_context = _poll_context(poll, member, run_status=state["poll_run_status"])
    run_key = _run_key(state["run_id"], state["run_status"] in ExperimentRun.FINAL)
    body = {
        "v": version,
        "poll_key": poll_context.get("poll_key", ""),
        "poll_html": render_to_string("classroom/_poll.html", {"classroom": classroom, **poll_context}, request),
        "run_key": run_key,
        "step": state["step"],
    }
    body["assignments_key"], body["assignments_html"] = _assignments_part(
        classroom_id, member_id, state.get("assignments"))  # a document from before assignments were in it: None
    # The run's figures can be large: send them only to a screen that does not have this run yet.
    if request.GET.get("run") != run_key:
        # An ended run's status is final, so the document's is the row's: 200 screens fetching its final charts
        # at once read no row. A live one's is read (it may have gone from queued to running since).
        final_status = state["run_status"] if state["run_status"] in ExperimentRun.FINAL else None
        body["run_html"] = _run_html(state["run_id"], final_status)[1] if state["run_id"] else ""
    elif new_frames is not None:
        body["next"], body["frames"] = new_frames[0], json.loads(new_frames[1])
    return JsonResponse(body)


POLL_STATE_FIELDS = ("id", "classroom_id", "kind", "prompt", "choices", "correct", "question_id", "status",
                     "results_visible", "experiment_slug", "experiment_params", "run_id", "show_closest")


def _state_document(classroom_id: int) -> dict | None:
    """The class as every screen shows it, as JSON: its poll, the presented run's status, the replay step."""
    row = Classroom.objects.filter(id=classroom_id).values("code", "current_poll_id", "presented_run_id",
                                                           "presented_run__status", "replay_step").first()
    if row is None:
        return None
    poll = Poll.objects.filter(id=row["current_poll_id"]).values(*POLL_STATE_FIELDS).first() if row["current_poll_id"] else None
    poll_run_status = None
    if poll and poll["run_id"]:
        poll["run_id"] = str(poll["run_id"])
        poll_run_status = ExperimentRun.objects.filter(id=poll["run_id"]).values_list("status", flat=True).first()
    return {"code": row["code"], "poll": poll, "poll_run_status": poll_run_status,
            "assignments": class_assignments.class_list(classroom_id),
            "run_id": str(row["presented_run_id"]) if row["presented_run_id"] else None,
            "run_status": row["presented_run__status"], "step": row["replay_step"]}
