from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from interview.loader import load_interview_scripts
from interview.script_files import SCRIPTS_DIR, ScriptFileError


class Command(BaseCommand):
    help = "Load (or update in place) every mock-interview script under interview/scripts/."

    def add_arguments(self, parser):
        parser.add_argument("--scripts-dir", type=Path, default=SCRIPTS_DIR)

    def handle(self, *args, scripts_dir: Path, **options):
        try:
            report = load_interview_scripts(scripts_dir)
        except ScriptFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report)
