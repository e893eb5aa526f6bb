"""The seeded weather of a chaos run: which faults, kills and human actions each round brings.

Everything here is drawn from one ``random.Random`` the runner seeds, so the
same ``--seed`` deals the same schedule. Nothing here talks to the sandbox:
the draws are plain values that :mod:`chaos.runner` turns into admin calls.

Fault kinds are dealt from a shuffled deck (reshuffled when empty), so every
kind turns up within ``ceil(6 / per_round)`` rounds, whatever the seed.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox.vocab import GROUPS

FAULT_KINDS = ("429", "5xx", "latency", "reset", "conflict", "malformed")
SERVER_ERRORS = (500, 502, 503, 504)
WRITE_METHODS = {"zendesk": ("PUT",), "servicenow": ("POST",), "jira": ("PUT", "POST"), "salesforce": ("POST",)}

# Requests that target tickets, per helpdesk: where a ``conflict`` fault makes a person edit them first.
TICKET_PATHS = {
    "zendesk": (r"update_many", r"/tickets/show_many", r"/tickets/\d+/audits"),
    "servicenow": (r"/batch", r"/table/incident"),
    "jira": (r"/issue/\d+$", r"/issue/\d+/comment", r"/search"),
}
# Where a kill lands when it waits for a request: (label, method regex, path regex, nth range, seconds after,
# hold). A hold is a latency fault on the request that follows, so the kill lands inside a window that would
# otherwise last a few milliseconds: the request is in flight, held by the sandbox, when the process dies.
KILL_POINTS = {
    "zendesk": (
        ("after the first pull page", "GET", r"/incremental/", (1, 1), 0.0, None),
        ("during the full reads of escalating tickets (partial histories, conflicts)", "GET", r"/tickets/show_many",
         (1, 2), 0.0, None),
        ("right after the bulk update was answered", "PUT", r"update_many", (1, 1), 0.0, None),
        # The last pull request before the writes is the event window's page: the update follows within a
        # second (evaluation and the outbox commit), and is held, so the kill 1.2 s later lands inside it.
        ("with the bulk update in flight (outbox committed, answer not seen)", "GET", r"/incremental/ticket_events",
         (1, 1), 1.2, ("PUT", r"update_many")),
    ),
    "servicenow": (
        ("after the first pull page", "GET", r"/table/incident", (1, 1), 0.0, None),
        ("during batch reads and writes", "POST", r"/batch", (1, 6), 0.0, None),
        ("with a batch request in flight", "GET", r"/table/incident", (1, 1), 1.2, ("POST", r"/batch")),
    ),
    "jira": (
        ("after the first search page", "GET|POST", r"/search", (1, 2), 0.0, None),
        ("between the field PUT and the note POST", "PUT", r"/issue/\d+$", (1, 1), 0.3, ("POST", r"/comment")),
        ("right after a comment was posted", "POST", r"/comment", (1, 1), 0.0, None),
    ),
}
HOLD_MS = 2500
HUMAN_TAGS = ("vip", "needs_translation", "billing_dispute", "waiting_on_partner", "follow_up", "ops_watch")
CUSTOMER_LINES = (
    "Any news on this? We are still blocked.",
    "Please escalate this, I need to speak to a manager.",
    "Adding a screenshot of the error we keep seeing.",
    "This is urgent for us, our month-end closes tomorrow.",
)
AGENT_LINES = ("Looked at the logs, waiting on engineering.", "Asked the customer for a HAR file.")


@dataclass(frozen=True)
class FaultSpec:
    """One fault rule as the sandbox admin API takes it (see sandbox.context.Fault)."""

    kind: str
    system: str
    method: str = "*"
    path: str = ".*"
    count: int | None = None
    probability: float = 1.0
    retry_after: int = 1
    status: int = 503
    delay_ms: int = 500

    def rule(self) -> dict[str, Any]:
        """Keyword arguments for ``SandboxAdmin.add_fault`` (kind included)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def describe(self) -> str:
        how = f"next {self.count}" if self.count else f"p={self.probability:.2f}"
        extra = {"5xx": f" status {self.status}", "latency": f" {self.delay_ms} ms", "429": " Retry-After 1"}
        return f"{self.kind} on {self.system} {self.method} {self.path} ({how}{extra.get(self.kind, '')})"


@dataclass(frozen=True)
class KillPlan:
    """When to SIGKILL a sync: ``delay`` seconds into it, or ``after`` seconds past the nth request matching
    ``system``/``method``/``path`` (regular expressions) in the sandbox's log. ``hold`` is a fault the
    runner adds for this run only (a one-shot latency on the next write) to widen the window."""

    label: str
    delay: float | None = None
    system: str | None = None
    method: str = ".*"
    path: str = ".*"
    nth: int = 1
    after: float = 0.0
    hold: FaultSpec | None = None


