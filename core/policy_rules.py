"""The rules part of the policy: when (a condition), where to (a route), and what else to do.

A rule is written once and read by admins, so every part is a closed
vocabulary: routes are a discriminated union on ``to``, modes are ``auto`` or
``propose``, templates are named, never inlined.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from core.model import Priority, System
from core.policy_sla import _as_list, parse_minutes
from core.triggers import Condition

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,62}$")

Minutes = Annotated[int, BeforeValidator(parse_minutes), Field(ge=0)]


class ToGroup(BaseModel):
    """A fixed logical group or specialist queue (``tier3``, ``security``, ``billing``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    to: Literal["group"]
    group: str


class ToLadder(BaseModel):
    """One level up the escalation ladder from where the ticket stands."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    to: Literal["ladder"]


class ToAccountOwner(BaseModel):
    """The account owner from Salesforce (resolved by e-mail in the helpdesk)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    to: Literal["account_owner"]


class ToKeyword(BaseModel):
    """The route of the keyword that matched (the first listed phrase wins)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    to: Literal["keyword"]


class ToProductArea(BaseModel):
    """A specialist queue chosen by the ticket's product area; unlisted areas are not rerouted."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    to: Literal["product_area"]
    queues: dict[str, str] = Field(min_length=1)


Route = Annotated[ToGroup | ToLadder | ToAccountOwner | ToKeyword | ToProductArea, Field(discriminator="to")]


class Scope(BaseModel):
    """Which tickets a rule looks at; an omitted key means all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    systems: Annotated[list[System] | None, BeforeValidator(_as_list)] = None
    tiers: Annotated[list[str] | None, BeforeValidator(_as_list)] = None
    priorities: Annotated[list[Priority] | None, BeforeValidator(_as_list)] = None
    segments: Annotated[list[str] | None, BeforeValidator(_as_list)] = None

    def admits(self, system: System, tier: str, priority: Priority, segment: str | None) -> bool:
        """True when the ticket is inside this scope."""
        return (
            (self.systems is None or system in self.systems)
            and (self.tiers is None or tier in self.tiers)
            and (self.priorities is None or priority in self.priorities)
            and (self.segments is None or segment in self.segments)
        )


class Rule(BaseModel):
    """One escalation rule: ``when`` it fires, the route and actions, auto or propose."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    description: str = ""
    mode: Literal["auto", "propose"] = "auto"
    scope: Scope = Field(default_factory=Scope)
    when: Condition
    route: Route | None = None
    tags: list[str] = Field(default_factory=list)
    raise_priority: Priority | None = None
    note: str | None = None  # handoff-note template; default settings.handoff_note
    customer_message: str | None = None  # a customer template, sent only when the rule names one
    cooldown: Minutes | None = None  # minutes before this rule may act on the same ticket again

    @property
    def informs_only(self) -> bool:
        """A rule that only writes to the customer (a progress update): it does not escalate."""
        return (self.customer_message is not None and self.route is None and not self.tags
                and self.raise_priority is None and self.note is None and self.mode == "auto")

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _ID_RE.match(value):
            raise ValueError(f"{value!r} is not a rule id: use lower-case letters, digits, '_' or '-'")
        return value
