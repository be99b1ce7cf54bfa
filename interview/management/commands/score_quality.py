import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from interview.script_files import SCRIPTS_DIR
from interview.scoring_quality import (ANSWERS_DIR, HALVES, HELDOUT_DIR, SPENT_DIR, evaluate, has_answers,
                                      report_markdown)


class Command(BaseCommand):
    help = ("How well the rubric scorer agrees with labelled answers: the tuning set, the spent held-out set "
            "(tuned on since 2026-12-02) and its two halves, and, when it exists, the held-out set written blind. "
            "Needs no database.")

    def add_arguments(self, parser):
        parser.add_argument("--answers-dir", type=Path, default=ANSWERS_DIR, help="the tuning set")
        parser.add_argument("--heldout-dir", type=Path, default=HELDOUT_DIR, help="the held-out set (skipped if absent)")
        parser.add_argument("--spent-dir", type=Path, default=SPENT_DIR,
                            help="the spent held-out set, now tuning data (skipped if absent)")
        parser.add_argument("--scripts-dir", type=Path, default=SCRIPTS_DIR)
        parser.add_argument("--json", action="store_true", dest="as_json", help="the figures as JSON")

    def handle(self, *args, answers_dir, heldout_dir, spent_dir, scripts_dir, as_json, **options):
        if not as_json:
            self.stdout.write("\n".join(report_markdown(answers_dir, scripts_dir, heldout_dir, spent_dir)))
            return
        sets = {"tuning": (answers_dir, None)}
        if has_answers(spent_dir):
            sets["spent"] = (spent_dir, None)
            sets.update({f"spent_half_{half}": (spent_dir, half) for half in HALVES})
        if has_answers(heldout_dir):
            sets["heldout"] = (heldout_dir, None)
        out = {}
        for name, (directory, half) in sets.items():
            try:
                report = evaluate(directory, scripts_dir, half=half)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            out[name] = {key: report[key] for key in ("answers", "precision", "recall", "f1", "tp", "fp", "fn",
                                                      "plain_words_recall", "labels", "styles")}
            out[name]["ranking_ok"] = all(r["ok"] for r in report["ranking"])
            out[name]["salad_ok"] = all(s["ok"] for s in report["salad"])
        self.stdout.write(json.dumps(out, sort_keys=True))
