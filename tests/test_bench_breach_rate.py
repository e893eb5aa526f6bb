"""The breach-rate simulation: deterministic, self-consistent, and each arm does what it says (tiny sizes)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks.bench_breach_rate import main
from benchmarks.simulation import ARMS, ModelParams, generate_workload, run_arm
from benchmarks.simulation.desk import Desk
from benchmarks.simulation.params import DAY, HOUR, MINUTE
from benchmarks.simulation.run import make_arm
from core.markers import ESCALATED_TAG
from core.model import EventKind
from core.policy import load_policy

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
PARAMS = replace(ModelParams(), days=4, drain_days=2, tickets_per_weekday=60.0)


@pytest.fixture(scope="module")
def policy():
    return load_policy(ROOT / "mapping" / "policy.yaml")


@pytest.fixture(scope="module")
def specs():
    return generate_workload(PARAMS, 11, START)[0]


@pytest.fixture(scope="module")
def desks(policy, specs):
    """Each arm run once over the same arrivals, with its desk kept for inspection."""
    out = {}
    for name in ARMS:
        desk = Desk(specs, PARAMS, START.timestamp(), make_arm(name, PARAMS, policy), policy)
        out[name] = (desk, desk.run())
    return out


def test_the_workload_is_seeded_and_shaped_like_the_sandbox(specs):
    again, _ = generate_workload(PARAMS, 11, START)
    assert [(s.n, s.arrive, s.priority, s.tier, s.handling[:3]) for s in specs] == [
        (s.n, s.arrive, s.priority, s.tier, s.handling[:3]) for s in again
    ]
    assert [s.arrive for s in specs] == sorted(s.arrive for s in specs)
    assert all(START.timestamp() <= s.arrive < START.timestamp() + PARAMS.days * DAY for s in specs)
    assert 150 <= len(specs) <= 330  # about 60 a weekday over four weekdays
    assert {s.tier for s in specs} == {"premier", "business", "standard"}
    assert {s.priority for s in specs} >= {"low", "normal", "high"}
    other, _ = generate_workload(PARAMS, 12, START)
    assert [s.arrive for s in other] != [s.arrive for s in specs]


def test_a_run_is_deterministic(policy, specs):
    first = run_arm("deskbridge", specs, PARAMS, START, policy)
    second = run_arm("deskbridge", specs, PARAMS, START, policy)
    assert first.by_target == second.by_target and first.by_tier == second.by_tier
    assert first.escalations == second.escalations and first.engine["evaluations"] == second.engine["evaluations"]


@pytest.mark.parametrize("name", ARMS)
def test_the_figures_of_every_arm_add_up(policy, specs, name):
    result = run_arm(name, specs, PARAMS, START, policy)
    assert result.tickets == len(specs)  # every arm measures the same arrivals
    assert sum(of for _, of in result.by_tier.values()) == result.tickets
    assert sum(hit for hit, _ in result.by_tier.values()) == result.breached_tickets <= result.tickets
    for target, (hit, of) in result.by_target.items():
        assert 0 <= hit <= of, target
    assert result.by_target["first_response"][1] == result.tickets  # every ticket's first clock starts
    assert result.by_target["resolution"][1] == result.tickets
    assert max(hit for hit, _ in result.by_target.values()) <= result.breached_tickets
    assert 0 < result.solved <= result.tickets
    assert all(0.0 <= u for u in result.utilisation.values())


def test_breaches_are_measured_with_the_arrival_priority_row(desks):
    """Premier urgent runs on the 24x7 calendar with a 15-minute first response: check the meter by hand."""
    desk, tickets = desks["none"]
    checked = 0
    for ticket in tickets:
        if ticket.spec.tier != "premier" or ticket.spec.priority != "urgent":
            continue
        waited = (ticket.first_reply_at or desk.end) - ticket.spec.arrive
        assert ("first_response" in ticket.breached) == (waited > 15 * MINUTE), ticket.n
        checked += 1
    assert checked > 0


def test_without_escalation_only_agents_move_tickets(desks):
    desk, tickets = desks["none"]
    moves = [e for t in tickets for e in t.history if e.kind is EventKind.group_change]
    assert moves and all(e.actor_role.value == "agent" and not e.by_deskbridge for e in moves)
    assert desk.counts["human escalations"] == sum(1 for e in moves if not e.actor_id.startswith("management"))


def test_automations_act_on_the_hour_on_tickets_they_match(desks):
    _, tickets = desks["automation:ladder"]
    moves = [(t, e) for t in tickets for e in t.history
             if e.kind is EventKind.group_change and e.actor_id == "automation"]
    assert moves
    for ticket, event in moves:
        assert (event.at.timestamp() - START.timestamp()) % HOUR == 0
        assert event.from_value in ("l1", "billing", "tier2") and event.to_value in ("tier2", "tier3")
        assert "auto_escalated" in ticket.tags


def test_deskbridge_writes_on_its_cadence_and_marks_what_it_escalated(desks):
    desk, tickets = desks["deskbridge"]
    ours = [(t, e) for t in tickets for e in t.history if e.by_deskbridge]
    assert ours and desk.arm.evaluations > len(tickets)  # changed and due tickets, more than once each
    assert all((e.at.timestamp() - START.timestamp()) % (2 * MINUTE) == 0 for _, e in ours)
    moved = {t.n for t, e in ours if e.kind is EventKind.group_change}
    assert moved and all(ESCALATED_TAG in desk.tickets[n].tags for n in moved)
    assert desk.arm.counts["deskbridge escalations"] >= len(moved)


def test_the_benchmark_prints_every_arm(capsys):
    assert main(["--days", "2", "--tickets-per-weekday", "30", "--arms", "none,automation:unanswered,deskbridge"]) == 0
    out = capsys.readouterr().out
    assert "load average" in out and "workload: seed 7, 2 days" in out
    for name in ("no escalation", "automation:unanswered", "deskbridge"):
        assert f"\n  {name} " in out and f"{name}: " in out
    assert "engine: " in out and "evaluations" in out
