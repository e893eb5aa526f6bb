"""One sync run of one helpdesk: pull -> enrich -> evaluate -> record -> push, cursor committed last.

Order of durability (design.md invariants 1, 2 and 5):

1. Leftover outbox entries of a crashed run are pushed first.
2. Each pulled page is evaluated; decisions, escalation states, ticket
   snapshots, quarantines, the outbox entries *and the page's cursor* are
   committed in one transaction. A run that dies before it re-reads the page;
   one that dies after finds the plans in the outbox.
3. The plans are pushed; each carries a marker, so a push repeated after a
   crash is answered ``already_applied`` by the connector, never written twice.
   A ``conflict`` (a person changed the ticket meanwhile) restores the prior
   escalation state and re-plans once on a fresh read.
4. Open tickets whose next check time has come are evaluated from their stored
   snapshot, without pulling them, so time alone escalates an untouched ticket.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from connectors.base import AccountSource, HelpdeskConnector, Page
from core.actions import WriteOutcome, WritePlan, WriteResult
from core.collector import batch_collection
from core.config import Mappings
from core.decision import Decision, EscalationState
from core.history import merge_history
from core.model import Account, Ticket
from core.notes import NoteRenderer
from core.planning import needs_write, plan_for, rebase_plan, respect_reassignment
from core.routing import human_reassignment_since
from core.policy import Policy
from core.rules import evaluate
from core.store import Store
from core.store.records import DecisionRecord, OutboxEntry, OutboxStatus
from flows.partition import WHOLE, Partition
from flows.summary import RunSummary

log = logging.getLogger("deskbridge.sync")
CURSOR_STREAM = "tickets"


@dataclass
class SyncContext:
    """Everything one run of one helpdesk needs, built once by flows.wiring."""

    connector: HelpdeskConnector
    accounts: AccountSource
    store: Store
    mappings: Mappings
    policy: Policy
    renderer: NoteRenderer
    start: datetime  # where a first run (no cursor yet) starts pulling
    due_batch: int = 500  # tickets re-evaluated by time per batch
    partition: Partition = WHOLE  # the share of the helpdesk's tickets this run owns (flows/partition.py)

    @property
    def system(self):
        return self.connector.system


@dataclass
class Evaluated:
    """A ticket with its decision, the state it was decided from, and its plan if it writes."""

    ticket: Ticket
    account: Account | None
    prior: EscalationState
    decision: Decision
    plan: WritePlan | None = None
    recheck: bool = False  # its account lookup failed (default tier): look again at the next run


def run_sync(ctx: SyncContext, now: datetime, run_id: str, *, step=None) -> RunSummary:
    """One complete run; returns its counts.

    ``step`` wraps each stage (the Prefect flow passes a task factory, so every
    page shows as a task run in the UI); by default stages are plain calls.
    """
    step = step or (lambda fn: fn)
    summary = RunSummary(run_id=run_id, system=ctx.system.value, now=now)
    with ctx.store.transaction() as tx:
        tx.record_run(run_id, ctx.system, now)
        summary.cursor_before = tx.get_cursor(ctx.system, ctx.partition.cursor_stream(CURSOR_STREAM))
    step(push_leftovers)(ctx, now, summary)
    seen: set[str] = set()
    for page in ctx.connector.pull_changes(summary.cursor_before, start=ctx.start):
        # Only tickets evaluated now count as seen: a duplicate that is due still gets its time check.
        seen.update(step(process_page)(ctx, page, now, summary))
    step(evaluate_due)(ctx, now, summary, skip=seen)
    summary.api_calls = api_calls(ctx)
    with ctx.store.transaction() as tx:
        tx.record_run(run_id, ctx.system, now, finished_at=now, counts=summary.model_dump(mode="json"))
    return summary


def process_page(ctx: SyncContext, page: Page, now: datetime, summary: RunSummary) -> set[str]:
    """Evaluate one pulled page, commit it with its cursor, then push its plans; the ids evaluated."""
    owned = [t for t in page.tickets if ctx.partition.owns(t.id)]  # all of them unless partitioned
    summary.pulled += len(owned)
    tickets = with_known_history(ctx, drop_duplicates(ctx, owned, summary))
    batch = evaluate_batch(ctx, tickets, now)
    quarantined = [q for q in page.quarantined if ctx.partition.owns(q.ticket_id)]
    record_batch(ctx, batch, now, summary, cursor=page.cursor, quarantined=quarantined)
    push_batch(ctx, batch, now, summary)
    summary.cursor_after = page.cursor or summary.cursor_after
    return {item.ticket.id for item in batch}


def drop_duplicates(ctx: SyncContext, tickets: Sequence[Ticket], summary: RunSummary) -> list[Ticket]:
    """Overlapping pull windows return tickets already handled at the same update time: skip them."""
    fresh: list[Ticket] = []
    with ctx.store.transaction() as tx:
        for ticket in tickets:
            if tx.is_duplicate(ctx.system, ticket.id, ticket.updated_at, ticket.concurrency_token):
                summary.duplicates += 1
            else:
                fresh.append(ticket)
    return fresh


def with_known_history(ctx: SyncContext, tickets: list[Ticket]) -> list[Ticket]:
    """Pulled tickets merged with their stored snapshots, for pulls that carry only recent activity."""
    if not tickets:
        return tickets
    with ctx.store.transaction() as tx:
        stored = tx.snapshots(ctx.system, [t.id for t in tickets])
    merged = []
    for ticket in tickets:
        snapshot, stored_at = stored.get(ticket.id, (None, None))
        merged.append(merge_history(snapshot, ticket, stored_through=stored_at))
    return merged


def evaluate_batch(ctx: SyncContext, tickets: Sequence[Ticket], now: datetime) -> list[Evaluated]:
    """Enrich (one batched Salesforce call), evaluate, and plan the tickets that write."""
    if not tickets:
        return []
    accounts = ctx.accounts.accounts({t.account_id for t in tickets if t.account_id})
    with ctx.store.transaction() as tx:
        priors = {t.id: _state(tx.get_state(ctx.system, t.id)) for t in tickets}
    with batch_collection():  # the collector frees nothing in a batch of fresh decisions: walk it less often
        batch = [_evaluate(ctx, t, accounts.get(t.account_id or ""), priors[t.id], now) for t in tickets]
    if getattr(ctx.accounts, "last_failure", None) is not None:  # Salesforce failed: tiers are defaults
        for item in batch:  # their next check would follow the default tier's SLA, not the real one
            item.recheck = item.account is not None and not item.account.known
    writers = [e for e in batch if needs_write(e.decision)]
    if writers:
        _plan_with_full_history(ctx, writers, now)
    return batch


def _evaluate(ctx: SyncContext, ticket: Ticket, account: Account | None, prior: EscalationState, now: datetime):
    return Evaluated(ticket, account, prior, evaluate(ticket, account, ctx.policy, now, prior))


def _plan_with_full_history(ctx: SyncContext, writers: list[Evaluated], now: datetime) -> None:
    """Read the whole life of the escalating tickets whose history is partial (for the note), then plan.

    Tickets whose history is complete are planned as pulled: no read is spent
    on finding out whether a person changed them in the seconds since, because
    every connector's write checks the concurrency token it was planned on and
    answers ``conflict`` if so, and ``push_batch`` then re-reads, decides again
    and keeps the person's reassignment. The tickets read here are decided
    again on the full read, keeping a reassignment made since the pull.
    """
    partial = [e.ticket for e in writers if e.ticket.history_since is not None]
    fresh, _quarantined = reread(ctx, partial)  # no call when nothing is partial
    by_id = {t.id: t for t in fresh}
    for item in writers:
        current = by_id.get(item.ticket.id)
        if current is None:  # complete already, or unreadable now: planned as pulled (the write checks it)
            continue
        # Decide again on the full read: it may hold replies the pull lacked, or a person's newer edit.
        decision = evaluate(current, item.account, ctx.policy, now, item.prior)
        if current.concurrency_token != item.ticket.concurrency_token:
            decision = _respecting_people(decision, item.prior, current, item.ticket)
        item.decision, item.ticket = decision, current
    _plan(ctx, writers)


def reread(ctx: SyncContext, known: Sequence[Ticket]) -> tuple[list[Ticket], list]:
    """These tickets as they are now, in bulk, merged with what is known of them.

    Tickets whose known history is complete are read as they are now and keep the
    comments and history already known. Tickets whose history is partial (``history_since``
    set), and tickets a person changed since the known version (the cheap read cannot
    show what they did), are read with their whole life (Zendesk: one audits call each).
    """
    by_id = {t.id: t for t in known}
    cheap, quarantined = _fetch(ctx, [t.id for t in known if t.history_since is None], full_history=False)
    merged = {t.id: merge_history(by_id.get(t.id), t) for t in cheap}
    partial = [t.id for t in known if t.history_since is not None]
    partial += [tid for tid, t in merged.items() if t.history_since is not None]
    full, bad = _fetch(ctx, partial, full_history=True)
    merged.update({t.id: merge_history(by_id.get(t.id), t) for t in full})
    return list(merged.values()), quarantined + bad


def _fetch(ctx: SyncContext, ids: list[str], *, full_history: bool) -> tuple[list[Ticket], list]:
    return ctx.connector.fetch_tickets(ids, full_history=full_history) if ids else ([], [])


def _respecting_people(decision: Decision, prior: EscalationState, current: Ticket, seen: Ticket) -> Decision:
    """A person who reassigned the ticket after the version deskbridge decided on keeps their choice."""
    event = human_reassignment_since(current, seen.updated_at)
    return decision if event is None else respect_reassignment(decision, prior, event)


def _plan(ctx: SyncContext, items: list[Evaluated]) -> None:
    """Render the plans of the items whose decision writes (their tickets carry full history)."""
    with ctx.store.transaction() as tx:
        for item in items:
            if not needs_write(item.decision):
                continue
            others = (
                tx.open_escalations_for_account(item.account.id, exclude=(ctx.system, item.ticket.id))
                if item.account else []
            )  # fmt: skip
            item.plan = plan_for(
                item.decision, item.ticket, item.account, ctx.policy, ctx.renderer, other_escalations=others
            )


def record_batch(
    ctx: SyncContext, batch: list[Evaluated], now: datetime, summary: RunSummary,
    *, cursor: str | None = None, quarantined=(),
) -> None:  # fmt: skip
    """Commit decisions, states, snapshots, quarantines, outbox entries and the cursor together."""
    with ctx.store.transaction() as tx:
        for item in batch:
            _record_one(tx, ctx, item, now, summary)
        for q in quarantined:
            tx.quarantine(q)
            summary.quarantined.append(q)
        if cursor is not None:
            tx.set_cursor(ctx.system, ctx.partition.cursor_stream(CURSOR_STREAM), cursor)


def _record_one(tx, ctx: SyncContext, item: Evaluated, now: datetime, summary: RunSummary) -> None:
    decision, ticket = item.decision, item.ticket
    tier = item.account.tier if item.account else decision.inputs.tier
    segment = item.account.segment if item.account else None
    tx.upsert_ticket(ticket, tier, segment, now if item.recheck else decision.next_check_at)
    tx.resolve_quarantine(ctx.system, ticket.id)  # it normalizes again: an earlier quarantine is over
    tx.save_state(ctx.system, ticket.id, decision.new_state, decision.new_state.level)
    breaches = {c.target: c.breached_at for c in decision.inputs.sla if c.breached and c.breached_at}
    if breaches:
        tx.record_breaches(ctx.system, ticket.id, breaches)
    key = item.plan.idempotency_key if item.plan else None
    if item.plan is not None:
        entry = tx.outbox_add(item.plan)
        if entry.status.landed:
            item.plan = None  # this very step already reached the helpdesk: never push it twice
        elif entry.status is not OutboxStatus.pending:
            tx.outbox_requeue(item.plan)  # re-planned after a conflict or failure: same key, fresh plan
        if decision.escalate:
            tx.mark_escalated(ctx.system, ticket.id, now)
    tx.record_decision(_decision_record(ctx, decision, ticket, key, summary.run_id))
    summary.count_decision(decision, ticket.key)


def _decision_record(ctx: SyncContext, decision: Decision, ticket: Ticket, key: str | None, run_id: str):
    return DecisionRecord(
        system=ctx.system, ticket_id=ticket.id, evaluated_at=decision.evaluated_at,
        policy_version=str(ctx.policy.version), policy_hash=decision.policy_digest,
        escalate=decision.escalate, level=decision.level, rule_ids=decision.rule_ids,
        reasons=[r.model_dump(mode="json") for r in decision.reasons],
        inputs=decision.inputs.model_dump(mode="json") | {"mode": decision.mode,
                                                          "skipped_because": list(decision.skipped_because),
                                                          "next_check_at": _iso(decision.next_check_at)},
        actions=decision.actions, explanation=decision.explanation, run_id=run_id, idempotency_key=key,
    )  # fmt: skip


def push_batch(ctx: SyncContext, batch: list[Evaluated], now: datetime, summary: RunSummary) -> None:
    """Push this batch's plans; re-plan once on a fresh read where a person changed the ticket meanwhile."""
    planned = [e for e in batch if e.plan is not None]
    if not planned:
        return
    results = _push(ctx, [e.plan for e in planned], summary)
    conflicted = {r.ticket_id for r in results if r.outcome is WriteOutcome.conflict}
    if not conflicted:
        return
    retry = [e for e in planned if e.ticket.id in conflicted]
    with ctx.store.transaction() as tx:
        for item in retry:  # the escalation did not happen: forget it before deciding again
            tx.save_state(ctx.system, item.ticket.id, item.prior, item.prior.level)
    summary.replanned += len(retry)
    fresh, quarantined = reread(ctx, [e.ticket for e in retry])
    before = {e.ticket.id: e for e in retry}
    again = [_evaluate(ctx, t, before[t.id].account, before[t.id].prior, now) for t in fresh if t.id in before]
    for item in again:  # a person who reassigned while we were writing keeps their choice
        earlier = before[item.ticket.id]
        item.recheck = earlier.recheck
        item.decision = _respecting_people(item.decision, item.prior, item.ticket, earlier.ticket)
    _plan(ctx, again)  # `fresh` already carries the full history
    record_batch(ctx, again, now, summary, quarantined=quarantined)
    final = [e.plan for e in again if e.plan is not None]
    if final:
        _push_or_keep(ctx, final, summary)  # a second conflict waits for the next run, from the outbox


