"""Reads and validates mock-interview scripts (interview/scripts/<slug>.yaml).

Every error names the file, the prompt, the rubric item and the field, so that whoever
writes a script can fix it without reading this code. Every regex is compiled here, so a
bad pattern is reported at load time, not when a learner submits an answer.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from config.yaml_files import load_yaml
from lessons.data_files import DataFileError

from .concepts import vocabulary

SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"
LEVELS = ("senior", "staff")
EXPERIMENT_SLUGS = ("dual-write", "idempotency", "retries", "saga", "reconciliation")
PROMPTS = (3, 6)
RUBRIC_ITEMS = (3, 6)
MINUTES = (2, 10)
WEIGHTS = (1, 3)
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SCRIPT_FIELDS = {"slug", "title", "level", "topics", "experiments", "scenario", "prompts"}
PROMPT_FIELDS = {"text", "minutes", "rubric", "model_answer", "pitfalls"}
ITEM_FIELDS = {"id", "weight", "description", "match", "ideas", "exclude", "follow_up", "parts"}
IDEA_SIZE = (1, 5)


class ScriptFileError(DataFileError):
    pass


@dataclass(frozen=True)
class RubricItem:
    id: str
    weight: int
    description: str
    match: list[str]
    exclude: list[str]
    follow_up: str
    ideas: list[list[str]] = field(default_factory=list)  # concept sets (interview/concepts.py)
    # How many of its patterns and ideas an answer must say (distinct ones) to be credited: 2 or more for an
    # item whose description is a mechanism of several parts, where one part alone is a partial answer.
    parts: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PromptSpec:
    number: int  # 1-based, in order
    text: str
    minutes: int
    rubric: list[RubricItem]
    model_answer: str
    pitfalls: list[str]

    @property
    def rubric_dicts(self) -> list[dict]:
        return [item.to_dict() for item in self.rubric]


@dataclass(frozen=True)
class ScriptFile:
    path: Path
    slug: str
    title: str
    level: str
    topics: list[str]
    experiments: list[str]
    scenario: str
    prompts: list[PromptSpec]

    def prompt(self, number: int) -> PromptSpec | None:
        return self.prompts[number - 1] if 1 <= number <= len(self.prompts) else None


def parse_script_file(path: Path, *, lesson_slugs: set[str] | None = None) -> ScriptFile:
    """Parse and validate one script; with `lesson_slugs`, every topic must be one of them."""
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScriptFileError(path, f"not valid YAML: {exc}") from None

    def fail(message: str):
        raise ScriptFileError(path, message)

    if not isinstance(raw, dict):
        fail("must be a mapping with slug, title, level, topics, scenario and prompts")
    unknown = set(raw) - SCRIPT_FIELDS
    if unknown:
        fail(f"unknown field(s): {', '.join(sorted(unknown))}")
    for name in ("slug", "title", "level", "scenario"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            fail(f"field '{name}' is missing or empty")
    if raw["slug"] != path.stem:
        fail(f"field 'slug' is '{raw['slug']}' but the file is named {path.name}; they must agree")
    if not _SLUG.match(raw["slug"]):
        fail("field 'slug' must be a lowercase-and-hyphens slug")
    if raw["level"] not in LEVELS:
        fail(f"field 'level' must be one of {', '.join(LEVELS)}, not '{raw['level']}'")
    topics = _slug_list(raw.get("topics"), "topics", fail, required=True)
    if lesson_slugs is not None:
        for topic in topics:
            if topic not in lesson_slugs:
                fail(f"field 'topics': '{topic}' is not a lesson slug")
    experiments = _slug_list(raw.get("experiments"), "experiments", fail, required=False)
    for experiment in experiments:
        if experiment not in EXPERIMENT_SLUGS:
            fail(f"field 'experiments': '{experiment}' is not one of {', '.join(EXPERIMENT_SLUGS)}")
    prompts = raw.get("prompts")
    if not isinstance(prompts, list) or not PROMPTS[0] <= len(prompts) <= PROMPTS[1]:
        fail(f"field 'prompts' must list {PROMPTS[0]}–{PROMPTS[1]} prompts")
    seen_ids: dict[str, int] = {}
    parsed = [_parse_prompt(path, number, item, seen_ids) for number, item in enumerate(prompts, 1)]
    return ScriptFile(path=path, slug=raw["slug"], title=raw["title"].strip(), level=raw["level"], topics=topics,
                      experiments=experiments, scenario=raw["scenario"].strip(), prompts=parsed)


def _slug_list(value, name: str, fail, *, required: bool) -> list[str]:
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        fail(f"field '{name}' must be a {'non-empty ' if required else ''}list of slugs")
    for slug in value:
        if not isinstance(slug, str) or not _SLUG.match(slug):
            fail(f"field '{name}': {slug!r} is not a lowercase-and-hyphens slug")
    if len(set(value)) != len(value):
        fail(f"field '{name}' has duplicates")
    return list(value)


def _parse_prompt(path: Path, number: int, raw, seen_ids: dict[str, int]) -> PromptSpec:
    def fail(message: str):
        raise ScriptFileError(path, f"prompt {number}: {message}")

    if not isinstance(raw, dict):
        fail("must be a mapping with text, minutes, rubric, model_answer and pitfalls")
    unknown = set(raw) - PROMPT_FIELDS
    if unknown:
        fail(f"unknown field(s): {', '.join(sorted(unknown))}")
    for name in ("text", "model_answer"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            fail(f"field '{name}' is missing or empty")
    minutes = raw.get("minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not MINUTES[0] <= minutes <= MINUTES[1]:
        fail(f"field 'minutes' must be a whole number from {MINUTES[0]} to {MINUTES[1]}")
    pitfalls = raw.get("pitfalls")
    if not isinstance(pitfalls, list) or not pitfalls or not all(isinstance(p, str) and p.strip() for p in pitfalls):
        fail("field 'pitfalls' must be a non-empty list of sentences")
    rubric = raw.get("rubric")
    if not isinstance(rubric, list) or not RUBRIC_ITEMS[0] <= len(rubric) <= RUBRIC_ITEMS[1]:
        fail(f"field 'rubric' must list {RUBRIC_ITEMS[0]}–{RUBRIC_ITEMS[1]} items")
    items = [_parse_item(fail, position, item, seen_ids, number) for position, item in enumerate(rubric, 1)]
    return PromptSpec(number=number, text=raw["text"].strip(), minutes=minutes, rubric=items,
                      model_answer=raw["model_answer"].strip(), pitfalls=[p.strip() for p in pitfalls])


def _parse_item(prompt_fail, position: int, raw, seen_ids: dict[str, int], number: int) -> RubricItem:
    name = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None

    label = f"'{name}'" if name else str(position)

    def fail(message: str):
        prompt_fail(f"rubric item {label}: {message}")

    if not isinstance(raw, dict):
        fail("must be a mapping with id, weight, description, match and follow_up")
    unknown = set(raw) - ITEM_FIELDS
    if unknown:
        fail(f"unknown field(s): {', '.join(sorted(unknown))}")
    for field in ("id", "description", "follow_up"):
        if not isinstance(raw.get(field), str) or not raw[field].strip():
            fail(f"field '{field}' is missing or empty")
    if not _SLUG.match(raw["id"]):
        fail("field 'id' must be a lowercase-and-hyphens slug")
    if raw["id"] in seen_ids:
        fail(f"field 'id': '{raw['id']}' is also used in prompt {seen_ids[raw['id']]}; ids are unique within a script")
    seen_ids[raw["id"]] = number
    weight = raw.get("weight")
    if not isinstance(weight, int) or isinstance(weight, bool) or not WEIGHTS[0] <= weight <= WEIGHTS[1]:
        fail(f"field 'weight' must be a whole number from {WEIGHTS[0]} to {WEIGHTS[1]}")
    ideas = _ideas(raw.get("ideas"), fail)
    match = _patterns(raw.get("match"), "match", fail, required=not ideas)
    exclude = _patterns(raw.get("exclude"), "exclude", fail, required=False)
    parts = raw.get("parts", 1)
    if not isinstance(parts, int) or isinstance(parts, bool) or not 1 <= parts <= max(1, len(match) + len(ideas)):
        fail("field 'parts' must be a whole number from 1 to the number of its patterns and ideas")
    return RubricItem(id=raw["id"], weight=weight, description=raw["description"].strip(), match=match,
                      exclude=exclude, follow_up=raw["follow_up"].strip(), ideas=ideas, parts=parts)


def _ideas(value, fail) -> list[list[str]]:
    """Each idea: concept names from the shared vocabulary, or "phrase|phrase" literals, said together."""
    if value is None:
        return []
    vocab = vocabulary()
    if not isinstance(value, list):
        fail("field 'ideas' must be a list of ideas, each a list of concepts")
    for index, idea in enumerate(value, 1):
        if not isinstance(idea, list) or not IDEA_SIZE[0] <= len(idea) <= IDEA_SIZE[1]:
            fail(f"field 'ideas', idea {index}: must list {IDEA_SIZE[0]}–{IDEA_SIZE[1]} concepts")
        for element in idea:
            problem = vocab.check_element(element)
            if problem:
                fail(f"field 'ideas', idea {index}: {problem}")
    return [list(idea) for idea in value]


@lru_cache(maxsize=4096)
def compiled_pattern(pattern: str) -> re.Pattern:
    """A script's regex as the grader runs it. Shared by parsing and scoring: the scripts' 1,400 patterns overflow
    the re module's own 512-entry cache, and scripts are parsed again for every answers folder measured."""
    return re.compile(pattern, re.IGNORECASE)


def _patterns(value, field: str, fail, *, required: bool) -> list[str]:
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        fail(f"field '{field}' must be a {'non-empty ' if required else ''}list of regular expressions")
    for index, pattern in enumerate(value, 1):
        if not isinstance(pattern, str) or not pattern.strip():
            fail(f"field '{field}', pattern {index}: must be a non-empty string")
        try:
            compiled = compiled_pattern(pattern)
        except re.error as exc:
            fail(f"field '{field}', pattern {index} {pattern!r}: not a valid regular expression ({exc})")
        if compiled.search(""):
            fail(f"field '{field}', pattern {index} {pattern!r}: matches the empty string, so it would match anything")
    return list(value)


def parse_script_dir(scripts_dir: Path = SCRIPTS_DIR, *, lesson_slugs: set[str] | None = None) -> list[ScriptFile]:
    return [parse_script_file(path, lesson_slugs=lesson_slugs) for path in sorted(scripts_dir.glob("*.yaml"))]


def lesson_slugs_on_disk() -> set[str]:
    """The slugs of the lesson files, read from disk (no database needed)."""
    from lessons.content_loader import CONTENT_DIR, parse_lesson_file

    return {parse_lesson_file(path).meta["slug"] for path in CONTENT_DIR.glob("*.md")}
