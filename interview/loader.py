"""Loads interview scripts into the database.

Loading is idempotent: scripts are matched by slug and prompts by (script, number) and
updated in place. A script or prompt no longer on disk is retired (hidden), never deleted,
so the sessions that learners ran on it keep their history.
"""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from lessons.rendering import render_markdown

from .models import InterviewPrompt, InterviewScript
from .script_files import SCRIPTS_DIR, lesson_slugs_on_disk, parse_script_dir
from .topics import item_topic


def load_interview_scripts(scripts_dir: Path = SCRIPTS_DIR, *, lesson_slugs: set[str] | None = None) -> str:
    """Load every script file, all or nothing; returns a one-line report.

    Topics are checked against the lesson files on disk unless `lesson_slugs` is given.
    """
    scripts = parse_script_dir(scripts_dir, lesson_slugs=lesson_slugs if lesson_slugs is not None else lesson_slugs_on_disk())
    counts = {"created": 0, "updated": 0, "retired": 0, "prompts": 0, "prompts_retired": 0}
    with transaction.atomic():
        for spec in scripts:
            script, created = InterviewScript.objects.update_or_create(
                slug=spec.slug,
                defaults={"title": spec.title, "level": spec.level, "topics": spec.topics,
                          "experiments": spec.experiments, "scenario": spec.scenario,
                          "source_path": spec.path.name, "active": True},
            )
            counts["created" if created else "updated"] += 1
            for prompt in spec.prompts:
                rubric = [{**item.to_dict(), "topic": item_topic(item.to_dict(), spec.topics)} for item in prompt.rubric]
                InterviewPrompt.objects.update_or_create(
                    script=script, number=prompt.number,
                    defaults={"text": prompt.text, "minutes": prompt.minutes, "rubric": rubric,
                              "model_answer": prompt.model_answer,
                              "model_answer_html": render_markdown(prompt.model_answer),
                              "pitfalls": prompt.pitfalls, "active": True},
                )
                counts["prompts"] += 1
            counts["prompts_retired"] += (
                script.prompts.filter(active=True, number__gt=len(spec.prompts)).update(active=False)
            )
        counts["retired"] = (
            InterviewScript.objects.filter(active=True).exclude(slug__in=[s.slug for s in scripts]).update(active=False)
        )
    return (f"interview scripts: {counts['created']} created, {counts['updated']} updated, {counts['retired']} retired; "
            f"prompts: {counts['prompts']} loaded, {counts['prompts_retired']} retired")
