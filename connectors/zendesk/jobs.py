"""Bulk updates: ``update_many`` (≤ 100 tickets a job), job status polling, one result per ticket.

Zendesk answers ``update_many`` with a queued ``job_status``; the updates happen in
the background, and ``GET job_statuses/{id}.json`` says ``queued``/``working`` until
``completed`` (with one result per ticket) or ``failed``/``killed``. All chunks of a
round are submitted first and polled afterwards, so their jobs run side by side.
Polling backs off (``JobWait``) and is bounded: a job still running at the end
counts as failed for this call — its ``safe_update`` makes a later replay safe, and
the note's marker tells whether it landed.
https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-many-tickets
https://developer.zendesk.com/api-reference/ticketing/ticket-management/job_statuses/
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.zendesk.client import ZendeskClient
from core.errors import ConflictError, PayloadError, RetriableAPIError

log = logging.getLogger("deskbridge.zendesk")
MAX_PER_JOB = 100
CONFLICT = "UpdateConflict"


@dataclass(frozen=True)
class JobWait:
    """How to poll a job: first wait, growth, longest single wait, total bound (seconds)."""

    first_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 5.0
    max_wait: float = 120.0


@dataclass(frozen=True)
class TicketOutcome:
    """What a job did to one ticket."""

    success: bool
    code: str | None = None
    details: str | None = None

    @property
    def conflict(self) -> bool:
        return self.code == CONFLICT

    def text(self) -> str:
        return ": ".join(p for p in (self.code, self.details) if p) or "failed"


def run_updates(client: ZendeskClient, updates: Sequence[dict[str, Any]], wait: JobWait,
                sleep: Callable[[float], None]) -> dict[str, TicketOutcome]:
    """Apply ``updates`` (one per ticket, unique ids) through update_many jobs; the outcome per ticket id."""
    outcomes: dict[str, TicketOutcome] = {}
    jobs: list[tuple[str, list[str]]] = []
    for start in range(0, len(updates), MAX_PER_JOB):
        chunk = list(updates[start:start + MAX_PER_JOB])
        ids = [str(u["id"]) for u in chunk]
        try:
            jobs.append((client.update_many(chunk), ids))
        except ConflictError as exc:
            outcomes.update({i: TicketOutcome(False, CONFLICT, str(exc)) for i in ids})
        except (RetriableAPIError, PayloadError) as exc:  # not submitted, or not known to be: the marker decides later
            outcomes.update({i: TicketOutcome(False, "NotSubmitted", str(exc)) for i in ids})
    for job_id, ids in jobs:
        outcomes.update(_wait_for(client, job_id, ids, wait, sleep))
    return outcomes


def _wait_for(client: ZendeskClient, job_id: str, ids: list[str], wait: JobWait,
              sleep: Callable[[float], None]) -> dict[str, TicketOutcome]:
    waited, delay = 0.0, wait.first_delay
    while True:
        sleep(delay)
        waited += delay
        try:
            status = client.job_status(job_id)
        except (RetriableAPIError, PayloadError) as exc:
            return _all(ids, "JobUnknown", f"job {job_id} could not be polled ({exc})")
        state = status.get("status")
        if state == "completed":
            return _results(status, ids, job_id)
        if state in ("failed", "killed"):
            return _all(ids, "JobFailed", f"job {job_id} {state}: {status.get('message') or ''}".strip())
        if waited + min(wait.max_delay, delay * wait.factor) > wait.max_wait:
            log.warning("zendesk job %s still %s after %.1fs; giving up on it", job_id, state, waited)
            return _all(ids, "JobTimeout", f"job {job_id} still {state} after {waited:.0f}s")
        delay = min(wait.max_delay, delay * wait.factor)


def _results(status: dict[str, Any], ids: list[str], job_id: str) -> dict[str, TicketOutcome]:
    """Per-ticket results of a completed job, by ticket id (by position when a result has no id)."""
    out: dict[str, TicketOutcome] = {}
    for position, entry in enumerate(status.get("results") or []):
        if not isinstance(entry, dict):
            continue
        tid = entry.get("id")
        index = entry.get("index", position)
        key = str(tid) if tid is not None else (ids[index] if isinstance(index, int) and index < len(ids) else None)
        if key is None:
            continue
        if entry.get("success") is True or entry.get("status") == "Updated":
            out[key] = TicketOutcome(True)
        else:
            code = entry.get("errors") or entry.get("error") or entry.get("status")
            details = entry.get("details") or entry.get("description")
            out[key] = TicketOutcome(False, str(code) if code else None, str(details) if details else None)
    missing = [i for i in ids if i not in out]
    return out | _all(missing, "NoResult", f"job {job_id} completed without a result for this ticket")


def _all(ids: list[str], code: str, details: str) -> dict[str, TicketOutcome]:
    return {i: TicketOutcome(False, code, details) for i in ids}
