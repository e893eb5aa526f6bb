"""Idempotency keys: one stable name per escalation step of one ticket.

The same ticket, reasons, level and decision time bucket always give the same
key, so a retry, a Prefect retry or a restart re-plans onto the outbox entry
(and the helpdesk marker) it already has instead of writing again. Keys are
short, lowercase and marker-safe, so they also work as a tag or label.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from core.markers import marker
from core.model import System

_SYSTEM_CODES = {System.zendesk: "zd", System.servicenow: "sn", System.jira: "jr"}
_DIGEST_CHARS = 20  # 80 bits: collisions are not a practical concern per ticket


def time_bucket(at: datetime, width: timedelta) -> int:
    """The index of the ``width``-wide window containing ``at`` (counted from the Unix epoch)."""
    if at.tzinfo is None:
        raise ValueError("time_bucket needs a timezone-aware instant")
    seconds = width.total_seconds()
    if seconds <= 0:
        raise ValueError("time bucket width must be positive")
    return int(at.astimezone(UTC).timestamp() // seconds)


def idempotency_key(
    system: System | str,
    ticket_id: str,
    reason_codes: Iterable[str],
    level: int,
    decision_time_bucket: int | str,
) -> str:
    """A short stable key such as ``zd-l2-5f0c…`` for one escalation step.

    Reason codes are a set: their order and repeats do not change the key.
    """
    system = System(system)
    canonical = json.dumps(
        [system.value, str(ticket_id), sorted(set(reason_codes)), int(level), str(decision_time_bucket)],
        separators=(",", ":"),
    )
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:_DIGEST_CHARS]
    key = f"{_SYSTEM_CODES[system]}-l{int(level)}-{digest}"
    marker(key)  # raises if a future change ever made the key unfit for the helpdesk marker
    return key
