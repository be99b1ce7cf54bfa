import json
import time

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from redis import RedisError

from config.pagecache import lessons_version, one_off_key_for, per_visitor, run_final_state, shared_page
from config.views import too_many
from lessons.learners import learner_for_request
from lessons.models import Lesson

from . import live
from .experiments import get_experiment
from .experiments.base import LIVE
from .forms import FramesCursorForm, RunRequestForm
from .limits import run_submission_refusal
from .models import ExperimentRun
from .predictions import prediction_outcome, prediction_record, why_sentence
from .services import experiment_run_create, run_cancel

def _get_experiment_or_404(slug: str):
    experiment = get_experiment(slug)
    if experiment is None:
        raise Http404("No such experiment")
    return experiment


# A class opening the experiment page at once asks Redis about the workers once a second per
# process, not once per page (their heartbeats are 15 s apart anyway); a stopped Redis costs its
# timeout once a second, not on every view.
QUEUE_STATUS_SECONDS = 1.0
_queue_status_seen: dict[str, tuple[float, dict]] = {}


def _queue_status() -> dict:
    seen = _queue_status_seen.get(settings.REDIS_URL)
    if seen and time.monotonic() - seen[0] < QUEUE_STATUS_SECONDS:
        return seen[1]
    status = _queue_status_now()
    _queue_status_seen[settings.REDIS_URL] = (time.monotonic(), status)
    return status


def _queue_status_now() -> dict:
    """What the experiment page tells a learner about the machinery behind it: one Redis round trip."""
    try:
        workers = live.workers_alive()
    except RedisError:
        return {"ok": False, "message": "The run queue (Redis) is unreachable. Runs you start now are kept and will start when it is back; live charts are paused."}
    if not workers:
        return {"ok": False, "message": "No experiment worker is running. Runs you start now wait in the queue until one starts."}
    return {"ok": True, "message": ""}


def _experiment_page_key(request, slug: str):
    """A newcomer's experiment page: per preset, content version and what the queue says (three states)."""
    experiment = get_experiment(slug)
    if experiment is None or set(request.GET) - {"preset"}:
        return None
    preset = request.GET.get("preset", "")
    # The page rendered for this key must say what the key says, even if the answer changes meanwhile.
    request.queue_status = _queue_status()
    return (preset if preset in experiment.presets else "", lessons_version(), tuple(request.queue_status.items()))


def _recent_runs(request, experiment) -> tuple[list, dict | None]:
    """This visitor's latest runs of the experiment (without their frames) and their guesses on them."""
    runs = _runs_of_visitor(request, experiment.slug, limit=10)
    return runs, prediction_record(runs, experiment.prediction.summary_key) if experiment.prediction else None


def _experiment_personal(request, slug: str) -> dict[str, str]:
    """A learner's own runs of this experiment and how their guesses went; the form is everyone's."""
    visitor, version = _visitor_runs_version(request)
    if visitor is None:
        return {}
    return per_visitor(visitor, ("experiment", slug), version, lambda: _experiment_runs_part(request, slug))


def _experiment_runs_part(request, slug: str) -> dict[str, str]:
    recent_runs, predictions = _recent_runs(request, get_experiment(slug))
    if not recent_runs:
        return {}
    return {"runs": render_to_string("playground/experiment_detail.html#runs",
                                     {"recent_runs": recent_runs, "predictions": predictions})}


@require_http_methods(["GET", "POST"])
@shared_page(_experiment_page_key, personal=_experiment_personal)
def experiment_detail(request, slug: str):
    experiment = _get_experiment_or_404(slug)
    status = 200
    if request.method == "POST":
        params_form = experiment.form_class(request.POST)
        run_form = RunRequestForm(request.POST, prediction=experiment.prediction)
        if params_form.is_valid() and run_form.is_valid():
            if not request.session.session_key:
                request.session.save()
            refusal = run_submission_refusal(request)
            if refusal:
                return too_many(request, title=refusal.title, message=refusal.message,
                                retry_after=refusal.retry_after)
            run = experiment_run_create(
                experiment=experiment,
                params=params_form.cleaned_data,
                seed=run_form.cleaned_data["seed"],
                user=request.user,
                learner=learner_for_request(request),
                session_key=request.session.session_key,
                idempotency_key=run_form.cleaned_data["idempotency_key"] or None,
                prediction=run_form.cleaned_data.get("prediction"),
            )
            return redirect(run)
        status = 400
    else:
        preset = experiment.presets.get(request.GET.get("preset", ""))
        params_form = experiment.form_class(initial=preset.params if preset else None)
        run_form = RunRequestForm(prediction=experiment.prediction, initial={"idempotency_key": one_off_key_for(request)})
    recent_runs, predictions = _recent_runs(request, experiment)
    errors = {**params_form.errors, **run_form.errors} if request.method == "POST" else {}
    return render(request, "playground/experiment_detail.html", {
        "missing_prediction": "prediction" in run_form.errors and not run_form.data.get("prediction"),
        "error_fields": [(params_form.fields.get(name) or run_form.fields[name]).label or name for name in errors
                         if name != "__all__" and name != "prediction"],
        "predictions": predictions,
        "experiment": experiment,
        "lesson": Lesson.objects.filter(slug=experiment.lesson_slug).first(),
        "params_form": params_form,
        "run_form": run_form,
        "queue": getattr(request, "queue_status", None) or _queue_status(),
        "recent_runs": recent_runs,
    }, status=status)


