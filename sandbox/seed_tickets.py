"""One seeded ticket's life: opened, answered, put on hold, escalated, solved, reopened.

:func:`build_ticket` writes the story on a relative timeline (offsets from
creation), then places it so the last activity lies a plausible idle time
before the sandbox's start instant. That keeps every timestamp in the past and
lets open tickets sit close to their SLA thresholds while solved ones are
older. The final status, group, assignee and priority always equal the last
event of their kind, so emulators can render history and current state from
the same data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sandbox import seed_text as text
from sandbox.vocab import LADDER, PRODUCT_AREAS
from sandbox.world import SeedComment, SeedEvent, SeedTicket

HOUR = 3600.0
DAY = 24 * HOUR

# Final status -> (weight, idle range in seconds between the last activity and "now").
STATUS_PLAN = {
    "new": (8, (5 * 60, 30 * HOUR)),
    "open": (32, (10 * 60, 3 * DAY)),
    "pending": (14, (HOUR, 6 * DAY)),
    "on_hold": (6, (3 * HOUR, 8 * DAY)),
    "solved": (25, (HOUR, 4 * DAY)),
    "closed": (15, (0, 20 * DAY)),
}
PRIORITY_WEIGHTS = {"low": 15, "normal": 62, "high": 17, "urgent": 6}
PRIORITY_ORDER = ["low", "normal", "high", "urgent"]


@dataclass(frozen=True, slots=True)
class Traits:
    """What makes this ticket a scenario; dealt from per-block decks so small worlds still cover each one."""

    urgent_keyword: bool = False
    escalation_request: bool = False  # the customer asks in a comment
    escalation_field: bool = False  # the customer ticks the escalation field (and asks in a comment)
    agent_flag: bool = False
    no_account: bool = False  # the ticket names no Salesforce account
    ghost_account: bool = False  # it names one that Salesforce does not have
    reopen: bool = False
    html: bool = False
    i18n: bool = False


@dataclass(frozen=True, slots=True)
class Party:
    """Who may take part in a ticket: the requester, its account and the agents by group."""

    requester: str
    requester_name: str
    account_id: str | None
    premier: bool
    agents_by_group: dict[str, list[str]]


@dataclass
class _Timeline:
    """The ticket's state while its story is written; offsets in seconds since creation."""

    status: str
    group: str
    assignee: str | None
    priority: str
    t: float = 0.0
    comments: list[tuple[float, str, str, bool, str]] = field(default_factory=list)
    events: list[tuple[float, str, str | None, str | None, str]] = field(default_factory=list)

    def wait(self, rng: random.Random, low: float, high: float) -> None:
        self.t += rng.uniform(low, high)

    def say(self, author: str, role: str, public: bool, body: str) -> None:
        self.comments.append((self.t, author, role, public, body))

    def change(self, kind: str, to: str | None, actor: str) -> None:
        before = getattr(self, kind)
        if before != to:
            self.events.append((self.t, kind, before, to, actor))
            setattr(self, kind, to)


def build_ticket(
    n: int, system: str, rng: random.Random, party: Party, traits: Traits, now: datetime
) -> SeedTicket:
    """A complete, self-consistent ticket whose every timestamp is before ``now``."""
    target = _pick_status(rng, traits)
    area = rng.choice(PRODUCT_AREAS) if rng.random() > 0.08 else None
    subject, description = _opening(rng, area, traits)
    priority = _initial_priority(rng, traits)
    tl = _Timeline(status="new", group=_initial_group(rng, area), assignee=None, priority=priority)
    _write_story(tl, rng, party, traits, target)
    idle = rng.uniform(*_idle_range(target, traits))
    created = (now - timedelta(seconds=tl.t + idle)).replace(microsecond=0)
    if not traits.urgent_keyword:  # outages happen at any hour
        created = _business_hours(created, rng)
    at = lambda offset: created + timedelta(seconds=int(offset))  # noqa: E731 - whole seconds, like the helpdesks
    comments = [SeedComment(a, role, public, body, at(o)) for o, a, role, public, body in tl.comments]
    events = [SeedEvent(kind, at(o), before, after, actor) for o, kind, before, after, actor in tl.events]
    solved = [e.at for e in events if e.kind == "status" and e.to_value == "solved"]
    return SeedTicket(
        n=n, system=system, subject=subject, description=description,
        status=tl.status, priority=tl.priority, requester=party.requester, account_id=party.account_id,
        group=tl.group, assignee=tl.assignee, product_area=area,
        tags=_human_tags(rng, area, party, traits),
        agent_flag=traits.agent_flag,
        customer_requested=traits.escalation_field,
        created_at=created, updated_at=at(tl.t),
        solved_at=solved[-1] if tl.status in ("solved", "closed") and solved else None,
        comments=comments, events=events,
    )


