"""Ideas, not spellings: the shared vocabulary of concepts and how a sentence is matched against it.

A *concept* (interview/vocabulary.yaml) is a name and the phrases that say it: "compensation" is
"compensating action", "undo step", "reverse the earlier step"... Phrases and answers are compared
as Snowball stems ("queries" and "query" are both `queri`), with "a/an/the" dropped and every
negation word ("not", "never", "no", the "n't" of "don't") read as one token, NEG, so "are never
atomic" and "is not atomic" say the same thing. Between two words of a phrase up to PHRASE_GAP
other words may stand ("lock that expires" is "lock expire" with one word between), but none after a
negation ("no fencing" is not "don't need fencing").

A rubric item's *idea* is a small set of concepts that must all be said within one sentence or two
consecutive ones — the concepts and the relation between them ("every lock grant carries a counter
that only goes up" + "the database turns away a write with a smaller counter" is fencing). An
idea element is one or more alternatives separated by "|", each a concept name from the vocabulary
or a literal phrase; an element starting with "~" counts even when negated, for the harm a mechanism
prevents ("retries spaced out so they can't pile up into a storm" names the storm).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import snowballstemmer
import yaml

from config.yaml_files import load_yaml

VOCABULARY_PATH = Path(__file__).resolve().parent / "vocabulary.yaml"
PHRASE_GAP = 2
NEG = "NEG"
_DROPPED = frozenset({"a", "an", "the"})
_NEGATIONS = frozenset({"not", "never", "no", "cannot", "nothing", "neither", "nor", "none"})
# Words, with their contractions kept together so "don't" can become "do" NEG.
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?|%|(?<=[A-Za-z0-9])\+(?=[A-Za-z0-9])|(?<=[0-9 ])/s\b")
# Symbols that carry meaning are read as the words they stand for, in answers and idea phrases alike, so
# "15%" is "15 percent" (not any 15), "t+2" is "t plus 2" (not "t 2") and "120/s" is "120 per second".
_SYMBOL_WORDS = {"%": ["percent"], "+": ["plus"], "/s": ["per", "second"]}
# A phrase left with only numbers and single letters once its other symbols are dropped ("3^4" -> "3 4")
# matches far more than it says. (A bare number written as one, such as "429", is meant and stays allowed.)
_THIN = re.compile(r"^(?:[0-9]+|[a-z])$")
_SYMBOL = re.compile(r"[^A-Za-z0-9\s'’-]")
_CONCEPT_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# A phrase that starts or ends with <, > or = has lost the other side of its comparison.
_DANGLING_COMPARISON = re.compile(r"^\s*[<>=!]|[<>=!]\s*$")
_CONTRACTIONS = {"can't": ["can", NEG], "won't": ["will", NEG], "cannot": ["can", NEG], "shan't": ["shall", NEG]}


class VocabularyError(ValueError):
    pass


@lru_cache(maxsize=1)
def _stemmer():
    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _stemmer().stemWord(word)


@dataclass(frozen=True)
class Token:
    stem: str
    start: int  # character span in the text
    end: int


def tokens(text: str) -> list[Token]:
    """The text's words as stems with their character spans; "a/an/the" dropped, negations as NEG."""
    out: list[Token] = []
    for m in _TOKEN.finditer(text):
        word = m.group(0).lower().replace("’", "'")
        if word in _SYMBOL_WORDS:
            parts = _SYMBOL_WORDS[word]
        elif word in _CONTRACTIONS:
            parts = _CONTRACTIONS[word]
        elif word.endswith("n't"):
            parts = [word[:-3], NEG]
        elif "'" in word:
            parts = [word.split("'")[0]]  # "it's" -> "it", "order's" -> "order"
        else:
            parts = [word]
        for part in parts:
            if part in _DROPPED or not part:
                continue
            value = NEG if part == NEG or part in _NEGATIONS else stem(part)
            out.append(Token(value, m.start(), m.end()))
    return out


@lru_cache(maxsize=8192)
def phrase_stems(phrase: str) -> tuple[str, ...]:
    return tuple(t.stem for t in tokens(phrase))


