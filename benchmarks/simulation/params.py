"""Every parameter of the 30-day support-desk model, in one place, with its default.

The breach-rate figures only mean something under these assumptions; the
defaults are documented in docs/benchmarks.md and each can be changed here
(or, for the common ones, on the command line of bench_breach_rate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sandbox.seed_tickets import PRIORITY_WEIGHTS

HOUR = 3600.0
MINUTE = 60.0
DAY = 24 * HOUR

# Which ladder level an agent group can solve (0 = l1 work, 1 = tier-2 work, 2 = tier-3 work).
# Specialists solve their own kind of ticket (see Ticket "needs" in workload.py) up to the level given.
SOLVES_UP_TO = {"l1": 0, "tier2": 1, "tier3": 2, "management": -1, "billing": 1, "security": 2}
LADDER = ("l1", "tier2", "tier3", "management")
# Groups that solve nothing themselves: a manager who gets a ticket expedites it (an internal note, then
# the first group able to solve it, where it is served first as an escalated ticket).
DISPATCHERS = ("management",)


@dataclass(frozen=True)
class Shift:
    """Agents of one group working the same hours (UTC) on the given weekdays (0 = Monday)."""

    group: str
    agents: int
    start_hour: float
    end_hour: float
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)


DEFAULT_SHIFTS = (
    Shift("l1", 5, 7.0, 15.5),  # EMEA shift
    Shift("l1", 5, 13.0, 21.5),  # Americas shift
    Shift("l1", 2, 9.0, 17.0, (5, 6)),  # weekend cover
    Shift("tier2", 4, 8.0, 16.5),
    Shift("tier2", 4, 13.5, 22.0),
    Shift("tier3", 3, 9.0, 17.5),
    Shift("billing", 2, 8.0, 16.5),
    Shift("security", 1, 9.0, 17.5),
    Shift("management", 1, 9.0, 17.5),
)

# Relative arrival intensity per UTC hour on a weekday (weekends are scaled by weekend_factor).
HOURLY_PROFILE = (
    0.3, 0.25, 0.2, 0.2, 0.3, 0.5, 0.8, 1.2, 1.8, 2.2, 2.3, 2.2,
    2.0, 2.2, 2.4, 2.4, 2.2, 1.8, 1.4, 1.1, 0.9, 0.7, 0.5, 0.4,
)  # fmt: skip


@dataclass(frozen=True)
class AutomationRule:
    """One hourly automation, as a Zendesk admin would write it.

    Conditions: status is one of ``statuses``, priority is one of
    ``priorities``, group is one of ``from_groups``, and at least ``hours``
    calendar hours have passed ``since`` the ticket was created or the
    requester last wrote. Actions: set the group to ``group`` and add ``tag``.
    Changing the group is the nullifying action Zendesk requires (the ticket
    no longer matches ``from_groups``).
    """

    statuses: tuple[str, ...]
    priorities: tuple[str, ...]
    since: Literal["created", "requester_update"]
    hours: float
    from_groups: tuple[str, ...]
    group: str
    tag: str = "auto_escalated"


def _automations(statuses, since, from_groups, group, hours_by_priority):
    return tuple(AutomationRule(statuses, (priority,), since, hours, from_groups, group)
                 for priority, hours in hours_by_priority.items())


# Three baselines, from mild to thorough; each includes the ones before it.
UNANSWERED = _automations(  # nobody answered yet: move to tier 2
    ("new",), "created", ("l1", "billing"), "tier2", {"urgent": 1, "high": 2, "normal": 6, "low": 16})
CUSTOMER_WAITING = _automations(  # the customer has been waiting for an answer: move to tier 2
    ("open",), "requester_update", ("l1", "billing"), "tier2", {"urgent": 2, "high": 4, "normal": 12, "low": 24})
TIER3_STEP = _automations(  # still waiting in tier 2: move to tier 3
    ("open",), "requester_update", ("tier2",), "tier3", {"urgent": 4, "high": 8, "normal": 24, "low": 48})
AUTOMATION_SETS = {
    "unanswered": UNANSWERED,
    "waiting": UNANSWERED + CUSTOMER_WAITING,
    "ladder": UNANSWERED + CUSTOMER_WAITING + TIER3_STEP,
}


@dataclass(frozen=True)
class ModelParams:
    """The workload, the people and the arms' cadences."""

    days: int = 30  # days with arrivals
    drain_days: int = 5  # days after the last arrival, so most tickets finish before the measurement
    tickets_per_weekday: float = 100.0  # mean arrivals on a weekday (Poisson per hour, HOURLY_PROFILE shape)
    weekend_factor: float = 0.3
    hourly_profile: tuple[float, ...] = HOURLY_PROFILE
    priority_weights: dict[str, int] = field(default_factory=lambda: dict(PRIORITY_WEIGHTS))
    system_weights: dict[str, int] = field(default_factory=lambda: {"zendesk": 40, "servicenow": 30, "jira": 30})
    # level of work a ticket needs: l1 work / tier-2 work / tier-3 work
    level_weights: tuple[int, int, int] = (60, 30, 10)
    keyword_share: float = 0.04  # "outage" (tier-3 work) or "security breach" (security's), like the seed's 4 %
    escalation_request_share: float = 0.03  # the customer writes "please escalate" in a chaser, like the seed
    no_account_share: float = 0.02
    billing_first_to_specialists: float = 0.5  # share of billing tickets that start in the billing queue (seed)
    straight_to_tier2: float = 0.1  # share of other tickets that start in tier2 (seed)
    mean_extra_touches: float = 1.0  # capable touches beyond the first: geometric with this mean
    handling_median_minutes: float = 20.0  # one touch by l1; lognormal with sigma handling_sigma
    handling_sigma: float = 0.6
    first_reply_median_minutes: float = 4.0  # the acknowledgement that opens a ticket's first touch
    group_slowdown: dict[str, float] = field(default_factory=lambda: {
        "l1": 1.0, "tier2": 1.5, "tier3": 2.0, "management": 0.5, "billing": 1.5, "security": 1.5})
    customer_reply_median_hours: float = 3.0  # lognormal, clipped to [10 min, 3 days]
    customer_reply_sigma: float = 1.0
    human_escalates_after: int = 2  # touches by a group that cannot solve the ticket before its agent moves it up
    handover_when_off_shift: bool = True  # a waiting ticket whose assignee is off shift may be taken by a colleague
    supervisor_review_minutes: float = 30.0  # propose mode: how often the supervisor answers proposals
    supervisor_hours: tuple[float, float] = (9.0, 17.5)  # UTC, weekdays
    supervisor_approves: float = 0.8
    deskbridge_cadence_minutes: float = 2.0
    automation_cadence_minutes: float = 60.0
    shifts: tuple[Shift, ...] = DEFAULT_SHIFTS
