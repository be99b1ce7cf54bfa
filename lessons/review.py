"""Spaced repetition with FSRS (the `fsrs` package), the review queue and mastery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from fsrs import Card as FsrsCard
from fsrs import Rating, Scheduler

from .grading import Result, grade
from .models import Attempt, Card, Learner, Lesson, Question

SCHEDULER = Scheduler()


@transaction.atomic
def answer_record(*, learner: Learner, question: Question, answer, now: datetime | None = None,
                  idempotency_key: str | None = None) -> Result:
    """Grade an answer, keep it, and schedule the question's next review.

    The same idempotency key again (a double click, a retried request) returns
    the first answer's result and reviews nothing twice.
    """
    now = now or datetime.now(timezone.utc)
    result = grade(question, answer)
    try:
        with transaction.atomic():
            Attempt.objects.create(learner=learner, question=question, answer=answer, correct=result.correct,
                                   idempotency_key=idempotency_key or None)
    except IntegrityError:
        first = Attempt.objects.get(learner=learner, idempotency_key=idempotency_key)
        return grade(first.question, first.answer)
    card = Card.objects.select_for_update().filter(learner=learner, question=question).first()
    memory = FsrsCard.from_dict(card.fsrs) if card else FsrsCard()
    memory, _ = SCHEDULER.review_card(memory, Rating.Good if result.correct else Rating.Again, review_datetime=now)
    if card is None:
        card = Card(learner=learner, question=question)
    card.fsrs = memory.to_dict()
    card.due = memory.due
    card.last_review = now
    card.reviews += 1
    card.lapses += not result.correct
    card.save()
    return result


@dataclass(frozen=True)
class QueueItem:
    card: Card
    reason: str  # "due", or "before your interview"


def review_queue(learner: Learner, now: datetime | None = None) -> list[QueueItem]:
    """Cards due now, then — when an interview date is set — one card of every
    topic whose next review would otherwise fall after the interview."""
    now = now or datetime.now(timezone.utc)
    cards = list(Card.objects.filter(learner=learner, question__active=True).select_related("question__lesson"))
    due = sorted((c for c in cards if c.due <= now), key=lambda c: c.due)
    queue = [QueueItem(card, "due") for card in due]
    if learner.interview_date and learner.interview_date >= now.date():
        deadline = datetime.combine(learner.interview_date, time.min, tzinfo=timezone.utc)
        by_topic: dict[int, list[Card]] = {}
        for card in cards:
            by_topic.setdefault(card.question.lesson_id, []).append(card)
        for topic_cards in by_topic.values():
            if any(card.due < deadline for card in topic_cards):
                continue  # this topic comes up again before the interview anyway
            weakest = min(topic_cards, key=lambda c: retrievability(c, now))
            queue.append(QueueItem(weakest, "before your interview"))
    return queue


def retrievability(card: Card, now: datetime) -> float:
    return SCHEDULER.get_card_retrievability(FsrsCard.from_dict(card.fsrs), current_datetime=now)


@dataclass(frozen=True)
class TopicMastery:
    lesson: Lesson
    questions: int
    seen: int
    correct_last: int  # questions whose latest attempt was right
    # Mean over seen questions of the FSRS probability of recalling each now; a question
    # answered wrong last time or due for review counts as 0: it is not known now.
    recall: float
    due: int
    # Share of the topic's questions answered right last time and recalled now
    # (FSRS retrievability); unseen and wrongly answered questions count as 0.
    mastery: float


def mastery_by_topic(learner: Learner | None, now: datetime | None = None) -> list[TopicMastery]:
    now = now or datetime.now(timezone.utc)
    # One query for every lesson's question count; the bodies are most of each row and unused here.
    lessons = (Lesson.objects.defer("body_markdown", "body_html")
               .annotate(active_questions=Count("questions", filter=Q(questions__active=True)))
               .order_by("order", "slug"))
    cards: dict[int, list[Card]] = {}
    latest: dict[int, bool] = {}
    if learner is not None:
        for card in Card.objects.filter(learner=learner, question__active=True).select_related("question"):
            cards.setdefault(card.question.lesson_id, []).append(card)
        for attempt in Attempt.objects.filter(learner=learner).order_by("created_at", "id"):
            latest[attempt.question_id] = attempt.correct
    rows = []
    for lesson in lessons:
        total = lesson.active_questions
        seen = cards.get(lesson.id, [])
        recall = {card.question_id: retrievability(card, now) for card in seen}
        known = sum(r for question_id, r in recall.items() if latest.get(question_id))
        recalled_now = sum(retrievability(card, now) for card in seen
                           if latest.get(card.question_id) and card.due > now)
        rows.append(TopicMastery(
            lesson=lesson, questions=total, seen=len(seen),
            correct_last=sum(latest.get(card.question_id, False) for card in seen),
            recall=round(recalled_now / len(seen), 3) if seen else 0.0,
            due=sum(card.due <= now for card in seen),
            mastery=round(known / total, 3) if total else 0.0,
        ))
    return rows


def next_due(learner: Learner) -> datetime | None:
    card = Card.objects.filter(learner=learner, question__active=True).order_by("due").first()
    return card.due if card else None


def interview_days_left(learner: Learner, today: date) -> int | None:
    if learner.interview_date is None:
        return None
    return (learner.interview_date - today).days


@dataclass(frozen=True)
class QuizSummary:
    total: int
    answered: int
    right: int  # questions whose latest answer was right
    to_review: list[Question]  # answered, and wrong last time
    next_lesson: Lesson | None


def quiz_summary(learner: Learner | None, lesson: Lesson) -> QuizSummary:
    """Where a learner stands on one lesson's quiz: their latest answer to each question."""
    questions = list(lesson.questions.filter(active=True))
    latest: dict[int, bool] = {}
    if learner is not None:
        attempts = Attempt.objects.filter(learner=learner, question__in=questions).order_by("created_at", "id")
        for attempt in attempts:
            latest[attempt.question_id] = attempt.correct
    return QuizSummary(
        total=len(questions),
        answered=len(latest),
        right=sum(latest.values()),
        to_review=[q for q in questions if latest.get(q.id) is False],
        next_lesson=Lesson.objects.filter(order__gt=lesson.order).order_by("order", "slug").first(),
    )
