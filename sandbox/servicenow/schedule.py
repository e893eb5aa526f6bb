"""The instance's one SLA schedule ("8-5 weekdays", UTC, no holidays) and duration formats.

Business time is measured with a monotone "business clock": seconds of schedule
time since a fixed Monday. Differences of that clock give business seconds
between two instants and its inverse adds business seconds to an instant, both
in constant time, so computing every task_sla row of a large sandbox stays cheap.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

SCHEDULE_NAME = "8-5 weekdays"
_EPOCH_MONDAY = datetime(1970, 1, 5, tzinfo=UTC)
_DAY_START = 8 * 3600
_DAY_BUSINESS = 9 * 3600
_WEEK_BUSINESS = 5 * _DAY_BUSINESS
_WEEK = 7 * 86400


def business_clock(moment: datetime) -> float:
    """Business seconds elapsed between the fixed epoch Monday and ``moment``."""
    weeks, rest = divmod((moment - _EPOCH_MONDAY).total_seconds(), _WEEK)
    day, seconds = divmod(rest, 86400)
    if day >= 5:
        return (weeks + 1) * _WEEK_BUSINESS
    return weeks * _WEEK_BUSINESS + day * _DAY_BUSINESS + min(max(seconds - _DAY_START, 0.0), _DAY_BUSINESS)


def from_business_clock(clock: float) -> datetime:
    """The earliest instant at which the business clock reads ``clock`` (a day's end, not the next morning)."""
    weeks, rest = divmod(clock, _WEEK_BUSINESS)
    day, seconds = divmod(rest, _DAY_BUSINESS)
    if seconds == 0 and clock > 0:
        if day == 0:
            weeks, day = weeks - 1, 4
        else:
            day -= 1
        seconds = _DAY_BUSINESS
    return _EPOCH_MONDAY + timedelta(seconds=weeks * _WEEK + day * 86400 + _DAY_START + seconds)


def business_seconds(start: datetime, end: datetime) -> float:
    """Schedule seconds between two instants (0 when ``end`` is not after ``start``)."""
    return max(0.0, business_clock(end) - business_clock(start))


def add_business_seconds(start: datetime, seconds: float) -> datetime:
    """The instant ``seconds`` of schedule time after ``start``."""
    return from_business_clock(business_clock(start) + seconds)


def duration_value(seconds: float) -> str:
    """A duration as the Table API stores it: a date-time counted from 1970-01-01 00:00:00."""
    return (datetime(1970, 1, 1) + timedelta(seconds=max(0, int(seconds)))).strftime("%Y-%m-%d %H:%M:%S")


def duration_display(seconds: float) -> str:
    """A duration as the form shows it, e.g. ``1 Day 4 Hours 23 Minutes`` or ``0 Seconds``."""
    remaining = max(0, int(seconds))
    parts = []
    for unit, size in (("Day", 86400), ("Hour", 3600), ("Minute", 60)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    if not parts:
        parts.append(f"{remaining} Second{'s' if remaining != 1 else ''}")
    return " ".join(parts)