def _final_run_key(request, run_id):
    """A finished run never changes: a newcomer's page of it is one per run (and how it ended)."""
    return None if request.GET else run_final_state(run_id)


# The parts of a finished run's page that depend on who looks: whether it is theirs, what they can compare it with.
RUN_PERSONAL_PARTS = ("headline", "compare")
CANCELLED_RUN_PERSONAL_PARTS = ("status_word", "cancelled_note")  # only a cancelled run's page has them


def _run_personal(request, run_id) -> dict[str, str] | None:
    """Whether the run is this visitor's ("you predicted"), and their other runs to overlay it with."""
    visitor, version = _visitor_runs_version(request)
    if visitor is None and not request.user.is_authenticated:
        return _run_personal_parts(request, run_id)  # nobody to keep it for (and no runs of theirs)
    return per_visitor((visitor, request.user.id), ("run", str(run_id)), version,
                       lambda: _run_personal_parts(request, run_id))


def _run_personal_parts(request, run_id) -> dict[str, str] | None:
    rows = ExperimentRun.objects.raw(  # raw, as _runs_of_visitor's, and without the frames
        f'SELECT {", ".join(_RUN_LIST_COLUMNS)}, finished_at FROM "{ExperimentRun._meta.db_table}" WHERE id = %s',
        [ExperimentRun._meta.pk.get_db_prep_value(run_id, connection)])
    run = next(iter(rows), None)
    if run is None or run.experiment is None:
        return None
    context = _status_context(request, run)
    if not context["owned"] and not context["compare_with"]:
        return {}  # what anyone with the link sees
    parts = RUN_PERSONAL_PARTS + (CANCELLED_RUN_PERSONAL_PARTS if run.status == ExperimentRun.Status.CANCELLED else ())
    return {name: render_to_string(f"playground/run_detail.html#{name}", context) for name in parts}


@require_GET
@shared_page(_final_run_key, personal=_run_personal)
def run_detail(request, run_id):
    run = get_object_or_404(ExperimentRun, id=run_id)
    experiment = run.experiment
    if experiment is None:
        raise Http404("This run's experiment no longer exists")
    drawings = _drawings(run, with_figures=True)
    return render(request, "playground/run_detail.html", {
        **_status_context(request, run, drawings),
        "figures": drawings["figures"],
        "params": experiment.describe_params(run.params),
    })


# A finished run never changes: what is drawn from its frames (figures, table, verdict) is
# computed once per process, for its owner as for anyone with the link (bounded: emptied when full).
_final_drawings: dict[tuple, dict] = {}
MAX_FINAL_DRAWINGS = 256


def _drawings(run: ExperimentRun, *, with_figures: bool = False) -> dict:
    key = (run.id, run.status, run.finished_at) if run.is_final else None
    if key in _final_drawings:
        return _final_drawings[key]
    experiment = run.experiment
    drawings = {
        "table": experiment.table(run.frames) if run.is_final and run.frames else None,
        "verdict": experiment.verdict(run.summary) if run.summary else None,
        "summary_figures": [
            {"chart_id": f"summary{i}-chart", "script_id": f"summary{i}-figure", "figure": figure}
            for i, figure in enumerate(experiment.summary_figures(run.summary) if run.summary else [])
        ],
    }
    if key or with_figures:  # a live run's status poll draws no charts
        drawings["figures"] = experiment.figures(run.frames, run.params)
    if key:
        if len(_final_drawings) >= MAX_FINAL_DRAWINGS:
            _final_drawings.clear()
        _final_drawings[key] = drawings
    return drawings


