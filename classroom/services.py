"""Writes that change a classroom. Each one that students must see bumps the class version."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from . import live
from .models import Answer, Assignment, Classroom, Membership, Poll, new_join_code


class JoinRefused(Exception):
    """Why a student could not join, in words for them."""


def classroom_create(*, owner, name: str) -> Classroom:
    for _ in range(10):
        try:
            with transaction.atomic():
                return Classroom.objects.create(owner=owner, name=name, code=new_join_code())
        except IntegrityError:
            continue  # the code was taken; 31^6 codes make a second clash vanishingly rare
    raise RuntimeError("could not find a free join code")


def membership_join(*, classroom: Classroom, nickname: str, user=None, learner=None, session_key: str = "") -> Membership:
    """Join a class once; joining again with the same account returns the same membership."""
    if user is not None and user.is_authenticated:
        existing = Membership.objects.filter(classroom=classroom, user=user).first()
        if existing:
            return existing
    else:
        user = None
    if not classroom.is_open:
        raise JoinRefused("This class is closed to new students. Ask your instructor to open it.")
    if classroom.members.count() >= classroom.capacity:
        raise JoinRefused(f"This class is full ({classroom.capacity} students).")
    try:
        with transaction.atomic():
            # No class_bump: nothing on students' screens depends on who else joined; only the instructor's list does.
            member = Membership.objects.create(
                classroom=classroom, nickname=nickname, user=user, learner=learner, session_key=session_key
            )
            live.members_changed(classroom.id)
    except IntegrityError:
        raise JoinRefused(f"Someone in this class is already called “{nickname}”. Pick another nickname.")
    return member


@transaction.atomic
def poll_create(*, classroom: Classroom, kind: str, prompt: str, choices: list[str] | None = None,
                correct=None, question=None, experiment_slug: str = "", experiment_params=None) -> Poll:
    """Push a poll to the room: it becomes the one on every screen, open for answers."""
    if classroom.current_poll_id:
        Poll.objects.filter(id=classroom.current_poll_id).update(status=Poll.Status.CLOSED)
    poll = Poll.objects.create(
        classroom=classroom, kind=kind, prompt=prompt, choices=choices or [], correct=correct,
        question=question, experiment_slug=experiment_slug, experiment_params=experiment_params,
    )
    Classroom.objects.filter(id=classroom.id).update(current_poll=poll)
    live.answers_opened(poll.id)
    live.class_bump(classroom.id)
    return poll


class AnswerRefused(Exception):
    pass


@transaction.atomic
def poll_answer(*, poll: Poll, member: Membership, value) -> Answer:
    """Record (or change) a member's answer while the poll is open."""
    poll = Poll.objects.select_for_update().get(id=poll.id)
    if not poll.is_open:
        raise AnswerRefused("This poll is closed; answers can no longer change.")
    answer, _ = Answer.objects.update_or_create(
        poll=poll, member=member, defaults={"value": value, "correct": poll.grade(value)}
    )
    live.results_changed(poll.id)
    live.answer_saved(poll.id, member.id, answer.value, answer.correct, answer.updated_at.timestamp())
    return answer


POLL_ACTIONS = ("reveal", "hide", "close", "reopen", "reset", "show-closest", "hide-closest", "dismiss")


@transaction.atomic
def poll_control(*, poll: Poll, action: str) -> Poll:
    """What an instructor does to a poll: show or hide its results, close, reopen, reset, take it off screen."""
    updates = {
        "reveal": {"results_visible": True},
        "hide": {"results_visible": False},
        "close": {"status": Poll.Status.CLOSED},
        "reopen": {"status": Poll.Status.OPEN},
        "reset": {"status": Poll.Status.OPEN, "results_visible": False},
        "show-closest": {"show_closest": True},
        "hide-closest": {"show_closest": False},
        "dismiss": {"status": Poll.Status.CLOSED},
    }[action]
    Poll.objects.filter(id=poll.id).update(**updates)
    if action == "reset":
        poll.answers.all().delete()
        live.results_changed(poll.id)
        live.answers_opened(poll.id)
    if action == "dismiss":
        Classroom.objects.filter(id=poll.classroom_id, current_poll=poll).update(current_poll=None)
    elif action in ("reopen", "reset"):
        Classroom.objects.filter(id=poll.classroom_id).update(current_poll=poll)
    live.class_bump(poll.classroom_id)
    poll.refresh_from_db()
    return poll


@transaction.atomic
def classroom_present(*, classroom: Classroom, run) -> None:
    """Put a run on every student's screen (None takes it off)."""
    Classroom.objects.filter(id=classroom.id).update(presented_run=run, replay_step=None)
    live.class_bump(classroom.id)
    # A run still going is watched by the server, so screens reach its end with no instructor's page open.
    if run is not None and not run.is_final:
        transaction.on_commit(lambda: live.watch_run(classroom.id, run.id))
    else:
        transaction.on_commit(lambda: live.unwatch_run(classroom.id))


@transaction.atomic
def classroom_replay_step(*, classroom: Classroom, step: int | None) -> None:
    Classroom.objects.filter(id=classroom.id).update(replay_step=step)
    live.class_bump(classroom.id)


@transaction.atomic
def classroom_set_open(*, classroom: Classroom, is_open: bool) -> None:
    Classroom.objects.filter(id=classroom.id).update(is_open=is_open)
    live.class_bump(classroom.id)


def prediction_run_start(*, poll: Poll, user, session_key: str):
    """Close the predictions and start the run that measures the answer, on every screen."""
    from playground.experiments import get_experiment
    from playground.services import experiment_run_create

    experiment = get_experiment(poll.experiment_slug)
    with transaction.atomic():
        locked = Poll.objects.select_for_update().get(id=poll.id)
        if locked.run_id:
            return locked.run  # a double click starts one run
        run = experiment_run_create(
            experiment=experiment, params=poll.experiment_params, seed=7, user=user, session_key=session_key,
        )
        Poll.objects.filter(id=poll.id).update(run=run, status=Poll.Status.CLOSED)
        classroom_present(classroom=poll.classroom, run=run)
    return run


@transaction.atomic
def assignment_create(*, classroom: Classroom, kind: str, target: str, title: str, due, note: str = "") -> Assignment:
    assignment = Assignment.objects.create(classroom=classroom, kind=kind, target=target, title=title, due=due, note=note)
    live.class_bump(classroom.id)  # every student's list shows it without a reload
    return assignment


@transaction.atomic
def assignment_delete(*, assignment: Assignment) -> None:
    assignment.delete()
    live.class_bump(assignment.classroom_id)
