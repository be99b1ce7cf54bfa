"""Rubric scoring of a typed interview answer: plain, deterministic functions, no Django.

How an answer earns a rubric item:

1. The answer is split into sentences, with their character spans for highlighting.
2. The item is *said* in a sentence where one of its `match` patterns hits, or in one sentence or two
   consecutive ones that say every concept of one of its `ideas` (interview/concepts.py: concepts
   from the shared vocabulary, compared as word stems, so "a counter that only goes up" and
   "turns away a write with a smaller counter" say fencing without the word). Not said when
   - an `exclude` pattern hits that sentence (the script's own traps), or
   - the sentence makes a known wrong claim, in any script ("turn on Kafka's exactly-once and
     duplicates are gone", "wrap the PSP call and the insert in one database transaction"),
     unless it negates or limits it ("exactly-once only covers Kafka itself"), or
   - the hit is negated: a negation cue shortly before it in the same clause ("we don't need an
     outbox", "no idempotency key", "we can do it without a saga") or a dismissal right after it
     ("idempotency isn't needed", "an outbox is overkill", "three systems is too much"). "Without an
     outbox, events get lost" and "you can't do it without an outbox" argue for it, so they count.
3. Keyword salad only *lists* an item: a hit in a sentence that is a bare list of short noun
   phrases ("Outbox, CDC, sagas, 2PC"), that crams three or more items into a few words, or that
   sits in a run of three or more short list items naming two or more rubric items ("we'd commit to
   the outbox, CDC, sagas, 2PC and idempotency keys") earns LISTED_CREDIT of the weight and does not
   count as covered; one item spelled out as a list ("an outbox, acks=all and the idempotent
   producer") is an explanation and counts. When a third or more of an answer's words are in such
   lists or in one- or two-word fragments ("Outbox. Sagas. 2PC."), every item it earns is only listed, and
   earns only SALAD_CREDIT.
4. So does a bare line: a short sentence that adds nothing to the matched term ("We'd use fencing
   tokens.") with no reasoned sentence beside it. An idea of two or more concepts is reasoning.

The hand-written rules say an item is met by the earliest hit that is neither salad nor bare. The hit
model (interview/hit_model.py) then weighs the rest of the evidence: a logistic regression learned from
the labelled answers over features of the hits — the rules' verdict, how many patterns and ideas hit in
how many sentences, reasons, hedges, name-dropping, the answer's salad share, near misses of an
idea (all but one concept, or all of them over three sentences) — and each item's record in those answers.
It only adds: an item the rules meet stays met, and one they only listed or almost found is met when the
model is sure enough (interview/hit_model.py says why it may not take credit away). A
keyword-salad answer still only lists its items, and a negated or excluded mention is still no evidence.
The sentence reported is the one that earned the item: the first said with reasoning, else the first
said, else the near miss. An item said but not earned is listed: LISTED_CREDIT of its weight, or the
model's belief in it where that is more. An item only almost said is "almost": NEAR_CREDIT of its weight
for a whole idea, less for less of it (nothing in keyword salad). The total is the weighted share of
credit, 0–100. The follow-up is the heaviest item not covered.
`interview/scoring_quality.py` measures all this against human-labelled answers.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Mapping, Sequence

from .concepts import element_hits, first_stems
from .concepts import tokens as concept_tokens
from .hit_model import item_key, shipped_model
from .script_files import compiled_pattern

MET, LISTED, ALMOST, MISSED = "met", "listed", "almost", "missed"
LISTED_CREDIT = 0.25
# In an answer that is keyword salad throughout, a named item earns less than a bare line in a reasoned answer: at
# a quarter, a salad naming five items outscored partial answers that reason about one. Chosen on the nine spent
# blind sets (salad < partial for 437 of their 444 salad answers at a tenth, 416 at a quarter); on the tenth and
# eleventh sets, measured blind afterwards, this rule and the next alone took it from 40 and 42 of 48 to 46 and 46.
SALAD_CREDIT = 0.1
# An idea almost said (all but one of its concepts, or all of them over three sentences) earns this share of its
# weight times the share of its concepts said: less than a listed item, more than nothing, and never covered. So a
# partial answer that reaches for the ideas outscores a weak answer that never does. Chosen on the nine spent blind
# sets (strong > partial > weak on 456 of 480 prompts, 433 without it); on the tenth, measured blind afterwards, it
# alone took that from 36 of 48 prompts to 41.
NEAR_CREDIT = 0.2
# An answer whose words are this much salad is salad throughout: in the spent blind set 41 of 48 salad
# answers reach it and 1 of 192 others (a strong answer made of metric lists).
SALAD_ANSWER_SHARE = 0.35
# A sentence this short earns its item only with a reasoned sentence beside it.
BARE_TERMS = 6

_APOSTROPHE = "['’]"
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
# For judging lists, "at-least-once" and "min.insync.replicas" are one term each.
_TERM = re.compile(r"[A-Za-z0-9]+(?:[-'’.=][A-Za-z0-9]+)*")

# --- sentences --------------------------------------------------------------------------------

_BULLET = re.compile(r"[ \t]*(?:[-*•+]|\d{1,2}[.)])[ \t]+")
# A sentence ends at . ! ? (and any closing quote/bracket) before a line break, or before
# whitespace and anything but a lowercase letter; "e.g. Kafka" and "SELECT ... FOR UPDATE" do not end one.
_SENTENCE_END = re.compile(r"(?<![.!?…])(?!\.\.)[.!?]+[\"'”’)\]]*(?=[ \t]*\r?\n|\s+[^\sa-z])")
_ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "cf", "approx", "eg", "ie", "mr", "dr", "no"}


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of `text` with their [start, end) spans in it.

    A blank line or a bulleted line starts a new sentence; other line breaks are
    soft wraps (answers pasted from an editor) and do not.
    """
    blocks: list[tuple[int, int]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        start, end = offset, offset + len(line)
        offset = end
        if not line.strip():
            blocks.append((start, start))  # a break
            continue
        if blocks and blocks[-1][1] > blocks[-1][0] and not _BULLET.match(line):
            blocks[-1] = (blocks[-1][0], end)
        else:
            blocks.append((start, end))
    sentences: list[Sentence] = []
    for block_start, block_end in blocks:
        if block_end == block_start:
            continue
        block = text[block_start:block_end]
        cut = 0
        for m in _SENTENCE_END.finditer(block):
            # "doesn't." ends a sentence, so the word before the stop keeps its apostrophe; a lone capital
            # ("replica B.") ends one too, and only a lone lowercase letter reads as part of an abbreviation.
            before = re.search(r"([A-Za-z.'’]+)$", block[cut:m.start()])
            if before and (before.group(1).lower().rstrip(".") in _ABBREVIATIONS or before.group(1).islower()
                           and len(before.group(1)) == 1):
                continue
            _append(sentences, text, block_start + cut, block_start + m.end())
            cut = m.end()
        _append(sentences, text, block_start + cut, block_end)
    return sentences


def _append(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    bullet = _BULLET.match(text, start, end)
    if bullet:
        start = bullet.end()
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        sentences.append(Sentence(start, end, text[start:end]))


# --- negation ---------------------------------------------------------------------------------

# Where a clause ends: punctuation, or a conjunction that starts a new clause.
_CLAUSE_BREAK = re.compile(
    r"[,;:()\[\]—–\"“”]|\s-\s|\b(?:but|however|although|though|whereas|because|since|so|unless|until|"
    r"which|while|then|otherwise|thanks to|instead)\b",
    re.IGNORECASE,
)
# Cues that negate what follows within a few words: (regex, how many words may sit between).
# "not"-like cues reach further ("we don't really need to worry about an outbox") than
# "no"/"without", which mostly bind to the next noun phrase ("no outbox", "without a key").
FAR_WINDOW, NEAR_WINDOW = 6, 2
_NEGATION_CUES = [
    (re.compile(rf"\b(?:not|never|cannot|neither|nor|no longer|no need|no point|no reason)\b|n{_APOSTROPHE}t\b", re.I),
     FAR_WINDOW),
    (re.compile(r"\b(?:no|without|avoid(?:s|ed|ing)?|skip(?:s|ped|ping)?|ignor(?:e|es|ed|ing)|instead of|rather than|"
                r"forget(?: about)?)\b", re.I), NEAR_WINDOW),
]
# Not negations: "not only X but also Y", "no matter how".
_NOT_A_NEGATION = re.compile(r"\b(?:not only|not just|no matter|no doubt|not sure)\b", re.I)
# A dismissal right after the mention: "idempotency isn't needed", "an outbox is overkill".
_DISMISSAL = re.compile(
    rf"^[\s\w'’-]{{0,40}}?(?:\b(?:overkill|unnecessary|unneeded|pointless|irrelevant|redundant|a waste)\b|"
    rf"(?:\bnot|n{_APOSTROPHE}t|\bnever)\s+(?:really\s+|actually\s+|strictly\s+|even\s+)?"
    rf"(?:needed|necessary|required|matter|apply|relevant|worth|important|an issue|a concern|a problem|useful)\b|"
    # A rejection by its cost: "three systems is too much", "matching every record would be too slow".
    r"\b(?:is|are|was|would be|will be|gets?|seems?)\s+(?:way\s+|far\s+|just\s+|probably\s+)?too\s+"
    r"(?:much|many|slow|complex|complicated|expensive|costly|heavy|risky|hard|big)\b|\bover-?engineer)",
    re.I,
)

# Wrong claims the field keeps making, in any script: a sentence that makes one (not negated, not limited)
# earns nothing, whatever rubric terms it also names. "Turn on Kafka's exactly-once semantics, then
# consumers won't see duplicates" is not an idempotent consumer; "wrap the PSP call and the insert in one
# database transaction" is not an atomic local record.
_WRONG_CLAIMS = [
    # Exactly-once as a switch that solves delivery.
    re.compile(r"\b(?:enable|enabled|enabling|turn(?:ing)? on|switch(?:ing)? on|rely(?:ing)? on|just use)\b[^.;]{0,40}?"
               r"\bexactly[- ]once\b", re.I),
    # "... which gives us exactly-once semantics, so consumers won't see duplicates".
    re.compile(r"\b(?:gives?|giving|get|gets|provides?)\s+(?:us\s+|you\s+)?exactly[- ]once\b[^.;]{0,60}?"
               r"(?:\bno\b|\bnever\b|n['’]t\b)[^.;]{0,20}?\bduplicat", re.I),
    re.compile(r"\bexactly[- ]once\s+(?:delivery|semantics|processing|mode)?\s*(?:guarantees?|ensures?|solves?|gives us|"
               r"means (?:no|we never|there are no))\b", re.I),
    # A database transaction around a call to another system.
    re.compile(r"\b(?:wrap|wrapping|put|putting|do|doing|include|including)\b[^.;]{0,50}?"
               r"\b(?:psp|provider|payment call|api call|http|kafka|publish\w*|email\w*|external \w+|broker)\b[^.;]{0,50}?"
               r"\b(?:in|inside|within|into|under)\s+(?:a|one|the same|the|a single)\s+(?:single\s+|same\s+|local\s+|"
               r"database\s+|db\s+|sql\s+|acid\s+|distributed\s+|global\s+|xa\s+|2pc\s+)*transaction", re.I),
    # Publishing from inside an open database transaction and committing only if the publish worked: still two
    # commits ("start the DB transaction, publish to Kafka, and commit only if the publish succeeded").
    re.compile(r"\btransaction\b[^.;]{0,40}?\b(?:publish\w*|send\w*|emit\w*)\b[^.;]{0,60}?\bcommit\w*(?: it)?\s+"
               r"only\s+(?:if|when|after|once)\b[^.;]{0,30}?\b(?:publish\w*|send\w*|it|kafka)\b", re.I),
]
# "...exactly-once, but only within Kafka": the claim is limited, so it is not the myth.
_LIMITED = re.compile(r"^[^.;]{0,40}?\b(?:only|within|inside|limited|scope|stops? at|not|n['’]t)\b", re.I)


def _wrong_claim_reason(sentence: str) -> str:
    claim = wrong_claim(sentence)
    return f"wrong claim: {claim}" if claim else ""


@lru_cache(maxsize=4096)
def wrong_claim(sentence: str) -> str:
    """The wrong claim `sentence` makes ("" when it makes none): a known myth, not negated and not limited."""
    for claim in _WRONG_CLAIMS:
        for m in claim.finditer(sentence):
            if negation_of(sentence, m.start(), m.end()) or _LIMITED.search(sentence[m.end():]):
                continue
            return m.group(0)
    return ""


def _clause_bounds(sentence: str, start: int, end: int) -> tuple[int, int]:
    """The [begin, finish) of the clause around sentence[start:end]."""
    begin = 0
    for m in _CLAUSE_BREAK.finditer(sentence, 0, start):
        begin = m.end()
    after = _CLAUSE_BREAK.search(sentence, end)
    return begin, after.start() if after else len(sentence)


def negation_of(sentence: str, start: int, end: int) -> str:
    """The cue that negates the mention sentence[start:end] ("" when it is not negated)."""
    begin, finish = _clause_bounds(sentence, start, end)
    prefix = sentence[begin:start]
    if not _NOT_A_NEGATION.search(prefix):
        # The cue nearest the mention decides: "you can't do it without an outbox" is about "without".
        cues = sorted(((m, window) for cue, window in _NEGATION_CUES for m in cue.finditer(prefix)),
                      key=lambda pair: -pair[0].end())
        for found, window in cues:
            if len(_WORD.findall(prefix[found.end():])) > window:
                continue
            if found.group(0).lower() == "without" and _without_is_a_condition(prefix[:found.start()]):
                break
            return found.group(0)
    dismissal = _DISMISSAL.search(sentence[end:finish])
    return dismissal.group(0).strip() if dismissal else ""


def _without_is_a_condition(before: str) -> bool:
    """"Without an outbox, events get lost" and "you can't do it without an outbox" argue *for* it."""
    words = [w.lower() for w in _WORD.findall(before)]
    if all(w in {"and", "but", "so", "because", "also", "again"} for w in words):
        return True  # the clause opens with "without"
    return any(w in {"not", "never", "cannot"} or w.endswith(("n't", "n’t")) for w in words)


# --- keyword salad ----------------------------------------------------------------------------

# Words that make a clause: pronouns, auxiliaries, modals, subordinators and the commonest verbs.
# A buzzword list has almost none of them.
_CLAUSE_WORDS = frozenset("""
i we you he she it they this that these those there which who what when where why how if then so
because since unless until while after before once otherwise therefore thus hence
is are was were be been being am will would can could should must might may shall do does did done
has have had having need needs needed get gets got make makes made use uses using keep keeps
means mean happen happens happened let lets put puts take takes give gives see sees know knows
want wants think thinks go goes going
""".split())
# (Verbs that double as buzzword nouns — retries, writes, reads, commits, locks — are left out.)
_LIST_SEPARATORS = re.compile(r"[,/;:|+&•]|\band\b|\bor\b|->|→")


def _clause_word_count(words: list[str]) -> int:
    """How many words make a clause; "I'd", "it's" and "we'll" count by their pronoun."""
    return sum(w.lower().endswith(("n't", "n’t")) or re.split("['’]", w.lower())[0] in _CLAUSE_WORDS for w in words)


def is_salad_sentence(text: str) -> bool:
    """A bare list of short noun phrases: "Outbox, CDC, idempotency keys, sagas, 2PC"."""
    terms = _TERM.findall(text)
    segments = [s for s in _LIST_SEPARATORS.split(text) if _TERM.search(s)]
    if len(segments) < 3:
        return False
    mean_terms = len(terms) / len(segments)
    return mean_terms <= 3.0 and _clause_word_count(terms) <= 2


# A list item: a noun phrase of a few words with nothing that makes a clause ("TTL-based reservations").
LIST_ITEM_TERMS = 4
# This many list items in a row are a list, even inside a sentence that opens as a clause
# ("We'd commit to idempotency keys, deduplication, the transactional outbox, sagas, and reconciliation").
LIST_RUN = 3
# Words that make a list item a clause though _CLAUSE_WORDS misses them: "their availabilities multiply".
_NOT_A_LIST_ITEM = frozenset("their its our his her my your not no never".split())
_RUN_SEPARATORS = re.compile(r"[,;:|•]|\band\b|\bor\b|\bplus\b|->|→")


def list_runs(text: str) -> list[tuple[int, int]]:
    """The [start, end) spans of `text` that are runs of LIST_RUN or more list items in a row."""
    segments, cut = [], 0
    for m in [*_RUN_SEPARATORS.finditer(text), None]:
        end = m.start() if m else len(text)
        terms = _TERM.findall(text[cut:end])
        if terms:
            segments.append((cut, end, 0 < len(terms) <= LIST_ITEM_TERMS and _clause_word_count(terms) == 0
                             and not any(t.lower() in _NOT_A_LIST_ITEM for t in terms)))
        if m:
            cut = m.end()
    runs, current = [], []
    for segment in [*segments, (0, 0, False)]:
        if segment[2]:
            current.append(segment)
            continue
        if len(current) >= LIST_RUN:
            runs.append((current[0][0], current[-1][1]))
        current = []
    return runs


def is_fragment(text: str) -> bool:
    """One or two terms and nothing else: "Outbox pattern." Fine now and then; an answer made of them is a list.

    Terse notes ("crash after commit loses event") are longer than this and keep their credit.
    """
    terms = _TERM.findall(text)
    return len(terms) <= 2 and _clause_word_count(terms) == 0


def _is_crammed(text: str, items_earned: int) -> bool:
    """Three or more rubric items in a sentence with fewer than five words each: name-dropping."""
    return items_earned >= 3 and len(_TERM.findall(text)) < 5 * items_earned


# --- scoring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    """A pattern hit that did not earn the item, and why."""

    sentence: str
    span: tuple[int, int]  # of the sentence in the answer
    reason: str  # "negated: don't", "excluded: <pattern>"


@dataclass(frozen=True)
class ItemResult:
    id: str
    weight: int
    description: str
    follow_up: str
    status: str  # met | listed | almost | missed
    # 1 met; listed: LISTED_CREDIT (SALAD_CREDIT in salad), or the hit model's belief where that is more;
    # almost: NEAR_CREDIT × the share of the idea said; 0 missed
    credit: float
    sentence: str = ""  # the sentence that earned it
    span: tuple[int, int] | None = None  # that sentence's [start, end) in the answer
    match_span: tuple[int, int] | None = None  # the matched words' [start, end) in the answer
    pattern: str = ""  # the regex that matched, or "idea: concept + concept"
    match_spans: list[list[int]] = field(default_factory=list)  # every matched phrase, for an idea
    discounted: list[Mention] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        """Covered, as a human grader would say: earned with reasoning, not just listed."""
        return self.status == MET

    def to_dict(self) -> dict:
        data = asdict(self)
        data["matched"] = self.matched
        data["span"] = list(self.span) if self.span else None
        data["match_span"] = list(self.match_span) if self.match_span else None
        data["discounted"] = [{**asdict(m), "span": list(m.span)} for m in self.discounted]
        return data


@dataclass(frozen=True)
class Score:
    items: list[ItemResult]
    total: int  # 0–100, weighted
    salad: bool  # the whole answer reads as keyword salad
    sentences: list[Sentence]

    @property
    def follow_up_item(self) -> ItemResult | None:
        """What the interviewer asks about next: the heaviest item not covered, first in rubric order."""
        missed = [item for item in self.items if not item.matched]
        return max(missed, key=lambda item: item.weight) if missed else None

    def to_dict(self) -> dict:
        follow = self.follow_up_item
        return {
            "total": self.total,
            "salad": self.salad,
            "items": [item.to_dict() for item in self.items],
            "follow_up": {"id": follow.id, "question": follow.follow_up, "description": follow.description}
            if follow else None,
        }


@dataclass(frozen=True)
class _Hit:
    """Where an item was said: the sentences (one, or two consecutive), the matched words, and how."""

    sentences: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]  # matched words, in the answer
    via: str  # the regex, or "idea: a + b"


def _pattern_hits(item: Mapping, sentences: list[Sentence], negation: bool, lost: list[Mention]) -> list[_Hit]:
    hits = []
    for index, sentence in enumerate(sentences):
        excluded = next((p for p in item.get("exclude") or [] if compiled_pattern(p).search(sentence.text)), None)
        excluded = excluded or _wrong_claim_reason(sentence.text)
        for pattern in item["match"]:
            found = None
            for m in compiled_pattern(pattern).finditer(sentence.text):
                if m.end() == m.start():
                    continue
                if excluded:
                    reason = excluded if excluded.startswith("wrong claim: ") else f"excluded: {excluded}"
                    lost.append(Mention(sentence.text, (sentence.start, sentence.end), reason))
                    break
                cue = negation_of(sentence.text, m.start(), m.end()) if negation else ""
                if cue:
                    lost.append(Mention(sentence.text, (sentence.start, sentence.end), f"negated: {cue}"))
                    continue
                found = m
                break
            if found:
                hits.append(_Hit((index,), ((sentence.start + found.start(), sentence.start + found.end()),), pattern))
                break
    return hits


def _idea_hits(item: Mapping, sentences: list[Sentence], sentence_tokens: list, sentence_stems: list[set[str]],
               negation: bool, lost: list[Mention], near: list[_NearMiss] | None = None) -> list[_Hit]:
    """Each idea said within one sentence or two consecutive ones, every concept live (not negated).

    With `near`, also collects near misses of ideas of two or more concepts: all but one concept said within
    two sentences, or every concept said but spread over three (the learned hit model weighs them).
    """
    ideas = item.get("ideas") or []
    if not ideas:
        return []
    excluded = [any(compiled_pattern(p).search(s.text) for p in item.get("exclude") or []) or bool(wrong_claim(s.text))
                for s in sentences]
    live: dict[tuple[int, str], list[tuple[int, int]]] = {}  # (sentence, element) -> spans
    # Near misses are looked for afterwards and report no mentions: `discounted` says why a full hit was lost.
    reporting = True

    def spans_of(index: int, element: str) -> list[tuple[int, int]]:
        key = (index, element)
        known = live.get(key)
        if known is not None:
            return known
        if sentence_stems[index].isdisjoint(first_stems(element)):
            live[key] = []
        else:
            sentence, found = sentences[index], []
            either_way = element.startswith("~")  # a harm prevented is named even when negated
            for start, end, self_negated in element_hits(sentence_tokens[index], element):
                cue = "" if self_negated or either_way or not negation else negation_of(sentence.text, start, end)
                if cue:
                    if reporting:
                        lost.append(Mention(sentence.text, (sentence.start, sentence.end), f"negated: {cue}"))
                else:
                    found.append((sentence.start + start, sentence.start + end))
            live[key] = found
        return live[key]

    def said(window: tuple[int, ...], idea: Sequence[str]) -> list[tuple[int, int] | None]:
        """Per concept of the idea, a span saying it in the window (None where none); one word says one concept."""
        spans: list[tuple[int, int] | None] = []
        for element in idea:
            here = [span for i in window for span in spans_of(i, element)
                    if not any(other and span[0] < other[1] and other[0] < span[1] for other in spans)]
            spans.append(here[0] if here else None)
        return spans

    hits = []
    for index in range(len(sentences)):
        for window in ((index,), (index, index + 1)):
            if window[-1] >= len(sentences) or any(excluded[i] for i in window):
                continue
            for idea in ideas:
                spans = []
                for element in idea:
                    # One word cannot say two concepts of an idea.
                    here = [span for i in window for span in spans_of(i, element)
                            if not any(span[0] < end and start < span[1] for start, end in spans)]
                    if not here:
                        break
                    spans.append(here[0])
                else:
                    # Two sentences only when the second adds something the first did not say.
                    if len(window) == 2 and not any(spans_of(window[1], e) for e in idea):
                        continue
                    hits.append(_Hit(window, tuple(sorted(set(spans))), "idea: " + " + ".join(idea)))
    if near is not None and not hits:
        reporting = False
        for idea in (idea for idea in ideas if len(idea) >= 2):
            via = "near miss of idea: " + " + ".join(idea)
            for index in range(len(sentences)):
                for width in (1, 2, 3):
                    window = tuple(range(index, index + width))
                    if window[-1] >= len(sentences) or any(excluded[i] for i in window):
                        continue
                    spans = said(window, idea)
                    found = [span for span in spans if span]
                    if not found:
                        continue
                    complete = len(found) == len(idea)
                    if (complete and width == 3) or (not complete and width <= 2 and len(found) == len(idea) - 1):
                        near.append(_NearMiss(_Hit(window, tuple(sorted(set(found))), via),
                                              len(found) / len(idea), complete))
    return hits


@dataclass(frozen=True)
class _NearMiss:
    """An idea almost said: `share` of its concepts, `spread` when all of them but over three sentences."""

    hit: _Hit
    share: float
    spread: bool


_FUNCTION_WORDS = frozenset("""
a an the of to in on for with and or by at as from into our my your their its his her just also really basically
simply probably definitely here ok okay yes well
""".split())


def _content_word_count(words: list[str]) -> int:
    """Words that say something beyond the matched term: not pronouns, auxiliaries or prepositions."""
    return sum(1 for w in words
               if re.split("['’]", w.lower())[0] not in _CLAUSE_WORDS and w.lower() not in _FUNCTION_WORDS)


def _is_reasoned_sentence(text: str) -> bool:
    terms = _TERM.findall(text)
    return len(terms) > BARE_TERMS and _clause_word_count(terms) > 0 and not is_salad_sentence(text)


# What the learned hit model reads in a sentence (interview/hit_model.py): a reason or a mechanism, a
# condition, a number, hedging.
_REASON = re.compile(
    r"\b(?:because|since|so|so that|which means|that means|meaning|otherwise|therefore|thus|hence|in order to|"
    r"to avoid|to prevent|prevents?|ensures?|guarantees?|leads? to|causes?|results? in|instead|rather than|"
    r"which|whereas|then)\b|->|→", re.I)
_CONDITION = re.compile(r"\b(?:if|when|whenever|unless|until|after|before|once|while)\b", re.I)
_NUMBER = re.compile(r"\d")
_HEDGE = re.compile(
    r"\b(?:maybe|perhaps|probably|possibly|i guess|i think|i believe|i suppose|not sure|might|kind of|sort of|"
    r"somehow|something like|some kind of|or something|or so|stuff|things like|etc)\b", re.I)


@dataclass(frozen=True)
class ItemEvidence:
    """What the grader found for one rubric item, before deciding: its live hits, those said with reasoning, the
    mentions it lost, its best near miss, and the features the hit model weighs."""

    item: Mapping
    live: list[_Hit]
    reasoned: list[_Hit]
    enough: bool  # as many of its parts said with reasoning as it needs
    lost: list[Mention]
    near: _NearMiss | None
    chosen: _Hit | None  # the evidence it is judged by: its first hit said with reasoning, else its first, else the near miss
    features: dict[str, float]

    @property
    def rule_met(self) -> bool:
        """The hand-written rules' verdict: said with reasoning, in as many parts as the item needs."""
        return bool(self.reasoned) and self.enough


@dataclass(frozen=True)
class Evidence:
    sentences: list[Sentence]
    items: list[ItemEvidence]
    salad: bool  # the whole answer reads as keyword salad


def gather_evidence(text: str, rubric: Sequence[Mapping], *, negation: bool = True, salad: bool = True,
                    ideas: bool = True, bare: bool = True) -> Evidence:
    """Where each rubric item is said in `text`, with what reasoning around it; see the module docstring."""
    sentences = split_sentences(text)
    sentence_tokens = [concept_tokens(s.text) for s in sentences] if ideas else []
    sentence_stems = [{token.stem for token in tokens} for tokens in sentence_tokens]
    # First pass: where each item is said, and which mentions survive negation and excludes.
    hits: list[list[_Hit]] = []
    near_misses: list[list[_NearMiss]] = []
    discounted: list[list[Mention]] = []
    earned_in: dict[int, set[str]] = {}  # sentence index -> items said there alone
    for item in rubric:
        lost: list[Mention] = []
        near: list[_NearMiss] = []
        live = _pattern_hits(item, sentences, negation, lost)
        if ideas:
            live += _idea_hits(item, sentences, sentence_tokens, sentence_stems, negation, lost, near)
        for hit in live:
            if len(hit.sentences) == 1:
                earned_in.setdefault(hit.sentences[0], set()).add(item["id"])
        hits.append(live)
        near_misses.append(near)
        discounted.append(_unique(lost))
    salad_sentences = {
        index for index, sentence in enumerate(sentences)
        if salad and (is_salad_sentence(sentence.text) or _is_crammed(sentence.text, len(earned_in.get(index, ()))))
    }
    runs = [(s.start + a, s.start + b) for s in sentences for a, b in list_runs(s.text)] if salad else []
    total_words = sum(len(_TERM.findall(s.text)) for s in sentences)
    salad_words = sum(len(_TERM.findall(s.text)) for i, s in enumerate(sentences)
                      if i in salad_sentences or (salad and is_fragment(s.text)))
    salad_words += sum(len(_TERM.findall(text[a:b])) for a, b in runs
                       if not any(i in salad_sentences or is_fragment(s.text)
                                  for i, s in enumerate(sentences) if s.start <= a < s.end))
    salad_share = salad_words / total_words if total_words else 0.0
    salad_answer = total_words > 0 and salad_share >= SALAD_ANSWER_SHARE
    reasoned_sentence = [_is_reasoned_sentence(s.text) for s in sentences]

    def run_of(hit: _Hit) -> tuple[int, int] | None:
        """The run of list items that holds every phrase of the hit, if one does."""
        return next((run for run in runs if all(run[0] <= a and b <= run[1] for a, b in hit.spans)), None)

    # A run of list items that names two or more rubric items is name-dropping; one item spelled out
    # as a list ("a transactional outbox, acks=all, and the idempotent producer") is an explanation.
    items_in_run: dict[tuple[int, int], set[str]] = {}
    for item, live in zip(rubric, hits):
        for hit in live:
            run = run_of(hit)
            if run:
                items_in_run.setdefault(run, set()).add(item["id"])

    def in_a_list(hit: _Hit) -> bool:
        run = run_of(hit)
        return run is not None and len(items_in_run[run]) >= 2

    def is_bare(hit: _Hit) -> bool:
        """A short line with no reasoning in it or beside it: "We'd use fencing tokens." on its own."""
        if not bare or len(hit.sentences) > 1 or hit.via.count(" + "):
            return False
        index = hit.sentences[0]
        sentence = sentences[index]
        start, end = hit.spans[0][0] - sentence.start, hit.spans[0][1] - sentence.start
        rest = _TERM.findall(sentence.text[:start] + " " + sentence.text[end:])
        if len(_TERM.findall(sentence.text)) > BARE_TERMS or _content_word_count(rest) > 1:
            return False
        return not any(0 <= j < len(sentences) and reasoned_sentence[j] for j in (index - 1, index + 1))

    items_in_sentence: dict[int, int] = {}  # sentence -> how many items were said in it
    for live in hits:
        for index in {i for hit in live for i in hit.sentences}:
            items_in_sentence[index] = items_in_sentence.get(index, 0) + 1
    max_weight = max((int(item["weight"]) for item in rubric), default=1) or 1
    # Not the answer's length nor how many items it names: in the blind sets strong answers run to 300 words and
    # partial ones to 100, so length learns the label (the folds gain 4 points of recall with it) and then withholds
    # credit from every short answer, a one-item follow-up or a terse strong one (the tuning set's recall fell from
    # 0.99 to 0.89); breadth is the same proxy, and is always 1 for a follow-up scored against its one item.
    answer = {"salad_share": min(1.0, salad_share)}

    evidence = []
    for item, live, near, lost in zip(rubric, hits, near_misses, discounted):
        reasoned = [hit for hit in live if not any(i in salad_sentences for i in hit.sentences) and not is_bare(hit)
                    and not in_a_list(hit)]
        # An item of several parts is met only when that many of its patterns and ideas are said with reasoning;
        # one part of it alone is listed, like a bare mention.
        parts = int(item.get("parts") or 1)
        enough = len({hit.via for hit in reasoned}) >= parts
        best_near = max(near, key=lambda n: (n.share, -n.hit.sentences[0], -len(n.hit.sentences))) if near else None
        chosen = (min(reasoned, key=_hit_order) if reasoned else min(live, key=_hit_order) if live
                  else best_near.hit if best_near else None)
        features: dict[str, float] = {}
        if chosen is not None:
            said_in = sorted({i for hit in live for i in hit.sentences})
            chosen_text = " ".join(sentences[i].text for i in chosen.sentences)
            chosen_terms = _TERM.findall(chosen_text)
            features = {
                "rule_met": float(bool(reasoned) and enough),
                "rule_listed": float(bool(live) and not (reasoned and enough)),
                "near_only": float(not live),
                "vias": min(len({hit.via for hit in live}), 4) / 4,
                "reasoned_vias": min(len({hit.via for hit in reasoned}), 4) / 4,
                "pattern_hit": float(any(not hit.via.startswith("idea: ") for hit in live)),
                "idea_hit": float(any(hit.via.startswith("idea: ") for hit in live)),
                "long_idea_hit": float(any(hit.via.count(" + ") >= 2 for hit in live)),
                "sentences": min(len(said_in), 4) / 4,
                "parts_short": float(parts > 1 and len({hit.via for hit in reasoned}) < parts),
                "bare": float(bool(live) and is_bare(chosen)),
                "listed_in_salad": float(bool(live) and not reasoned),
                "words": min(1.0, math.log1p(len(chosen_terms)) / 4),
                "content_words": min(1.0, math.log1p(_content_word_count(chosen_terms)) / 3),
                "reason": float(bool(_REASON.search(chosen_text))),
                "reason_anywhere": float(any(_REASON.search(sentences[i].text) for i in said_in)),
                "condition": float(bool(_CONDITION.search(chosen_text))),
                "number": float(bool(_NUMBER.search(chosen_text))),
                "hedge": float(bool(_HEDGE.search(chosen_text))),
                "negation_nearby": float(any(cue.search(chosen_text) for cue, _ in _NEGATION_CUES)),
                "hedged_throughout": float(bool(said_in) and all(_HEDGE.search(sentences[i].text) for i in said_in)),
                "crowded": min(max((items_in_sentence.get(i, 0) for i in chosen.sentences), default=0) - bool(live),
                               3) / 3 if live else 0.0,
                "negated_mentions": min(sum(m.reason.startswith("negated") for m in lost), 3) / 3,
                "excluded_mentions": float(any(not m.reason.startswith("negated") for m in lost)),
                "weight": int(item["weight"]) / max_weight,
                "near_share": best_near.share if best_near and not live else 0.0,
                "near_spread": float(bool(best_near and not live and best_near.spread)),
                **answer,
            }
        evidence.append(ItemEvidence(item=item, live=live, reasoned=reasoned, enough=enough, lost=lost,
                                     near=best_near, chosen=chosen, features=features))
    return Evidence(sentences=sentences, items=evidence, salad=salad_answer)


_SHIPPED = object()


def score_answer(text: str, rubric: Sequence[Mapping], *, negation: bool = True, salad: bool = True,
                 ideas: bool = True, bare: bool = True, model=_SHIPPED) -> Score:
    """Score `text` against a rubric: a list of items with id, weight, description,
    match (regexes), ideas (lists of concepts, optional), exclude (regexes, optional), parts (how many distinct
    patterns and ideas must be said, optional, 1 by default) and follow_up.

    `model` is the hit model that may credit what the rules only listed or almost found (interview/hit_model.py):
    the shipped one by default, another HitModel, or None for the hand-written rules alone. Either way a
    keyword-salad answer only lists its items, and a negated or excluded mention is no evidence at all.
    `negation`, `salad`, `ideas` and `bare` switch those rules off, to measure what each is worth.
    """
    if model is _SHIPPED:
        model = shipped_model()
    evidence = gather_evidence(text, rubric, negation=negation, salad=salad, ideas=ideas, bare=bare)
    sentences = evidence.sentences
    results = []
    for found in evidence.items:
        item = found.item
        base = {"id": item["id"], "weight": int(item["weight"]), "description": item.get("description", ""),
                "follow_up": item.get("follow_up", ""), "discounted": found.lost}
        # The model only adds: it credits what the rules only listed or almost found, never takes their credit away,
        # and never weighs a bare line (the labelled answers hold almost none, so it has not learnt them) nor
        # evidence in a sentence with a negation in it (the negation rules judge a mention, not a near miss).
        weighed = (model is not None and bool(found.features) and not found.features["bare"]
                   and not found.features["negation_nearby"])
        chance = model.probability(found.features, item_key(item)) if weighed else 0.0
        earns = found.rule_met or (weighed and chance >= model.threshold)
        if earns and not evidence.salad:
            # The sentence shown is the one that earned it: the evidence the item was judged by.
            status, credit, hit = MET, 1.0, found.chosen
        elif found.live:
            # Said but not earned: a quarter (a tenth in salad), or as much as the model believes in it (below its
            # threshold), so a partial answer's doubted points still outweigh a salad's bare names.
            credit = SALAD_CREDIT if evidence.salad else max(LISTED_CREDIT, chance)
            status, hit = LISTED, min(found.live, key=_hit_order)
        elif found.near and not evidence.salad:
            # Almost said: a little, so a partial answer that reaches for the idea outscores one that never does.
            status, credit, hit = ALMOST, NEAR_CREDIT * found.near.share, found.near.hit
        else:
            results.append(ItemResult(status=MISSED, credit=0.0, **base))
            continue
        first, last = sentences[hit.sentences[0]], sentences[hit.sentences[-1]]
        results.append(ItemResult(
            status=status, credit=credit, sentence=text[first.start:last.end], span=(first.start, last.end),
            match_span=hit.spans[0], match_spans=[list(span) for span in hit.spans], pattern=hit.via, **base,
        ))
    weights = sum(r.weight for r in results)
    total = percent(sum(r.weight * r.credit for r in results), weights)
    return Score(items=results, total=total, salad=evidence.salad, sentences=sentences)


def _hit_order(hit: _Hit) -> tuple:
    """The earliest sentence first; in it, a rubric pattern before an idea, one sentence before two."""
    return hit.sentences[0], hit.via.startswith("idea: "), len(hit.sentences)


def percent(part: float, whole: float) -> int:
    """A whole percentage, halves rounded up (5 of 8 is 63, as a person would say)."""
    return int(100 * part / whole + 0.5) if whole else 0


def _unique(mentions: list[Mention]) -> list[Mention]:
    seen, kept = set(), []
    for mention in mentions:
        if mention.span not in seen:
            seen.add(mention.span)
            kept.append(mention)
    return kept


def highlight_segments(text: str, items: Sequence[Mapping]) -> list[dict]:
    """The answer cut into pieces for display: each piece says which items its sentences earned (or almost did).

    `items` are ItemResult.to_dict()s; returns [{"text", "items": [ids], "status"}] covering
    the whole answer in order, so a template can escape each piece and wrap earned ones in <mark>.
    An idea may be earned by two sentences, so spans can overlap: the text is cut at every edge.
    """
    earned = [item for item in items if item.get("status") in (MET, LISTED, ALMOST) and item.get("span")]
    edges = sorted({0, len(text), *(min(max(0, e), len(text)) for item in earned for e in item["span"])})
    pieces = []
    for start, end in zip(edges, edges[1:]):
        covering = [i for i in earned if i["span"][0] <= start and end <= i["span"][1]]
        status = next((st for st in (MET, LISTED, ALMOST) if any(i["status"] == st for i in covering)), "")
        piece = {"text": text[start:end], "items": [i["id"] for i in covering], "status": status}
        if pieces and not covering and not pieces[-1]["items"]:
            pieces[-1]["text"] += piece["text"]
        else:
            pieces.append(piece)
    return [p for p in pieces if p["text"]]


def evidence_parts(text: str, item: Mapping) -> dict | None:
    """The words that earned an item, cut out of their sentence(s): {"before", "match", "after"} for the
    first matched phrase, and "pieces" [{"text", "mark"}] marking every phrase of an idea."""
    if not item.get("span") or not item.get("match_span"):
        return None
    (start, end), (m_start, m_end) = item["span"], item["match_span"]
    spans = sorted(tuple(s) for s in item.get("match_spans") or [item["match_span"]])
    pieces, cursor = [], start
    for s_start, s_end in spans:
        if s_start < cursor:
            continue
        pieces += [{"text": text[cursor:s_start], "mark": False}, {"text": text[s_start:s_end], "mark": True}]
        cursor = s_end
    pieces.append({"text": text[cursor:end], "mark": False})
    return {"before": text[start:m_start], "match": text[m_start:m_end], "after": text[m_end:end],
            "pieces": [p for p in pieces if p["text"]]}