def _pick_status(rng: random.Random, traits: Traits) -> str:
    if traits.urgent_keyword:
        return rng.choice(["new", "open", "open"])
    if traits.escalation_request or traits.escalation_field or traits.agent_flag:
        return rng.choice(["open", "open", "pending"])
    if traits.reopen:
        return rng.choice(["open", "open", "solved"])
    statuses = list(STATUS_PLAN)
    return rng.choices(statuses, weights=[STATUS_PLAN[s][0] for s in statuses])[0]


def _idle_range(target: str, traits: Traits) -> tuple[float, float]:
    if traits.urgent_keyword:
        return (10 * 60, 6 * HOUR)
    if traits.escalation_request or traits.escalation_field:
        return (HOUR, 30 * HOUR)
    return STATUS_PLAN[target][1]


def _opening(rng: random.Random, area: str | None, traits: Traits) -> tuple[str, str]:
    if traits.urgent_keyword:
        subject, body = rng.choice(text.URGENT_TEMPLATES)
    else:
        subject, body = rng.choice(text.AREA_TEMPLATES[area] if area else text.GENERIC_TEMPLATES)
    slots = text.SlotValues(rng, time=f"{rng.randint(0, 23):02d}:{rng.choice(['05', '20', '40'])} UTC")
    subject, body = text.fill(subject, slots), text.fill(body, slots)
    if traits.i18n:
        body = f"{body}\n\n{rng.choice(text.I18N_LINES)}"
    if traits.html:
        body = text.htmlify(body, rng)
    return subject, body


def _initial_priority(rng: random.Random, traits: Traits) -> str:
    if traits.urgent_keyword:
        return rng.choices(["normal", "high", "urgent"], weights=[4, 4, 2])[0]
    return rng.choices(list(PRIORITY_WEIGHTS), weights=list(PRIORITY_WEIGHTS.values()))[0]


def _initial_group(rng: random.Random, area: str | None) -> str:
    if area == "billing" and rng.random() < 0.5:
        return "billing"
    return "tier2" if rng.random() < 0.1 else "l1"


def _write_story(tl: _Timeline, rng: random.Random, party: Party, traits: Traits, target: str) -> None:
    customer = party.requester
    if target == "new":
        if traits.escalation_request or traits.escalation_field:
            tl.wait(rng, 20 * 60, 20 * HOUR)
            tl.say(customer, "customer", True, rng.choice(text.ESCALATION_REQUESTS))
        elif rng.random() < 0.3:
            tl.wait(rng, 20 * 60, 20 * HOUR)
            tl.say(customer, "customer", True, rng.choice(text.CUSTOMER_REPLIES))
        return
    agent = _first_response(tl, rng, party, traits)
    if rng.random() < 0.4:
        tl.wait(rng, 5 * 60, 2 * HOUR)
        tl.say(agent, "agent", False, rng.choice(text.INTERNAL_NOTES))
    reassign_at = rng.randint(0, 2) if (rng.random() < 0.12 or traits.urgent_keyword and rng.random() < 0.5) else -1
    for round_ in range(rng.randint(0, 3)):
        if round_ == reassign_at:
            agent = _reassign(tl, rng, party, agent)
        _exchange(tl, rng, customer, agent, rng.choice(["question", "question", "hold", "followup"]))
    if reassign_at >= 0 and tl.group in ("l1", "billing"):
        agent = _reassign(tl, rng, party, agent)
    if traits.reopen:
        _resolve(tl, rng, agent)
        tl.wait(rng, 2 * HOUR, 3 * DAY)
        tl.say(customer, "customer", True, rng.choice(text.REOPEN_REPLIES))
        tl.change("status", "open", customer)
        if target == "solved":
            tl.wait(rng, HOUR, DAY)
            _resolve(tl, rng, agent)
            return
    if traits.agent_flag:
        tl.wait(rng, 30 * 60, 6 * HOUR)
        tl.say(agent, "agent", False, rng.choice(text.AGENT_FLAG_NOTES))
    if traits.escalation_request or traits.escalation_field:
        tl.wait(rng, 2 * HOUR, DAY)
        tl.say(customer, "customer", True, rng.choice(text.ESCALATION_REQUESTS))
        return
    _finish(tl, rng, customer, agent, target)


def _first_response(tl: _Timeline, rng: random.Random, party: Party, traits: Traits) -> str:
    quick = traits.urgent_keyword or tl.priority == "urgent"
    tl.wait(rng, 5 * 60, HOUR) if quick else tl.wait(rng, 15 * 60, 10 * HOUR)
    agent = rng.choice(party.agents_by_group[tl.group])
    tl.change("assignee", agent, agent)
    tl.change("status", "open", agent)
    tl.say(agent, "agent", True, rng.choice(text.FIRST_REPLIES).format(name=party.requester_name.split()[0]))
    if rng.random() < 0.08 or (traits.urgent_keyword and tl.priority != "urgent" and rng.random() < 0.4):
        tl.change("priority", PRIORITY_ORDER[min(PRIORITY_ORDER.index(tl.priority) + 1, 3)], agent)
    return agent


