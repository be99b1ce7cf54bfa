"""Who may see what: one helper per kind of access, each a 404 for everyone else."""

from __future__ import annotations

from django.core import signing
from django.db.models import F
from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Classroom, Membership

INSTRUCTOR_PERMISSION = "classroom.add_classroom"
INSTRUCTORS_GROUP = "Instructors"
SESSION_KEY = "classroom_members"  # {classroom id: membership id}
_LIVE_SALT = "classroom.live"


def is_instructor(user) -> bool:
    return user.is_authenticated and user.has_perm(INSTRUCTOR_PERMISSION)


def get_owned_classroom(request, classroom_id: int) -> Classroom:
    """The classroom if the signed-in user owns it; 404 otherwise (outsiders learn nothing)."""
    if not request.user.is_authenticated:
        raise Http404("No such classroom")
    return get_object_or_404(Classroom, id=classroom_id, owner=request.user)


def membership_for(request, classroom: Classroom) -> Membership | None:
    if request.user.is_authenticated:
        member = Membership.objects.filter(classroom=classroom, user=request.user).first()
        if member:
            return member
    member_id = request.session.get(SESSION_KEY, {}).get(str(classroom.id))
    return Membership.objects.filter(id=member_id, classroom=classroom).first() if member_id else None


def remember_membership(request, member: Membership) -> None:
    members = dict(request.session.get(SESSION_KEY, {}))
    members[str(member.classroom_id)] = member.id
    request.session[SESSION_KEY] = members


def get_member_classroom(request, code: str) -> tuple[Classroom, Membership]:
    """The classroom and this visitor's membership in it; 404 for anyone not in it.

    With its current poll and the presented run's status (not the run's frames) in the same query:
    every student loads the room page at the start of a class.
    """
    classroom = get_object_or_404(Classroom.objects.select_related("current_poll").annotate(
        presented_run_status=F("presented_run__status")), code=code.upper())
    member = membership_for(request, classroom)
    if member is None:
        raise Http404("You are not in this class")
    return classroom, member


def live_token(member: Membership) -> str:
    """A signed capability for the live endpoints: checking it needs no session or database read."""
    return signing.Signer(salt=_LIVE_SALT).sign(f"{member.classroom_id}.{member.id}")


def read_live_token(token: str) -> tuple[int, int]:
    try:
        classroom_id, member_id = signing.Signer(salt=_LIVE_SALT).unsign(token).split(".")
        return int(classroom_id), int(member_id)
    except (signing.BadSignature, ValueError):
        raise Http404("Not a live link of this class")
