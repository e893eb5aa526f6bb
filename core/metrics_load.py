"""Read what the metrics need from the state store (the one I/O step of the metrics).

Only the store's public verbs are used: ticket records, the stored tickets
(for the priority and group before deskbridge acted) and the decision log.
The log is read from the creation of the oldest ticket in scope, so each
ticket's first escalation is known even when it happened before the window.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from core.metrics import compute_metrics
from core.metrics_models import Filters, MetricsReport
from core.metrics_records import MetricTicket, metric_ticket
from core.metrics_window import Window
from core.model import System, Ticket
from core.store import DecisionRecord, Store, TicketRecord

_CHUNK = 500


def _active(record: TicketRecord, start: datetime, end: datetime) -> bool:
    ended = None if record.is_open else (record.solved_at or record.updated_at)
    return record.created_at < end and (ended is None or ended >= start)


def _escalating(decision: DecisionRecord) -> bool:
    return decision.escalate or decision.inputs.get("mode") == "propose" or any(
        isinstance(r, dict) and str(r.get("code", "")).startswith("proposed:") for r in decision.reasons
    )


def load_metric_tickets(
    store: Store, policy: Any | None, start: datetime, end: datetime, systems: Iterable[str] = ()
) -> list[MetricTicket]:
    """The metric records of every stored ticket active in ``[start, end)``, optionally of some helpdesks."""
    wanted = set(systems)
    with store.transaction() as tx:
        records = [
            r for r in tx.ticket_records()
            if (not wanted or r.system.value in wanted) and _active(r, start, end)
        ]  # fmt: skip
        if not records:
            return []
        stored = _stored_tickets(tx, records)
        since = min(r.created_at for r in records)
        log = defaultdict(list)
        for d in tx.decisions_between(since, end):
            if _escalating(d):
                log[(d.system, d.ticket_id)].append(d)
    return [metric_ticket(r, stored.get((r.system, r.ticket_id)), log[(r.system, r.ticket_id)], policy)
            for r in records]  # fmt: skip


def _stored_tickets(tx, records: list[TicketRecord]) -> dict[tuple[System, str], Ticket]:
    ids: dict[System, list[str]] = defaultdict(list)
    for r in records:
        ids[r.system].append(r.ticket_id)
    out: dict[tuple[System, str], Ticket] = {}
    for system, ticket_ids in ids.items():
        for i in range(0, len(ticket_ids), _CHUNK):
            for tid, ticket in tx.get_tickets(system, ticket_ids[i: i + _CHUNK]).items():
                out[(system, tid)] = ticket
    return out


def build_report(
    store: Store, policy: Any | None, window: Window, filters: Filters, generated_at: datetime
) -> MetricsReport:
    """Load the window's tickets and compute the report (what the CLI, the page and the artifact show)."""
    tickets = load_metric_tickets(store, policy, window.start, window.end, filters.systems)
    return compute_metrics(tickets, window, filters, generated_at)
