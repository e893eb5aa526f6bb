"""The seed generator: a deterministic, lazily generated world for the four emulators.

``generate_world(seed, tickets, start)`` returns the people and accounts at
once (they are small: about ``tickets / 20`` accounts) and the tickets as a
:class:`TicketStream`, which regenerates the same tickets every time it is
iterated and never holds them, so 100,000 tickets cost no more memory than one.

Every ticket is built from its own ``random.Random`` seeded with
``(seed, index)``, so ``stream.for_system("jira")`` can skip other systems
without building them and still produce exactly the tickets a full pass does.
Scenarios (outage keywords, customers asking to escalate, agent flags,
unknown accounts, reopens, HTML and non-ASCII text) are dealt from a shuffled
deck per block of 50 tickets rather than drawn independently: the rates match
the brief and a 60-ticket demo world is guaranteed to contain each of them.

Conventions the emulators rely on: ``SeedTicket.comments`` are the replies
and notes *after* the opening message (the opening message is
``description``, written by the requester at ``created_at``); events carry
normalized statuses, logical groups and user keys; the ticket's final status,
group, assignee and priority equal the last event of each kind.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sandbox import seed_text as text
from sandbox.seed_tickets import Party, Traits, build_ticket
from sandbox.vocab import GROUPS, SALESFORCE
from sandbox.world import SeedAccount, SeedTicket, SeedUser, World

SYSTEMS = ("zendesk", "servicenow", "jira")
BLOCK = 50  # tickets per scenario deck
SYSTEM_DECK = ["zendesk"] * 20 + ["servicenow"] * 15 + ["jira"] * 15  # 40/30/30 in each block
# trait -> tickets per block of 50 in (even, odd) blocks: e.g. reopens 2, 3, 2, 3 ... = 5 %
TRAIT_DECK = {
    "urgent_keyword": (2, 2),
    "escalation_request": (1, 1),  # the customer writes "please escalate" ...
    "escalation_field": (1, 0),  # ... and also ticks the portal's escalation box: 3 % ask in all
    "agent_flag": (1, 1),
    "reopen": (2, 3),
    "html": (2, 2),
    "i18n": (3, 3),
}
TIER_WEIGHTS = {"Premier Support": 20, "Business Support": 35, "Standard Support": 45}
SEGMENT_WEIGHTS = {  # tier -> weights over SALESFORCE["segments"] (Enterprise, Mid-Market, SMB, Public Sector)
    "Premier Support": [60, 15, 0, 25],
    "Business Support": [25, 50, 15, 10],
    "Standard Support": [5, 30, 60, 5],
}
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def generate_world(seed: int, tickets: int, start: datetime) -> World:
    """The sandbox's world: same (seed, tickets, start) in, same world out."""
    if start.tzinfo is None:
        raise ValueError("the seed start instant must be timezone-aware")
    cast = build_cast(seed, tickets)
    stream = TicketStream(seed, tickets, start.astimezone(UTC), cast)
    return World(seed=seed, users=cast.users, accounts=cast.accounts, tickets=stream)  # type: ignore[arg-type]


def salesforce_id(prefix: str, number: int) -> str:
    """An 18-character Salesforce id: 15 case-sensitive characters plus the case-checksum suffix."""
    digits = ""
    for _ in range(9):
        number, rest = divmod(number, 62)
        digits = _ID_ALPHABET[rest] + digits
    short = f"{prefix}5g0{digits}"
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(short[chunk * 5 : chunk * 5 + 5]) if ch.isupper())
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    return short + suffix


@dataclass
class Cast:
    """Everyone a ticket can involve, shared by all four emulators."""

    users: dict[str, SeedUser] = field(default_factory=dict)
    accounts: list[SeedAccount] = field(default_factory=list)
    customers_by_account: dict[str, list[str]] = field(default_factory=dict)
    loose_customers: list[str] = field(default_factory=list)  # customers of no known account
    agents_by_group: dict[str, list[str]] = field(default_factory=dict)
    ghost_account_ids: list[str] = field(default_factory=list)  # look like Salesforce ids, are not in it
    _emails: set[str] = field(default_factory=set)

    def add_user(self, key: str, name: str, role: str, domain: str, group: str | None = None) -> SeedUser:
        local = _ascii_slug(name, ".") or key
        email = f"{local}@{domain}"
        counter = 2
        while email in self._emails:
            email, counter = f"{local}{counter}@{domain}", counter + 1
        self._emails.add(email)
        user = self.users[key] = SeedUser(key=key, name=name, email=email, role=role, group=group)
        return user


