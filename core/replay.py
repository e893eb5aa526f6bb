"""Replay (dry run): what a policy would have done over the stored history, and how that differs.

``run_replay(inputs, candidate, in_force, since, until)`` re-evaluates every
stored ticket with the real engine (:func:`core.rules.evaluate`) at the
instants a sync could have looked at it, carrying the engine's escalation
state from one evaluation to the next, first under the candidate policy and
then under the policy in force, and compares the two.

No connector exists here: the inputs are plain models read from the state
store (:mod:`core.replay_load`), the engine's decisions are kept as answers
and never planned, recorded or pushed, and nothing in this module's imports
can reach a helpdesk (a test checks the import closure). A replay writes
nothing, not even to the store.

The evaluation instants of a ticket, until ``until``:

1. the moment deskbridge first evaluated it (its first decision-log entry;
   its creation when the log has none): no policy could act before
   deskbridge was watching, so the replay starts there, with no state;
2. every later change a person made (comments, status, priority, group,
   assignee changes), the moments a sync would have pulled it, and every
   instant deskbridge actually evaluated it (the decision log);
3. the replayed decision's own next-check time (when time alone could
   change the answer: an SLA threshold, a due time, an inactivity deadline,
   a cooldown's end), exactly as the sync schedules time-based checks.

At each instant the ticket is rebuilt as it was (:mod:`core.replay_snapshot`).
Only escalations inside ``[since, until)`` are reported; earlier instants are
evaluated so that the state (level, cooldowns, proposals) is right when the
window opens. Limits (written out in docs/metrics.md): evaluations happen at
the exact instants rather than on the sync cadence, tags and flags are read
from the last snapshot, proposals are never approved or rejected, routes to
the account owner cannot be taken, and human reactions to the escalations the
candidate policy would have made cannot be known.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from statistics import median
from typing import Any

from core.actions import AddTags, AssignGroup, AssignOwner, RaisePriority
from core.decision import Decision, EscalationState
from core.markers import ESCALATED_TAG, PROPOSED_TAG
from core.replay_models import (
    Agreement,
    ReplayInput,
    ReplayReport,
    ReplaySummary,
    TicketDiff,
    TicketReplay,
    WouldEscalate,
)
from core.replay_snapshot import Snapshots, change_instants
from core.rules import evaluate

MAX_EVALUATIONS_PER_TICKET = 400
SAME_WITHIN_MINUTES = 1.0
Progress = Callable[[int, int], None]  # (done, total)
# (tickets, policy, since, until, tags to strip, done(n)) -> one TicketReplay per ticket, in order
TicketsReplayer = Callable[
    [Sequence[ReplayInput], Any, datetime, datetime, frozenset[str], Callable[[int], None] | None],
    list[TicketReplay],
]

LIMITS = [
    "Each ticket is replayed from deskbridge's first evaluation of it (its creation if the log has none): "
    "history from before deskbridge watched a ticket is not replayed.",
    "Evaluations happen at the exact instants a change or an SLA threshold occurred; a real sync sees them up to "
    "one cadence later.",
    "Tags, custom fields and the agent/customer escalation flags have no dates: their last stored values are "
    "used at every instant (deskbridge's own tags removed).",
    "Proposals are never approved or rejected in a replay; routes to the account owner cannot be taken "
    "(owners are not stored).",
    "People's reactions to escalations the replayed policy would have made are unknowable; the replay uses the "
    "history as it happened, minus deskbridge's own writes.",
    "Comments a pull did not fetch are not in the stored snapshot and cannot be replayed.",
]


def deskbridge_tags(*policies: Any) -> frozenset[str]:
    """Tags deskbridge itself adds or reads as verdicts under any of the policies: removed from replays."""
    tags = {ESCALATED_TAG, PROPOSED_TAG}
    for policy in policies:
        tags |= set(policy.reserved_tags)
        tags |= {tag for rule in policy.rules for tag in rule.tags}
    return frozenset(tags)


def describe(action: Any) -> str:
    """A short, secret-free label for an action."""
    if isinstance(action, AssignGroup):
        return f"assign_group {action.group}"
    if isinstance(action, AssignOwner):
        return "assign_owner"
    if isinstance(action, AddTags):
        return f"add_tags {' '.join(action.tags)}"
    if isinstance(action, RaisePriority):
        return f"raise_priority {action.priority.value}"
    return action.kind


def watched_from(item: ReplayInput) -> datetime:
    """From when a policy could act on the ticket: deskbridge's first evaluation of it, else its creation."""
    logged = [t for t in item.logged_evaluations if t >= item.ticket.created_at]
    return min(logged, default=item.ticket.created_at)


