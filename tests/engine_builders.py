"""Builders for the engine tests: tickets, comments, events and small policies.

Real models and the real policy loader only; nothing of deskbridge is mocked.
"""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

from core.model import Account, Comment, EventKind, HistoryEvent, Role, Ticket
from core.policy import Policy, load_policy

UTC = timezone.utc
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC


def at(minutes: float = 0, start: datetime = T0) -> datetime:
    """``start`` plus some wall-clock minutes."""
    return start + timedelta(minutes=minutes)


def comment(cid: str, role: str, when: datetime, body: str = "", public: bool = True,
            by_deskbridge: bool = False) -> Comment:
    return Comment(id=cid, role=Role(role), public=public, body=body, created_at=when, by_deskbridge=by_deskbridge)


def status_change(when: datetime, old: str, new: str, by_deskbridge: bool = False) -> HistoryEvent:
    return HistoryEvent(kind=EventKind.status_change, at=when, from_value=old, to_value=new,
                        actor_role=Role.agent, by_deskbridge=by_deskbridge)


def reopen(when: datetime) -> HistoryEvent:
    return HistoryEvent(kind=EventKind.reopen, at=when, from_value="solved", to_value="open", actor_role=Role.customer)


def reassigned(when: datetime, to: str, by_deskbridge: bool = False) -> HistoryEvent:
    return HistoryEvent(kind=EventKind.group_change, at=when, to_value=to, actor_role=Role.agent,
                        by_deskbridge=by_deskbridge)


def ticket(**overrides) -> Ticket:
    """An open normal-priority Zendesk ticket created at T0, customised by keyword."""
    fields = dict(
        system="zendesk", id="1", key="#1", subject="Cannot export reports", description="The export button fails.",
        status="open", native_status="open", priority="normal", created_at=T0, updated_at=T0,
        concurrency_token="t1", group="l1",
    )
    fields.update(overrides)
    return Ticket.model_validate(fields)


def account(tier: str = "business", **overrides) -> Account:
    fields = dict(id="001A", name="Acme", tier=tier, segment="Mid-Market", owner_name="Olive Owner",
                  owner_email="olive@acme.test")
    fields.update(overrides)
    return Account.model_validate(fields)


BASE_POLICY = """\
version: 1
tiers: [premier, business, standard]
groups: [l1, tier2, tier3, security, billing, management]
settings:
  cooldown: 60
calendars:
  always:
    always_open: true
  office:
    timezone: UTC
    hours:
      mon: &day ["09:00-17:00"]
      tue: *day
      wed: *day
      thu: *day
      fri: *day
sla:
  targets:
    - {tier: [premier, business, standard], priority: [low, normal, high, urgent], calendar: always,
       first_response: 60, next_response: 120, resolution: 480}
"""


def policy(tmp_path: Path, rules: str = "", extra: str = "", base: str = BASE_POLICY) -> Policy:
    """Load ``base`` + ``extra`` + a ``rules:`` block through the real loader."""
    text = base + textwrap.dedent(extra)
    if rules:
        text += "rules:\n" + textwrap.indent(textwrap.dedent(rules), "  ")
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return load_policy(path, "policy.yaml")
