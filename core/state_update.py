"""The escalation state a decision leaves behind for the next run."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from core.decision import EscalationRecord, EscalationState, construct

if TYPE_CHECKING:
    from core.policy import Policy
    from core.proposals import ProposalBook
    from core.rules import Outcome


def next_state(state: EscalationState, policy: Policy, outcome: Outcome, book: ProposalBook,
               now: datetime) -> EscalationState:
    """``state`` advanced by this decision: level, routing, reasons, cooldowns, proposals, messages."""
    escalated = outcome.escalate
    if _unchanged(state, outcome, book, now):
        return state
    route = outcome.route
    routed = escalated and route is not None and route.action is not None
    return construct(EscalationState, dict(
        level=max(state.level, route.level) if escalated and route is not None else state.level,
        routed_group=route.target if routed else state.routed_group,  # type: ignore[union-attr]
        routed_at=now if routed else state.routed_at,
        last_escalated_at=now if escalated else state.last_escalated_at,
        escalations=_escalations(state, outcome, now) if escalated else state.escalations,
        cooldowns=_cooldowns(state, policy, outcome, now),
        proposals=_sorted({**book.open, **{r.id: book.new_proposal(r, f) for r, f in outcome.proposing}}),
        approved=_sorted({**state.approved, **book.approved_now}),
        rejected=_sorted({**state.rejected, **book.rejected_now}),
        last_customer_message_at=now if outcome.customer_template else state.last_customer_message_at,
    ))


def _unchanged(state: EscalationState, outcome: Outcome, book: ProposalBook, now: datetime) -> bool:
    """Nothing to remember: most decisions, which then share the prior state object."""
    return (
        not outcome.escalate
        and not outcome.customer_template
        and not outcome.proposing
        and not book.approved_now
        and not book.rejected_now
        and book.open == state.proposals
        and all(until > now for until in state.cooldowns.values())
    )


def _escalations(state: EscalationState, outcome: Outcome, now: datetime) -> dict[str, EscalationRecord]:
    records = dict(state.escalations)
    for rule, findings in outcome.acting:
        codes = tuple(f.code for f in findings)
        old = records.get(rule.id)
        if old is None:
            records[rule.id] = construct(EscalationRecord, {"rule_id": rule.id, "codes": codes, "first_at": now,
                                                            "last_at": now})
        else:
            records[rule.id] = old.model_copy(update={"codes": codes, "last_at": now, "count": old.count + 1})
    return _sorted(records)


def _cooldowns(state: EscalationState, policy: Policy, outcome: Outcome, now: datetime) -> dict[str, datetime]:
    """Unexpired cooldowns, plus a fresh one for every rule that acted now."""
    cooldowns = {rule_id: until for rule_id, until in state.cooldowns.items() if until > now}
    if outcome.escalate or outcome.customer_template:  # a progress update has its cooldown too
        for rule, _ in outcome.acting:
            minutes = rule.cooldown if rule.cooldown is not None else policy.settings.cooldown
            cooldowns[rule.id] = now + timedelta(minutes=minutes)
    return _sorted(cooldowns)


def _sorted(mapping: dict) -> dict:
    """The (freshly built) mapping in key order, for stable JSON."""
    return mapping if len(mapping) < 2 else dict(sorted(mapping.items()))
