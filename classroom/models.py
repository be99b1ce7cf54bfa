"""Classrooms, who is in them, and what the room is looking at.

Everything a class shares lives in these rows (and a version number cached in
Redis, see `live.py`), never in one web process's memory.
"""

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse

# No 0/O, 1/l/I: a code read off a projector is typed without guessing.
JOIN_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
JOIN_CODE_LENGTH = 6


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


class Classroom(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="classrooms")
    name = models.CharField(max_length=120)
    code = models.CharField(max_length=JOIN_CODE_LENGTH, unique=True)
    capacity = models.PositiveIntegerField(default=300)
    is_open = models.BooleanField(default=True, help_text="Whether new students may join.")
    created_at = models.DateTimeField(auto_now_add=True)
    # What the room is shown: at most one poll and one presented run at a time.
    current_poll = models.ForeignKey("Poll", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    presented_run = models.ForeignKey("playground.ExperimentRun", null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")
    # The replay frame the instructor is showing (None: the whole run).
    replay_step = models.PositiveIntegerField(null=True, blank=True)
    # Bumped on every change students must see; Redis caches it (live.py).
    state_version = models.PositiveBigIntegerField(default=1)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def get_absolute_url(self) -> str:
        return reverse("classroom:console", args=[self.id])

    def join_url(self) -> str:
        return reverse("classroom:join_code", args=[self.code])


class Membership(models.Model):
    """A student in a classroom: an account, or only a nickname held by a session."""

    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="members")
    nickname = models.CharField(max_length=40)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    learner = models.ForeignKey("lessons.Learner", null=True, blank=True, on_delete=models.SET_NULL)
    session_key = models.CharField(max_length=64, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["nickname"]
        constraints = [
            models.UniqueConstraint(fields=["classroom", "nickname"], name="one_nickname_per_class"),
            models.UniqueConstraint(fields=["classroom", "user"], name="one_membership_per_user"),
        ]

    def __str__(self) -> str:
        return self.nickname


class Poll(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice"
        NUMBER = "number", "A number"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="polls")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    prompt = models.TextField(max_length=1000)
    choices = models.JSONField(default=list, blank=True)  # choice texts, in order
    # single/multiple: sorted indexes of the right choices; number: {"answer", "tolerance"}; None: no right answer.
    correct = models.JSONField(null=True, blank=True)
    question = models.ForeignKey("lessons.Question", null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    results_visible = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Predict-then-reveal: the experiment the room predicts, and the run that measures it.
    experiment_slug = models.SlugField(max_length=64, blank=True)
    experiment_params = models.JSONField(null=True, blank=True)
    run = models.ForeignKey("playground.ExperimentRun", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    show_closest = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.prompt[:60]

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def is_prediction(self) -> bool:
        return bool(self.experiment_slug)

    def grade(self, value) -> bool | None:
        """Whether an answer is right; None when the poll has no right answer."""
        if self.correct is None:
            return None
        if self.kind == self.Kind.NUMBER:
            return abs(value - self.correct["answer"]) <= self.correct.get("tolerance", 0) + 1e-9
        return sorted(value) == sorted(self.correct)


class Answer(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="answers")
    member = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="answers")
    value = models.JSONField()  # a list of choice indexes, or a number
    correct = models.BooleanField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "member"], name="one_answer_per_poll")]


class Assignment(models.Model):
    """Work set for a class with a due date; who has done it is read from their records, never ticked."""

    class Kind(models.TextChoices):
        LESSON = "lesson", "Lesson"
        QUIZ = "quiz", "Quiz"
        EXPERIMENT = "experiment", "Experiment"
        INTERVIEW = "interview", "Interview script"

    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="assignments")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    target = models.SlugField(max_length=120)  # the lesson's, experiment's or interview script's slug
    # Kept as assigned, so a list still reads if the lesson or script is later renamed or retired.
    title = models.CharField(max_length=200)
    due = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due", "id"]
        constraints = [models.UniqueConstraint(fields=["classroom", "kind", "target"], name="one_assignment_per_target")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"
