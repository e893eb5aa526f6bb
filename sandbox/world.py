"""System-neutral seed data: the sandbox's world before any emulator renders it.

The seed generator yields these; each emulator turns them into its native
records (Zendesk tickets and audits, ServiceNow incidents and journal rows,
Jira issues with changelog, Salesforce Accounts and Users) using the
vocabulary in :mod:`sandbox.vocab`. Statuses and priorities here are the
normalized names; groups are logical names (``l1``, ``tier2``, ...).
They are plain slotted dataclasses so 100,000 tickets stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class SeedUser:
    key: str  # stable handle, e.g. "agent-3" or "cust-17"
    name: str
    email: str
    role: str  # "agent" | "customer" | "admin"
    group: str | None = None  # logical group for agents


@dataclass(slots=True)
class SeedAccount:
    id: str  # 18-character Salesforce Account id
    name: str
    tier_value: str  # Salesforce picklist value, e.g. "Premier Support"
    segment: str  # "Enterprise" | "Mid-Market" | "SMB" | "Public Sector"
    owner: SeedUser  # an account manager (role "admin" in helpdesks, a Salesforce User)


@dataclass(slots=True)
class SeedComment:
    author: str  # SeedUser.key
    role: str  # "customer" | "agent" | "system"
    public: bool
    body: str
    at: datetime


@dataclass(slots=True)
class SeedEvent:
    """A past change. kind: status | group | assignee | priority."""

    kind: str
    at: datetime
    from_value: str | None
    to_value: str | None
    actor: str  # SeedUser.key


@dataclass(slots=True)
class SeedTicket:
    n: int  # index within its system, 1-based; emulators derive native ids from it
    system: str  # "zendesk" | "servicenow" | "jira"
    subject: str
    description: str
    status: str  # normalized
    priority: str  # normalized
    requester: str  # SeedUser.key of a customer
    account_id: str | None  # None for a few tickets: the "unknown account" case
    group: str  # logical group
    assignee: str | None  # SeedUser.key of an agent
    product_area: str | None
    tags: list[str] = field(default_factory=list)  # human tags
    agent_flag: bool = False
    customer_requested: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    solved_at: datetime | None = None
    comments: list[SeedComment] = field(default_factory=list)
    events: list[SeedEvent] = field(default_factory=list)  # includes reopens as status solved -> open


@dataclass(slots=True)
class World:
    """Everything a sandbox is seeded with. ``tickets`` may be a generator for large worlds."""

    seed: int
    users: dict[str, SeedUser]
    accounts: list[SeedAccount]
    tickets: list[SeedTicket]
