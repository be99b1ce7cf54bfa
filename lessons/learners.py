"""Who is learning: a signed-up user's Learner, or one kept in an anonymous session."""

from __future__ import annotations

import hashlib

from django.db import connection, transaction

from .models import Card, Learner

SESSION_KEY = "learner_id"


def anonymous_key(request) -> str | None:
    """A stable, unguessable key of this browser before it has a session: its CSRF secret, hashed."""
    secret = request.META.get("CSRF_COOKIE")
    return hashlib.sha256(f"learner:{secret}".encode()).hexdigest() if secret else None


def _anonymous_learner(column: str, value) -> Learner | None:
    """The learner without an account whose unique `column` is `value`, loaded by its id alone.

    By hand: every page a learner opens asks, and the ORM's query cost ten times running it.
    The rest of the row loads if something reads it (most callers only filter by the learner).
    """
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT id FROM "{Learner._meta.db_table}" WHERE "{column}" = %s AND user_id IS NULL', [value])
        row = cursor.fetchone()
    return Learner.from_db(connection.alias, ["id"], row) if row else None


def learner_for_request(request, *, create: bool = True) -> Learner | None:
    """The request's learner; with create=False, None when there is none yet (and nothing is written)."""
    if request.user.is_authenticated:
        if create:
            return Learner.objects.get_or_create(user=request.user)[0]  # race-safe: user is unique
        return Learner.objects.filter(user=request.user).first()
    # A page asks more than once (its runs, whether a run is theirs): found once per request.
    learner = getattr(request, "_anonymous_learner", None)
    learner_id = request.session.get(SESSION_KEY)
    if learner is None and learner_id:
        learner = _anonymous_learner("id", learner_id)
    key = anonymous_key(request)
    if learner is None and key:
        learner = _anonymous_learner("anonymous_key", key)
    if learner is None and create:
        # get_or_create on a unique key: two first answers sent at once make one learner.
        learner = Learner.objects.get_or_create(anonymous_key=key)[0] if key else Learner.objects.create()
    if learner is not None and create and request.session.get(SESSION_KEY) != learner.id:
        request.session[SESSION_KEY] = learner.id
    request._anonymous_learner = learner
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
        anonymous.anonymous_key = None  # signed out later, this browser starts afresh
        anonymous.save(update_fields=["user", "anonymous_key"])
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
