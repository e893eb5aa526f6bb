"""The seeded 30-day workload: when tickets arrive, what they are, and every random draw they will need.

All three arms replay the same :class:`TicketSpec` list. Each ticket carries
its own pre-drawn random numbers (handling times per touch, customer reply
delays, supervisor verdicts), so a ticket is handled, answered and judged the
same way in every arm as far as the arms let it: differences between arms come
from escalation, not from different luck (common random numbers).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

from benchmarks.bench_evaluate import accounts_of
from benchmarks.simulation.params import DAY, HOUR, MINUTE, ModelParams
from core.model import Account
from sandbox.seed import generate_world
from sandbox.vocab import PRODUCT_AREAS

DRAWS = 32  # pre-drawn numbers per stream; touch k uses draw k % DRAWS

SUBJECTS = {
    "billing": ("Invoice total does not match the quote", "Card charged twice this month"),
    "api": ("API returns 502 on the orders endpoint", "Rate limit reached far below our plan"),
    "mobile": ("App crashes when opening the settings", "Push notifications arrive late"),
    "platform": ("Dashboard loads very slowly since Monday", "Report export stays at 0 %"),
    "integrations": ("Salesforce sync skips some contacts", "Webhook deliveries stop after a few hours"),
    None: ("Question about our account", "Cannot find the audit log"),
}
OUTAGE = ("Outage: nobody can log in", "Checkout is down for all users, this is an outage.")
SECURITY = ("Possible security breach on an admin account", "Logins from an unknown country: a security breach?")
ESCALATION_REQUEST = "This has taken far too long. Please escalate this, I need to speak to a manager."


@dataclass(frozen=True)
class TicketSpec:
    """One arriving ticket and the random numbers its life will consume."""

    n: int
    arrive: float  # epoch seconds
    system: str
    account: Account | None
    priority: str
    product_area: str | None
    subject: str
    description: str
    needs_level: int  # 0 = l1 work, 1 = tier-2 work, 2 = tier-3 work
    specialty: str | None  # "security" for security incidents (only security can solve them)
    initial_group: str
    capable_touches: int  # touches by a group able to solve it, the last one solves it
    chaser_after: float | None  # seconds after arrival when the customer asks to escalate (if still open)
    handling: tuple[float, ...]  # lognormal factors (median 1) for touch k
    customer_delays: tuple[float, ...]  # seconds until the customer answers exchange k
    verdicts: tuple[float, ...]  # uniform draws for the supervisor's answer to proposal k

    @property
    def tier(self) -> str:
        return self.account.tier if self.account else "standard"


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small hourly means used here."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def arrival_times(params: ModelParams, start: float, rng: random.Random) -> list[float]:
    """Poisson arrivals per hour shaped by the hourly profile; weekends scaled down. ``start`` is a Monday 00:00."""
    per_unit = params.tickets_per_weekday / sum(params.hourly_profile)
    times: list[float] = []
    for hour in range(params.days * 24):
        weekend = (hour // 24) % 7 >= 5
        mean = per_unit * params.hourly_profile[hour % 24] * (params.weekend_factor if weekend else 1.0)
        base = start + hour * HOUR
        times += sorted(base + rng.random() * HOUR for _ in range(_poisson(rng, mean)))
    return [math.floor(t) for t in times]  # whole seconds, like the helpdesks


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _content(rng: random.Random, params: ModelParams, area: str | None) -> tuple[str, str, str | None, int]:
    """Subject, description, specialty and level of work for one ticket."""
    if rng.random() < params.keyword_share:
        if rng.random() < 0.5:
            return (*OUTAGE, None, 2)
        return (*SECURITY, "security", 2)
    subject = rng.choice(SUBJECTS[area])
    level = rng.choices((0, 1, 2), weights=params.level_weights)[0]
    return subject, f"{subject}. Details are in the attached screenshot.", None, level


def _initial_group(rng: random.Random, params: ModelParams, area: str | None) -> str:
    if area == "billing" and rng.random() < params.billing_first_to_specialists:
        return "billing"
    return "tier2" if rng.random() < params.straight_to_tier2 else "l1"


def _geometric(rng: random.Random, mean: float) -> int:
    """Extra touches: 0, 1, 2, ... with the given mean."""
    p = 1.0 / (1.0 + mean)
    k = 0
    while rng.random() > p:
        k += 1
    return k


def build_spec(n: int, arrive: float, params: ModelParams, accounts: list[Account], seed: int) -> TicketSpec:
    """One ticket from its own random stream (seed, n): the same in every arm."""
    rng = random.Random(seed * 1_000_003 + n)
    account = None if rng.random() < params.no_account_share else rng.choice(accounts)
    area = rng.choice(PRODUCT_AREAS) if rng.random() > 0.08 else None
    subject, description, specialty, level = _content(rng, params, area)
    keyword = subject in (OUTAGE[0], SECURITY[0])
    priority = rng.choices(("normal", "high", "urgent"), weights=(4, 4, 2))[0] if keyword else _pick(
        rng, params.priority_weights)
    median_reply = params.customer_reply_median_hours * HOUR
    return TicketSpec(
        n=n, arrive=arrive, system=_pick(rng, params.system_weights), account=account, priority=priority,
        product_area=area, subject=subject, description=description, needs_level=level, specialty=specialty,
        initial_group=_initial_group(rng, params, area),
        capable_touches=1 + _geometric(rng, params.mean_extra_touches),
        chaser_after=rng.uniform(HOUR, 8 * HOUR) if rng.random() < params.escalation_request_share else None,
        handling=tuple(rng.lognormvariate(0.0, params.handling_sigma) for _ in range(DRAWS)),
        customer_delays=tuple(
            min(max(median_reply * rng.lognormvariate(0.0, params.customer_reply_sigma), 10 * MINUTE), 3 * DAY)
            for _ in range(DRAWS)
        ),
        verdicts=tuple(rng.random() for _ in range(DRAWS)),
    )  # fmt: skip


def generate_workload(params: ModelParams, seed: int, start: datetime) -> tuple[list[TicketSpec], list[Account]]:
    """Every ticket of the run, in arrival order, and the Salesforce accounts they belong to.

    The accounts (tiers 20/35/45 and segments by tier) come from the sandbox's
    own seed generator, so the tier mix is the sandbox's.
    """
    if start.weekday() != 0 or (start.hour, start.minute, start.second) != (0, 0, 0):
        raise ValueError("the workload starts on a Monday at 00:00 UTC")
    rng = random.Random(seed)
    times = arrival_times(params, start.timestamp(), rng)
    world = generate_world(seed, max(len(times), 200), start)
    accounts = list(accounts_of(world).values())
    return [build_spec(n, t, params, accounts, seed) for n, t in enumerate(times, start=1)], accounts
