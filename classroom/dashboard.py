"""The class dashboard as plain data: mastery per student and topic, and the history of polls."""

from __future__ import annotations

import csv
import io

from django.db.models import Count, Q

from lessons.models import Lesson
from lessons.review import mastery_by_topic

from .models import Classroom


def mastery_matrix(classroom: Classroom) -> dict:
    """Rows are students (by nickname), columns topics; cells are mastery in percent."""
    topics = list(Lesson.objects.values_list("title", flat=True))
    rows = []
    for member in classroom.members.select_related("learner"):
        mastery = mastery_by_topic(member.learner) if member.learner else []
        rows.append((member.nickname, [round(row.mastery * 100) for row in mastery] or [0] * len(topics)))
    return {"topics": topics, "rows": rows}


def heatmap_figure(matrix: dict) -> dict:
    return {
        "data": [{"type": "heatmap", "x": matrix["topics"], "y": [name for name, _ in matrix["rows"]],
                  "z": [cells for _, cells in matrix["rows"]], "zmin": 0, "zmax": 100, "colorscale": "Blues",
                  "colorbar": {"title": {"text": "%"}}, "hovertemplate": "%{y} · %{x}: %{z}%<extra></extra>"}],
        "layout": {"title": {"text": "Mastery per student and topic (%)"}, "xaxis": {"automargin": True, "tickangle": -30},
                   "yaxis": {"automargin": True, "autorange": "reversed"},
                   "height": 200 + 24 * len(matrix["rows"]), "margin": {"t": 48, "r": 16, "b": 16, "l": 16}},
    }


def poll_history(classroom: Classroom) -> list[dict]:
    polls = classroom.polls.annotate(
        answered=Count("answers"), right=Count("answers", filter=Q(answers__correct=True)),
    ).order_by("created_at", "id")
    return [{"asked": poll.created_at, "prompt": poll.prompt, "kind": poll.get_kind_display(), "answered": poll.answered,
             "correct": (round(100 * poll.right / poll.answered) if poll.answered else 0) if poll.correct is not None else None}
            for poll in polls]


def to_csv(header: list[str], rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def mastery_csv(matrix: dict) -> str:
    return to_csv(["student", *matrix["topics"]], [[name, *cells] for name, cells in matrix["rows"]])


def polls_csv(history: list[dict]) -> str:
    return to_csv(["asked", "question", "kind", "answered", "correct %"],
                  [[p["asked"].isoformat(), p["prompt"], p["kind"], p["answered"], "" if p["correct"] is None else p["correct"]]
                   for p in history])