def _status_context(request, run: ExperimentRun, drawings: dict | None = None) -> dict:
    experiment = run.experiment
    drawings = drawings or _drawings(run)
    verdict = drawings["verdict"]
    headline = None
    owned = run.is_owned_by(request)
    if run.summary and experiment.prediction:
        actual = run.summary.get(experiment.prediction.summary_key)
        headline = {
            "question": experiment.prediction.question,
            "actual": actual,
            "predicted": run.prediction,
            "outcome": prediction_outcome(run.prediction, actual),
            "why": why_sentence(verdict, actual),
            # A shared link's reader did not guess: the guess is whoever ran it's.
            "who": "you" if owned else "whoever ran it",
        }
    return {
        "run": run,
        "experiment": experiment,
        "table": drawings["table"],
        "verdict": verdict,
        "headline": headline,
        "can_cancel": not run.is_final and owned,
        "owned": owned,
        "compare_with": _compare_candidates(request, run),
        "summary_figures": drawings["summary_figures"],
    }


# What a list of runs shows (label, status, age, the guess and how it went): never the frames, most of a row.
_RUN_LIST_COLUMNS = ("id", "experiment_slug", "params", "seed", "status", "prediction", "summary", "created_at",
                     "learner_id", "created_by_id", "owner_session")


def _visitor_owners(request) -> tuple[list[str], list]:
    """The SQL that picks this visitor's runs: their learner's, and older ones of this session's."""
    learner = learner_for_request(request, create=False)
    owners, params = [], []
    if learner:
        owners.append("learner_id = %s")
        params.append(learner.id)
    if request.session.session_key:
        owners.append("(learner_id IS NULL AND owner_session = %s)")
        params.append(request.session.session_key)
    return owners, params


def _visitor_runs_version(request) -> tuple[tuple | None, tuple]:
    """Who this visitor is (learner id, session key; None: nobody with runs) and a version of all their runs.

    Per status: how many, the newest started, begun and ended. A run submitted, claimed, re-queued, finished
    or cancelled (by whatever path: a worker, the reaper, an UPDATE) moves it; what a run list shows of a run
    beyond its status (its guess, its summary) is written with one of those.
    """
    owners, params = _visitor_owners(request)
    if not owners:
        return None, ()
    with connection.cursor() as cursor:  # by hand, as _runs_of_visitor
        cursor.execute(f'SELECT status, COUNT(*), MAX(created_at), MAX(started_at), MAX(finished_at) '
                       f'FROM "{ExperimentRun._meta.db_table}" WHERE {" OR ".join(owners)} GROUP BY status ORDER BY status',
                       params)
        version = tuple(map(tuple, cursor.fetchall()))
    return (tuple(owners), tuple(params)), version


def _runs_of_visitor(request, experiment_slug: str, *, limit: int, status: str | None = None,
                     exclude: ExperimentRun | None = None) -> list[ExperimentRun]:
    """The runs of one experiment this visitor started, newest first: their learner's, and older ones of this session's.

    A raw query: the model's own conversions, without building the query on every page a learner opens
    (the ORM's building cost several times running it).
    """
    owners, params = _visitor_owners(request)
    if not owners:
        return []
    sql = (f'SELECT {", ".join(_RUN_LIST_COLUMNS)} FROM "{ExperimentRun._meta.db_table}" '
           f'WHERE ({" OR ".join(owners)}) AND experiment_slug = %s')
    params.append(experiment_slug)
    if status:
        sql += " AND status = %s"
        params.append(status)
    if exclude:
        sql += " AND id <> %s"
        params.append(ExperimentRun._meta.pk.get_db_prep_value(exclude.id, connection))
    return list(ExperimentRun.objects.raw(sql + " ORDER BY created_at DESC LIMIT %s", [*params, limit]))


def _compare_candidates(request, run: ExperimentRun) -> list[ExperimentRun]:
    """Other finished runs of the same experiment that this visitor started, newest first.

    Same parameters and seed, same result: such a run is offered once, and not
    at all when it is this run again.
    """
    if not run.is_final:
        return []
    seen = {_run_identity(run)}
    candidates = []
    for other in _runs_of_visitor(request, run.experiment_slug, status=ExperimentRun.Status.SUCCEEDED, exclude=run,
                                  limit=100):
        if _run_identity(other) not in seen:
            seen.add(_run_identity(other))
            candidates.append(other)
    return candidates[:20]


def _run_identity(run: ExperimentRun) -> tuple:
    if run.params.get("engine") == LIVE:  # real processes: no two live runs are the same
        return (run.id,)
    return run.seed, json.dumps(run.params, sort_keys=True)


@require_GET
def run_status(request, run_id):
    """The status panel; the htmx poll stops once the run is final."""
    run = get_object_or_404(ExperimentRun, id=run_id)
    return render(request, "playground/run_detail.html#status", _status_context(request, run))


