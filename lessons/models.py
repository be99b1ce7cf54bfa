from django.conf import settings
from django.db import models
from django.urls import reverse


class Lesson(models.Model):
    """A lesson as loaded from its Markdown file; the file is the source of truth."""

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    order = models.PositiveIntegerField()
    minutes = models.PositiveIntegerField()
    summary = models.TextField()
    objectives = models.JSONField(default=list)
    experiment_slug = models.SlugField(blank=True)
    body_markdown = models.TextField()
    body_html = models.TextField()
    source_path = models.CharField(max_length=300)
    # Indexed: the cached pages read the newest of it on every request (config/pagecache.table_version).
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["order", "slug"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("lessons:detail", args=[self.slug])


class Question(models.Model):
    """A quiz question, loaded from lessons/quizzes/<lesson>.yaml; `key` is its stable id."""

    class Kind(models.TextChoices):
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice"
        ORDERING = "ordering", "Ordering"
        NUMERIC = "numeric", "Numeric"

    key = models.SlugField(max_length=120, unique=True)
    # A question dropped from its file is retired, not deleted: learners keep its history.
    active = models.BooleanField(default=True, db_index=True)  # its retired rows are counted on every page
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    prompt = models.TextField()
    # single/multiple: {"choices": [{"text", "correct"}]}; ordering: {"items": [...in order]};
    # numeric: {"answer", "tolerance", "unit"}.
    data = models.JSONField()
    explanation = models.TextField()
    # The cached pages' content version reads it: a question saved on its own (admin, shell) shows at once.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["lesson__order", "position"]

    def __str__(self) -> str:
        return self.key


class Learner(models.Model):
    """Whoever is learning: an anonymous session's learner, or a signed-up user's.

    Progress hangs off a Learner rather than a User, so that anonymous progress
    can be kept by attaching it to the account made later.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    # An anonymous learner is found by a hash of the browser's CSRF secret (a cookie set
    # on the first page, no database write): two first answers sent at once find one learner.
    anonymous_key = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    interview_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"learner {self.pk} ({self.user or 'anonymous'})"


class Attempt(models.Model):
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="attempts")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="attempts")
    answer = models.JSONField()
    correct = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)
    # One per rendered question form: the same answer posted again (double click, retry) counts once.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["learner", "idempotency_key"], name="one_attempt_per_key")]


class Card(models.Model):
    """The FSRS memory state of one question for one learner."""

    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="cards")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="cards")
    fsrs = models.JSONField()  # fsrs.Card.to_dict()
    due = models.DateTimeField(db_index=True)
    last_review = models.DateTimeField()
    reviews = models.PositiveIntegerField(default=0)
    lapses = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["learner", "question"], name="one_card_per_question")]
        ordering = ["due"]
