"""Spaced repetition with FSRS (the `fsrs` package), the review queue and mastery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from fsrs import Card as FsrsCard
from fsrs import Rating, Scheduler

from config.pagecache import per_content_version

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


def _lessons_with_question_counts() -> list[Lesson]:
    # One query for every lesson's question count; the bodies are most of each row and unused here.
    return list(Lesson.objects.defer("body_markdown", "body_html")
                .annotate(active_questions=Count("questions", filter=Q(questions__active=True)))
                .order_by("order", "slug"))


def latest_answers(learner: Learner, question_ids=None) -> dict[int, bool]:
    """Whether the learner's latest answer to each question they answered was right (of `question_ids`, or all).

    By hand, as the other reads every page of a learner makes: the ORM's query cost ten times running it.
    """
    sql = f'SELECT question_id, correct FROM "{Attempt._meta.db_table}" WHERE learner_id = %s'
    params = [learner.id]
    if question_ids is not None:
        if not question_ids:
            return {}
        sql += f" AND question_id IN ({', '.join(['%s'] * len(question_ids))})"
        params += list(question_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY created_at, id", params)
        return {question_id: bool(correct) for question_id, correct in cursor.fetchall()}  # the latest wins


def answers_version(learner: Learner) -> tuple:
    """How many answers the learner has given, and their newest: moves with each answer (and cards move with
    answers only), so a learner's progress rendered once is theirs until they answer again."""
    with connection.cursor() as cursor:  # by hand, as latest_answers
        cursor.execute(f'SELECT COUNT(*), MAX(id) FROM "{Attempt._meta.db_table}" WHERE learner_id = %s', [learner.id])
        return tuple(cursor.fetchone())


def _cards_by_lesson(learner: Learner) -> dict[int, list[Card]]:
    # A raw query: the model's own conversions (JSON, dates) without building the query each time.
    cards: dict[int, list[Card]] = {}
    for card in Card.objects.raw(
        f'SELECT c.id, c.question_id, c.fsrs, c.due, q.lesson_id AS lesson_id FROM "{Card._meta.db_table}" c '
        f'JOIN "{Question._meta.db_table}" q ON q.id = c.question_id WHERE c.learner_id = %s AND q.active',
        [learner.id],
    ):
        cards.setdefault(card.lesson_id, []).append(card)
    return cards


def mastery_by_topic(learner: Learner | None, now: datetime | None = None) -> list[TopicMastery]:
    now = now or datetime.now(timezone.utc)
    lessons = per_content_version("lessons with question counts", _lessons_with_question_counts)
    cards = _cards_by_lesson(learner) if learner is not None else {}
    latest = latest_answers(learner) if learner is not None else {}
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
    questions, next_lesson = per_content_version(("quiz", lesson.id), lambda: (
        list(lesson.questions.filter(active=True)),
        Lesson.objects.defer("body_markdown", "body_html").filter(order__gt=lesson.order).order_by("order", "slug").first(),
    ))
    latest = latest_answers(learner, [q.id for q in questions]) if learner is not None else {}
    return QuizSummary(
        total=len(questions),
        answered=len(latest),
        right=sum(latest.values()),
        to_review=[q for q in questions if latest.get(q.id) is False],
        next_lesson=next_lesson,
    )
