from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lessons.content_loader import CONTENT_DIR, LessonFileError, load_content
from lessons.quiz_files import QUIZ_DIR, QuizFileError


class Command(BaseCommand):
    help = "Load (or update in place) every lesson under lessons/content/ and quiz under lessons/quizzes/."

    def add_arguments(self, parser):
        parser.add_argument("--content-dir", type=Path, default=CONTENT_DIR)
        parser.add_argument("--quiz-dir", type=Path, default=QUIZ_DIR)

    def handle(self, *args, content_dir: Path, quiz_dir: Path, **options):
        try:
            report = load_content(content_dir, quiz_dir)
        except (LessonFileError, QuizFileError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report)
