"""Writes of a practice session: start, open a prompt, save a draft, submit, answer the follow-up,
self-assess, finish.

Each transition is a conditional update guarded by state, so a double click, a late
autosave racing a submit, or a retried request can never overwrite a submitted answer.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from lessons.models import Learner

from .models import FollowUpAnswer, InterviewPrompt, InterviewScript, PracticeSession, PromptAnswer
from .model_grader import model_verdicts
from .scoring import percent, score_answer


class SessionStateError(Exception):
    """The session is not in a state that allows this (e.g. saving a draft of a submitted answer)."""


def practice_session_start(*, learner: Learner, script: InterviewScript, now: datetime | None = None,
                           start_key: str | None = None) -> PracticeSession:
    """A new session of the script; the same start key again (a double click) returns the first one."""
    numbers = list(script.active_prompts().values_list("number", flat=True))
    if not numbers:
        raise SessionStateError("This script has no prompts.")
    try:
        with transaction.atomic():
            return PracticeSession.objects.create(learner=learner, script=script, prompt_numbers=numbers,
                                                  started_at=now or timezone.now(), start_key=start_key or None)
    except IntegrityError:
        return PracticeSession.objects.get(learner=learner, start_key=start_key)


def practice_session_current_number(session: PracticeSession) -> int | None:
    """The first prompt not yet submitted; None when all are."""
    submitted = set(session.answers.filter(submitted_at__isnull=False).values_list("number", flat=True))
    return next((n for n in session.prompt_numbers if n not in submitted), None)


def prompt_answer_open(*, session: PracticeSession, number: int, now: datetime | None = None) -> PromptAnswer:
    """The answer to prompt `number`, created (and its clock started) the first time it is shown."""
    answer = session.answers.select_related("prompt").filter(number=number).first()
    if answer:
        return answer
    if session.status != PracticeSession.Status.IN_PROGRESS:
        raise SessionStateError("This session is finished.")
    prompt = InterviewPrompt.objects.get(script=session.script_id, number=number)
    try:
        with transaction.atomic():
            return PromptAnswer.objects.create(session=session, prompt=prompt, number=number,
                                               started_at=now or timezone.now())
    except IntegrityError:  # two tabs opened it at once: one clock for both
        return session.answers.select_related("prompt").get(number=number)


def prompt_answer_save_draft(*, answer: PromptAnswer, text: str, now: datetime | None = None) -> datetime:
    """Keep what the learner has typed so far; refused once the answer is submitted."""
    now = now or timezone.now()
    saved = PromptAnswer.objects.filter(id=answer.id, submitted_at__isnull=True).update(draft_text=text, draft_saved_at=now)
    if not saved:
        raise SessionStateError("This answer has already been submitted.")
    answer.draft_text, answer.draft_saved_at = text, now
    return now


def prompt_answer_submit(*, answer: PromptAnswer, text: str, now: datetime | None = None) -> PromptAnswer:
    """Score and keep the answer. Submitting twice keeps the first submission."""
    now = now or timezone.now()
    rubric = answer.prompt.rubric
    results = score_answer(text, rubric).to_dict()
    topics = {item["id"]: item.get("topic", "") for item in rubric}
    for item in results["items"]:
        item["topic"] = topics.get(item["id"], "")
    if settings.GRADER_URL and not answer.submitted:
        # A second opinion beside the rubric's, never instead of it: the score stays the rubric's.
        results["model"] = model_verdicts(text, rubric, url=settings.GRADER_URL, model=settings.GRADER_MODEL,
                                          api_key=settings.GRADER_API_KEY, deadline=settings.GRADER_DEADLINE)
    with transaction.atomic():
        first = PromptAnswer.objects.filter(id=answer.id, submitted_at__isnull=True).update(
            final_text=text, draft_text=text, draft_saved_at=now, submitted_at=now,
            score=results["total"], results=results,
        )
        follow_up = results.get("follow_up")
        if first and follow_up:
            # The interviewer asks it as the score is shown, so its clock starts now.
            FollowUpAnswer.objects.get_or_create(answer_id=answer.id, defaults={
                "item_id": follow_up["id"], "question": follow_up["question"],
                "description": follow_up["description"], "started_at": now})
    answer.refresh_from_db()
    return answer


def follow_up_answer_submit(*, follow_up: FollowUpAnswer, text: str, now: datetime | None = None) -> FollowUpAnswer:
    """Score the reply to a follow-up against the one rubric item it asks about; the first reply is kept."""
    now = now or timezone.now()
    item = next((i for i in follow_up.answer.prompt.rubric if i["id"] == follow_up.item_id), None)
    if item is None:
        raise SessionStateError("The script has changed since this follow-up was asked.")
    result = score_answer(text, [item]).items[0].to_dict()
    FollowUpAnswer.objects.filter(id=follow_up.id, submitted_at__isnull=True).update(
        text=text, submitted_at=now, status=result["status"], credit=result["credit"], result=result)
    follow_up.refresh_from_db()
    return follow_up


def prompt_answer_assess(*, answer: PromptAnswer, assessment: dict[str, str]) -> PromptAnswer:
    if not answer.submitted:
        raise SessionStateError("Submit the answer before rating it.")
    answer.self_assessment = assessment
    answer.save(update_fields=["self_assessment"])
    return answer


def practice_session_finish(*, session: PracticeSession, now: datetime | None = None) -> PracticeSession:
    """Close the session once every prompt is submitted; finishing twice is harmless."""
    if practice_session_current_number(session) is not None:
        raise SessionStateError("Answer every prompt before finishing.")
    scores = list(session.answers.filter(number__in=session.prompt_numbers).values_list("score", flat=True))
    score = percent(sum(scores), 100 * len(scores))
    PracticeSession.objects.filter(id=session.id, status=PracticeSession.Status.IN_PROGRESS).update(
        status=PracticeSession.Status.FINISHED, finished_at=now or timezone.now(), score=score,
    )
    session.refresh_from_db()
    return session
