"""The time window metrics, reports and replays look at, and its periods.

A window is half-open, ``[start, end)`` in UTC. Its start is rounded down to
the beginning of its period (UTC midnight for days, Monday 00:00 UTC for
weeks), so every period but possibly the last is whole and periods line up
from one report to the next. ``--since`` accepts a duration back from the end
(``7d``, ``12h``, ``2w``, ``90m``) or an ISO date or instant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

PeriodKind = Literal["day", "week"]
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True, slots=True)
class Period:
    """One period of the window: ``[start, end)``."""

    start: datetime
    end: datetime

    def contains(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end

    @property
    def label(self) -> str:
        """``2026-03-02`` for a day or the Monday of a week."""
        return self.start.date().isoformat()


@dataclass(frozen=True, slots=True)
class Window:
    """What a report covers: the whole span and its periods."""

    start: datetime
    end: datetime
    period: PeriodKind

    @property
    def whole(self) -> Period:
        return Period(self.start, self.end)

    def periods(self) -> list[Period]:
        """Consecutive periods from ``start``; the last one ends at ``end`` (it may be partial)."""
        step = timedelta(days=1 if self.period == "day" else 7)
        out, at = [], self.start
        while at < self.end:
            out.append(Period(at, min(at + step, self.end)))
            at += step
        return out


def period_start(at: datetime, period: PeriodKind) -> datetime:
    """The start of the UTC day or ISO week (Monday) that holds ``at``."""
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if period == "week" else day


def parse_instant(text: str) -> datetime:
    """An ISO date (midnight UTC) or instant; a naive instant is read as UTC."""
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a duration (7d, 12h, 2w, 90m) or an ISO date/instant") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_since(text: str, end: datetime) -> datetime:
    """``7d`` / ``12h`` / ``2w`` / ``90m`` back from ``end``, or an ISO date/instant."""
    match = _DURATION_RE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return end - timedelta(**{_UNITS[unit]: amount})
    return parse_instant(text)


def make_window(since: str, end: datetime, period: PeriodKind = "day") -> Window:
    """The window from ``since`` (rounded down to its period) to ``end``."""
    end = end.astimezone(UTC)
    start = period_start(parse_since(since, end), period)
    if start >= end:
        raise ValueError(f"--since {since!r} is not before the end of the window ({end.isoformat()})")
    return Window(start, end, period)