def push_leftovers(ctx: SyncContext, now: datetime, summary: RunSummary) -> None:
    """Push outbox entries a previous run recorded but never saw answered (crash between commit and push)."""
    with ctx.store.transaction() as tx:
        pending = [e for e in tx.outbox_pending(ctx.system) if ctx.partition.owns(e.ticket_id)]
    if pending:
        log.info("%s: pushing %d outbox entries left by an earlier run", ctx.system.value, len(pending))
        results = _push(ctx, [entry.plan for entry in pending], summary)
        stale = {r.idempotency_key for r in results if r.outcome is WriteOutcome.conflict}
        if stale:
            _rebase_and_push(ctx, [e for e in pending if e.idempotency_key in stale], summary)


def _rebase_and_push(ctx: SyncContext, entries: list[OutboxEntry], summary: RunSummary) -> None:
    """Leftovers that met a conflict (a person's edit, or the step's own half-landed write, e.g. Jira's
    field PUT without its note POST): their escalation is already recorded, so the same steps are pushed
    again on a fresh read with only what is still missing (:func:`core.planning.rebase_plan`)."""
    try:
        fresh, _quarantined = ctx.connector.fetch_tickets([e.ticket_id for e in entries], full_history=True)
    except Exception:
        _keep_owed(ctx, [e.plan for e in entries])  # still owed: the next run tries again
        raise
    by_id = {t.id: t for t in fresh}
    plans = [rebase_plan(e.plan, by_id[e.ticket_id], e.created_at) if e.ticket_id in by_id else e.plan
             for e in entries]  # fmt: skip
    _keep_owed(ctx, plans)
    summary.replanned += len(plans)
    _push_or_keep(ctx, plans, summary)


