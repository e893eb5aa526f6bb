"""The SLA part of the policy: targets per tier x priority and the statuses that pause them.

Durations are business minutes on the target's calendar, written as a number
of minutes or as ``"90m"``, ``"4h"``, ``"1h 30m"``. A target row may be
narrowed by segment or system; the most specific matching row wins, ties go
to the row written first.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from core.model import Priority, Status, System

_DURATION_RE = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$")


class TargetName(StrEnum):
    """The SLA clocks deskbridge keeps."""

    first_response = "first_response"
    next_response = "next_response"
    resolution = "resolution"
    periodic_update = "periodic_update"


def parse_minutes(value: object) -> object:
    """``90``, ``"90m"``, ``"4h"``, ``"1h 30m"`` -> minutes; anything else is left for pydantic to reject."""
    if isinstance(value, str):
        match = _DURATION_RE.match(value)
        if not match or not any(match.groups()):
            raise ValueError(f"{value!r} is not a duration; write minutes (90) or 90m, 4h, 1h 30m")
        hours, minutes = (int(g) if g else 0 for g in match.groups())
        return hours * 60 + minutes
    return value


BusinessMinutes = Annotated[int, BeforeValidator(parse_minutes), Field(gt=0)]


def _as_list(value: object) -> object:
    """Let admins write ``tier: premier`` as well as ``tier: [premier, business]``."""
    return [value] if isinstance(value, str) else value


class SlaTargetRow(BaseModel):
    """Targets for the tickets matching tier x priority (and optionally segment, system)."""

    model_config = ConfigDict(extra="forbid")

    tier: Annotated[list[str], BeforeValidator(_as_list)]
    priority: Annotated[list[Priority], BeforeValidator(_as_list)]
    segment: Annotated[list[str] | None, BeforeValidator(_as_list)] = None
    system: Annotated[list[System] | None, BeforeValidator(_as_list)] = None
    calendar: str
    first_response: BusinessMinutes | None = None
    next_response: BusinessMinutes | None = None
    resolution: BusinessMinutes | None = None
    periodic_update: BusinessMinutes | None = None

    @property
    def specificity(self) -> int:
        """How narrowly this row is scoped; the most specific match wins."""
        return (self.segment is not None) + (self.system is not None)

    def minutes(self) -> dict[TargetName, int]:
        """The targets this row sets, by name."""
        return {name: getattr(self, name.value) for name in TargetName if getattr(self, name.value) is not None}

    def matches(self, tier: str, priority: Priority, segment: str | None, system: System) -> bool:
        """Does this row apply to a ticket with these attributes?"""
        return (
            tier in self.tier
            and priority in self.priority
            and (self.segment is None or segment in self.segment)
            and (self.system is None or system in self.system)
        )


def _default_pauses() -> dict[TargetName, list[Status]]:
    waiting = [Status.pending, Status.on_hold]
    return {
        TargetName.first_response: [],
        TargetName.next_response: list(waiting),
        TargetName.resolution: list(waiting),
        TargetName.periodic_update: list(waiting),
    }


class SlaSpec(BaseModel):
    """``sla:`` in the policy file."""

    model_config = ConfigDict(extra="forbid")

    pause: dict[TargetName, list[Status]] = Field(default_factory=_default_pauses)
    targets: list[SlaTargetRow]
    native_tolerance_minutes: Annotated[int, BeforeValidator(parse_minutes), Field(ge=0)] = 15

    @field_validator("pause")
    @classmethod
    def _fill_missing(cls, value: dict[TargetName, list[Status]]) -> dict[TargetName, list[Status]]:
        return {name: value.get(name, []) for name in TargetName}

    def row_for(self, tier: str, priority: Priority, segment: str | None, system: System) -> SlaTargetRow | None:
        """The most specific row matching the ticket, earliest written on a tie."""
        best: SlaTargetRow | None = None
        for row in self.targets:
            if row.matches(tier, priority, segment, system) and (best is None or row.specificity > best.specificity):
                best = row
        return best
