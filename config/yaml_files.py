"""YAML content parsed with libyaml's C parser when PyYAML was built with it (the wheels are).

The content and the labelled answers are loaded by every `make setup` and by many tests; the pure-Python
loader took about 14 times as long. Both are PyYAML's safe loader: plain data, no Python objects.
"""

import yaml

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str):
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 — a safe loader
