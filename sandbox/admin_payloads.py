"""What the admin API accepts, validated: clock moves, fault rules and new tickets.

Bad input gets a 400 naming the field, never a half-applied change. A new
ticket may leave out anything but its subject; defaults make it a fresh "new"
ticket in L1 from the first customer of its account (or of the world), created
at the sandbox's current time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sandbox.context import Fault
from sandbox.vocab import GROUPS, PRODUCT_AREAS
from sandbox.world import SeedComment, SeedEvent, SeedTicket, World

Status = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
PriorityName = Literal["low", "normal", "high", "urgent"]
FaultKindName = Literal["429", "5xx", "latency", "reset", "conflict", "malformed", "401", "403"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClockMove(_Strict):
    """``{"set": iso}`` or ``{"advance_seconds": n}``, exactly one."""

    set: AwareDatetime | None = None
    advance_seconds: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> "ClockMove":
        if (self.set is None) == (self.advance_seconds is None):
            raise ValueError('give exactly one of "set" or "advance_seconds"')
        return self


class FaultIn(_Strict):
    """A fault rule as :class:`sandbox.context.Fault` takes it."""

    kind: FaultKindName
    system: str = "*"
    method: str = "*"
    path: str = ".*"
    count: int | None = Field(default=None, ge=1)
    probability: float = Field(default=1.0, ge=0, le=1)
    retry_after: int = Field(default=1, ge=0)
    status: int = Field(default=503, ge=500, le=599)
    delay_ms: int = Field(default=500, ge=0, le=60_000)

    def to_fault(self) -> Fault:
        return Fault(**self.model_dump())


class CommentIn(_Strict):
    author: str
    role: Literal["customer", "agent", "system"] = "customer"
    public: bool = True
    body: str
    at: AwareDatetime


class EventIn(_Strict):
    kind: Literal["status", "group", "assignee", "priority"]
    at: AwareDatetime
    from_value: str | None = None
    to_value: str | None = None
    actor: str


class TicketIn(_Strict):
    """A new ticket for ``POST /_admin/{system}/tickets``; mirrors :class:`sandbox.world.SeedTicket`."""

    subject: str = Field(min_length=1)
    description: str = ""
    status: Status = "new"
    priority: PriorityName = "normal"
    requester: str | None = None
    account_id: str | None = None
    group: str = "l1"
    assignee: str | None = None
    product_area: str | None = None
    tags: list[str] = Field(default_factory=list)
    agent_flag: bool = False
    customer_requested: bool = False
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    solved_at: AwareDatetime | None = None
    comments: list[CommentIn] = Field(default_factory=list)
    events: list[EventIn] = Field(default_factory=list)

    @field_validator("group")
    @classmethod
    def _known_group(cls, value: str) -> str:
        if value not in GROUPS:
            raise ValueError(f"{value!r} is not one of {', '.join(GROUPS)}")
        return value

    @field_validator("product_area")
    @classmethod
    def _known_area(cls, value: str | None) -> str | None:
        if value is not None and value not in PRODUCT_AREAS:
            raise ValueError(f"{value!r} is not one of {', '.join(PRODUCT_AREAS)}")
        return value

    def to_seed(self, system: str, n: int, now: datetime, world: World) -> SeedTicket:
        """The seed ticket, with defaults filled from the world; unknown user keys are a ValueError."""
        accounts = _customers_by_account(world)
        account_id = self.account_id
        requester = self.requester
        if requester is None:
            requester = (accounts.get(account_id) or [_any_customer(world, accounts)])[0]
        if "account_id" not in self.model_fields_set:
            account_id = next((a for a, keys in accounts.items() if requester in keys), None)
        for key in (requester, self.assignee, *(c.author for c in self.comments), *(e.actor for e in self.events)):
            if key is not None and key not in world.users:
                raise ValueError(f"unknown user key {key!r}")
        created = self.created_at or now
        data = self.model_dump(exclude={"comments", "events"})
        data.update(
            requester=requester, account_id=account_id, created_at=created, updated_at=self.updated_at or created
        )
        return SeedTicket(
            n=n,
            system=system,
            comments=[SeedComment(**c.model_dump()) for c in self.comments],
            events=[SeedEvent(**e.model_dump()) for e in self.events],
            **data,
        )


def _customers_by_account(world: World) -> dict[str, list[str]]:
    """Account id -> customer keys, known when the world came from :func:`sandbox.seed.generate_world`."""
    cast = getattr(world.tickets, "cast", None)
    return cast.customers_by_account if cast is not None else {}


def _any_customer(world: World, accounts: dict[str, list[str]]) -> str:
    for keys in accounts.values():
        return keys[0]
    for user in world.users.values():
        if user.role == "customer":
            return user.key
    raise ValueError("the world has no customers; give a requester")


def validation_message(error: ValidationError) -> str:
    """One line per problem: ``field.path: message``."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in error.errors())

