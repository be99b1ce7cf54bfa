from django.core.management.base import BaseCommand, CommandError

from lessons.content_loader import LessonFileError, load_lessons


class Command(BaseCommand):
    help = "Load (or update in place) every lesson under lessons/content/."

    def handle(self, *args, **options):
        try:
            created, updated = load_lessons()
        except LessonFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"lessons: {created} created, {updated} updated")
