"""The seed generator: deterministic, self-consistent, covering every scenario, lazy at 100,000 tickets."""

from __future__ import annotations

import re
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.seed import SYSTEMS, TicketStream, generate_world, salesforce_id
from sandbox.vocab import GROUPS, PRODUCT_AREAS, SALESFORCE
from sandbox.world import SeedTicket

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STATUSES = {"new", "open", "pending", "on_hold", "solved", "closed"}
PRIORITIES = {"low", "normal", "high", "urgent"}
URGENT_WORDS = re.compile(r"outage|down for all users|security breach|data leak", re.I)
ESCALATE_WORDS = re.compile(r"escalate|speak to a manager", re.I)


def tickets_of(seed: int, count: int) -> list[SeedTicket]:
    return list(generate_world(seed, count, START).tickets)


def text_of(ticket: SeedTicket) -> str:
    return " ".join([ticket.subject, ticket.description, *(c.body for c in ticket.comments)])


def test_given_the_same_inputs_when_generated_twice_then_the_worlds_are_equal():
    first, second = generate_world(7, 200, START), generate_world(7, 200, START)
    assert first.users == second.users
    assert first.accounts == second.accounts
    assert list(first.tickets) == list(second.tickets)
    assert list(first.tickets) == list(first.tickets)  # the stream is re-iterable and stable


def test_given_another_seed_or_start_then_the_world_differs():
    base = tickets_of(7, 50)
    assert tickets_of(8, 50) != base
    shifted = list(generate_world(7, 50, START + timedelta(days=1)).tickets)
    assert [t.subject for t in shifted] == [t.subject for t in base]
    assert all(t.updated_at <= START + timedelta(days=1) for t in shifted)
    assert sum(later.created_at > earlier.created_at for earlier, later in zip(base, shifted)) > 25  # weekends snap some to the same Friday


def test_start_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone"):
        generate_world(7, 10, datetime(2026, 3, 2, 9, 0))


def test_tickets_are_spread_40_30_30_and_numbered_per_system():
    world = generate_world(3, 1000, START)
    tickets = list(world.tickets)
    assert Counter(t.system for t in tickets) == {"zendesk": 400, "servicenow": 300, "jira": 300}
    assert world.tickets.counts() == {"zendesk": 400, "servicenow": 300, "jira": 300}
    for system in SYSTEMS:
        own = [t for t in tickets if t.system == system]
        assert [t.n for t in own] == list(range(1, len(own) + 1))
        assert list(world.tickets.for_system(system)) == own  # skipping others builds the same tickets


def test_accounts_scale_with_tickets_and_carry_tiers_segments_and_owners():
    small, large = generate_world(7, 60, START), generate_world(7, 2000, START)
    assert len(small.accounts) == 8 and len(large.accounts) == 100
    for world in (small, large):
        assert {a.tier_value for a in world.accounts} == set(SALESFORCE["tiers"])
        assert {a.segment for a in world.accounts} <= set(SALESFORCE["segments"])
        assert all(a.owner.role == "admin" and world.users[a.owner.key] is a.owner for a in world.accounts)
        assert all(re.fullmatch(r"001[0-9A-Za-z]{15}", a.id) for a in world.accounts)
        assert len({a.id for a in world.accounts}) == len(world.accounts)
        assert len({u.email for u in world.users.values()}) == len(world.users)
    agents = [u for u in large.users.values() if u.role == "agent"]
    assert {u.group for u in agents} == set(GROUPS)


def test_salesforce_ids_carry_the_real_case_checksum():
    # The suffix encodes which of each five characters are upper case (Salesforce's 15 -> 18 rule).
    assert salesforce_id("001", 0) == "0015g0000000000AAA"
    upper = salesforce_id("001", 62 * 62 - 1)  # ends in "zz": lower case, so the suffix stays "AAA"
    assert upper.endswith("AAA")
    assert salesforce_id("001", 10) == "0015g000000000AAAQ"  # an upper-case last character sets bit 4 of chunk 3


@pytest.mark.parametrize("seed", [7, 11, 2026])
def test_every_ticket_is_self_consistent(seed: int):
    world = generate_world(seed, 300, START)
    for t in world.tickets:
        assert t.status in STATUSES and t.priority in PRIORITIES and t.group in GROUPS
        assert t.product_area is None or t.product_area in PRODUCT_AREAS
        assert world.users[t.requester].role == "customer"
        if t.assignee is not None:
            assert world.users[t.assignee].role == "agent" and world.users[t.assignee].group == t.group
        times = [t.created_at, *(c.at for c in t.comments), *(e.at for e in t.events)]
        assert all(x <= START for x in times), "nothing may happen after the sandbox's start"
        assert t.created_at <= min(times) and t.updated_at == max(times)
        assert [c.at for c in t.comments] == sorted(c.at for c in t.comments)
        assert all(x.microsecond == 0 for x in times)
        for kind, final in (("status", t.status), ("group", t.group), ("assignee", t.assignee), ("priority", t.priority)):
            chain = [e for e in t.events if e.kind == kind]
            for before, after in zip(chain, chain[1:]):
                assert before.to_value == after.from_value, f"{kind} history of {t.system} {t.n} is broken"
            if chain:
                assert chain[-1].to_value == final
        first_status = next((e.from_value for e in t.events if e.kind == "status"), t.status)
        assert first_status == "new"
        assert (t.solved_at is not None) == (t.status in ("solved", "closed"))


