"""When does the grader's evidence earn a rubric item? A small logistic model learned from the labelled answers.

The hand-written rules (interview/scoring.py) find where each item is *said*: its patterns and ideas, which
mentions are negated or excluded, which sit in keyword salad or on a bare line, and ideas almost said (all but
one concept, or every concept spread over three sentences). Tuning those rules by hand stopped generalising:
three rounds of it barely moved the next blind set. So whether the evidence is enough is learned instead, from
features that mean the same in every script — how many of the item's patterns and ideas hit, in how many
sentences, how long and how reasoned the sentence is ("because", "so", a number, a condition), hedging, how many
other items the same sentence names, how much of the answer is salad, negated mentions nearby, near misses —
and one item-specific feature, how often that item's evidence was borne out in the labelled answers (shrunk
towards the overall rate; an item never labelled gets the overall rate).

The model is a logistic regression with an L2 penalty, fitted by Newton's method in plain Python (a few
thousand rows of about thirty features: no library needed, and the fit is deterministic). At run time applying
it is a dot product. `python manage.py train_hit_model` refits it on the tuning set and the spent sets and
writes MODEL_PATH; `python manage.py score_quality --folds` measures it leave-one-set-out.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping, Sequence

MODEL_PATH = Path(__file__).resolve().parent / "hit_model.json"
# Chosen by the leave-one-set-out folds (docs/benchmarks.md): the penalty on the weights, and how sure the model
# must be before an item counts as covered.
L2 = 0.1
# The model only adds credit: an item the rules meet stays met. Letting it withhold credit too gained the folds
# precision, but from proxies of the answer's length (how many hits, in how many sentences), so it withheld credit from short
# answers that say the item plainly: one-sentence mechanisms and follow-ups failed the grader's own specification.
THRESHOLD = 0.7  # to credit an item the rules only listed or almost found
NEWTON_STEPS = 50
DECIMALS = 6  # the shipped weights, rounded so the file is the same on every machine


KINDS = ("met", "listed", "near")  # the rules' verdict: said with reasoning, only listed, almost said
# How many answers' worth of the overall rate an item's own record is shrunk towards (see item_prior).
PRIOR_STRENGTH = 4


def item_key(item: Mapping) -> str:
    """An item's id and a checksum of its description: its record applies only to the item the labels were made
    against (ids repeat across scripts, and a rewritten description is a different item)."""
    return f"{item['id']}:{zlib.crc32(str(item.get('description', '')).encode()):08x}"


def kind_of(features: Mapping[str, float]) -> str:
    return "met" if features.get("rule_met") else "listed" if features.get("rule_listed") else "near"


@dataclass(frozen=True)
class ItemRecord:
    """How often the labelled answers bore out each kind of evidence: {kind: [covered, seen]} per item key,
    and over all items."""

    items: Mapping[str, Mapping[str, Sequence[int]]]
    overall: Mapping[str, Sequence[int]]

    def prior(self, key: str, kind: str) -> float:
        """How much likelier this item's evidence of this kind is to be right than anyone's, in log-odds / 4:
        the item's own rate shrunk towards the overall one (0 for an item no labelled answer has shown)."""
        covered, seen = self.overall.get(kind, (0, 0))
        base = (covered + 1) / (seen + 2)
        own_covered, own_seen = self.items.get(key, {}).get(kind, (0, 0))
        rate = min(0.98, max(0.02, (own_covered + PRIOR_STRENGTH * base) / (own_seen + PRIOR_STRENGTH)))
        return (_log_odds(rate) - _log_odds(base)) / 4

    @classmethod
    def count(cls, rows: Iterable[Row]) -> ItemRecord:
        items: dict[str, dict[str, list[int]]] = {}
        overall: dict[str, list[int]] = {}
        for row in rows:
            kind = kind_of(row.features)
            for tally in (items.setdefault(row.item, {}).setdefault(kind, [0, 0]), overall.setdefault(kind, [0, 0])):
                tally[0] += row.covered
                tally[1] += 1
        return cls(items={k: dict(sorted(v.items())) for k, v in sorted(items.items())}, overall=dict(sorted(overall.items())))


def model_inputs(features: Mapping[str, float], key: str, record: ItemRecord | None) -> dict[str, float]:
    """What the weights multiply: each feature, again under the rules' verdict ("near:hedge": a hedge in an
    idea almost said), and the item's record."""
    kind = kind_of(features)
    inputs = dict(features)
    inputs.update({f"{kind}:{name}": value for name, value in features.items()})
    inputs["item_record"] = record.prior(key, kind) if record else 0.0
    return inputs


@dataclass(frozen=True)
class HitModel:
    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float = THRESHOLD
    record: ItemRecord | None = None

    def logit(self, features: Mapping[str, float], key: str = "") -> float:
        inputs = model_inputs(features, key, self.record)
        return self.bias + sum(w * inputs.get(name, 0.0) for name, w in zip(self.features, self.weights))

    def probability(self, features: Mapping[str, float], key: str = "") -> float:
        return _sigmoid(self.logit(features, key))

    def to_dict(self) -> dict:
        return {"threshold": self.threshold, "bias": round(self.bias, DECIMALS),
                "weights": {name: round(w, DECIMALS) for name, w in zip(self.features, self.weights)},
                "item_record": {"overall": self.record.overall, "items": self.record.items} if self.record else None}

    @classmethod
    def from_dict(cls, data: Mapping) -> HitModel:
        weights, record = data["weights"], data.get("item_record")
        return cls(features=tuple(weights), weights=tuple(float(w) for w in weights.values()),
                   bias=float(data["bias"]), threshold=float(data["threshold"]),
                   record=ItemRecord(items=record["items"], overall=record["overall"]) if record else None)


