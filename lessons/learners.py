"""Who is learning: a signed-up user's Learner, or one kept in an anonymous session."""

from __future__ import annotations

from django.db import transaction

from .models import Card, Learner

SESSION_KEY = "learner_id"


def learner_for_request(request, *, create: bool = True) -> Learner | None:
    """The request's learner; with create=False, None when there is none yet."""
    if request.user.is_authenticated:
        learner = Learner.objects.filter(user=request.user).first()
        if learner is None and create:
            learner = Learner.objects.create(user=request.user)
        return learner
    learner_id = request.session.get(SESSION_KEY)
    learner = Learner.objects.filter(id=learner_id, user=None).first() if learner_id else None
    if learner is None and create:
        learner = Learner.objects.create()
        request.session[SESSION_KEY] = learner.id
    return learner


@transaction.atomic
def learner_adopt_anonymous(*, user, anonymous_id: int | None) -> Learner:
    """Give a user the progress their anonymous session made before they signed up or in.

    Where both have reviewed the same question the later review's card wins;
    every attempt and interview session is kept.
    """
    anonymous = Learner.objects.filter(id=anonymous_id, user=None).first() if anonymous_id else None
    own = Learner.objects.filter(user=user).first()
    if anonymous is None:
        return own or Learner.objects.create(user=user)
    if own is None:
        anonymous.user = user
        anonymous.save(update_fields=["user"])
        return anonymous
    # Everything that belongs to a learner moves over (attempts, interview
    # sessions, whatever an app adds later) — except cards, merged below.
    for relation in Learner._meta.related_objects:
        if relation.one_to_many and relation.related_model is not Card:
            relation.related_model._default_manager.filter(**{relation.field.name: anonymous}).update(
                **{relation.field.name: own}
            )
    for card in Card.objects.filter(learner=anonymous):
        mine = Card.objects.filter(learner=own, question=card.question_id).first()
        if mine is None:
            card.learner = own
            card.save(update_fields=["learner"])
        elif card.last_review > mine.last_review:
            mine.delete()
            card.learner = own
            card.save(update_fields=["learner"])
    if own.interview_date is None and anonymous.interview_date:
        own.interview_date = anonymous.interview_date
        own.save(update_fields=["interview_date"])
    anonymous.delete()
    return own
