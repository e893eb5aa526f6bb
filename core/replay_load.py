"""Read a replay's inputs from the state store: stored tickets, their tier and the decision log.

Read-only: only the store's reading verbs are called, inside one transaction
that writes nothing. The account is rebuilt from what the store keeps (id,
tier, segment); the owner is not stored, so an ``account_owner`` route cannot
be taken in a replay (the engine then says "the account owner is unknown").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from core.model import Account, System
from core.replay_models import ReplayInput
from core.store import DecisionRecord, Store, TicketRecord

_CHUNK = 500


def _active(record: TicketRecord, start: datetime, end: datetime) -> bool:
    ended = None if record.is_open else (record.solved_at or record.updated_at)
    return record.created_at < end and (ended is None or ended >= start)


def account_of(record: TicketRecord, default_tier: str) -> Account:
    """The account as far as the store knows it (no owner, no name)."""
    return Account(
        id=record.account_id or f"unknown:{record.system.value}:{record.ticket_id}",
        tier=record.tier or default_tier, segment=record.segment, known=record.tier is not None,
    )  # fmt: skip


def _codes(decision: DecisionRecord) -> tuple[str, ...]:
    return tuple(str(r.get("code", "")) if isinstance(r, dict) else str(r) for r in decision.reasons)


def load_replay_inputs(
    store: Store, since: datetime, until: datetime, default_tier: str, systems: Iterable[str] = ()
) -> list[ReplayInput]:
    """Every stored ticket open at some point of ``[since, until)``, with its logged evaluations."""
    wanted = set(systems)
    with store.transaction() as tx:
        records = [r for r in tx.ticket_records()
                   if (not wanted or r.system.value in wanted) and _active(r, since, until)]  # fmt: skip
        if not records:
            return []
        tickets = {}
        by_system: dict[System, list[str]] = defaultdict(list)
        for r in records:
            by_system[r.system].append(r.ticket_id)
        for system, ids in by_system.items():
            for i in range(0, len(ids), _CHUNK):
                tickets.update({(system, tid): t for tid, t in tx.get_tickets(system, ids[i: i + _CHUNK]).items()})
        log: dict[tuple[System, str], list[DecisionRecord]] = defaultdict(list)
        for d in tx.decisions_between(min(r.created_at for r in records), until):
            log[(d.system, d.ticket_id)].append(d)
    inputs = []
    for r in records:
        ticket = tickets.get((r.system, r.ticket_id))
        if ticket is None:
            continue
        decisions = log[(r.system, r.ticket_id)]
        escalations = [d for d in decisions if d.escalate]
        inputs.append(ReplayInput(
            ticket=ticket, account=account_of(r, default_tier),
            logged_evaluations=tuple(d.evaluated_at for d in decisions),
            logged_escalations=tuple(d.evaluated_at for d in escalations),
            logged_reasons=_codes(escalations[0]) if escalations else (),
        ))  # fmt: skip
    return inputs
