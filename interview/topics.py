"""Which lesson a rubric item belongs to, so a report can say "weakest topic: idempotency".

Scripts name their topics (lesson slugs) but not which item tests which topic; the item's
own words tell: an item about "dedupe by event id" is about idempotency. Each item goes to
the script topic whose keywords its id and description mention most (ties: the topic listed
first); an item that mentions none goes to the script's first topic.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

TOPIC_KEYWORDS: dict[str, list[str]] = {
    "monolith-false-safety": [r"monolith", r"single database", r"one database", r"local transaction", r"acid"],
    "dual-write": [r"dual", r"two (commit|write)", r"atomic", r"crash", r"lost", r"lose", r"commit", r"publish",
                   r"inconsisten"],
    "transactional-outbox": [r"outbox", r"relay", r"cdc\b", r"change data capture", r"debezium", r"poll", r"same transaction"],
    "idempotency": [r"idempot", r"dedup", r"duplicate", r"exactly[- ]once", r"\bkeys?\b", r"replay", r"double", r"twice"],
    "retries-backoff-jitter": [r"retr", r"back-?off", r"jitter", r"timeout", r"thundering", r"dead[- ]letter", r"dlq\b"],
    "sagas": [r"saga", r"compensat", r"orchestrat", r"choreograph", r"rollback", r"undo", r"step"],
    "reconciliation": [r"reconcil", r"audit", r"drift", r"compar", r"mismatch", r"repair", r"ledger"],
    "cap-and-pacelc": [r"\bcap\b", r"pacelc", r"partition", r"availab", r"latency", r"trade-?off"],
    "consistency-models": [r"lineari[sz]", r"read[- ]your[- ]writes", r"causal", r"eventual", r"monotonic", r"stale",
                           r"session", r"serializ"],
    "replication-and-quorums": [r"quorum", r"replica", r"replicat", r"leader", r"follower", r"majority", r"failover"],
    "circuit-breakers-bulkheads-backpressure": [r"circuit", r"breaker", r"bulkhead", r"back-?pressure", r"load[- ]shed",
                                                r"\b429\b", r"\b503\b", r"rate[- ]limit", r"cascad", r"overload"],
    "messaging-trade-offs": [r"order", r"partition key", r"at[- ]least[- ]once", r"at[- ]most[- ]once", r"kafka",
                             r"queue", r"pub/?sub", r"consumer", r"broker", r"stream"],
    "consistent-hashing": [r"hash", r"\bring\b", r"virtual node", r"vnode", r"rebalanc", r"hot", r"shard"],
    "distributed-locks-and-fencing": [r"\block", r"lease", r"fencing", r"\btoken", r"pause", r"\bgc\b"],
    "observability-for-distributed-workflows": [r"trac(e|ing)", r"correlation", r"metric", r"alert", r"\blogs?\b",
                                                r"dashboard", r"observab", r"\bslo", r"monitor"],
    "organisational-side": [r"\bteams?\b", r"owner", r"on-?call", r"runbook", r"contract", r"stakeholder",
                            r"post-?mortem", r"communicat"],
}


def item_topic(item: Mapping, topics: Sequence[str]) -> str:
    """The script topic (lesson slug) that the rubric item is about."""
    if not topics:
        return ""
    text = f"{item.get('id', '').replace('-', ' ')} {item.get('description', '')}".lower()
    best, best_hits = topics[0], 0
    for topic in topics:
        keywords = TOPIC_KEYWORDS.get(topic, []) + [re.escape(w) for w in topic.split("-") if len(w) > 3]
        hits = sum(1 for keyword in keywords if re.search(keyword, text))
        if hits > best_hits:
            best, best_hits = topic, hits
    return best