def _reassign(tl: _Timeline, rng: random.Random, party: Party, agent: str) -> str:
    """A human moves the ticket up the ladder (or to a specialist queue) with an internal note."""
    if tl.group in LADDER[:-1] and rng.random() < 0.8:
        target = LADDER[LADDER.index(tl.group) + 1]
    else:
        target = rng.choice(["billing", "security", "tier3"])
    if target == tl.group:
        return agent
    tl.wait(rng, 10 * 60, 4 * HOUR)
    tl.say(agent, "agent", False, f"Reassigning to {target}: needs deeper investigation.")
    new_agent = rng.choice(party.agents_by_group[target])
    tl.change("group", target, agent)
    tl.change("assignee", new_agent, agent)
    return new_agent


def _exchange(tl: _Timeline, rng: random.Random, customer: str, agent: str, kind: str) -> None:
    tl.wait(rng, 20 * 60, 8 * HOUR)
    if kind == "question":  # a pending period: waiting on the customer
        tl.say(agent, "agent", True, rng.choice(text.QUESTIONS))
        tl.change("status", "pending", agent)
        tl.wait(rng, HOUR, 2 * DAY)
        tl.say(customer, "customer", True, rng.choice(text.CUSTOMER_REPLIES))
        tl.change("status", "open", customer)
    elif kind == "hold":  # an on-hold period: waiting on engineering or a vendor
        tl.say(agent, "agent", False, rng.choice(text.HOLD_NOTES))
        tl.change("status", "on_hold", agent)
        tl.wait(rng, DAY, 4 * DAY)
        tl.change("status", "open", agent)
        tl.say(agent, "agent", True, "Quick update: engineering has a fix in review.")
    else:
        tl.say(customer, "customer", True, rng.choice(text.CUSTOMER_REPLIES))
        tl.wait(rng, 20 * 60, 6 * HOUR)
        tl.say(agent, "agent", True, "Thanks, we are still on it and will update you shortly.")


def _resolve(tl: _Timeline, rng: random.Random, agent: str) -> None:
    tl.wait(rng, 30 * 60, DAY)
    tl.say(agent, "agent", True, rng.choice(text.RESOLUTIONS))
    tl.change("status", "solved", agent)


def _finish(tl: _Timeline, rng: random.Random, customer: str, agent: str, target: str) -> None:
    if target == "open":
        if rng.random() < 0.5:
            tl.wait(rng, HOUR, DAY)
            tl.say(customer, "customer", True, rng.choice(text.CUSTOMER_REPLIES))
    elif target == "pending":
        _exchange_half(tl, rng, agent, text.QUESTIONS, True, "pending")
    elif target == "on_hold":
        _exchange_half(tl, rng, agent, text.HOLD_NOTES, False, "on_hold")
    elif target in ("solved", "closed"):
        _resolve(tl, rng, agent)
        if target == "closed":
            tl.wait(rng, 4 * DAY, 4 * DAY + HOUR)  # helpdesks close solved tickets after a few days
            tl.change("status", "closed", agent)


def _exchange_half(tl: _Timeline, rng: random.Random, agent: str, lines: list[str], public: bool, status: str) -> None:
    tl.wait(rng, 20 * 60, 8 * HOUR)
    tl.say(agent, "agent", public, rng.choice(lines))
    tl.change("status", status, agent)


def _human_tags(rng: random.Random, area: str | None, party: Party, traits: Traits) -> list[str]:
    tags: list[str] = []
    if party.premier and rng.random() < 0.3:
        tags.append("vip")
    if area == "billing" and rng.random() < 0.3:
        tags.append("billing_dispute")
    if traits.i18n and rng.random() < 0.5:
        tags.append("needs_translation")
    if rng.random() < 0.1:
        tags.append(rng.choice(text.HUMAN_TAGS))
    return list(dict.fromkeys(tags))


def _business_hours(instant: datetime, rng: random.Random) -> datetime:
    """Most tickets start on a weekday between 09:00 and 17:00 UTC; the rest whenever they happen.

    Only ever moves an instant earlier, so everything stays before "now".
    """
    if rng.random() >= 0.7 or (instant.weekday() < 5 and 9 <= instant.hour < 17):
        return instant
    day = instant if instant.hour >= 17 or instant.weekday() >= 5 else instant - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day.replace(hour=rng.randint(9, 16), minute=rng.randint(0, 59), second=rng.randint(0, 59), microsecond=0)
