"""The demo's scenario: tickets that exercise each trigger, and what must happen to them.

Each :class:`Case` is created in the sandbox through its admin API exactly as a
customer or agent would have left it, with the outcome the shipped policy
(mapping/policy.yaml) must produce: the group it ends in, a tag, whether a
customer message goes out, and the round by which it must have escalated
(round 1 right away, round 2 only after the clock has moved: time alone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sandbox.world import World


@dataclass(frozen=True)
class Case:
    system: str
    shows: str  # the trigger this case demonstrates
    fields: dict[str, Any]  # create_ticket fields (sandbox.admin_payloads.TicketIn)
    group: str  # logical group the ticket must end in
    tag: str  # a tag deskbridge must have added
    by_round: int = 1
    priority: str | None = None  # the priority it must end with, if the rule raises it
    customer_message: bool = False
    then: tuple[dict, ...] = ()  # what people do after it is created (sandbox human actions)
    ticket_id: str = field(default="", compare=False)


def _account(world: World, tier_value: str) -> str:
    return next(a.id for a in world.accounts if a.tier_value == tier_value)


def _agent(world: World) -> str:
    return next(u.key for u in world.users.values() if u.role == "agent")


def cases(world: World, start: datetime) -> list[Case]:
    """The scenario, created at ``start`` (the sandbox clock when it begins)."""
    premier = _account(world, "Premier Support")
    standard = _account(world, "Standard Support")
    agent = _agent(world)
    earlier = start - timedelta(hours=2)

    def reopen_events() -> list[dict]:
        steps = [("open", "solved", 100), ("solved", "open", 80), ("open", "solved", 60), ("solved", "open", 40)]
        return [
            {"kind": "status", "at": (start - timedelta(minutes=m)).isoformat(), "from_value": a, "to_value": b,
             "actor": agent}
            for a, b, m in steps
        ]  # fmt: skip

    return [
        Case("zendesk", "keyword 'outage' -> tier 3, urgent",
             {"subject": "Checkout outage: card payments failing in every store",
              "description": "Since 08:40 no card payment goes through. This is an outage for all our stores.",
              "priority": "high", "account_id": standard},
             group="tier3", tag="critical_keyword", priority="urgent"),
        Case("zendesk", "customer asks to escalate -> next level + customer notice",
             {"subject": "Invoice totals wrong for the third month", "account_id": standard,
              "description": "The March invoice shows the wrong VAT again.", "created_at": earlier.isoformat(),
              "comments": [{"author": agent, "role": "agent", "public": True, "at": (earlier + timedelta(minutes=30)).isoformat(),
                            "body": "Thanks, we are looking into the VAT calculation."}]},
             group="tier2", tag="customer_requested_escalation", customer_message=True,
             then=({"action": "comment", "public": True,
                    "body": "Third month in a row. Please escalate this to a manager."},)),
        Case("zendesk", "premier urgent, untouched -> escalated by time before the SLA breaches",
             {"subject": "Bulk export API answers 500", "priority": "urgent", "account_id": premier,
              "description": "Every bulk export request fails with HTTP 500."},
             group="tier2", tag="sla_at_risk", by_round=2),
        Case("servicenow", "keyword 'security breach' -> security",
             {"subject": "Possible security breach on the admin console", "account_id": standard,
              "description": "We saw logins from an unknown country on an admin account."},
             group="security", tag="critical_keyword", priority="urgent"),
        Case("servicenow", "agent flag -> next level",
             {"subject": "Mobile app crashes on login for one user", "account_id": standard,
              "description": "The iOS app closes right after the login screen.", "agent_flag": True},
             group="tier2", tag="agent_flagged"),
        Case("servicenow", "reopened twice -> tier 2",
             {"subject": "Webhook deliveries stop after a few hours", "account_id": standard,
              "description": "Webhooks stop arriving until we re-save the integration.",
              "created_at": (start - timedelta(hours=3)).isoformat(), "status": "open", "events": reopen_events()},
             group="tier2", tag="reopened_repeatedly"),
        Case("jira", "keyword 'data leak' -> security",
             {"subject": "Customer data visible to another tenant", "account_id": standard,
              "description": "A user of another company could see our invoices: a data leak."},
             group="security", tag="critical_keyword", priority="urgent"),
        Case("jira", "premier urgent, untouched -> escalated by time before the SLA breaches",
             {"subject": "SSO login loop for all users", "priority": "urgent", "account_id": premier,
              "description": "After the IdP certificate rotation every login loops back to the start page."},
             group="tier2", tag="sla_at_risk", by_round=2),
    ]  # fmt: skip
