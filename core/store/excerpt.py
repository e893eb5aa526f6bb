"""Short, secret-free excerpts of raw payloads, for the quarantine list.

An admin needs to see what was wrong with a ticket's payload, but the
quarantine table, logs and artifacts must never carry a credential: values
under secret-looking keys and auth headers are masked before truncating.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

EXCERPT_LIMIT = 500
MASK = "***"

_SECRET_WORDS = r"pass(?:word|wd)?|secret|token|api[_-]?key|authorization|cookie|credential|private[_-]?key|session[_-]?id"
# A key is secret-looking when it contains one of the words, or is exactly "auth" ("author_id" is not).
_SECRET_KEY = re.compile(rf"{_SECRET_WORDS}|^auth$", re.IGNORECASE)
# In text that is not JSON: "password": "x", token=x, Authorization: Bearer x.
_SECRET_IN_TEXT = re.compile(
    rf"[\"']?([\w\-]*(?:{_SECRET_WORDS})[\w\-]*)[\"']?"
    r"(\s*[:=]\s*)"
    r"(\"[^\"]*\"|'[^']*'|(?:Bearer|Basic)\s+\S+|[^\s,;&}\]]+)",
    re.IGNORECASE,
)


def redact(value: Any) -> Any:
    """``value`` with everything under a secret-looking key replaced by a mask."""
    if isinstance(value, Mapping):
        return {k: MASK if _SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _SECRET_IN_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", value)
    return value


def payload_excerpt(payload: Any, limit: int = EXCERPT_LIMIT) -> str | None:
    """A redacted, truncated text of ``payload`` (a dict, list or raw text)."""
    if payload is None:
        return None
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", errors="replace")
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            return _truncate(redact(payload), limit)
    text = json.dumps(redact(payload), ensure_ascii=False, default=str, separators=(", ", ": "))
    return _truncate(text, limit)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
