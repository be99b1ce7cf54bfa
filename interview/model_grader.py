"""An optional second opinion: a chat model asked, per rubric item, for a verdict and its evidence.

Used only where the operator sets GRADER_URL to an OpenAI-compatible chat-completions endpoint on
their own network (a local Ollama or llama.cpp server). The built-in rubric grader stays the score;
this adds a "model says" column beside it. Any failure — a timeout, a refused connection, a reply
that is not the JSON asked for, evidence that is not in the answer — gives that item no model verdict
and an error to show, never an exception; after a timeout or a connection error the remaining items
are not asked, so one dead server costs one timeout, not one per item. No Django here.
"""

from __future__ import annotations

import json
import re
import time
from typing import Mapping, Sequence

import requests

MET, MISSED = "met", "missed"
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)
SYSTEM = (
    "You grade one rubric item of a system-design interview answer. Decide whether the answer really covers "
    "the item as described, with reasoning, not just by naming a term. Reply with JSON only, no prose: "
    '{"verdict": "met" or "missed", "evidence": "the one sentence of the answer, copied exactly, that covers '
    'it, or an empty string"}.'
)


def endpoint(url: str) -> str:
    """GRADER_URL may be the server's base ("http://host:11434/v1") or the chat-completions endpoint itself."""
    url = url.rstrip("/")
    return url if url.endswith("/chat/completions") else f"{url}/chat/completions"


def _messages(text: str, item: Mapping) -> list[dict]:
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Rubric item: {item.get('description') or item['id']}\n\nAnswer:\n{text}"},
    ]


def parse_reply(body, answer: str) -> dict:
    """{"verdict", "evidence"} from a chat-completions response body; raises ValueError on anything else."""
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ValueError("the reply has no choices[0].message.content") from None
    if not isinstance(content, str):
        raise ValueError("the reply's content is not text")
    try:
        data = json.loads(_FENCE.sub("", content.strip()))
    except json.JSONDecodeError:
        raise ValueError("the model did not answer with JSON") from None
    if not isinstance(data, dict) or str(data.get("verdict", "")).lower() not in (MET, MISSED):
        raise ValueError("the model's verdict is neither met nor missed")
    verdict = data["verdict"].lower()
    evidence = data.get("evidence") or ""
    if not isinstance(evidence, str):
        raise ValueError("the model's evidence is not text")
    evidence = evidence.strip()
    # A model may paraphrase or invent a quote: only words really in the answer are shown as evidence.
    if evidence and evidence not in answer:
        return {"verdict": verdict, "evidence": "", "note": "its quoted evidence is not in the answer"}
    return {"verdict": verdict, "evidence": evidence, "note": ""}


def model_verdicts(text: str, rubric: Sequence[Mapping], *, url: str, model: str = "default", api_key: str = "",
                   deadline: float = 20.0, session: requests.Session | None = None) -> dict:
    """Ask the model about each rubric item within `deadline` seconds in all.

    Returns {"model", "items": {item id: {"verdict", "evidence", "note", "error"}}, "error"}; an item the model
    gave no usable verdict for has verdict None and says why in "error".
    """
    http = session or requests.Session()
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    stop_at = time.monotonic() + deadline
    items, fatal = {}, ""
    for item in rubric:
        if fatal:
            items[item["id"]] = {"verdict": None, "evidence": "", "note": "", "error": f"not asked: {fatal}"}
            continue
        remaining = stop_at - time.monotonic()
        if remaining <= 0:
            fatal = "out of time"
            items[item["id"]] = {"verdict": None, "evidence": "", "note": "", "error": fatal}
            continue
        try:
            response = http.post(endpoint(url), json={"model": model, "messages": _messages(text, item),
                                                      "temperature": 0, "stream": False},
                                 headers=headers, timeout=(min(remaining, 5.0), remaining))
            if response.status_code != 200:
                raise ValueError(f"the server answered HTTP {response.status_code}")
            try:
                body = response.json()
            except ValueError:
                raise ValueError("the reply is not JSON") from None
            items[item["id"]] = {**parse_reply(body, text), "error": ""}
        except requests.Timeout:
            fatal = "the grader timed out"
            items[item["id"]] = {"verdict": None, "evidence": "", "note": "", "error": fatal}
        except requests.RequestException as exc:
            fatal = f"the grader could not be reached ({type(exc).__name__})"
            items[item["id"]] = {"verdict": None, "evidence": "", "note": "", "error": fatal}
        except ValueError as exc:
            items[item["id"]] = {"verdict": None, "evidence": "", "note": "", "error": str(exc)}
    return {"model": model, "items": items, "error": fatal}
