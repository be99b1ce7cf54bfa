import json
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from interview.model_grader import model_verdicts

from interview.script_files import SCRIPTS_DIR
from interview.scoring_quality import (ANSWERS_DIR, HALVES, HELDOUT_DIR, SPENT_DIRS, evaluate, has_answers,
                                      leave_one_set_out, model_grader_agreement, model_grader_lines,
                                      report_markdown)


class Command(BaseCommand):
    help = ("How well the rubric scorer agrees with labelled answers: the tuning set, the spent held-out sets "
            "(tuned on since 2026-12-02) and their halves, and, when it exists, the held-out set written blind. "
            "Needs no database.")

    def add_arguments(self, parser):
        parser.add_argument("--answers-dir", type=Path, default=ANSWERS_DIR, help="the tuning set")
        parser.add_argument("--heldout-dir", type=Path, default=HELDOUT_DIR, help="the held-out set (skipped if absent)")
        parser.add_argument("--spent-dir", type=Path, action="append", dest="spent_dirs",
                            help="a spent held-out set, now tuning data (skipped if absent); repeat for several "
                                 "(default: both spent sets)")
        parser.add_argument("--scripts-dir", type=Path, default=SCRIPTS_DIR)
        parser.add_argument("--json", action="store_true", dest="as_json", help="the figures as JSON")
        parser.add_argument("--folds", action="store_true",
                            help="also measure the hit model leave-one-set-out over the spent sets (about 15 s)")
        parser.add_argument("--model-grader", action="store_true",
                            help="instead, measure the model grader at GRADER_URL on the held-out set, alone and "
                                 "combined with the rules (one request per rubric item: about 1,150 for a blind set)")

    def handle(self, *args, answers_dir, heldout_dir, spent_dirs, scripts_dir, as_json, folds, model_grader,
               **options):
        if model_grader:
            return self.measure_model_grader(heldout_dir, scripts_dir, as_json)
        spent_dirs = spent_dirs or list(SPENT_DIRS)
        if not as_json:
            self.stdout.write("\n".join(report_markdown(answers_dir, scripts_dir, heldout_dir, spent_dirs, folds=folds)))
            return
        sets = {"tuning": (answers_dir, None)}
        # "spent", "spent_half_A", ... for the first spent set; "spent_2", "spent_2_half_A", ... for the second.
        present = [directory for directory in spent_dirs if has_answers(directory)]
        for number, directory in enumerate(present, 1):
            name = "spent" if number == 1 else f"spent_{number}"
            sets[name] = (directory, None)
            sets.update({f"{name}_half_{half}": (directory, half) for half in HALVES})
        if len(present) > 1:
            sets.update({f"spent_both_half_{half}": (present, half) for half in HALVES})
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
        if folds:
            for fold in leave_one_set_out(answers_dir, scripts_dir, spent_dirs):
                for name in ("rules", "model"):
                    report = fold[name]
                    out[f"fold_{fold['left_out']}_{name}"] = {
                        key: report[key] for key in ("answers", "precision", "recall", "plain_words_recall")}
                    out[f"fold_{fold['left_out']}_{name}"]["ranking_ok"] = sum(r["ok"] for r in report["ranking"])
                    out[f"fold_{fold['left_out']}_{name}"]["salad_ok"] = sum(s["ok"] for s in report["salad"])
        self.stdout.write(json.dumps(out, sort_keys=True))

    def measure_model_grader(self, directory, scripts_dir, as_json):
        if not settings.GRADER_URL:
            raise CommandError("GRADER_URL is not set: point it at an OpenAI-compatible chat endpoint "
                               "(for example http://127.0.0.1:11434/v1 for a local Ollama)")
        if not has_answers(directory):
            raise CommandError(f"no labelled answers in {directory}")
        ask = partial(model_verdicts, url=settings.GRADER_URL, model=settings.GRADER_MODEL,
                      api_key=settings.GRADER_API_KEY, deadline=settings.GRADER_DEADLINE)

        def progress(done, total):
            if done % 10 == 0 or done == total:
                self.stderr.write(f"model grader: {done} of {total} answers")

        try:
            agreement = model_grader_agreement(directory, scripts_dir, ask=ask, progress=progress)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not as_json:
            self.stdout.write("\n".join(model_grader_lines(directory, agreement, settings.GRADER_MODEL)))
            return
        self.stdout.write(json.dumps({
            "answers": agreement["answers"], "unanswered": agreement["unanswered"],
            "modes": {name: {key: report[key] for key in ("precision", "recall", "plain_words_recall", "tp", "fp", "fn")}
                      | {"ranking_ok": sum(r["ok"] for r in report["ranking"]),
                         "salad_ok": sum(s["ok"] for s in report["salad"])}
                      for name, report in agreement["modes"].items()},
        }, indent=1))
