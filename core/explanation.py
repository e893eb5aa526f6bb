"""The one-paragraph human explanation of a decision.

Written for the agent or supervisor reading the decision log or
``deskbridge explain``: what was decided, because of what, what was done and
what was deliberately not done, and when deskbridge will look again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.actions import AddTags, AssignGroup, AssignOwner, RaisePriority
from core.calendar import utc_iso
from core.sla import ClockState, SlaClock

if TYPE_CHECKING:
    from core.decision import DecisionInputs


def explain(ticket_key: str, decision: Mapping[str, Any]) -> str:
    """One paragraph: the verdict, the reasons, the actions, what was skipped, the SLA and the next check.

    ``ticket_key`` is what humans call the ticket (``#123``, ``SUP-42``);
    ``decision`` holds the Decision's fields (system, priority and status are
    the ticket's own, from its inputs).
    """
    inputs: DecisionInputs = decision["inputs"]
    who = f"{ticket_key} ({inputs.system}, {inputs.tier} tier"
    who += " by default" if inputs.tier_source == "default" else ""
    who += f", {inputs.priority}, {inputs.status})"
    parts = [f"{who} {_verdict(decision)}"]
    if decision["reasons"]:
        parts.append("Because: " + "; ".join(r.text for r in decision["reasons"]) + ".")
    if decision["actions"]:
        parts.append("Actions: " + "; ".join(_action(a) for a in decision["actions"]) + _templates(decision) + ".")
    if decision["skipped_because"]:
        parts.append("Not done: " + "; ".join(decision["skipped_because"]) + ".")
    if inputs.sla:
        parts.append("SLA (" + (inputs.sla_calendar or "") + "): " + "; ".join(_clock(c) for c in inputs.sla) + ".")
    if inputs.sla_disagreements:
        parts.append("The helpdesk's own SLA disagrees: " + "; ".join(inputs.sla_disagreements) + ".")
    if decision["next_check_at"] is not None:
        parts.append(f"Next check {utc_iso(decision['next_check_at'])}.")
    return " ".join(parts)


def _verdict(decision: Mapping[str, Any]) -> str:
    proposed = _rules(decision, proposed=True)
    if decision["escalate"]:
        also = f"; rule {proposed} proposed for a supervisor's approval" if proposed else ""
        return f"escalates (level {decision['level_name']}) by rule {_rules(decision, proposed=False)}{also}."
    if decision["mode"] == "propose":
        return f"is proposed for escalation by rule {proposed}, awaiting a supervisor."
    if not decision["inputs"].status.is_open:
        return "does not escalate: it is no longer open."
    return "does not escalate" + (": no rule matched." if not decision["skipped_because"] else ".")


def _rules(decision: Mapping[str, Any], *, proposed: bool) -> str:
    """The acting (or proposing) rule ids, in policy order."""
    ids = dict.fromkeys(r.rule_id for r in decision["reasons"] if r.code.startswith("proposed:") is proposed)
    return ", ".join(ids)


def _action(action) -> str:
    if isinstance(action, AssignGroup):
        return f"assign to {action.group}"
    if isinstance(action, AssignOwner):
        return f"assign to the account owner {action.name or action.email}"
    if isinstance(action, AddTags):
        return "add tags " + ", ".join(action.tags)
    if isinstance(action, RaisePriority):
        return f"raise priority to {action.priority}"
    return action.kind


def _templates(decision: Mapping[str, Any]) -> str:
    out = ""
    if decision["note_template"]:
        out += f"; internal note {decision['note_template']!r}"
    if decision["customer_template"]:
        out += f"; customer message {decision['customer_template']!r}"
    return out


def _clock(clock: SlaClock) -> str:
    name = str(clock.target)
    if clock.state is ClockState.not_started:
        return f"{name} not started"
    if clock.state is ClockState.completed:
        late = " (late)" if clock.breached else ""
        return f"{name} met{late} at {utc_iso(clock.completed_at)}"
    if clock.breached:
        return f"{name} breached at {utc_iso(clock.breached_at)}, {clock.state}"
    if clock.state is not ClockState.running:
        return f"{name} {clock.state} at {clock.percent_used:g}% used"
    return f"{name} {clock.percent_used:g}% used, due {utc_iso(clock.due_at)}"
