"""Agents and their shifts, in UTC, over a simulation that starts on a Monday at 00:00."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.simulation.params import DAY, HOUR, Shift


@dataclass
class Agent:
    """One person in one group, working one shift pattern; ``busy_with`` is a ticket number or None."""

    key: str
    group: str
    shift: Shift
    busy_with: int | None = None
    touches: int = 0
    busy_seconds: float = 0.0

    def on_shift(self, ts: float, start: float) -> bool:
        day, rest = divmod(ts - start, DAY)
        hour = rest / HOUR
        return int(day) % 7 in self.shift.weekdays and self.shift.start_hour <= hour < self.shift.end_hour

    def shift_starts(self, start: float, days: int) -> list[float]:
        """Every instant this agent starts a shift within ``days`` days of ``start``."""
        return [start + d * DAY + self.shift.start_hour * HOUR for d in range(days) if d % 7 in self.shift.weekdays]


def build_agents(shifts: tuple[Shift, ...]) -> list[Agent]:
    """All agents, in a fixed order (the dispatch order): by shift as listed, then by number."""
    agents: list[Agent] = []
    for shift in shifts:
        for _ in range(shift.agents):
            number = sum(1 for a in agents if a.group == shift.group) + 1
            agents.append(Agent(f"{shift.group}-{number}", shift.group, shift))
    return agents


def staffed_hours(shifts: tuple[Shift, ...], days: int) -> dict[str, float]:
    """Agent-hours on shift per group over ``days`` days (for the utilisation figure)."""
    hours: dict[str, float] = {}
    for shift in shifts:
        worked = sum(1 for d in range(days) if d % 7 in shift.weekdays) * (shift.end_hour - shift.start_hour)
        hours[shift.group] = hours.get(shift.group, 0.0) + worked * shift.agents
    return hours
