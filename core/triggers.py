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

from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, PrivateAttr, Tag, model_validator

from core.calendar import utc_iso
from core.facts import Facts
from core.keywords import PhraseMatcher
from core.model import Status
from core.policy_sla import BusinessMinutes, TargetName
from core.sla import ClockState

SearchField = Literal["subject", "description", "customer_comments"]
_ALL_TARGETS = list(TargetName)
_MAX_HITS_REPORTED = 10


@dataclass(slots=True)  # read-only by convention; not frozen because frozen init is 4x slower
class KeywordMatch:
    """Where a phrase matched: ``field`` is subject, description or ``comment:<id>``; offset in the original text."""

    phrase: str
    route: str | None
    field: str
    offset: int
    matched: str


@dataclass(slots=True)  # read-only by convention; not frozen because frozen init is 4x slower
class Finding:
    """Why a trigger is true: a short machine code, a human sentence and any keyword evidence."""

    code: str
    text: str
    keywords: tuple[KeywordMatch, ...] = ()
    route: str | None = None  # a keyword's own route, for ``route: {to: keyword}``


class _Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def check(self, facts: Facts) -> list[Finding]:
        raise NotImplementedError

    def next_change(self, facts: Facts) -> float | None:
        """Epoch instant when time alone may make this true; None when time cannot."""
        return None


class AtRisk(_Trigger):
    """A running target has used ``percent_used`` % and/or has at most ``remaining_minutes`` left."""

    trigger: Literal["at_risk"]
    targets: list[TargetName] = Field(default_factory=lambda: list(_ALL_TARGETS))
    percent_used: float | None = Field(default=None, gt=0, le=100)
    remaining_minutes: BusinessMinutes | None = None
    require_both: bool = False

    @model_validator(mode="after")
    def _some_threshold(self) -> AtRisk:
        if self.percent_used is None and self.remaining_minutes is None:
            raise ValueError("at_risk needs percent_used and/or remaining_minutes")
        return self

    def _thresholds(self, target_minutes: int) -> list[float]:
        """Minutes used at which each configured threshold is reached."""
        out = []
        if self.percent_used is not None:
            out.append(target_minutes * self.percent_used / 100.0)
        if self.remaining_minutes is not None:
            out.append(max(target_minutes - self.remaining_minutes, 0))
        return out

    def check(self, facts: Facts) -> list[Finding]:
        findings = []
        for target in self.targets:
            clock = facts.clocks.get(target)
            if clock is None or clock.state is not ClockState.running or clock.breached:
                continue
            reached = [clock.elapsed_minutes >= t for t in self._thresholds(clock.target_minutes)]
            if all(reached) if self.require_both else any(reached):
                findings.append(Finding(
                    f"at_risk:{target}",
                    f"{target} is at risk: {clock.percent_used:g}% used, "
                    f"{clock.remaining_minutes:g} business minutes left, due {utc_iso(clock.due_at)}",
                ))
        return findings

    def next_change(self, facts: Facts) -> float | None:
        soonest = None
        for target in self.targets:
            clock = facts.clocks.get(target)
            if clock is None or clock.state is not ClockState.running or clock.breached:
                continue
            pending = [t for t in self._thresholds(clock.target_minutes) if t > clock.elapsed_minutes]
            if not pending or (not self.require_both and len(pending) < len(self._thresholds(clock.target_minutes))):
                continue
            minutes = max(pending) if self.require_both else min(pending)
            at = facts.calendar_for(clock).add_business_seconds(
                facts.now_ts, (minutes - clock.elapsed_minutes) * 60.0)
            soonest = at if soonest is None else min(soonest, at)
        return soonest


class Breached(_Trigger):
    """A target is past its due time and its clock still runs.

    A paused clock (waiting on the customer) does not count unless ``include_paused``;
    with ``include_completed`` a reply that came late counts too.
    """

    trigger: Literal["breached"]
    targets: list[TargetName] = Field(default_factory=lambda: list(_ALL_TARGETS))
    include_paused: bool = False
    include_completed: bool = False

    def _counts(self, state: ClockState) -> bool:
        return (state is ClockState.running or (self.include_paused and state is ClockState.paused)
                or (self.include_completed and state is ClockState.completed))

    def check(self, facts: Facts) -> list[Finding]:
        findings = []
        for target in self.targets:
            clock = facts.clocks.get(target)
            if clock is None or not clock.breached or not self._counts(clock.state):
                continue
            findings.append(Finding(
                f"breached:{target}",
                f"{target} breached at {utc_iso(clock.breached_at)} "
                f"({-clock.remaining_minutes:g} business minutes over)",
            ))
        return findings

    def next_change(self, facts: Facts) -> float | None:
        dues = [
            c.due_at.timestamp()
            for t in self.targets
            if (c := facts.clocks.get(t)) is not None and c.running and not c.breached and c.due_at is not None
        ]
        return min(dues, default=None)