def _instants(item: ReplayInput, until: datetime) -> list[datetime]:
    start = watched_from(item)
    found = {start, *change_instants(item.ticket), *item.logged_evaluations}
    return sorted(t for t in found if start <= t < until)


def replay_ticket(
    item: ReplayInput, policy: Any, since: datetime, until: datetime, strip: frozenset[str] = frozenset(),
    max_evaluations: int = MAX_EVALUATIONS_PER_TICKET,
) -> TicketReplay:
    """One ticket under one policy: every would-be escalation in the window, and its first breach."""
    ticket, account = item.ticket, item.account
    snapshots = Snapshots(ticket, strip)
    planned, index, scheduled = _instants(item, until), 0, None
    state, done, truncated = EscalationState(), set(), False
    decisions: list[Decision] = []
    while True:
        while index < len(planned) and planned[index] in done:
            index += 1
        upcoming = [t for t in (planned[index] if index < len(planned) else None, scheduled) if t is not None]
        if not upcoming or min(upcoming) >= until:
            break
        if len(done) >= max_evaluations:
            truncated = True
            break
        at = min(upcoming)
        done.add(at)
        decision = evaluate(snapshots.at(at), account, policy, at, state)
        state = decision.new_state
        scheduled = decision.next_check_at if decision.next_check_at and decision.next_check_at > at else None
        if decision.mode != "none" and at >= since:
            decisions.append(decision)
    final = evaluate(snapshots.at(until), account, policy, until, state)
    breaches = [c.breached_at for c in final.inputs.sla if c.breached and c.breached_at is not None]
    first_breach = min(breaches, default=None)
    return TicketReplay(
        system=ticket.system.value, ticket_id=ticket.id, key=ticket.key, evaluations=len(done), truncated=truncated,
        first_breach_at=first_breach, escalations=[_would(d, first_breach) for d in decisions],
    )  # fmt: skip


def _would(decision: Decision, first_breach: datetime | None) -> WouldEscalate:
    dues = [c.due_at for c in decision.inputs.sla if c.running and c.due_at is not None]
    lead = (first_breach - decision.evaluated_at).total_seconds() / 60.0 if first_breach else None
    return WouldEscalate(
        at=decision.evaluated_at, mode=decision.mode, level=decision.level, level_name=decision.level_name,
        rule_ids=decision.rule_ids, reasons=decision.reason_codes, actions=tuple(describe(a) for a in decision.actions),
        nearest_due_at=min(dues, default=None), first_breach_at=first_breach,
        lead_minutes=round(lead, 1) if lead is not None else None,
    )  # fmt: skip


def replay_tickets(
    inputs: Sequence[ReplayInput], policy: Any, since: datetime, until: datetime, strip: frozenset[str],
    done: Callable[[int], None] | None = None,
) -> list[TicketReplay]:
    """Every ticket under one policy, in order, in this process; ``done(n)`` after each n tickets."""
    out = []
    for item in inputs:
        out.append(replay_ticket(item, policy, since, until, strip))
        if done is not None:
            done(1)
    return out


