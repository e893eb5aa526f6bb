"""The marker deskbridge leaves in every helpdesk it writes to.

Each write plan has an idempotency key; the key travels into the helpdesk
inside the internal note (and customer message) as a marker line, and the tag
:data:`ESCALATED_TAG` marks escalated tickets. On a retry or restart the
connector looks for the marker before writing again (exactly once); on the
next pull the normalizer uses it to recognise deskbridge's own comments as
echoes, never as human activity.
"""

from __future__ import annotations

import re

ESCALATED_TAG = "deskbridge_escalated"
PROPOSED_TAG = "deskbridge_proposed"

_MARKER_RE = re.compile(r"\[deskbridge:([A-Za-z0-9_.:\-]{6,80})\]")


def marker(idempotency_key: str) -> str:
    """The text that carries ``idempotency_key`` into a note or message."""
    if not _MARKER_RE.fullmatch(f"[deskbridge:{idempotency_key}]"):
        raise ValueError(f"idempotency key {idempotency_key!r} has characters a marker cannot carry")
    return f"[deskbridge:{idempotency_key}]"


def find_markers(text: str | None) -> set[str]:
    """Every idempotency key marked in ``text``."""
    return set(_MARKER_RE.findall(text or ""))


def has_marker(text: str | None) -> bool:
    """True when ``text`` was written by deskbridge."""
    return bool(text) and _MARKER_RE.search(text) is not None
