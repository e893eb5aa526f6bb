"""Escalation triggers: the conditions a rule's ``when:`` is built from.

Each trigger is a small pydantic model (so the policy file is validated with
precise errors) with two pure methods:

- ``check(facts)`` -> the findings that make it true now, or ``[]``;
- ``next_change(facts)`` -> the epoch instant at which time alone could make
  it true (an at-risk point, a due time, an inactivity deadline), so flows
  know when to look at the ticket again even if nothing changes.

Conditions combine with ``all:`` / ``any:`` groups, nested as deep as needed.
The union is discriminated by the ``trigger`` key (or ``all`` / ``any``), so a
mistake is reported against one alternative, not all of them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from core.facts import Facts
from core.trigger_base import Finding, KeywordMatch, Trigger
from core.triggers_text import CustomerRequest, KeywordRoute, Keywords, SearchField, find_phrases
from core.triggers_time import AtRisk, Breached, Inactivity

__all__ = [
    "AgentFlag", "AllOf", "AnyOf", "AtRisk", "Breached", "Condition", "CustomerRequest", "Finding", "Inactivity",
    "KeywordMatch", "KeywordRoute", "Keywords", "ProductAreaIs", "Reopened", "SearchField", "SegmentIs",
    "TicketTypeIs", "TierIs", "TRIGGER_NAMES", "Trigger", "find_phrases", "timed_leaves",
]


class AgentFlag(Trigger):
    """An agent asked for escalation: the mapped flag field and/or a tag."""

    trigger: Literal["agent_flag"]
    tag: str | None = None
    use_field: bool = True

    def check(self, facts: Facts) -> list[Finding]:
        if self.use_field and facts.ticket.agent_escalation_flag:
            return [Finding("agent_flag", "an agent set the escalation flag")]
        if self.tag is not None and self.tag in facts.ticket.tags:
            return [Finding("agent_flag", f"an agent added the tag {self.tag!r}")]
        return []


class Reopened(Trigger):
    """The ticket was reopened at least ``at_least`` times."""

    trigger: Literal["reopened"]
    at_least: int = Field(ge=1)

    def check(self, facts: Facts) -> list[Finding]:
        count = facts.reopen_count
        return [Finding("reopened", f"reopened {count} times (limit {self.at_least})")] if count >= self.at_least else []


class _Membership(Trigger):
    """The ticket's attribute is one of ``in``."""

    values: list[str] = Field(alias="in", min_length=1)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def _value(self, facts: Facts) -> str | None:
        raise NotImplementedError

    def check(self, facts: Facts) -> list[Finding]:
        value = self._value(facts)
        name = self.trigger  # type: ignore[attr-defined]
        return [Finding(f"{name}:{value}", f"{name} is {value}")] if value in self.values else []


class TierIs(_Membership):
    trigger: Literal["tier"]

    def _value(self, facts: Facts) -> str | None:
        return facts.tier


class SegmentIs(_Membership):
    trigger: Literal["segment"]

    def _value(self, facts: Facts) -> str | None:
        return facts.segment


class ProductAreaIs(_Membership):
    trigger: Literal["product_area"]

    def _value(self, facts: Facts) -> str | None:
        return facts.ticket.product_area


class TicketTypeIs(_Membership):
    trigger: Literal["ticket_type"]

    def _value(self, facts: Facts) -> str | None:
        return facts.ticket.type


class AllOf(BaseModel):
    """True when every condition is; its findings are all of theirs."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    all: list[Condition] = Field(min_length=1)

    def check(self, facts: Facts) -> list[Finding]:
        findings: list[Finding] = []
        for condition in self.all:
            found = condition.check(facts)
            if not found:
                return []
            findings.extend(found)
        return findings

    def next_change(self, facts: Facts) -> float | None:
        return _soonest(c.next_change(facts) for c in self.all)


class AnyOf(BaseModel):
    """True when at least one condition is; its findings are those of the true ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    any: list[Condition] = Field(min_length=1)

    def check(self, facts: Facts) -> list[Finding]:
        return [f for condition in self.any for f in condition.check(facts)]

    def next_change(self, facts: Facts) -> float | None:
        return _soonest(c.next_change(facts) for c in self.any)


def timed_leaves(condition) -> list[AtRisk | Inactivity]:
    """The triggers inside ``condition`` that time alone can make true (breaches are due times already)."""
    if isinstance(condition, AllOf):
        return [leaf for c in condition.all for leaf in timed_leaves(c)]
    if isinstance(condition, AnyOf):
        return [leaf for c in condition.any for leaf in timed_leaves(c)]
    return [condition] if isinstance(condition, (AtRisk, Inactivity)) else []


def _soonest(instants) -> float | None:
    return min((i for i in instants if i is not None), default=None)


TRIGGER_NAMES = ("at_risk", "breached", "inactivity", "keywords", "customer_request", "agent_flag", "reopened",
                 "tier", "segment", "product_area", "ticket_type")


# Brackets mark union tags, not keys of the document, for core.yamlconf's error locations.
_UNKNOWN = "[not a trigger]"


class _NotACondition(BaseModel):
    """Catches anything that is not a known trigger, to say precisely what is wrong with it."""

    @model_validator(mode="before")
    @classmethod
    def _explain(cls, value: Any) -> Any:
        allowed = ", ".join(TRIGGER_NAMES)
        if isinstance(value, dict) and "trigger" in value:
            raise ValueError(f"trigger {value['trigger']!r} is not one of: {allowed}")
        raise ValueError(f"a condition needs 'trigger: <name>' (one of: {allowed}) or an all:/any: list")


def _condition_tag(value: Any) -> str:
    """The union member for a condition; tags are bracketed so error locations skip them."""
    if isinstance(value, dict):
        if "all" in value:
            return "[all]"
        if "any" in value:
            return "[any]"
        tag = value.get("trigger")
        return f"[{tag}]" if tag in TRIGGER_NAMES else _UNKNOWN
    if isinstance(value, (AllOf, AnyOf)):
        return "[all]" if isinstance(value, AllOf) else "[any]"
    trigger = getattr(value, "trigger", None)
    return f"[{trigger}]" if trigger else _UNKNOWN


Condition = Annotated[
    Union[
        Annotated[AtRisk, Tag("[at_risk]")],
        Annotated[Breached, Tag("[breached]")],
        Annotated[Inactivity, Tag("[inactivity]")],
        Annotated[Keywords, Tag("[keywords]")],
        Annotated[CustomerRequest, Tag("[customer_request]")],
        Annotated[AgentFlag, Tag("[agent_flag]")],
        Annotated[Reopened, Tag("[reopened]")],
        Annotated[TierIs, Tag("[tier]")],
        Annotated[SegmentIs, Tag("[segment]")],
        Annotated[ProductAreaIs, Tag("[product_area]")],
        Annotated[TicketTypeIs, Tag("[ticket_type]")],
        Annotated[AllOf, Tag("[all]")],
        Annotated[AnyOf, Tag("[any]")],
        Annotated[_NotACondition, Tag(_UNKNOWN)],
    ],
    Discriminator(_condition_tag),
]

AllOf.model_rebuild()
AnyOf.model_rebuild()
