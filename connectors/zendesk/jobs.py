"""Bulk updates: ``update_many`` (≤ 100 tickets a job), job status polling, one result per ticket.

Zendesk answers ``update_many`` with a queued ``job_status``; the updates happen in
the background, and its job status says ``queued``/``working`` until ``completed``
(with one result per ticket) or ``failed``/``killed``. All chunks of a round are
submitted first, so their jobs run side by side, and then polled *together*:
``GET job_statuses/show_many.json?ids=a,b,c`` (up to 100 jobs a call), one call per
polling round whatever the number of jobs, instead of one ``job_statuses/{id}`` per
job per round. Polling backs off (``JobWait``) and is bounded: a job still running
at the end counts as failed for this call — its ``safe_update`` makes a later
replay safe, and the note's marker tells whether it landed.
https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-many-tickets
https://developer.zendesk.com/api-reference/ticketing/ticket-management/job_statuses/#show-many-job-statuses
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.zendesk.client import MAX_JOBS_PER_POLL, ZendeskClient
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
    jobs: dict[str, list[str]] = {}  # job id -> its ticket ids, in the order sent
    for start in range(0, len(updates), MAX_PER_JOB):
        chunk = list(updates[start:start + MAX_PER_JOB])
        ids = [str(u["id"]) for u in chunk]
        try:
            jobs[client.update_many(chunk)] = ids
        except ConflictError as exc:
            outcomes.update({i: TicketOutcome(False, CONFLICT, str(exc)) for i in ids})
        except (RetriableAPIError, PayloadError) as exc:  # not submitted, or not known to be: the marker decides later
            outcomes.update({i: TicketOutcome(False, "NotSubmitted", str(exc)) for i in ids})
    if jobs:
        outcomes.update(_wait_for(client, jobs, wait, sleep))
    return outcomes


def _wait_for(client: ZendeskClient, jobs: dict[str, list[str]], wait: JobWait,
              sleep: Callable[[float], None]) -> dict[str, TicketOutcome]:
    """Poll every job still running with one ``show_many`` call per round (100 jobs a call) until all are done."""
    out: dict[str, TicketOutcome] = {}
    running = dict(jobs)
    last_state: dict[str, str] = {}
    waited, delay = 0.0, wait.first_delay
    while True:
        sleep(delay)
        waited += delay
        polled = list(running)
        for start in range(0, len(polled), MAX_JOBS_PER_POLL):
            chunk = polled[start:start + MAX_JOBS_PER_POLL]
            try:
                statuses = client.job_statuses(chunk)
            except (RetriableAPIError, PayloadError) as exc:
                for job_id in chunk:
                    out.update(_all(running.pop(job_id), "JobUnknown", f"job {job_id} could not be polled ({exc})"))
                continue
            for job_id in chunk:
                status = statuses.get(job_id)
                last_state[job_id] = str(status.get("status")) if status else "not listed"
                finished = _finished(status, running[job_id], job_id)
                if finished is not None:
                    out.update(finished)
                    del running[job_id]
        if not running:
            return out
        if waited + min(wait.max_delay, delay * wait.factor) > wait.max_wait:
            for job_id, ids in running.items():
                state = last_state.get(job_id, "unknown")
                log.warning("zendesk job %s still %s after %.1fs; giving up on it", job_id, state, waited)
                out.update(_all(ids, "JobTimeout", f"job {job_id} still {state} after {waited:.0f}s"))
            return out
        delay = min(wait.max_delay, delay * wait.factor)


def _finished(status: dict[str, Any] | None, ids: list[str], job_id: str) -> dict[str, TicketOutcome] | None:
    """The job's per-ticket outcomes once it is done; None while it runs (or is not listed yet)."""
    state = status.get("status") if status else None
    if state == "completed":
        return _results(status, ids, job_id)
    if state in ("failed", "killed"):
        return _all(ids, "JobFailed", f"job {job_id} {state}: {status.get('message') or ''}".strip())
    return None


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