def run_replay(
    inputs: Sequence[ReplayInput],
    candidate: Any,
    in_force: Any,
    since: datetime,
    until: datetime,
    *,
    systems: Sequence[str] = (),
    progress: Progress | None = None,
    replay_all: TicketsReplayer = replay_tickets,
) -> ReplayReport:
    """Replay the candidate and the policy in force over the same tickets and compare them.

    ``replay_all`` replays a list of tickets under one policy; the default runs
    them here, one after the other. The CLI passes one that spreads them over
    processes (cli/replay_pool.py): tickets are independent, so the answer is
    the same either way.
    """
    same = candidate.digest == in_force.digest
    strip = deskbridge_tags(candidate, in_force)
    total = len(inputs) * (1 if same else 2)
    finished = 0

    def done(n: int) -> None:
        nonlocal finished
        finished += n
        if progress is not None:
            progress(finished, total)

    replayed = replay_all(inputs, candidate, since, until, strip, done)
    baseline = replayed if same else replay_all(inputs, in_force, since, until, strip, done)
    diff = compare(replayed, baseline, inputs, since)
    summary = summarize(replayed, baseline, inputs, diff, candidate, in_force, since, until, systems)
    return ReplayReport(summary=summary, candidate=replayed, diff=diff, limits=LIMITS)


def _logged_first(item: ReplayInput, since: datetime, until: datetime) -> datetime | None:
    return next((t for t in sorted(item.logged_escalations) if since <= t < until), None)


def compare(
    candidate: Sequence[TicketReplay], baseline: Sequence[TicketReplay], inputs: Sequence[ReplayInput], since: datetime
) -> list[TicketDiff]:
    """Per ticket where either policy escalates: new, dropped, earlier, later or the same."""
    out = []
    for c, b, item in zip(candidate, baseline, inputs):
        first_c, first_b = c.first(), b.first()
        if first_c is None and first_b is None:
            continue
        delta = (first_c.at - first_b.at).total_seconds() / 60.0 if first_c and first_b else None
        if first_b is None:
            change = "new"
        elif first_c is None:
            change = "dropped"
        elif abs(delta) < SAME_WITHIN_MINUTES:
            change = "same"
        else:
            change = "earlier" if delta < 0 else "later"
        out.append(TicketDiff(
            system=c.system, ticket_id=c.ticket_id, key=c.key, change=change,
            candidate_at=first_c.at if first_c else None, in_force_at=first_b.at if first_b else None,
            logged_at=next((t for t in sorted(item.logged_escalations) if t >= since), None),
            delta_minutes=round(delta, 1) if delta is not None else None,
            candidate_reasons=first_c.reasons if first_c else (), in_force_reasons=first_b.reasons if first_b else (),
        ))  # fmt: skip
    return out


def agreement(baseline: Sequence[TicketReplay], inputs: Sequence[ReplayInput], since: datetime,
              until: datetime) -> Agreement:  # fmt: skip
    """The replay of the policy in force against the decision log, ticket by ticket (first escalation)."""
    both, only_logged, only_replayed, shifts = 0, 0, 0, []
    for replayed, item in zip(baseline, inputs):
        first, logged = replayed.first(), _logged_first(item, since, until)
        if first and logged:
            both += 1
            shifts.append((first.at - logged).total_seconds() / 60.0)
        elif logged:
            only_logged += 1
        elif first:
            only_replayed += 1
    shift = round(median(shifts), 1) if shifts else None
    return Agreement(both=both, only_logged=only_logged, only_replayed=only_replayed, median_shift_minutes=shift)


def summarize(candidate, baseline, inputs, diff, candidate_policy, in_force_policy, since, until,
              systems) -> ReplaySummary:  # fmt: skip
    changes = {kind: sum(1 for d in diff if d.change == kind) for kind in ("new", "dropped", "earlier", "later", "same")}
    leads = [f.lead_minutes for r in candidate if (f := r.first()) is not None and f.lead_minutes is not None]
    return ReplaySummary(
        since=since, until=until, systems=tuple(systems),
        candidate_digest=candidate_policy.digest, in_force_digest=in_force_policy.digest,
        same_policy=candidate_policy.digest == in_force_policy.digest,
        tickets=len(inputs), evaluations=sum(r.evaluations for r in candidate),
        candidate_escalated=sum(1 for r in candidate if r.first() is not None),
        candidate_proposed=sum(1 for r in candidate if r.first("propose") is not None),
        in_force_escalated=sum(1 for r in baseline if r.first() is not None),
        logged_escalated=sum(1 for item in inputs if _logged_first(item, since, until) is not None),
        changes=changes, median_lead_minutes=round(median(leads), 1) if leads else None,
        agreement=agreement(baseline, inputs, since, until),
    )  # fmt: skip