@pytest.mark.parametrize("seed", [7, 11, 2026])
def test_a_demo_sized_world_covers_every_scenario(seed: int):
    world = generate_world(seed, 60, START)
    tickets = list(world.tickets)
    known = {a.id for a in world.accounts}
    status_moves = {(e.from_value, e.to_value) for t in tickets for e in t.events if e.kind == "status"}
    covered = {
        "urgent keywords": any(URGENT_WORDS.search(text_of(t)) for t in tickets),
        "customer asks to escalate": any(ESCALATE_WORDS.search(c.body) for t in tickets for c in t.comments if c.role == "customer"),
        "escalation request field": any(t.customer_requested for t in tickets),
        "agent flag": any(t.agent_flag for t in tickets),
        "reopened": ("solved", "open") in status_moves,
        "pending period": ("open", "pending") in status_moves,
        "on-hold period": ("open", "on_hold") in status_moves,
        "human tags": any(t.tags for t in tickets),
        "human reassignment": any(e.kind == "group" for t in tickets for e in t.events),
        "no account": any(t.account_id is None for t in tickets),
        "account not in salesforce": any(t.account_id is not None and t.account_id not in known for t in tickets),
        "html description": any(re.search(r"<p>|<br>|<ul>", t.description) for t in tickets),
        "non-ascii text": any(not text_of(t).isascii() for t in tickets),
        "non-ascii names": any(not u.name.isascii() for u in world.users.values()),
        "internal notes": any(not c.public for t in tickets for c in t.comments),
        "open, pending and solved tickets": {"open", "pending", "solved"} <= {t.status for t in tickets},
        "every system": {t.system for t in tickets} == set(SYSTEMS),
        "created in business hours": any(_in_business_hours(t.created_at) for t in tickets),
        "created outside business hours": any(not _in_business_hours(t.created_at) for t in tickets),
        "created over days and weeks": max(START - t.created_at for t in tickets) > timedelta(days=7),
    }
    assert [name for name, ok in covered.items() if not ok] == []


def test_scenario_rates_match_the_brief_at_scale():
    world = generate_world(5, 5000, START)
    tickets, known = list(world.tickets), {a.id for a in world.accounts}
    share = lambda predicate: sum(1 for t in tickets if predicate(t)) / len(tickets)  # noqa: E731
    assert 0.03 <= share(lambda t: bool(URGENT_WORDS.search(t.subject + t.description))) <= 0.05
    assert 0.02 <= share(lambda t: any(ESCALATE_WORDS.search(c.body) for c in t.comments if c.role == "customer")) <= 0.04
    assert 0.015 <= share(lambda t: t.agent_flag) <= 0.025
    assert 0.04 <= share(lambda t: any(e.kind == "status" and e.from_value == "solved" and e.to_value == "open" for e in t.events)) <= 0.06
    assert 0.015 <= share(lambda t: t.account_id not in known) <= 0.03
    assert 0.5 <= share(lambda t: t.priority == "normal") <= 0.7


@pytest.mark.slow
def test_100k_tickets_are_generated_lazily_within_a_small_memory_bound():
    tracemalloc.start()
    try:
        began = time.perf_counter()
        world = generate_world(7, 100_000, START)
        cast_bytes, _ = tracemalloc.get_traced_memory()
        assert isinstance(world.tickets, TicketStream)
        counts = Counter(t.system for t in world.tickets)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(counts.values()) == 100_000
    # Measured: the users and accounts take about 6.3 MB and the peak while streaming 100,000 tickets
    # stays within a few hundred kB of that; materialising 10,000 tickets alone costs about 21 MB.
    assert cast_bytes < 16_000_000
    assert peak - cast_bytes < 4_000_000, f"streaming grew memory by {(peak - cast_bytes) / 1e6:.1f} MB"
    print(f"100k tickets streamed in {time.perf_counter() - began:.1f} s under tracemalloc, peak {peak / 1e6:.1f} MB")


def _in_business_hours(instant: datetime) -> bool:
    return instant.weekday() < 5 and 9 <= instant.hour < 17