@dataclass(frozen=True)
class HumanAction:
    """A person's edit through the sandbox admin API (``SandboxAdmin.human``)."""

    system: str
    ticket_id: str
    action: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        detail = {k: v for k, v in self.action.items() if k not in ("action", "body", "author")}
        return f"{self.action['action']} {self.system}:{self.ticket_id} {detail or ''}".rstrip()


class FaultDeck:
    """Deals fault kinds so that each appears once before any appears twice."""

    def __init__(self, rng: random.Random, kinds: tuple[str, ...] = FAULT_KINDS):
        self.rng, self.kinds, self.cards = rng, kinds, []

    def deal(self, n: int) -> list[str]:
        dealt: list[str] = []
        while len(dealt) < n:
            if not self.cards:
                self.cards = list(self.kinds)
                self.rng.shuffle(self.cards)
            card = self.cards.pop()
            if card not in dealt or len(set(dealt)) == len(self.kinds):
                dealt.append(card)
        return dealt


def draw_fault(rng: random.Random, kind: str, systems: tuple[str, ...]) -> FaultSpec:
    """A concrete rule for ``kind`` on one system (Salesforce now and then for the transport faults)."""
    pool = systems + (("salesforce",) if kind in ("429", "5xx", "latency", "reset") else ())
    system = rng.choice(pool)
    if kind == "429":
        if rng.random() < 0.5:  # a storm that passes: the next N requests
            return FaultSpec("429", system, count=rng.randint(2, 8), retry_after=1)
        return FaultSpec("429", system, probability=round(rng.uniform(0.1, 0.35), 2), retry_after=1)
    if kind == "5xx":
        method = rng.choice(("*", "*", *WRITE_METHODS.get(system, ()), "GET"))  # matched exactly, not as a regex
        return FaultSpec("5xx", system, method=method, count=rng.randint(1, 5), status=rng.choice(SERVER_ERRORS))
    if kind == "latency":
        return FaultSpec("latency", system, probability=round(rng.uniform(0.2, 0.6), 2), delay_ms=rng.randint(50, 600))
    if kind == "reset":
        return FaultSpec("reset", system, method=rng.choice(("*", "GET")), count=rng.randint(1, 3))
    if kind == "conflict":
        helpdesk = rng.choice(systems)
        return FaultSpec("conflict", helpdesk, path=rng.choice(TICKET_PATHS[helpdesk]), count=rng.randint(1, 3))
    if kind == "malformed":
        return FaultSpec("malformed", system if system != "salesforce" else rng.choice(systems), method="GET",
                         count=rng.randint(1, 2))  # fmt: skip
    raise ValueError(f"unknown fault kind {kind!r}")


def draw_faults(rng: random.Random, kinds: list[str], systems: tuple[str, ...]) -> list[FaultSpec]:
    return [draw_fault(rng, kind, systems) for kind in kinds]


def draw_kill(rng: random.Random, system: str) -> KillPlan:
    """Half the kills wait a random delay, half wait for a chosen request of this helpdesk."""
    if rng.random() < 0.5:
        delay = round(rng.uniform(0.05, 2.5), 2)
        return KillPlan(f"after {delay:.2f} s", delay=delay)
    label, method, path, (low, high), after, hold = rng.choice(KILL_POINTS[system])
    nth = rng.randint(low, high)
    held = FaultSpec("latency", system, method=hold[0], path=hold[1], count=1, delay_ms=HOLD_MS) if hold else None
    return KillPlan(f"{label} (request #{nth})", system=system, method=method, path=path, nth=nth, after=after,
                    hold=held)  # fmt: skip


def draw_human_action(rng: random.Random, system: str, ticket_id: str, agents: list[str]) -> HumanAction:
    """Reassign, tag or comment, as agents and customers do all day."""
    roll = rng.random()
    if roll < 0.35:
        return HumanAction(system, ticket_id, {"action": "reassign", "group": rng.choice(GROUPS)})
    if roll < 0.65:
        tags = rng.sample(HUMAN_TAGS, rng.randint(1, 2))
        return HumanAction(system, ticket_id, {"action": "add_tags", "tags": tags})
    if roll < 0.85:  # the requester replies (the admin API's default comment author)
        return HumanAction(system, ticket_id, {"action": "comment", "public": True, "body": rng.choice(CUSTOMER_LINES)})
    return HumanAction(system, ticket_id, {"action": "comment", "public": rng.random() < 0.5,
                                           "author": rng.choice(agents), "body": rng.choice(AGENT_LINES)})