class Inactivity(_Trigger):
    """No human update for ``minutes`` business minutes while the ticket waits on support."""

    trigger: Literal["inactivity"]
    minutes: BusinessMinutes
    of: Literal["agent", "public", "any"] = "any"
    calendar: str | None = None  # default: the ticket's SLA calendar
    except_statuses: list[Status] = Field(default_factory=lambda: [Status.pending, Status.on_hold])

    def _applies(self, facts: Facts) -> bool:
        status = facts.ticket.status
        return status.is_open and status not in self.except_statuses

    def check(self, facts: Facts) -> list[Finding]:
        if not self._applies(facts):
            return []
        last = facts.last_activity(self.of)
        calendar = facts.named_calendar(self.calendar)
        idle = calendar.business_seconds_between(last.timestamp(), facts.now_ts) / 60.0
        if idle < self.minutes:
            return []
        return [Finding("inactivity", f"no {self._who()} update for {idle:.0f} business minutes "
                                      f"(limit {self.minutes}) since {utc_iso(last)}")]

    def _who(self) -> str:
        return {"agent": "agent", "public": "public", "any": "agent or public"}[self.of]

    def next_change(self, facts: Facts) -> float | None:
        if not self._applies(facts):
            return None
        calendar = facts.named_calendar(self.calendar)
        return calendar.add_business_seconds(facts.last_activity(self.of).timestamp(), self.minutes * 60.0)


class KeywordRoute(BaseModel):
    """A phrase and the logical group it routes to (``route: {to: keyword}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phrase: str = Field(min_length=1)
    route: str | None = None


class Keywords(_Trigger):
    """Whole-word, case- and accent-insensitive phrases, each with its own route; earlier phrases win the route."""

    trigger: Literal["keywords"]
    phrases: list[KeywordRoute] = Field(min_length=1)
    fields: list[SearchField] = Field(default_factory=lambda: ["subject", "description", "customer_comments"])
    _matcher: PhraseMatcher = PrivateAttr()
    _rank: dict[str, int] = PrivateAttr()

    def model_post_init(self, __context: Any) -> None:
        self._matcher = PhraseMatcher([p.phrase for p in self.phrases])
        self._rank = {}
        for i, p in enumerate(self.phrases):
            self._rank.setdefault(p.phrase, i)

    def check(self, facts: Facts) -> list[Finding]:
        hits = find_phrases(self._matcher, facts, self.fields, [p.route for p in self.phrases])
        if not hits:
            return []
        first = min(hits, key=lambda h: self._rank[h.phrase])
        words = ", ".join(sorted({f'"{h.phrase}"' for h in hits}))
        where = f'{first.field} at offset {first.offset}'
        return [Finding(f"keyword:{first.phrase}", f"keywords {words} matched (first: {where})",
                        tuple(hits[:_MAX_HITS_REPORTED]), first.route)]


class CustomerRequest(_Trigger):
    """The customer asked to escalate: a phrase in their messages or the mapped field."""

    trigger: Literal["customer_request"]
    phrases: list[str] = Field(default_factory=lambda: ["escalate", "speak to a manager"])
    fields: list[SearchField] = Field(default_factory=lambda: ["customer_comments"])
    use_field: bool = True
    _matcher: PhraseMatcher = PrivateAttr()

    def model_post_init(self, __context: Any) -> None:
        self._matcher = PhraseMatcher(self.phrases)

    def check(self, facts: Facts) -> list[Finding]:
        hits = find_phrases(self._matcher, facts, self.fields, [None] * len(self.phrases)) if self.phrases else []
        if hits:
            return [Finding("customer_request", f'the customer wrote "{hits[0].matched}" ({hits[0].field})',
                            tuple(hits[:_MAX_HITS_REPORTED]))]
        if self.use_field and facts.ticket.customer_escalation_request:
            return [Finding("customer_request", "the customer-escalation-request field is set")]
        return []


class AgentFlag(_Trigger):
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


class Reopened(_Trigger):
    """The ticket was reopened at least ``at_least`` times."""

    trigger: Literal["reopened"]
    at_least: int = Field(ge=1)

    def check(self, facts: Facts) -> list[Finding]:
        count = facts.ticket.reopen_count
        return [Finding("reopened", f"reopened {count} times (limit {self.at_least})")] if count >= self.at_least else []


class _Membership(_Trigger):
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


def find_phrases(matcher: PhraseMatcher, facts: Facts, fields: list[str], routes: list[str | None]) -> list[KeywordMatch]:
    """Every hit of ``matcher`` in the given fields, in field order."""
    hits = []
    for field in fields:
        for where, text, folded in facts.texts(field):
            for hit in matcher.find(text, folded):
                hits.append(KeywordMatch(matcher.phrases[hit.phrase_index], routes[hit.phrase_index],
                                         where, hit.offset, hit.matched))
    return hits


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
