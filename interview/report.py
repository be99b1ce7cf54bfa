"""Read-side views of sessions: self-assessment against the rubric, the session report, history.

Plain calculations over stored results; the views only render them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.urls import reverse

from lessons.models import Lesson
from playground.experiments import get_experiment

from .models import FollowUpAnswer, PracticeSession, PromptAnswer
from .scoring import ALMOST, LISTED, MET, MISSED, percent

# What the rubric's verdict means in the learner's own terms.
RUBRIC_AS_SELF = {MET: "covered", LISTED: "partly", ALMOST: "partly", MISSED: "missed"}


def assessment_rows(answer: PromptAnswer) -> list[dict]:
    """Per rubric item: the rubric's verdict, the learner's, and whether (and how far) they disagree."""
    rows = []
    for item in answer.results.get("items", []):
        rubric_view = RUBRIC_AS_SELF[item["status"]]
        own = answer.self_assessment.get(item["id"], "")
        if not own or own == rubric_view:
            gap = ""
        elif {own, rubric_view} == {"covered", "missed"}:
            gap = "far"
        else:
            gap = "near"
        rows.append({"item": item, "rubric": rubric_view, "own": own, "gap": gap, "note": _gap_note(own, rubric_view)})
    return rows


def _gap_note(own: str, rubric_view: str) -> str:
    if not own or own == rubric_view:
        return ""
    if rubric_view == "missed":
        return "You think you covered it, but the rubric found no sentence saying so: would an interviewer have heard it?"
    if own == "missed":
        return "You sold yourself short: the rubric found it in the highlighted sentence."
    if rubric_view == "partly":
        return "You named it, but only in a list: say what it does and why it is needed."
    return "The rubric counts this as covered; say it more plainly if you were unsure."


@dataclass
class TopicScore:
    slug: str
    title: str
    earned: float = 0.0
    possible: int = 0
    missed: list[dict] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return percent(self.earned, self.possible)


def topic_scores(answers: list[PromptAnswer]) -> list[TopicScore]:
    """Weighted share of each topic's rubric items earned, across the given answers."""
    titles = dict(Lesson.objects.values_list("slug", "title"))
    topics: dict[str, TopicScore] = {}
    for answer in answers:
        for item in answer.results.get("items", []):
            slug = item.get("topic") or "general"
            topic = topics.setdefault(slug, TopicScore(slug=slug, title=titles.get(slug, slug.replace("-", " "))))
            topic.earned += item["weight"] * item["credit"]
            topic.possible += item["weight"]
            if item["status"] != MET:
                topic.missed.append({**item, "prompt": answer.number})
    return sorted(topics.values(), key=lambda t: (-t.percent, t.slug))


def session_report(session: PracticeSession) -> dict:
    answers = list(session.answers.select_related("prompt").filter(number__in=session.prompt_numbers))
    topics = topic_scores(answers)
    missed_topics = [t.slug for t in topics if t.missed]
    lessons = {lesson.slug: lesson for lesson in Lesson.objects.filter(slug__in=missed_topics)}
    # The script's experiments that exist, for a missed topic (or for the script as a whole
    # when the experiment belongs to a lesson outside the script's topics).
    experiments = []
    for experiment in filter(None, map(get_experiment, session.script.experiments)):
        relevant = experiment.lesson_slug in missed_topics or experiment.lesson_slug not in session.script.topics
        if missed_topics and relevant:
            experiments.append({"title": experiment.title,
                                "url": reverse("playground:experiment_detail", args=[experiment.slug])})
    follow_ups = {f.answer_id: f for f in FollowUpAnswer.objects.filter(answer__in=answers)}
    prompts = [{
        "answer": answer,
        "follow_up": follow_ups.get(answer.id),
        "met": sum(1 for item in answer.results.get("items", []) if item["status"] == MET),
        "items": len(answer.results.get("items", [])),
        "over_time": (answer.seconds_used or 0) > answer.prompt.minutes * 60,
        "disagreements": sum(1 for row in assessment_rows(answer) if row["gap"]),
    } for answer in answers]
    return {
        "prompts": prompts,
        "topics": topics,
        "strongest": topics[0] if topics else None,
        "weakest": topics[-1] if len(topics) > 1 and topics[-1].percent < topics[0].percent else None,
        "study": [{"topic": t, "lesson": lessons.get(t.slug)} for t in topics if t.missed],
        "experiments": experiments,
        "seconds_used": sum(p["answer"].seconds_used or 0 for p in prompts),
        "follow_ups": follow_up_summary(follow_ups.values()),
    }


def follow_up_summary(follow_ups) -> dict:
    """How the learner did when the interviewer pressed on what they missed."""
    follow_ups = list(follow_ups)
    answered = [f for f in follow_ups if f.submitted]
    return {"asked": len(follow_ups), "answered": len(answered),
            "met": sum(1 for f in answered if f.status == MET)}


def history(learner) -> dict:
    """Every session of the learner, and per-topic scores over time for the finished ones."""
    if learner is None:
        return {"sessions": [], "rows": [], "figure": None}
    sessions = list(PracticeSession.objects.filter(learner=learner).select_related("script"))
    by_session: dict[int, list[FollowUpAnswer]] = defaultdict(list)
    for follow_up in FollowUpAnswer.objects.filter(answer__session__in=sessions).select_related("answer"):
        by_session[follow_up.answer.session_id].append(follow_up)
    for session in sessions:
        session.follow_ups = follow_up_summary(by_session[session.id])
    finished = sorted((s for s in sessions if s.status == PracticeSession.Status.FINISHED), key=lambda s: s.finished_at)
    answers_by_session: dict[int, list[PromptAnswer]] = defaultdict(list)
    for answer in PromptAnswer.objects.filter(session__in=finished).order_by("number"):
        answers_by_session[answer.session_id].append(answer)
    rows = []  # one per finished session and topic, oldest first: the chart's points and the table's rows
    for session in finished:
        for topic in topic_scores(answers_by_session[session.id]):
            rows.append({"session": session, "topic": topic, "when": session.finished_at})
    # One category per session, in the order they were finished: a few sessions read better as
    # evenly spaced points than as dots lost on a date axis.
    labels = {session.id: f"#{n} · {session.finished_at:%d %b %H:%M}" for n, session in enumerate(finished, 1)}
    traces: dict[str, dict] = {}
    for row in rows:
        trace = traces.setdefault(row["topic"].slug, {
            "type": "scatter", "mode": "lines+markers", "name": row["topic"].title, "x": [], "y": [], "text": [],
            "hovertemplate": "%{text}, %{x}: %{y}%<extra>%{fullData.name}</extra>",
        })
        trace["x"].append(labels[row["session"].id])
        trace["y"].append(row["topic"].percent)
        trace["text"].append(row["session"].script.title)
    figure = {
        "data": list(traces.values()),
        "layout": {
            "title": {"text": "Rubric score per topic, session by session"},
            "xaxis": {"title": {"text": "session (finished)"}, "type": "category",
                      "categoryorder": "array", "categoryarray": list(labels.values())},
            "yaxis": {"title": {"text": "score (%)"}, "range": [0, 105]},
            "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
            "margin": {"t": 110, "r": 16, "b": 64, "l": 56}, "height": 460,
        },
    } if rows else None
    return {"sessions": sessions, "rows": list(reversed(rows)), "figure": figure}