@require_POST
def run_cancel_view(request, run_id):
    run = get_object_or_404(ExperimentRun, id=run_id)
    if not run.is_owned_by(request):
        raise PermissionDenied
    run_cancel(run=run)
    run.refresh_from_db()
    if request.htmx:
        return render(request, "playground/run_detail.html#status", _status_context(request, run))
    return redirect(run)


class CompareForm(forms.Form):
    a = forms.UUIDField()
    b = forms.UUIDField()


@require_GET
def run_compare(request):
    """Two runs of one experiment, overlaid on the same charts."""
    form = CompareForm(request.GET)
    if not form.is_valid():
        return render(request, "errors/error.html", {"code": 400, "title": "Pick two runs",
                      "message": "Comparing needs two run ids, as ?a=…&b=…"}, status=400)
    a = get_object_or_404(ExperimentRun, id=form.cleaned_data["a"])
    b = get_object_or_404(ExperimentRun, id=form.cleaned_data["b"])
    if a.experiment_slug != b.experiment_slug or a.experiment is None:
        return render(request, "errors/error.html", {"code": 400, "title": "Different experiments",
                      "message": "Only runs of the same experiment can be overlaid."}, status=400)
    experiment = a.experiment
    runs = [("A", a), ("B", b)]
    return render(request, "playground/run_compare.html", {
        "experiment": experiment,
        "runs": [{"label": label, "run": run, "params": experiment.describe_params(run.params),
                  "verdict": experiment.verdict(run.summary) if run.summary else []} for label, run in runs],
        "figures": [
            {"chart_id": f"compare{i}-chart", "script_id": f"compare{i}-figure", "figure": figure}
            for i, figure in enumerate(experiment.compare_figures([(f"{label}: {run.label}", run) for label, run in runs]))
        ],
    })



# A finished run's frames never change, and every replay and overlay asks for them again:
# each answer is encoded once per process (bounded: emptied when full).
_final_frames: dict[tuple, bytes] = {}
MAX_FINAL_FRAMES = 256


@require_GET
@never_cache
def run_frames(request, run_id):
    """Frames from a cursor on: from Redis while the run is live, from the database after."""
    form = FramesCursorForm(request.GET)
    if not form.is_valid():
        get_object_or_404(ExperimentRun.objects.only("id"), id=run_id)  # an unknown run is a 404 first
        return JsonResponse({"error": "after must be a whole number of at least 0"}, status=400)
    after = form.cleaned_data["after"] or 0
    # Its state first, without the frames: a finished run's answer may already be encoded.
    final = run_final_state(run_id)
    body = _final_frames.get((run_id, *final, after)) if final else None
    if body is not None:
        return HttpResponse(body, content_type="application/json")
    run = get_object_or_404(ExperimentRun, id=run_id)
    response = JsonResponse(_frames_payload(run, after))
    if final:
        if len(_final_frames) >= MAX_FINAL_FRAMES:
            _final_frames.clear()
        _final_frames[(run_id, *final, after)] = response.content
    return response


def _frames_payload(run: ExperimentRun, after: int) -> dict:
    live_error = None
    if run.is_final:
        frames = run.frames[after:]
    elif run.status == ExperimentRun.Status.RUNNING:
        try:
            frames = live.read_frames(run.id, after)
        except RedisError:
            frames, live_error = [], "Live frames are unavailable: Redis is unreachable."
    else:
        frames = []
    return {
        "status": run.status,
        "final": run.is_final,
        "frames": frames,
        "next": after + len(frames),
        "error": live_error,
        **_progress(run, frames),
    }


def _progress(run: ExperimentRun, new_frames: list[dict]) -> dict:
    """How far along a live run is, and a naive ETA from the rate so far."""
    if run.status == ExperimentRun.Status.SUCCEEDED:
        return {"progress": 1.0, "eta_seconds": 0}
    if run.is_final:  # cancelled or failed: as far as it got, not a full bar
        last = run.frames[-1] if run.frames else None
        done = max(0.0, min(1.0, run.experiment.progress(run.params, last))) if last else 0.0
        return {"progress": round(done, 3), "eta_seconds": None}
    if not new_frames or not run.started_at:
        return {"progress": None, "eta_seconds": None}
    done = max(0.0, min(1.0, run.experiment.progress(run.params, new_frames[-1])))
    elapsed = (timezone.now() - run.started_at).total_seconds()
    eta = round(elapsed * (1 - done) / done, 1) if done > 0.02 else None
    return {"progress": round(done, 3), "eta_seconds": eta}
