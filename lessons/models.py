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
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "slug"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("lessons:detail", args=[self.slug])
