"""Run one arm of the simulation over the shared workload and summarise it."""

from __future__ import annotations

import time
from datetime import datetime

from benchmarks.simulation.arms import Deskbridge, HourlyAutomation, NoEscalation
from benchmarks.simulation.desk import Desk
from benchmarks.simulation.measure import ArmResult, summarize
from benchmarks.simulation.params import AUTOMATION_SETS, DAY, ModelParams
from benchmarks.simulation.staff import staffed_hours
from benchmarks.simulation.workload import TicketSpec
from core.policy import Policy

ARMS = ("none", *(f"automation:{name}" for name in AUTOMATION_SETS), "deskbridge")


def make_arm(name: str, params: ModelParams, policy: Policy):
    """A fresh arm by name: none, automation:<set> (see params.AUTOMATION_SETS) or deskbridge."""
    if name == "none":
        return NoEscalation()
    if name.startswith("automation:") and name.split(":", 1)[1] in AUTOMATION_SETS:
        rules = AUTOMATION_SETS[name.split(":", 1)[1]]
        return HourlyAutomation(rules, params.automation_cadence_minutes, label=name)
    if name == "deskbridge":
        return Deskbridge(policy, params.deskbridge_cadence_minutes)
    raise ValueError(f"unknown arm {name!r}; choose from {', '.join(ARMS)}")


def run_arm(name: str, specs: list[TicketSpec], params: ModelParams, start: datetime, policy: Policy) -> ArmResult:
    """Simulate the whole period with one arm; breaches are measured on tickets that arrived in the period."""
    began = time.perf_counter()
    arm = make_arm(name, params, policy)
    desk = Desk(specs, params, start.timestamp(), arm, policy)
    tickets = desk.run()
    last_arrival = start.timestamp() + params.days * DAY
    result = summarize(arm.name, tickets, desk.meter, desk.end, last_arrival)
    result.escalations.update(desk.counts)
    result.escalations.update(arm.counts)
    result.engine = arm.stats()
    worked = {g: sum(a.busy_seconds for a in desk.agents if a.group == g) / 3600.0 for g in desk.group_agents}
    staffed = staffed_hours(params.shifts, params.days)
    result.utilisation = {g: worked[g] / hours for g, hours in staffed.items() if hours}
    result.wall_s = time.perf_counter() - began
    return result
