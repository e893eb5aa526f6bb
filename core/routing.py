"""Where an escalation sends the ticket: routes, the ladder, and respect for humans.

The ladder only goes up, one step per decision: a ladder route moves from
the current level to the next, a fixed route to a ladder group below the
current level is refused ("never down"), and at the top nothing is rerouted,
so repeated decisions can never loop. A person who reassigned the ticket
after deskbridge's last escalation wins: no routing at all, and the decision
says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.actions import AssignGroup, AssignOwner
from core.decision import EscalationState, construct, utc_iso
from core.model import Account, EventKind, HistoryEvent, Ticket
from core.policy_rules import Rule, ToAccountOwner, ToGroup, ToKeyword, ToLadder, ToProductArea
from core.triggers import Finding

_REASSIGN = (EventKind.group_change, EventKind.assignee_change)


@dataclass(slots=True)  # read-only by convention; not frozen because frozen init is 4x slower
class RouteChoice:
    """The routing outcome of one decision."""

    action: AssignGroup | AssignOwner | None
    target: str | None  # logical group or "owner:<email>"
    level: int
    skipped: tuple[str, ...]


def human_reassignment_since(ticket: Ticket, since) -> HistoryEvent | None:
    """The latest group/assignee change a person made after ``since`` (deskbridge's own are echoes)."""
    if since is None:
        return None
    for event in reversed(ticket.history):
        if event.kind in _REASSIGN and not event.by_deskbridge and event.at > since:
            return event
    return None


def ladder_level(ticket: Ticket, ladder: list[str], state: EscalationState) -> int:
    """Where the ticket stands: the stored level, or higher if it already sits in a higher ladder group."""
    level = state.level
    if ticket.group in ladder:
        level = max(level, ladder.index(ticket.group))
    return min(level, len(ladder) - 1)


def choose_route(
    fired: list[tuple[Rule, list[Finding]]],
    ticket: Ticket,
    account: Account | None,
    ladder: list[str],
    state: EscalationState,
    specialist_escalation: dict[str, str] | None = None,
) -> RouteChoice:
    """The first usable route among the fired rules (policy order), with every refusal explained."""
    level = ladder_level(ticket, ladder, state)
    routed = [(rule, findings) for rule, findings in fired if rule.route is not None]
    if not routed:
        return RouteChoice(None, None, level, ())
    human = human_reassignment_since(ticket, state.last_escalated_at)
    if human is not None:
        who = f" to {human.to_value}" if human.to_value else ""
        return RouteChoice(None, None, level, (
            f"a person reassigned the ticket{who} at {utc_iso(human.at)}, after deskbridge's last escalation "
            f"at {utc_iso(state.last_escalated_at)}; not reassigning it again",
        ))
    skipped: list[str] = []
    for rule, findings in routed:
        target, why_not = _target(rule, findings, ticket, account, ladder, level, specialist_escalation or {})
        if target is None:
            skipped.append(f"rule {rule.id}: {why_not}")
            continue
        if target == state.routed_group:
            skipped.append(f"rule {rule.id}: already routed to {target} at {utc_iso(state.routed_at)}")
            continue
        if target == ticket.group:
            skipped.append(f"rule {rule.id}: the ticket is already in {target}")
            continue
        if target in ladder and ladder.index(target) <= level:
            skipped.append(f"rule {rule.id}: {target} is not above the current level {ladder[level]}; "
                           "the ladder never goes down")
            continue
        new_level = ladder.index(target) if target in ladder else level
        if isinstance(rule.route, ToAccountOwner):
            assert account is not None and account.owner_email is not None
            action = construct(AssignOwner, {"email": account.owner_email, "name": account.owner_name})
        else:
            action = construct(AssignGroup, {"group": target})
        return RouteChoice(action, target, new_level, tuple(skipped))
    return RouteChoice(None, None, level, tuple(skipped))


def _target(rule: Rule, findings: list[Finding], ticket: Ticket, account: Account | None,
            ladder: list[str], level: int, specialist_escalation: dict[str, str]) -> tuple[str | None, str]:
    """The logical target of one rule's route, or None and why not."""
    route = rule.route
    if isinstance(route, ToLadder):
        if ticket.group is not None and ticket.group not in ladder:
            # A specialist queue (security, billing, ...) owns the ticket: climbing the generic
            # ladder would take it away from the people who can fix it. It escalates to the
            # queue's own escalation group, where the policy names one.
            target = specialist_escalation.get(ticket.group)
            if target is not None:
                return target, ""
            return None, f"the ticket is in the specialist queue {ticket.group}; the ladder does not move it"
        if level + 1 >= len(ladder):
            return None, f"already at the top of the ladder ({ladder[-1]})"
        return ladder[level + 1], ""
    if isinstance(route, ToAccountOwner):
        if account is None or not account.owner_email:
            return None, "the account owner is unknown"
        return f"owner:{account.owner_email}", ""
    if isinstance(route, ToKeyword):
        target = next((f.route for f in findings if f.route), None)
        if target is None:
            return None, "the matched keyword has no route"
    elif isinstance(route, ToProductArea):
        group = route.queues.get(ticket.product_area or "")
        if group is None:
            return None, f"no queue for product area {ticket.product_area!r}"
        target = group
    else:
        assert isinstance(route, ToGroup)
        target = route.group
    return target, ""
