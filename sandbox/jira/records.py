"""The compact in-memory records behind the Jira emulator (slotted; rendered on read).

A record holds native values (status and priority names, accountIds, option
values) so rendering is a lookup, and the JQL evaluator reads the same
attributes the API would show. 100,000 issues with a few comments each stay
small because nothing here stores JSON.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

# One changelog item: (field, fieldtype, from, fromString, to, toString).
ChangeItem = tuple[str, str, str | None, str | None, str | None, str | None]


def account_id(user_key: str) -> str:
    """The Atlassian accountId of a seeded user: 24 hex digits derived from its key (stable across runs)."""
    return hashlib.sha1(f"jira-account:{user_key}".encode()).hexdigest()[:24]


def issue_id(n: int) -> str:
    """Native issue id of the n-th seeded Jira ticket."""
    return str(10000 + n)


def issue_key(n: int, project: str = "SUP") -> str:
    """Issue key of the n-th seeded Jira ticket."""
    return f"{project}-{n}"


@dataclass(slots=True)
class UserRecord:
    account_id: str
    key: str  # SeedUser.key (or a built-in handle)
    display_name: str
    email: str
    account_type: str  # "atlassian" (agents, admins, the integration user) | "customer" | "app"
    group: str | None = None  # logical group for agents


@dataclass(slots=True)
class CommentRecord:
    id: int
    author: str  # accountId
    body: str
    public: bool
    created: datetime
    updated: datetime


@dataclass(slots=True)
class HistoryRecord:
    id: int
    author: str  # accountId
    created: datetime
    items: tuple[ChangeItem, ...]


@dataclass(slots=True)
class IssueRecord:
    n: int
    id: str
    key: str
    summary: str
    description: str
    status: str  # native status name
    priority: str  # native priority name
    reporter: str  # accountId
    assignee: str | None  # accountId
    team: str | None  # option value of the "Support team" select
    product_area: str | None  # option value of the "Product area" select
    escalation_flag: bool
    customer_request: bool
    sf_account: str | None
    request_type: str
    created: datetime
    updated: datetime
    resolutiondate: datetime | None = None
    labels: list[str] = field(default_factory=list)
    comments: list[CommentRecord] = field(default_factory=list)
    histories: list[HistoryRecord] = field(default_factory=list)