def find_phrase(sentence_tokens: list[Token], stems: tuple[str, ...], gap: int = PHRASE_GAP) -> Iterable[tuple[int, int]]:
    """Every (first, last) token index where the phrase occurs in order, at most `gap` words between its words."""
    if not stems:
        return
    n = len(sentence_tokens)
    for first in range(n):
        if sentence_tokens[first].stem != stems[0]:
            continue
        position, ok = first, True
        for wanted in stems[1:]:
            # A negation binds to the next word: "no fencing" is not "don't need fencing".
            reach = 0 if sentence_tokens[position].stem == NEG else gap
            for nxt in range(position + 1, min(n, position + reach + 2)):
                if sentence_tokens[nxt].stem == wanted:
                    position = nxt
                    break
            else:
                ok = False
                break
        if ok:
            yield first, position


@dataclass(frozen=True, eq=False)
class Vocabulary:
    concepts: dict[str, tuple[str, ...]]  # name -> phrases

    @lru_cache(maxsize=4096)
    def phrases(self, element: str) -> tuple[str, ...]:
        """The phrases of an idea element "a|b|c": a concept's phrases for each concept name, else the literal."""
        phrases: list[str] = []
        for alternative in (p.strip() for p in element.lstrip("~").split("|")):
            if alternative in self.concepts:
                phrases += self.concepts[alternative]
            elif alternative:
                phrases.append(alternative)
        return tuple(phrases)

    def check_element(self, element) -> str:
        """"" when an idea element is usable, else what is wrong with it."""
        if not isinstance(element, str) or not element.strip():
            return "must be a concept name or phrases separated by '|'"
        for alternative in (p.strip() for p in element.lstrip("~").split("|")):
            if alternative in self.concepts:
                continue
            if _CONCEPT_NAME.match(alternative) and "-" in alternative:
                return f"'{alternative}' is not a concept in {VOCABULARY_PATH.name}"
            if not phrase_stems(alternative):
                return f"'{alternative}' has no words to match"
            if _DANGLING_COMPARISON.search(alternative):
                # Symbols are dropped before matching, so "balance >=" would be the bare word "balance".
                return f"'{alternative}' ends in a comparison that is not matched: write it in words"
            if _SYMBOL.search(alternative) and all(_THIN.match(t) for t in phrase_stems(alternative)):
                return f"'{alternative}' is only numbers or single letters once its symbols are dropped: add a word"
        return ""


def parse_vocabulary(path: Path = VOCABULARY_PATH) -> Vocabulary:
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise VocabularyError(f"{path.name}: cannot be read: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("concepts"), dict):
        raise VocabularyError(f"{path.name}: must be a mapping with a 'concepts' mapping")
    concepts: dict[str, tuple[str, ...]] = {}
    for name, phrases in raw["concepts"].items():
        if isinstance(phrases, list):  # YAML reads a bare 81 as a number
            phrases = [str(p) if isinstance(p, (int, float)) and not isinstance(p, bool) else p for p in phrases]
        if not isinstance(name, str) or not _CONCEPT_NAME.match(name):
            raise VocabularyError(f"{path.name}: concept {name!r} must be a lowercase-and-hyphens name")
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise VocabularyError(f"{path.name}: concept '{name}' must list one or more phrases")
        for phrase in phrases:
            if not phrase_stems(phrase):
                raise VocabularyError(f"{path.name}: concept '{name}': phrase {phrase!r} has no words to match")
        concepts[name] = tuple(phrases)
    return Vocabulary(concepts)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    return parse_vocabulary()


@lru_cache(maxsize=8192)
def first_stems(element: str) -> frozenset[str]:
    """The stems an element's phrases start with: a sentence with none of them cannot say it (a quick skip)."""
    return frozenset(stems[0] for stems in (phrase_stems(p) for p in vocabulary().phrases(element)) if stems)


def element_hits(sentence_tokens: list[Token], element: str, vocab: Vocabulary | None = None):
    """(char_start, char_end, phrase_starts_negated) of each place the element is said."""
    vocab = vocab or vocabulary()
    for phrase in vocab.phrases(element):
        stems = phrase_stems(phrase)
        for first, last in find_phrase(sentence_tokens, stems):
            yield sentence_tokens[first].start, sentence_tokens[last].end, stems[0] == NEG
