"""Gather the facts the invariants judge: helpdesk views, the write log, the store, the engine's verdicts.

Expectations come from the real engine on each ticket's *current* helpdesk
state: the ticket is read again through deskbridge's own connector (full
history), enriched from Salesforce, and evaluated at the settling instant
with a blank :class:`~core.decision.EscalationState`, so nothing deskbridge
remembers can excuse a missed escalation. Only tickets updated inside the
sync window (since the first run's start) are expected to be known to
deskbridge; older ones are outside its reach by design.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chaos.facts import PROPOSED_PREFIX, Expectation, Observation, Reassignment, TicketFacts
from core.decision import Decision, EscalationState
from core.model import System
from core.policy import Policy
from core.rules import evaluate
from flows.pipeline import SyncContext
from sandbox.admin_client import SandboxAdmin


def views(admin: SandboxAdmin, systems: tuple[str, ...]) -> dict[tuple[str, str], dict]:
    """Every helpdesk ticket as the sandbox shows it to people."""
    return {(s, i): admin.view(s, i) for s in systems for i in admin.ticket_ids(s)}


def observe(admin: SandboxAdmin, contexts: dict[str, SyncContext], now: datetime, window_start: datetime,
            baseline_tags: dict[tuple[str, str], set[str]], reassignments: list[Reassignment]) -> Observation:
    """All tickets of the helpdesks in ``contexts``, with what deskbridge keeps and what the engine expects."""
    tickets: list[TicketFacts] = []
    current = views(admin, tuple(contexts))
    for system, ctx in contexts.items():
        mine = {i: v for (s, i), v in current.items() if s == system}
        in_window = sorted(i for i, v in mine.items() if datetime.fromisoformat(v["updated_at"]) >= window_start)
        expected, unreadable = expectations(ctx, in_window, now)
        with ctx.store.transaction() as tx:
            stored_quarantine = {q.ticket_id for q in tx.quarantined(System(system))}
            for ticket_id, view in mine.items():
                state = tx.get_state(System(system), ticket_id)
                tickets.append(TicketFacts(
                    system=system, ticket_id=ticket_id, view=view,
                    record=tx.ticket_record(System(system), ticket_id),
                    state=EscalationState.model_validate(state.document) if state else None,
                    outbox=tx.outbox_for_ticket(System(system), ticket_id),
                    decisions=tx.decisions_for(System(system), ticket_id),
                    expected=expected.get(ticket_id),
                    in_window=ticket_id in in_window,
                    quarantined=ticket_id in unreadable or ticket_id in stored_quarantine,
                ))  # fmt: skip
    return Observation(now, window_start, tickets, admin.writes(), baseline_tags, list(reassignments))


def expectations(ctx: SyncContext, ids: list[str], now: datetime) -> tuple[dict[str, Expectation], set[str]]:
    """The engine's verdict per ticket id from a fresh full read; also the ids the connector could not read."""
    if not ids:
        return {}, set()
    tickets, quarantined = ctx.connector.fetch_tickets(ids, full_history=True)
    accounts = ctx.accounts.accounts({t.account_id for t in tickets if t.account_id})
    verdicts = {}
    for ticket in tickets:
        decision = evaluate(ticket, accounts.get(ticket.account_id or ""), ctx.policy, now, EscalationState())
        verdicts[ticket.id] = verdict(decision, ctx.policy)
    return verdicts, {q.ticket_id for q in quarantined}


def verdict(decision: Decision, policy: Policy) -> Expectation:
    """What a decision made from a blank memory says deskbridge must have done.

    Progress-update rules (``Rule.informs_only``) are kept apart from escalations: the engine never
    records them as escalations, and their cooldown and the customer-message interval may rightly
    hold them back (see :func:`chaos.invariants.escalated`).
    """
    tags_of = {rule.id: tuple(rule.tags) for rule in policy.rules}
    informs = {rule.id for rule in policy.rules if rule.informs_only}
    acting = {r.rule_id for r in decision.reasons if not r.code.startswith(PROPOSED_PREFIX)}
    proposing = {r.rule_id for r in decision.reasons if r.code.startswith(PROPOSED_PREFIX)}
    return Expectation(
        acting={rule: tags_of.get(rule, ()) for rule in acting - informs},
        proposing=tuple(sorted(proposing)),
        informing=tuple(sorted(acting & informs)),
        at=decision.evaluated_at,
        message_interval=timedelta(minutes=policy.settings.customer_message_interval),
    )
