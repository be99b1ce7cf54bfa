import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from interview.script_files import SCRIPTS_DIR, ScriptFileError, parse_script_file
from interview.scoring import score_answer


class Command(BaseCommand):
    help = "Score an answer to one prompt of an interview script, without the web or the database."

    def add_arguments(self, parser):
        parser.add_argument("script_slug")
        parser.add_argument("prompt_number", type=int, help="1-based")
        parser.add_argument("--answer-file", required=True, help="a text file with the answer; - reads stdin")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the result as JSON")
        parser.add_argument("--scripts-dir", type=Path, default=SCRIPTS_DIR)

    def handle(self, *args, script_slug, prompt_number, answer_file, as_json, scripts_dir, **options):
        path = scripts_dir / f"{script_slug}.yaml"
        if not path.exists():
            known = ", ".join(sorted(p.stem for p in scripts_dir.glob("*.yaml"))) or "none"
            raise CommandError(f"no script {script_slug!r} in {scripts_dir}; known: {known}")
        try:
            script = parse_script_file(path)
        except ScriptFileError as exc:
            raise CommandError(str(exc)) from exc
        prompt = script.prompt(prompt_number)
        if prompt is None:
            raise CommandError(f"{script_slug} has prompts 1 to {len(script.prompts)}, not {prompt_number}")
        try:
            text = sys.stdin.read() if answer_file == "-" else Path(answer_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read the answer file {answer_file}: {exc}") from exc
        result = score_answer(text, prompt.rubric_dicts)
        if as_json:
            self.stdout.write(json.dumps({"script": script.slug, "prompt": prompt_number, **result.to_dict()},
                                         sort_keys=True, ensure_ascii=False))
            return
        self.stdout.write(f"{script.title}, prompt {prompt_number}: {prompt.text}")
        width = max(len(item.id) for item in result.items)
        for item in result.items:
            evidence = f"  “{item.sentence}”" if item.sentence else ""
            self.stdout.write(f"  {item.status:<6}  {item.id:<{width}}  w{item.weight}{evidence}")
        if result.salad:
            self.stdout.write("  (most of the answer is keyword salad: mentions earn a quarter of their weight)")
        self.stdout.write(f"total: {result.total}/100")
        if result.follow_up_item:
            self.stdout.write(f"follow-up: {result.follow_up_item.follow_up}")
