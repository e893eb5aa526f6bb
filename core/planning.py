"""Turn a Decision into the WritePlan a connector pushes (pure: no I/O, no clock).

The engine decides *what* (route, tags, priority, which templates); planning
adds the rendered handoff note or proposal note, the customer message where
the rule asked for one, and the idempotency key whose marker travels into the
helpdesk with the note so a replay is recognised.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from core.actions import AddTags, AssignGroup, AssignOwner, CustomerMessage, InternalNote, RaisePriority, WritePlan
from core.decision import Decision, EscalationState
from core.model import Account, HistoryEvent, Ticket
from core.notes import CustomerContext, NoteRenderer, OtherEscalation, SlaLine, note_context
from core.policy import Policy
from core.routing import human_reassignment_since
from core.sla import ClockState
from core.store.keys import idempotency_key, time_bucket

# Decisions about one ticket within this window and for the same reasons and level
# share a key, so re-deciding after a crash lands on the outbox entry it already has.
KEY_BUCKET = timedelta(hours=1)
DEFAULT_PROMISE = "A senior member of our support team is now looking after your request."


def needs_write(decision: Decision) -> bool:
    """True when the decision asks the helpdesk for anything."""
    return bool(decision.actions or decision.note_template or decision.customer_template)


def plan_for(
    decision: Decision,
    ticket: Ticket,
    account: Account | None,
    policy: Policy,
    renderer: NoteRenderer,
    *,
    other_escalations: Iterable[OtherEscalation] = (),
    promise: str = DEFAULT_PROMISE,
) -> WritePlan:
    """The write plan for ``decision``, rendered against ``ticket`` (which should carry its full history)."""
    key = idempotency_key(
        ticket.system, ticket.id, decision.reason_codes or decision.rule_ids, decision.level,
        time_bucket(decision.evaluated_at, KEY_BUCKET),
    )  # fmt: skip
    actions = list(decision.actions)
    if decision.note_template:
        context = note_context(
            ticket, account,
            reasons=[r.text for r in decision.reasons],
            sla=[SlaLine.model_validate(clock, from_attributes=True) for clock in decision.inputs.sla
                 if clock.breached or clock.state in (ClockState.running, ClockState.paused)],
            other_escalations=list(other_escalations),
            idempotency_key=key, generated_at=decision.evaluated_at,
            level=decision.level, level_name=decision.level_name,
            approve_tag=policy.settings.approve_tag if decision.mode == "propose" else None,
            reject_tag=policy.settings.reject_tag if decision.mode == "propose" else None,
        )  # fmt: skip
        actions.append(InternalNote(body=renderer.handoff_note(context, decision.note_template)))
    if decision.customer_template:
        message = renderer.customer_message(
            decision.customer_template, CustomerContext.from_ticket(ticket, promise), ticket.system, key
        )
        actions.append(CustomerMessage(body=message))
    return WritePlan(
        system=ticket.system,
        ticket_id=ticket.id,
        expected_token=ticket.concurrency_token,
        idempotency_key=key,
        actions=tuple(actions),
    )


def respect_reassignment(decision: Decision, prior: EscalationState, event: HistoryEvent) -> Decision:
    """The decision without its routing, because a person reassigned the ticket while deskbridge was escalating it.

    Tags, priority and the note still go out; the group or assignee the person
    chose stays, and the escalation state keeps the routing it had before.
    """
    routing = (AssignGroup, AssignOwner)
    actions = tuple(a for a in decision.actions if not isinstance(a, routing))
    if len(actions) == len(decision.actions):
        return decision
    who = f" to {event.to_value}" if event.to_value else ""
    why = f"a person reassigned the ticket{who} at {event.at:%Y-%m-%d %H:%M UTC} while deskbridge was escalating it; not reassigning"
    state = decision.new_state.model_copy(
        update={"routed_group": prior.routed_group, "routed_at": prior.routed_at, "level": prior.level}
    )
    return decision.model_copy(
        update={"actions": actions, "skipped_because": (*decision.skipped_because, why), "new_state": state,
                "level": prior.level, "explanation": f"{decision.explanation} Not reassigned: {why}."}
    )  # fmt: skip


def rebase_plan(plan: WritePlan, ticket: Ticket, planned_at: datetime) -> WritePlan:
    """The same step (key, note, customer message) against a fresh read, after a leftover push met a conflict.

    A leftover's decision is already recorded (the escalation state counts it), so
    it is not decided again: only what is still missing is written, on the fresh
    token. Tags already there, a priority already as high, routing already in
    place are dropped; so is routing when a person reassigned the ticket after
    the plan was made. Notes and messages stay: their marker keeps them to one.
    """
    person = human_reassignment_since(ticket, planned_at)
    kept = []
    for action in plan.actions:
        if isinstance(action, AddTags):
            missing = tuple(tag for tag in action.tags if tag not in ticket.tags)
            if missing:
                kept.append(AddTags(tags=missing))
        elif isinstance(action, RaisePriority):
            if action.priority.rank > ticket.priority.rank:
                kept.append(action)
        elif isinstance(action, AssignGroup | AssignOwner):
            if person is None and not (isinstance(action, AssignGroup) and action.group == ticket.group):
                kept.append(action)
        else:
            kept.append(action)
    return plan.model_copy(update={"actions": tuple(kept), "expected_token": ticket.concurrency_token})
