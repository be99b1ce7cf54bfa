"""What a class has been set, and who has done it, read from the records the work itself leaves.

A student never ticks an assignment off. It is done when:

- a quiz: every active question of the lesson's quiz has been answered at least once (in the quiz or in review);
- a lesson: every active question of the lesson has been answered *right* at least once — reading is not
  observable, showing you understood it is;
- an experiment: a run of it that the student started has finished;
- an interview script: a practice session of it has been finished.

"Done at" is when the last record needed appeared, so a late piece of work shows as late.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date, datetime

from django.db.models import Min, Q
from django.urls import reverse
from django.utils import timezone

from interview.models import InterviewScript, PracticeSession
from lessons.models import Attempt, Learner, Lesson, Question
from playground.experiments import EXPERIMENTS
from playground.models import ExperimentRun

from . import live
from .dashboard import to_csv
from .models import Assignment, Classroom, Membership

Kind = Assignment.Kind


def assignable_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Everything an instructor can assign, grouped for a <select>: values are "kind:slug"."""
    lessons = list(Lesson.objects.values_list("slug", "title"))
    return [
        ("Lessons", [(f"{Kind.LESSON}:{slug}", title) for slug, title in lessons]),
        ("Quizzes", [(f"{Kind.QUIZ}:{slug}", f"Quiz: {title}") for slug, title in lessons]),
        ("Experiments", [(f"{Kind.EXPERIMENT}:{slug}", e.title) for slug, e in sorted(EXPERIMENTS.items())]),
        ("Interview scripts", [(f"{Kind.INTERVIEW}:{slug}", title) for slug, title in
                               InterviewScript.objects.filter(active=True).values_list("slug", "title")]),
    ]


def target_title(kind: str, slug: str) -> str | None:
    """The title of what "kind:slug" names; None if there is no such thing to assign."""
    for _, options in assignable_choices():
        for value, title in options:
            if value == f"{kind}:{slug}":
                return title
    return None


def target_url(assignment: Assignment) -> str:
    return {
        Kind.LESSON: lambda slug: reverse("lessons:detail", args=[slug]),
        Kind.QUIZ: lambda slug: reverse("lessons:quiz", args=[slug]),
        Kind.EXPERIMENT: lambda slug: reverse("playground:experiment_detail", args=[slug]),
        Kind.INTERVIEW: lambda slug: reverse("interview:script_detail", args=[slug]),
    }[assignment.kind](assignment.target)


def _learners_of(members: list[Membership]) -> dict[int, set[int]]:
    """Membership id → the learners whose records count for it (the joined one, and the account's)."""
    by_user = dict(Learner.objects.filter(user__in=[m.user_id for m in members if m.user_id]).values_list("user_id", "id"))
    return {m.id: {i for i in (m.learner_id, by_user.get(m.user_id)) if i} for m in members}


def _question_times(learner_ids: set[int], lesson_slugs: set[str]) -> tuple[dict, dict, dict]:
    """Per (learner, question): when first answered and when first answered right; and each lesson's questions."""
    questions: dict[str, set[int]] = {slug: set() for slug in lesson_slugs}
    for question_id, slug in Question.objects.filter(active=True, lesson__slug__in=lesson_slugs).values_list(
            "id", "lesson__slug"):
        questions[slug].add(question_id)
    rows = (Attempt.objects.filter(learner__in=learner_ids, question__active=True, question__lesson__slug__in=lesson_slugs)
            .values("learner_id", "question_id")
            .annotate(first=Min("created_at"), first_right=Min("created_at", filter=Q(correct=True))))
    answered, right = {}, {}
    for row in rows:
        answered[(row["learner_id"], row["question_id"])] = row["first"]
        if row["first_right"] is not None:
            right[(row["learner_id"], row["question_id"])] = row["first_right"]
    return questions, answered, right


def _all_of(times: dict, learner_ids: set[int], question_ids: set[int]) -> datetime | None:
    """When the last of the questions was first done by any of these learners; None if one never was."""
    if not question_ids:
        return None
    latest = None
    for question_id in question_ids:
        done = [times[(learner, question_id)] for learner in learner_ids if (learner, question_id) in times]
        if not done:
            return None
        latest = max(latest, min(done)) if latest else min(done)
    return latest


