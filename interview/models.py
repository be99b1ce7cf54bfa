from datetime import timedelta

from django.db import models
from django.urls import reverse

from lessons.models import Learner


class InterviewScript(models.Model):
    """A mock interview as loaded from interview/scripts/<slug>.yaml; the file is the source of truth."""

    class Level(models.TextChoices):
        SENIOR = "senior", "Senior"
        STAFF = "staff", "Staff"

    slug = models.SlugField(max_length=120, unique=True)
    # A script dropped from disk is retired, not deleted: learners keep its sessions.
    active = models.BooleanField(default=True, db_index=True)  # retired rows are counted on every script list
    title = models.CharField(max_length=200)
    level = models.CharField(max_length=16, choices=Level.choices)
    topics = models.JSONField(default=list)  # lesson slugs
    experiments = models.JSONField(default=list)  # experiment slugs
    scenario = models.TextField()
    source_path = models.CharField(max_length=300)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("interview:script_detail", args=[self.slug])

    def active_prompts(self):
        return self.prompts.filter(active=True).order_by("number")


class InterviewPrompt(models.Model):
    """One question of a script, asked in `number` order, with its rubric."""

    script = models.ForeignKey(InterviewScript, on_delete=models.CASCADE, related_name="prompts")
    number = models.PositiveIntegerField()  # 1-based
    active = models.BooleanField(default=True, db_index=True)  # retired rows are counted on every script list
    text = models.TextField()
    minutes = models.PositiveIntegerField()
    # [{"id", "weight", "description", "match", "exclude", "follow_up", "topic"}], as in the file
    # plus the lesson slug the item is about (interview.topics).
    rubric = models.JSONField()
    model_answer = models.TextField()
    model_answer_html = models.TextField()
    pitfalls = models.JSONField(default=list)

    class Meta:
        ordering = ["script", "number"]
        constraints = [models.UniqueConstraint(fields=["script", "number"], name="one_prompt_per_number")]

    def __str__(self) -> str:
        return f"{self.script.slug} #{self.number}"


class PracticeSession(models.Model):
    """One learner working through one script, prompt by prompt."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        FINISHED = "finished", "Finished"

    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="interview_sessions")
    script = models.ForeignKey(InterviewScript, on_delete=models.PROTECT, related_name="sessions")
    # The prompts asked, fixed when the session starts, so that editing the script mid-session changes nothing.
    prompt_numbers = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveIntegerField(null=True, blank=True)  # mean of the prompts' scores, when finished
    # From the start form: a double-clicked or retried start yields one session.
    start_key = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["learner", "start_key"], name="one_session_per_start_key")]

    def __str__(self) -> str:
        return f"session {self.pk}: {self.script.slug} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("interview:session", args=[self.pk])


class PromptAnswer(models.Model):
    """A learner's answer to one prompt of a session: the draft as they type, then the scored answer."""

    session = models.ForeignKey(PracticeSession, on_delete=models.CASCADE, related_name="answers")
    prompt = models.ForeignKey(InterviewPrompt, on_delete=models.PROTECT, related_name="answers")
    number = models.PositiveIntegerField()  # the prompt's number, kept even if the script changes
    started_at = models.DateTimeField()  # server time the prompt was first shown: the countdown runs from here
    draft_text = models.TextField(blank=True)
    draft_saved_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    final_text = models.TextField(blank=True)
    score = models.PositiveIntegerField(null=True, blank=True)  # 0–100
    results = models.JSONField(default=dict)  # interview.scoring.Score.to_dict(), plus each item's topic
    self_assessment = models.JSONField(default=dict)  # {item id: covered | partly | missed}

    class Meta:
        ordering = ["session", "number"]
        constraints = [models.UniqueConstraint(fields=["session", "number"], name="one_answer_per_prompt")]

    @property
    def submitted(self) -> bool:
        return self.submitted_at is not None

    @property
    def deadline(self):
        return self.started_at + timedelta(minutes=self.prompt.minutes)

    @property
    def seconds_used(self) -> int | None:
        if self.submitted_at is None:
            return None
        return max(0, round((self.submitted_at - self.started_at).total_seconds()))


class FollowUpAnswer(models.Model):
    """The learner's short answer to the interviewer's follow-up after a prompt: the question asked about the
    heaviest rubric item the answer missed, timed from when it was shown, scored against that item alone."""

    MINUTES = 2  # a follow-up is a short reply, not a second essay

    answer = models.OneToOneField(PromptAnswer, on_delete=models.CASCADE, related_name="follow_up_answer")
    item_id = models.CharField(max_length=120)  # the rubric item asked about
    question = models.TextField()
    description = models.TextField(blank=True)  # the item's description, kept as it was asked
    started_at = models.DateTimeField()  # shown with the scored answer: its clock runs from here
    submitted_at = models.DateTimeField(null=True, blank=True)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=16, blank=True)  # met | listed | almost | missed, once submitted
    credit = models.FloatField(null=True, blank=True)
    result = models.JSONField(default=dict)  # interview.scoring.ItemResult.to_dict()

    def __str__(self) -> str:
        return f"follow-up on {self.item_id} ({self.answer})"

    @property
    def submitted(self) -> bool:
        return self.submitted_at is not None

    @property
    def deadline(self):
        return self.started_at + timedelta(minutes=self.MINUTES)

    @property
    def seconds_used(self) -> int | None:
        if self.submitted_at is None:
            return None
        return max(0, round((self.submitted_at - self.started_at).total_seconds()))

    @property
    def over_time(self) -> bool:
        return (self.seconds_used or 0) > self.MINUTES * 60
