"""The decision engine: ``evaluate(ticket, account, policy, now, state) -> Decision``.

Pure and deterministic: the same inputs always give the same decision, and
nothing here reads the clock, a file or the network. The steps:

1. pick the tier (the account's, or the policy default) and the SLA row, and
   compute the clocks on its calendar;
2. run every in-scope rule's condition; drop rules in cooldown, rejected
   proposals and proposals still awaiting a verdict; read the supervisor's
   verdict on open proposals;
3. turn the rules that act into one set of effective actions: the first
   usable route (see :mod:`core.routing`), new tags only, a higher priority
   only, the note and customer templates;
4. record the new state and the next instant at which time alone could
   change the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from core.actions import AddTags, RaisePriority
from core.calendar import utc_iso
from core.history import priority_set_by_people
from core.decision import Decision, DecisionInputs, EscalationState, Reason, construct, decided
from core.facts import Facts
from core.markers import ESCALATED_TAG, PROPOSED_TAG
from core.model import Account, Ticket
from core.policy import Policy
from core.policy_compiled import CompiledPolicy, TicketPlan
from core.policy_rules import Rule
from core.proposals import ProposalBook
from core.routing import RouteChoice, choose_route
from core.sla import ClockState, compute_clocks
from core.state_update import next_state
from core.triggers import Finding


_NO_STATE = EscalationState()


@dataclass
class Outcome:
    """Everything the decision is assembled from; built step by step, then frozen into a Decision."""

    acting: list[tuple[Rule, list[Finding]]] = field(default_factory=list)
    proposing: list[tuple[Rule, list[Finding]]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    actions: list = field(default_factory=list)
    route: RouteChoice | None = None
    escalate: bool = False
    note_template: str | None = None
    customer_template: str | None = None


def evaluate(
    ticket: Ticket,
    account: Account | None,
    policy: Policy,
    now: datetime,
    state: EscalationState | None = None,
) -> Decision:
    """Decide whether ``ticket`` escalates at ``now``, where to, with what, and why."""
    state = state or _NO_STATE
    compiled = policy.compiled
    facts, tier_source, plan = _facts(ticket, account, policy, compiled, now)
    book = ProposalBook(state, ticket.tags, policy.settings, now)
    outcome = Outcome(skipped=list(book.skipped))
    if ticket.status.is_open:
        _select_rules(plan.rules, facts, state, book, outcome)
        _plan(policy, facts, account, state, outcome)
        _plan_proposals(policy, ticket, outcome)
    new_state = next_state(state, policy, outcome, book, now)
    reasons = _reasons(outcome)
    inputs = _inputs(facts, tier_source, outcome, state, policy)
    mode = "auto" if outcome.escalate else ("propose" if outcome.proposing else "none")
    fields = dict(
        ticket_ref=ticket.ref,
        evaluated_at=now,
        policy_digest=compiled.digest,
        escalate=outcome.escalate,
        mode=mode,
        level=new_state.level,
        level_name=compiled.ladder[min(new_state.level, len(compiled.ladder) - 1)],
        actions=tuple(outcome.actions),
        note_template=outcome.note_template,
        customer_template=outcome.customer_template,
        rule_ids=tuple([rule.id for rule, _ in outcome.acting] + [rule.id for rule, _ in outcome.proposing]),
        reasons=reasons,
        inputs=inputs,
        skipped_because=tuple(outcome.skipped),
        new_state=new_state,
        next_check_at=_next_check(plan.timed, facts, new_state),
    )
    # Built without re-validation: every part above is already a validated model or plain value.
    return decided(fields, ticket.key)


def _facts(ticket: Ticket, account: Account | None, policy: Policy, compiled: CompiledPolicy,
           now: datetime) -> tuple[Facts, str, TicketPlan]:
    known = account is not None and account.known and account.tier in compiled.tiers
    tier = account.tier if known else policy.settings.default_tier  # type: ignore[union-attr]
    segment = account.segment if account is not None else None
    plan = compiled.plan_for(ticket.system, tier, priority_set_by_people(ticket), segment)
    clocks = ()
    if plan.has_row:
        clocks = compute_clocks(ticket, plan.minutes, plan.calendar, compiled.pauses, now,
                                policy.sla.native_tolerance_minutes)
    by_target = {c.target: c for c in clocks}
    facts = Facts(ticket, tier, segment, by_target, plan.calendar, compiled.calendars, now)
    return facts, "account" if known else "default", plan


def _select_rules(rules: tuple[Rule, ...], facts: Facts, state: EscalationState, book: ProposalBook,
                  outcome: Outcome) -> None:
    """Which in-scope rules act now, which propose, and why the others that matched do not."""
    for rule in rules:
        findings = rule.when.check(facts)
        if rule.id in book.approved_now:
            outcome.acting.append((rule, findings or [book.approval_finding(rule.id)]))
            continue
        if not findings:
            continue
        until = state.cooldowns.get(rule.id)
        if until is not None and until > facts.now:
            outcome.skipped.append(f"rule {rule.id}: cooldown until {utc_iso(until)}")
            continue
        if rule.mode == "propose" and rule.id not in state.approved:
            why_not = book.why_not_propose(rule.id)
            if why_not:
                outcome.skipped.append(f"rule {rule.id}: {why_not}")
            else:
                outcome.proposing.append((rule, findings))
            continue
        outcome.acting.append((rule, findings))


def _plan(policy: Policy, facts: Facts, account: Account | None, state: EscalationState, outcome: Outcome) -> None:
    """Effective actions of the acting rules: only what changes the ticket."""
    if not outcome.acting:
        return
    if all(rule.informs_only for rule, _ in outcome.acting):
        # Progress updates: a message to the customer, no escalation and no handoff note.
        _plan_customer_message(policy, facts, state, outcome)
        return
    ticket = facts.ticket
    route = choose_route(outcome.acting, ticket, account, policy.settings.ladder, state,
                         policy.settings.specialist_escalation)
    outcome.route = route
    outcome.skipped.extend(route.skipped)
    if route.action is not None:
        outcome.actions.append(route.action)
    wanted = [ESCALATED_TAG, *(t for rule, _ in outcome.acting for t in rule.tags)]
    new_tags = tuple(dict.fromkeys(t for t in wanted if t not in ticket.tags))
    if new_tags:
        outcome.actions.append(construct(AddTags, {"tags": new_tags}))
    raises = [rule.raise_priority for rule, _ in outcome.acting if rule.raise_priority is not None]
    highest = max(raises, key=lambda p: p.rank, default=None)
    if highest is not None and highest.rank > ticket.priority.rank:
        outcome.actions.append(construct(RaisePriority, {"priority": highest}))
    fresh = [rule.id for rule, _ in outcome.acting if rule.id not in state.escalations]
    outcome.escalate = bool(outcome.actions or fresh)
    if not outcome.escalate:
        ids = ", ".join(rule.id for rule, _ in outcome.acting)
        outcome.skipped.append(f"already escalated for {ids}; nothing new to do")
        return
    outcome.note_template = next((r.note for r, _ in outcome.acting if r.note), policy.settings.handoff_note)
    _plan_customer_message(policy, facts, state, outcome)


def _plan_customer_message(policy: Policy, facts: Facts, state: EscalationState, outcome: Outcome) -> None:
    # An escalation's own message comes before a progress update when both rules act.
    ordered = sorted(outcome.acting, key=lambda pair: pair[0].informs_only)
    template = next((r.customer_message for r, _ in ordered if r.customer_message), None)
    if template is None:
        return
    last = state.last_customer_message_at
    allowed_from = last + timedelta(minutes=policy.settings.customer_message_interval) if last else None
    if allowed_from is not None and allowed_from > facts.now:
        outcome.skipped.append(f"customer message {template!r}: the customer was messaged at "
                               f"{utc_iso(last)}; next allowed from {utc_iso(allowed_from)}")
        return
    outcome.customer_template = template


def _plan_proposals(policy: Policy, ticket: Ticket, outcome: Outcome) -> None:
    """Propose mode: tag the ticket and leave the supervisor a note (unless an auto escalation writes one)."""
    if not outcome.proposing:
        return
    if PROPOSED_TAG not in ticket.tags:
        tags = next((a for a in outcome.actions if isinstance(a, AddTags)), None)
        if tags is None:
            outcome.actions.append(construct(AddTags, {"tags": (PROPOSED_TAG,)}))
        else:
            outcome.actions[outcome.actions.index(tags)] = construct(AddTags, {"tags": (*tags.tags, PROPOSED_TAG)})
    if not outcome.escalate:
        outcome.note_template = policy.settings.proposal_note


def _reasons(outcome: Outcome) -> tuple[Reason, ...]:
    reasons = [construct(Reason, {"code": f.code, "rule_id": rule.id, "text": f.text})
               for rule, fs in outcome.acting for f in fs]
    reasons += [construct(Reason, {"code": f"proposed:{f.code}", "rule_id": rule.id,
                                   "text": f"proposed for approval: {f.text}"})
                for rule, fs in outcome.proposing for f in fs]
    return tuple(reasons)


def _inputs(facts: Facts, tier_source: str, outcome: Outcome, state: EscalationState, policy: Policy) -> DecisionInputs:
    ticket = facts.ticket
    clocks = tuple(facts.clocks.values())
    keywords = tuple([k for _, fs in (*outcome.acting, *outcome.proposing) for f in fs for k in f.keywords])
    return construct(DecisionInputs, dict(
        system=ticket.system,
        status=ticket.status,
        priority=ticket.priority,
        tier=facts.tier,
        tier_source=tier_source,
        segment=facts.segment,
        sla_calendar=facts.calendar.name if clocks else None,
        sla=clocks,
        sla_disagreements=tuple([f"{c.target}: {c.native.disagreement}" for c in clocks
                                 if c.native is not None and c.native.disagreement]),
        keywords=keywords,
        reopen_count=facts.reopen_count,
        last_human_activity_at=facts.last_activity("any"),
        level_before=state.level,
        routed_group_before=state.routed_group,
    ))


def _next_check(timed, facts: Facts, new_state: EscalationState) -> datetime | None:
    """The next instant at which time alone could change the decision.

    To the microsecond (datetime's resolution), never rounded up: a re-check
    is due at, not after, the moment a threshold, due time or cooldown is
    crossed; the checks count a threshold as reached from a millisecond before
    it (``core.sla.REACHED_WITHIN_S``), so the re-check sees the change.
    """
    if not facts.ticket.status.is_open:
        return None
    now_ts = facts.now_ts
    soonest = None
    for clock in facts.clocks.values():
        if clock.state is ClockState.running and clock.due_at is not None:
            soonest = _earlier(soonest, clock.due_at.timestamp(), now_ts)
    for until in new_state.cooldowns.values():
        soonest = _earlier(soonest, until.timestamp(), now_ts)
    for trigger in timed:
        at = trigger.next_change(facts)
        if at is not None:
            soonest = _earlier(soonest, at, now_ts)
    return None if soonest is None else _at_or_before(soonest)


def _at_or_before(ts: float) -> datetime:
    """``ts`` as a datetime, rounded down to the microsecond (fromtimestamp alone rounds to the nearest)."""
    return datetime.fromtimestamp(math.floor(ts * 1_000_000) / 1_000_000, timezone.utc)


def _earlier(soonest: float | None, candidate: float, now_ts: float) -> float | None:
    """The earlier of two future instants (past ones do not count)."""
    if candidate <= now_ts:
        return soonest
    return candidate if soonest is None or candidate < soonest else soonest