def _log_odds(p: float) -> float:
    return math.log(p / (1 - p))


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def load_model(path: Path = MODEL_PATH) -> HitModel:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return HitModel.from_dict(data["model"])


@lru_cache(maxsize=1)
def shipped_model() -> HitModel:
    return load_model()


# --- training ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One (answer, rubric item) the grader found evidence for, and whether a human says the answer covers it."""

    features: dict[str, float]
    covered: bool
    item: str  # item_key
    source: str  # the labelled set it comes from


def training_rows(answer_dirs: Iterable[Path], scripts_dir: Path | None = None) -> list[Row]:
    """A row per (labelled answer, rubric item) where the item was said or almost said. Keyword-salad answers are
    left out: they only list their items whatever the model says."""
    from .scoring import gather_evidence
    from .scoring_quality import labelled_answers

    rows = []
    for directory in answer_dirs:
        for answer, rubric in labelled_answers(Path(directory), scripts_dir):
            evidence = gather_evidence(answer.text, rubric)
            if evidence.salad:
                continue
            for found in evidence.items:
                if found.features:
                    rows.append(Row(found.features, found.item["id"] in answer.covers, item_key(found.item),
                                    Path(directory).name))
    return rows


def fit_rows(rows: Sequence[Row], record_sources: Iterable[str], *, l2: float = L2,
             threshold: float = THRESHOLD) -> HitModel:
    """The model for these rows. The item record is counted from the rows of `record_sources`; each row is fitted
    against a record that leaves its own set out, as an answer scored later is not in the record either."""
    record_sources = sorted(set(record_sources))
    own = [r for r in rows if r.source in record_sources]
    records = {source: ItemRecord.count(r for r in own if r.source != source) for source in {r.source for r in rows}}
    samples = [(model_inputs(row.features, row.item, records[row.source]), row.covered) for row in rows]
    names, weights, bias = fit(samples, l2=l2)
    return HitModel(features=names, weights=weights, bias=bias, threshold=threshold, record=ItemRecord.count(own))


def fit(samples: Sequence[tuple[Mapping[str, float], bool]], *, l2: float = L2) -> tuple[tuple[str, ...], tuple[float, ...], float]:
    """Logistic regression by Newton's method: (names, weights, bias). The bias is not penalised; deterministic."""
    names = tuple(sorted({name for inputs, _ in samples for name in inputs}))
    d = len(names) + 1  # the bias last
    xs = [[inputs.get(name, 0.0) for name in names] + [1.0] for inputs, _ in samples]
    ys = [1.0 if covered else 0.0 for _, covered in samples]
    w = [0.0] * d
    penalty = [l2] * (d - 1) + [0.0]
    for _ in range(NEWTON_STEPS):
        gradient = [penalty[j] * w[j] for j in range(d)]
        hessian = [[0.0] * d for _ in range(d)]
        for j in range(d):
            hessian[j][j] = penalty[j] + 1e-9
        for x, y in zip(xs, ys):
            p = _sigmoid(sum(a * b for a, b in zip(w, x)))
            r, s = p - y, p * (1 - p)
            nonzero = [(j, v) for j, v in enumerate(x) if v]
            for j, v in nonzero:
                gradient[j] += r * v
                row = hessian[j]
                sv = s * v
                for k, u in nonzero:
                    row[k] += sv * u
        step = _solve(hessian, gradient)
        w = [a - b for a, b in zip(w, step)]
        if max(abs(b) for b in step) < 1e-10:
            break
    return names, tuple(w[:-1]), w[-1]


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """matrix⁻¹ · vector by Gaussian elimination with partial pivoting (the Hessian is small and positive definite)."""
    n = len(vector)
    a = [row[:] + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            if factor:
                for c in range(col, n + 1):
                    a[r][c] -= factor * a[col][c]
    out = [0.0] * n
    for r in range(n - 1, -1, -1):
        out[r] = (a[r][n] - sum(a[r][c] * out[c] for c in range(r + 1, n))) / a[r][r]
    return out


def model_file_text(model: HitModel, trained_on: Sequence[str], record_from: Sequence[str], rows: int) -> str:
    """The shipped file: the model, and what it was trained on, so anyone can check it by training again."""
    data = {"about": "The grader's hit model (interview/hit_model.py), learned from the labelled answers. Regenerate "
                     "with `python manage.py train_hit_model`; do not edit by hand.",
            "trained_on": list(trained_on), "item_record_from": list(record_from), "rows": rows, "l2": L2,
            "model": model.to_dict()}
    return json.dumps(data, indent=1) + "\n"


def train_shipped(scripts_dir: Path | None = None) -> str:
    """The text of MODEL_PATH as training on the tuning set and the spent sets gives it."""
    from .scoring_quality import ANSWERS_DIR, SPENT_DIRS

    sets = [ANSWERS_DIR, *SPENT_DIRS]
    rows = training_rows(sets, scripts_dir)
    model = fit_rows(rows, [d.name for d in SPENT_DIRS])
    return model_file_text(model, [d.name for d in sets], [d.name for d in SPENT_DIRS], len(rows))