def _push_or_keep(ctx: SyncContext, plans: list[WritePlan], summary: RunSummary) -> None:
    """Push; a step that meets a conflict again stays owed (pending) for the next run to rebase."""
    results = _push(ctx, plans, summary)
    again = {r.idempotency_key for r in results if r.outcome is WriteOutcome.conflict}
    if again:
        _keep_owed(ctx, [p for p in plans if p.idempotency_key in again])


def _keep_owed(ctx: SyncContext, plans: list[WritePlan]) -> None:
    """Conflicted steps whose escalation the state already counts: pending again, with these plans."""
    with ctx.store.transaction() as tx:
        for plan in plans:
            tx.outbox_requeue(plan)


def _push(ctx: SyncContext, plans: list[WritePlan], summary: RunSummary) -> list[WriteResult]:
    results = ctx.connector.apply(plans)
    with ctx.store.transaction() as tx:
        for result in results:
            tx.outbox_mark(result)
            if result.outcome is WriteOutcome.failed:
                log.warning("%s:%s write failed: %s", result.system.value, result.ticket_id, result.detail)
    summary.count_results(results)
    return results


def evaluate_due(ctx: SyncContext, now: datetime, summary: RunSummary, skip: set[str]) -> None:
    """Evaluate, from their stored snapshots, the open tickets whose next check time has come.

    Other partitions' due tickets join ``done`` so the query's limit grows past them.
    """
    done: set[str] = set(skip)
    while True:
        with ctx.store.transaction() as tx:
            due = [i for i in tx.due_for_check(ctx.system, now, limit=ctx.due_batch + len(done)) if i not in done]
            foreign = [i for i in due if not ctx.partition.owns(i)]
            done.update(foreign)
            mine = [i for i in due if ctx.partition.owns(i)]
            tickets = list(tx.get_tickets(ctx.system, mine[: ctx.due_batch]).values())
        if not tickets:
            if foreign:
                continue
            return
        done.update(t.id for t in tickets)
        summary.time_based += len(tickets)
        batch = evaluate_batch(ctx, tickets, now)
        record_batch(ctx, batch, now, summary)
        push_batch(ctx, batch, now, summary)


def api_calls(ctx: SyncContext) -> dict[str, dict[str, int]]:
    return {
        ctx.system.value: ctx.connector.calls.by_endpoint(),
        "salesforce": ctx.accounts.calls.by_endpoint(),
    }


def _state(stored) -> EscalationState:
    return EscalationState.model_validate(stored.document) if stored else EscalationState()


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None
