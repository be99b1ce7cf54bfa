from django.core.management.base import BaseCommand, CommandError

from interview.hit_model import MODEL_PATH, train_shipped


class Command(BaseCommand):
    help = ("Fit the grader's hit model on the tuning set and the spent held-out sets and write "
            f"{MODEL_PATH.name} (deterministic: the same answers give the same file). Needs no database; "
            "never reads the held-out set.")

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true",
                            help=f"only say whether {MODEL_PATH.name} is what training gives (exit 1 if not)")

    def handle(self, *args, check, **options):
        text = train_shipped()
        if check:
            if not MODEL_PATH.exists() or MODEL_PATH.read_text(encoding="utf-8") != text:
                raise CommandError(f"{MODEL_PATH.name} is not what training gives: run manage.py train_hit_model")
            self.stdout.write(f"{MODEL_PATH.name} is up to date")
            return
        MODEL_PATH.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {MODEL_PATH}")
