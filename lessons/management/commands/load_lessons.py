from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lessons.content_loader import CONTENT_DIR, LessonFileError, load_lessons


class Command(BaseCommand):
    help = "Load (or update in place) every lesson under lessons/content/."

    def add_arguments(self, parser):
        parser.add_argument("--content-dir", type=Path, default=CONTENT_DIR)

    def handle(self, *args, content_dir: Path, **options):
        try:
            created, updated = load_lessons(content_dir)
        except LessonFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"lessons: {created} created, {updated} updated")