def build_cast(seed: int, tickets: int) -> Cast:
    """Agents per logical group, account owners, accounts and their customers."""
    rng = random.Random(f"{seed}:cast")
    cast = Cast()
    per_group = max(3, min(25, 3 + tickets // 5000))
    for group in GROUPS:
        cast.agents_by_group[group] = [
            cast.add_user(f"agent-{len(cast.users) + 1}", text.person_name(rng), "agent", "acme.test", group).key
            for _ in range(per_group)
        ]
    n_accounts = max(8, round(tickets / 20))
    owners = [
        cast.add_user(f"owner-{k + 1}", text.person_name(rng), "admin", "acme.test")
        for k in range(max(3, min(60, n_accounts // 40)))
    ]
    tiers = rng.sample(list(TIER_WEIGHTS), 3)  # the first three accounts cover every tier
    customer_no = 0
    for k in range(n_accounts):
        tier = tiers[k] if k < 3 else rng.choices(list(TIER_WEIGHTS), weights=list(TIER_WEIGHTS.values()))[0]
        segment = rng.choices(SALESFORCE["segments"], weights=SEGMENT_WEIGHTS[tier])[0]
        name = text.company_name(rng, k)
        account = SeedAccount(salesforce_id("001", 1000 + k), name, tier, segment, owners[k % len(owners)])
        cast.accounts.append(account)
        domain = f"{_ascii_slug(name, '-') or f'account-{k + 1}'}.example"
        keys = cast.customers_by_account[account.id] = []
        for _ in range(rng.randint(1, 4)):
            customer_no += 1
            keys.append(cast.add_user(f"cust-{customer_no}", text.person_name(rng), "customer", domain).key)
    for _ in range(max(4, min(200, tickets // 500))):
        customer_no += 1
        cast.loose_customers.append(
            cast.add_user(f"cust-{customer_no}", text.person_name(rng), "customer", "mail.example").key
        )
    cast.ghost_account_ids = [salesforce_id("001", 900_000 + k) for k in range(5)]
    return cast


@dataclass(frozen=True, slots=True)
class _BlockPlan:
    systems: list[str]
    traits: dict[str, frozenset[int]]


class TicketStream:
    """All seeded tickets, generated on each iteration and never stored."""

    def __init__(self, seed: int, total: int, start: datetime, cast: Cast):
        self.seed, self.total, self.start, self.cast = seed, total, start, cast

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[SeedTicket]:
        return self._generate(None)

    def for_system(self, system: str) -> "SystemTickets":
        """The tickets of one helpdesk only, as a re-iterable view (others are skipped unbuilt)."""
        if system not in SYSTEMS:
            raise ValueError(f"no seeded tickets for {system!r}")
        return SystemTickets(self, system)

    def counts(self) -> dict[str, int]:
        """How many tickets each helpdesk gets, without building any."""
        counts = dict.fromkeys(SYSTEMS, 0)
        for index in range(self.total):
            if index % BLOCK == 0:
                plan = self._plan(index // BLOCK)
            counts[plan.systems[index % BLOCK]] += 1
        return counts

    def _generate(self, only: str | None) -> Iterator[SeedTicket]:
        numbers = dict.fromkeys(SYSTEMS, 0)
        for index in range(self.total):
            if index % BLOCK == 0:
                plan = self._plan(index // BLOCK)
            system = plan.systems[index % BLOCK]
            numbers[system] += 1
            if only is None or system == only:
                yield self._ticket(index, system, numbers[system], plan)

    def _plan(self, block: int) -> _BlockPlan:
        rng = random.Random(f"{self.seed}:deck:{block}")
        systems = SYSTEM_DECK[:]
        rng.shuffle(systems)
        traits = {
            name: frozenset(rng.sample(range(BLOCK), counts[block % 2])) for name, counts in TRAIT_DECK.items()
        }
        # 2 % have an account Salesforce does not know: in every other block one names none, one a ghost.
        unknown = rng.sample(range(BLOCK), 2) if block % 2 == 0 else []
        traits["no_account"], traits["ghost_account"] = frozenset(unknown[:1]), frozenset(unknown[1:])
        return _BlockPlan(systems, traits)

    def _ticket(self, index: int, system: str, n: int, plan: _BlockPlan) -> SeedTicket:
        rng = random.Random(f"{self.seed}:ticket:{index}")
        position = index % BLOCK
        traits = Traits(**{name: position in positions for name, positions in plan.traits.items()})
        return build_ticket(n, system, rng, self._party(rng, traits), traits, self.start)

    def _party(self, rng: random.Random, traits: Traits) -> Party:
        cast = self.cast
        if traits.no_account or traits.ghost_account:
            requester = rng.choice(cast.loose_customers)
            account_id = rng.choice(cast.ghost_account_ids) if traits.ghost_account else None
            premier = False
        else:
            account = rng.choice(cast.accounts)
            requester = rng.choice(cast.customers_by_account[account.id])
            account_id, premier = account.id, account.tier_value == "Premier Support"
        name = cast.users[requester].name
        return Party(requester, name, account_id, premier, cast.agents_by_group)


class SystemTickets:
    """One helpdesk's share of a :class:`TicketStream`; iterate it as often as needed."""

    def __init__(self, stream: TicketStream, system: str):
        self.stream, self.system = stream, system

    def __iter__(self) -> Iterator[SeedTicket]:
        return self.stream._generate(self.system)


def _ascii_slug(name: str, sep: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = "".join(ch if ch.isalnum() else " " for ch in folded).split()
    return sep.join(words)
