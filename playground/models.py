import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse

from .experiments import get_experiment


class ExperimentRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Finished"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINAL = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    # A random id, so a run's URL can be shared but not guessed from another's.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    experiment_slug = models.SlugField(max_length=64)
    params = models.JSONField()
    seed = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Who started it: a learner, like quiz progress, so that a run started before signing
    # up (or before logging out and in) stays theirs. The session key is kept for runs
    # made before there was a learner on runs.
    learner = models.ForeignKey("lessons.Learner", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="experiment_runs")
    owner_session = models.CharField(max_length=64, blank=True)
    # Makes a double-clicked or retried submission yield one run.
    idempotency_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Null until the broker accepted the task: the app's own outbox marker.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # What the learner guessed the headline number would be, before the run.
    prediction = models.BigIntegerField(null=True, blank=True)
    summary = models.JSONField(null=True, blank=True)
    frames = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "dispatched_at"])]

    def __str__(self) -> str:
        return f"{self.experiment_slug} run {self.id} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("playground:run_detail", args=[self.id])

    @property
    def experiment(self):
        return get_experiment(self.experiment_slug)

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def label(self) -> str:
        """A short name for lists and legends, e.g. 'outbox seed 7'."""
        variant = next((self.params[k] for k in ("mode", "strategy", "handler") if self.params.get(k)), "")
        return f"{variant} seed {self.seed}".strip()

    def is_owned_by(self, request) -> bool:
        """Only whoever started a run may change it (cancel); anyone with the link may look."""
        if self.learner_id:
            from lessons.learners import learner_for_request

            learner = learner_for_request(request, create=False)
            return learner is not None and learner.id == self.learner_id
        if self.created_by_id:
            return request.user.is_authenticated and request.user.id == self.created_by_id
        return bool(self.owner_session) and self.owner_session == request.session.session_key

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
