import json

from django.core.management.base import BaseCommand, CommandError

from playground.experiments import EXPERIMENTS, get_experiment


class Command(BaseCommand):
    help = "Run an experiment's simulation without the web or a worker and print its summary."

    def add_arguments(self, parser):
        parser.add_argument("slug", help=f"one of: {', '.join(EXPERIMENTS)}")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--preset", metavar="NAME", help="start from one of the experiment's named presets")
        parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                            help="override a parameter (after the preset); repeatable")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the summary as JSON")

    def handle(self, *args, slug, seed, preset, overrides, as_json, **options):
        experiment = get_experiment(slug)
        if experiment is None:
            raise CommandError(f"unknown experiment {slug!r}; choose one of: {', '.join(EXPERIMENTS)}")
        raw = {}
        if preset is not None:
            if preset not in experiment.presets:
                raise CommandError(f"--preset {preset}: unknown preset of {slug}; known: {', '.join(experiment.presets)}")
            raw.update(experiment.presets[preset].params)
        for item in overrides:
            name, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--set {item!r}: expected KEY=VALUE")
            if name not in experiment.form_class.base_fields:
                raise CommandError(f"--set {name}: unknown parameter; known: {', '.join(experiment.form_class.base_fields)}")
            raw[name] = value
        if not 0 <= seed < 2**31:
            raise CommandError("--seed must be between 0 and 2147483647")
        params, errors = experiment.clean_params(raw)
        if errors:
            raise CommandError("; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items()))
        frames: list[dict] = []
        summary = experiment.run(params, seed, frames.append)
        if as_json:
            output = {"experiment": slug, "seed": seed, "params": params, "summary": summary}
            if preset is not None:
                output["preset"] = preset
            self.stdout.write(_dumps(output))
            return
        self.stdout.write(f"{experiment.title} (seed {seed}, {len(frames)} frames)")
        for check in experiment.verdict(summary):
            self.stdout.write(f"  {'      ' if check.ok is None else 'ok    ' if check.ok else 'BROKEN'}  {check.label}: {check.value}")


def _dumps(value) -> str:
    return json.dumps(value, sort_keys=True)