def completion(assignments: list[Assignment], members: list[Membership]) -> dict[tuple[int, int], datetime | None]:
    """(assignment id, membership id) → when that student completed it, or None; a handful of queries in all."""
    learners = _learners_of(members)
    every_learner = set().union(*learners.values()) if learners else set()
    lesson_slugs = {a.target for a in assignments if a.kind in (Kind.LESSON, Kind.QUIZ)}
    questions, answered, right = _question_times(every_learner, lesson_slugs) if lesson_slugs else ({}, {}, {})
    finished: dict[tuple[str, str, int], datetime] = {}
    experiment_slugs = {a.target for a in assignments if a.kind == Kind.EXPERIMENT}
    if experiment_slugs:
        for row in (ExperimentRun.objects.filter(learner__in=every_learner, experiment_slug__in=experiment_slugs,
                                                 status=ExperimentRun.Status.SUCCEEDED)
                    .values("learner_id", "experiment_slug").annotate(at=Min("finished_at"))):
            finished[(Kind.EXPERIMENT, row["experiment_slug"], row["learner_id"])] = row["at"]
    script_slugs = {a.target for a in assignments if a.kind == Kind.INTERVIEW}
    if script_slugs:
        for row in (PracticeSession.objects.filter(learner__in=every_learner, script__slug__in=script_slugs,
                                                   status=PracticeSession.Status.FINISHED)
                    .values("learner_id", "script__slug").annotate(at=Min("finished_at"))):
            finished[(Kind.INTERVIEW, row["script__slug"], row["learner_id"])] = row["at"]
    done = {}
    for assignment in assignments:
        for member in members:
            mine = learners[member.id]
            if assignment.kind == Kind.QUIZ:
                at = _all_of(answered, mine, questions.get(assignment.target, set()))
            elif assignment.kind == Kind.LESSON:
                at = _all_of(right, mine, questions.get(assignment.target, set()))
            else:
                times = [finished[(assignment.kind, assignment.target, i)] for i in mine
                         if (assignment.kind, assignment.target, i) in finished]
                at = min(times) if times else None
            done[(assignment.id, member.id)] = at
    return done


@dataclass
class Status:
    """One student's standing on one assignment, in words and as a CSS-friendly state."""

    state: str  # done, late, overdue, due
    label: str
    done_at: datetime | None


def status_of(assignment: Assignment, done_at: datetime | None, today: date) -> Status:
    if done_at is not None:
        late = timezone.localdate(done_at) > assignment.due
        return Status("late" if late else "done", f"Done {timezone.localdate(done_at):%-d %b}{' (late)' if late else ''}",
                      done_at)
    if today > assignment.due:
        days = (today - assignment.due).days
        return Status("overdue", f"Overdue by {days} day{'s' if days != 1 else ''}", None)
    days = (assignment.due - today).days
    return Status("due", "Due today" if days == 0 else f"Due in {days} day{'s' if days != 1 else ''}", None)


STATE_FIELDS = ("id", "kind", "target", "title", "due", "note")


def class_list(classroom_id: int) -> list[dict]:
    """The class's assignments as plain data, for the state document every screen of the class shares."""
    return [{**row, "due": row["due"].isoformat()}
            for row in Assignment.objects.filter(classroom_id=classroom_id).values(*STATE_FIELDS)]


def for_student(classroom_id: int, member_id: int, rows: list[dict] | None = None, *, fresh: bool = False) -> list[dict]:
    """One student's list: each assignment, its link and their standing on it.

    Standings are kept in Redis per student and per version of the list, so a change elsewhere in the
    class (a new poll) redraws 200 lists with no query; `fresh` (the room page) reads them from the
    records again — which is how work done elsewhere shows once the student comes back to the room.
    """
    rows = class_list(classroom_id) if rows is None else rows
    if not rows:
        return []
    # from_db takes the values in the model's field order.
    assignments = [Assignment.from_db("default", ["id", "classroom_id", "kind", "target", "title", "due", "note"], [
        row["id"], classroom_id, row["kind"], row["target"], row["title"], date.fromisoformat(row["due"]), row["note"]])
        for row in rows]
    today = timezone.localdate()

    def standings():
        member = Membership.objects.get(id=member_id)
        done = completion(assignments, [member])
        return [{**asdict(status_of(a, done[(a.id, member_id)], today)), "done_at": None} for a in assignments]

    signature = hashlib.sha256(json.dumps([rows, today.isoformat()], sort_keys=True).encode()).hexdigest()[:16]
    name = f"classroom:{classroom_id}:member:{member_id}:assignments:{signature}"
    statuses = live.cached_json(name, standings, ttl=live.FRAGMENT_TTL_SECONDS, fresh=fresh)
    return [{"assignment": a, "url": target_url(a), "status": Status(**status)} for a, status in zip(assignments, statuses)]


def completion_matrix(classroom: Classroom) -> dict:
    """Rows are students, columns assignments; each cell a Status; totals count who has done each."""
    assignments = list(classroom.assignments.all())
    members = list(classroom.members.all())
    done = completion(assignments, members)
    today = timezone.localdate()
    rows = [(member.nickname, [status_of(a, done[(a.id, member.id)], today) for a in assignments]) for member in members]
    totals = [sum(1 for member in members if done[(a.id, member.id)] is not None) for a in assignments]
    return {"assignments": assignments, "rows": rows, "totals": totals, "students": len(members)}


def completion_csv(matrix: dict) -> str:
    header = ["student", *[f"{a.get_kind_display()}: {a.title} (due {a.due.isoformat()})" for a in matrix["assignments"]]]
    return to_csv(header, [[name, *[f"{s.state} {timezone.localtime(s.done_at):%Y-%m-%d %H:%M}" if s.done_at else s.state for s in cells]]
                           for name, cells in matrix["rows"]])
