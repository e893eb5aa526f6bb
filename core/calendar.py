"""Business calendars: when the SLA clock ticks.

A calendar is a time zone, weekly working hours (split shifts allowed) and
holidays (explicit dates and/or a country's public holidays from the
``holidays`` package), or simply 24x7. It answers three questions the SLA
clocks ask thousands of times per run, so every local day is turned once into
UTC epoch-second intervals and cached per year, and the cached years are laid
end to end as one sorted list of interval edges with running totals; the
answers are then one bisection each, not datetime arithmetic:

- :meth:`BusinessCalendar.add_business_minutes`: when is the due time?
- :meth:`BusinessCalendar.business_minutes_between`: how much was used?
- :meth:`BusinessCalendar.next_business_moment`: when does the clock next tick?

Local wall-clock hours are resolved through :mod:`zoneinfo` day by day, so a
shift on a DST-switch day is exactly as long as it really is (an hour shorter
or longer when the switch falls inside it).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays as holidays_lib

# The spec side (what admins write) lives in core.calendar_spec; re-exported here.
from core.calendar_spec import WEEKDAYS, CalendarSpec, HolidaySpec, parse_spans

__all__ = ["ALWAYS_OPEN", "WEEKDAYS", "BusinessCalendar", "CalendarSpec", "HolidaySpec", "parse_spans", "utc_iso"]

_MAX_YEARS_SEARCHED = 50  # a calendar with no hours for 50 years is a configuration mistake


@dataclass(slots=True)
class _Year:
    """One local year resolved to UTC epoch seconds."""

    day_starts: list[float]  # local midnights, one per day plus the next Jan 1
    intervals: list[tuple[tuple[float, float], ...]]  # business intervals of each day
    cumulative: list[float]  # business seconds before each day (len = days + 1)

    @property
    def total(self) -> float:
        return self.cumulative[-1]


@dataclass(slots=True)
class _Edges:
    """The business intervals of consecutive local years, flattened for bisection.

    ``at`` alternates interval starts and ends (``[s0, e0, s1, e1, ...]``);
    ``before[i]`` is the calendar position (business seconds from the fixed
    reference) at ``at[i]``, and ``base`` the position at ``begin``.
    """

    first_year: int
    last_year: int
    begin: float  # local start of first_year
    end: float  # local start of the year after last_year
    base: float
    at: list[float]
    before: list[float]


class BusinessCalendar:
    """Business-time arithmetic on one calendar; instants are aware datetimes."""

    def __init__(
        self,
        name: str,
        zone: str = "UTC",
        weekly: dict[str, tuple[tuple[int, int], ...]] | None = None,
        holiday_dates: frozenset[date] = frozenset(),
        country: str | None = None,
        subdivision: str | None = None,
        always_open: bool = False,
    ):
        self.name = name
        self.zone = ZoneInfo(zone)
        self.always_open = always_open
        self._weekly = tuple((weekly or {}).get(day, ()) for day in WEEKDAYS)
        self._holiday_dates = holiday_dates
        self._country = country
        self._subdivision = subdivision
        self._years: dict[int, _Year] = {}
        self._year_starts: dict[int, float] = {}
        self._last_year: tuple[float, float, int] = (0.0, 0.0, 0)  # (start, end, year) last looked up
        self._offsets: dict[int, float] = {}
        self._edges: _Edges | None = None  # built on first use, grown a year at a time

    @classmethod
    def from_spec(cls, name: str, spec: CalendarSpec) -> BusinessCalendar:
        """Build the calendar an admin described."""
        weekly = {day: parse_spans(spans, day) for day, spans in spec.hours.items()}
        return cls(
            name,
            spec.timezone,
            weekly,
            frozenset(spec.holidays.dates),
            spec.holidays.country,
            spec.holidays.subdivision,
            spec.always_open,
        )

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.name!r}, {self.zone.key!r})"

    # -- public API ----------------------------------------------------------------

    def business_minutes_between(self, start: datetime, end: datetime) -> float:
        """Business minutes in ``[start, end)``; 0 when end is not after start."""
        return self.business_seconds_between(start.timestamp(), end.timestamp()) / 60.0

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """The earliest instant at which ``minutes`` business minutes have passed since ``start``."""
        return _utc(self.add_business_seconds(start.timestamp(), minutes * 60.0))

    def next_business_moment(self, at: datetime) -> datetime:
        """``at`` itself when inside business hours, else the start of the next business interval."""
        return _utc(self.next_business_ts(at.timestamp()))

    def is_business_time(self, at: datetime) -> bool:
        """True when the clock is ticking at ``at``."""
        return self.next_business_ts(at.timestamp()) == at.timestamp()

    def intervals_on(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The business intervals of one local day, as UTC datetimes (for explanations and tests)."""
        if self.always_open:
            start = datetime(day.year, day.month, day.day, tzinfo=self.zone)
            return ((start.astimezone(timezone.utc), (start + timedelta(days=1)).astimezone(timezone.utc)),)
        year = self._year(day.year)
        spans = year.intervals[day.timetuple().tm_yday - 1]
        return tuple((_utc(s), _utc(e)) for s, e in spans)

    # -- epoch-second core (the hot path) ------------------------------------------

    def business_seconds_between(self, start: float, end: float) -> float:
        """Business seconds between two epoch instants."""
        if end <= start:
            return 0.0
        if self.always_open:
            return end - start
        return self.position(end) - self.position(start)

    def position(self, ts: float) -> float:
        """Business seconds from a fixed reference instant to ``ts``; only differences mean anything.

        Callers that measure many spans over the same instants (the SLA clocks)
        look each instant up once and subtract.
        """
        if self.always_open:
            return ts
        edges = self._edges
        if edges is None or not edges.begin <= ts < edges.end:
            edges = self._cover(self._year_of(ts))
        i = bisect.bisect_right(edges.at, ts)
        if i & 1:  # inside the interval that starts at at[i - 1]
            return edges.before[i - 1] + (ts - edges.at[i - 1])
        return edges.before[i - 1] if i else edges.base

    def add_business_seconds(self, start: float, seconds: float) -> float:
        """Epoch instant when ``seconds`` business seconds have passed since ``start``."""
        if seconds <= 0:
            return start
        if self.always_open:
            return start + seconds
        # The target is counted from the start of start's local year: positions are whole seconds
        # plus start's own fraction, so every subtraction below is exact and the answer does not
        # depend on where the calendar's reference instant happens to lie.
        y = self._year_of(start)
        offset = self._offset(y)
        target = (self.position(start) - offset) + seconds
        edges = self._cover_position(offset, target, y)
        before = edges.before
        # The first interval end at which the target is reached (exactly at an end: that end, not
        # the next start); the instant lies inside the interval ending there.
        i = bisect.bisect_left(before, offset + target)
        while i < len(before) and before[i] - offset < target:  # `offset + target` may have rounded
            i += 1
        while i > 1 and before[i - 1] - offset >= target:
            i -= 1
        if edges.at[i - 1] >= self._year_start(y + _MAX_YEARS_SEARCHED):  # edges grown by other calls reach further
            raise ValueError(f"calendar {self.name!r} has no business hours within {_MAX_YEARS_SEARCHED} years")
        return edges.at[i - 1] + (target - (before[i - 1] - offset))

    def next_business_ts(self, at: float) -> float:
        """Epoch form of :meth:`next_business_moment`."""
        if self.always_open:
            return at
        edges = self._edges
        if edges is None or not edges.begin <= at < edges.end:
            edges = self._cover(self._year_of(at))
        for _ in range(_MAX_YEARS_SEARCHED):
            i = bisect.bisect_right(edges.at, at)
            if i & 1:  # inside an interval
                return at
            if i < len(edges.at):
                return edges.at[i]
            edges = self._cover(edges.last_year + 1)
        raise ValueError(f"calendar {self.name!r} has no business hours within {_MAX_YEARS_SEARCHED} years")

    def _cover(self, y: int) -> _Edges:
        """The flattened edges, grown (rarely) to take in local year ``y``."""
        edges = self._edges
        if edges is not None and edges.first_year <= y <= edges.last_year:
            return edges
        first = y if edges is None else min(edges.first_year, y)
        last = y if edges is None else max(edges.last_year, y)
        at: list[float] = []
        before: list[float] = []
        for k in range(first, last + 1):
            year, offset = self._year(k), self._offset(k)
            for day, spans in enumerate(year.intervals):
                running = offset + year.cumulative[day]
                for s, e in spans:
                    at += (s, e)
                    before += (running, running + (e - s))
                    running += e - s
        self._edges = edges = _Edges(first, last, self._year_start(first), self._year_start(last + 1),
                                     self._offset(first), at, before)
        return edges

    def _cover_position(self, offset: float, target: float, start_year: int) -> _Edges:
        """Edges reaching ``target`` business seconds past position ``offset``, within 50 years of ``start_year``."""
        edges = self._edges
        assert edges is not None  # position() built them
        while not edges.before or edges.before[-1] - offset < target:
            if edges.last_year >= start_year + _MAX_YEARS_SEARCHED - 1:
                raise ValueError(
                    f"calendar {self.name!r} has no business hours within {_MAX_YEARS_SEARCHED} years")
            edges = self._cover(edges.last_year + 1)
        return edges

    def _year_of(self, ts: float) -> int:
        """The local calendar year containing ``ts`` (local midnight boundaries)."""
        start, end, y = self._last_year
        if start <= ts < end:
            return y
        y = datetime.fromtimestamp(ts, timezone.utc).year
        if ts < self._year_start(y):
            y -= 1
        elif ts >= self._year_start(y + 1):
            y += 1
        self._last_year = (self._year_start(y), self._year_start(y + 1), y)
        return y

    def _offset(self, y: int) -> float:
        """Business seconds from the reference (the start of the first year looked up) to year ``y``."""
        offset = self._offsets.get(y)
        if offset is not None:
            return offset
        if not self._offsets:
            self._offsets[y] = 0.0
            return 0.0
        first, last = min(self._offsets), max(self._offsets)
        for k in range(last + 1, y + 1):
            self._offsets[k] = self._offsets[k - 1] + self._year(k - 1).total
        for k in range(first - 1, y - 1, -1):
            self._offsets[k] = self._offsets[k + 1] - self._year(k).total
        return self._offsets[y]

    def _year_start(self, y: int) -> float:
        start = self._year_starts.get(y)
        if start is None:
            start = self._year_starts[y] = datetime(y, 1, 1, tzinfo=self.zone).timestamp()
        return start

    def _year(self, y: int) -> _Year:
        year = self._years.get(y)
        if year is None:
            year = self._years[y] = self._build_year(y)
        return year

    def _build_year(self, y: int) -> _Year:
        closed = self._closed_days(y)
        first = date(y, 1, 1)
        days = (date(y + 1, 1, 1) - first).days
        starts: list[float] = []
        intervals: list[tuple[tuple[float, float], ...]] = []
        cumulative = [0.0]
        for offset in range(days + 1):
            day = first + timedelta(days=offset)
            midnight = datetime(day.year, day.month, day.day, tzinfo=self.zone).timestamp()
            starts.append(midnight)
            if offset == days:
                break
            spans = () if day in closed else self._weekly[day.weekday()]
            resolved = tuple(iv for iv in (self._resolve(day, s, e) for s, e in spans) if iv[1] > iv[0])
            intervals.append(resolved)
            cumulative.append(cumulative[-1] + sum(e - s for s, e in resolved))
        return _Year(starts, intervals, cumulative)

    def _resolve(self, day: date, start_min: int, end_min: int) -> tuple[float, float]:
        return (self._local_ts(day, start_min), self._local_ts(day, end_min))

    def _local_ts(self, day: date, minute: int) -> float:
        if minute >= 24 * 60:
            day, minute = day + timedelta(days=1), minute - 24 * 60
        local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=self.zone)
        return local.timestamp()

    def _closed_days(self, y: int) -> frozenset[date]:
        closed = {d for d in self._holiday_dates if d.year == y}
        if self._country:
            closed |= set(holidays_lib.country_holidays(self._country, subdiv=self._subdivision, years=y))
        return frozenset(closed)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


ALWAYS_OPEN = BusinessCalendar("24x7", always_open=True)
"""A calendar whose clock never stops (also what an unknown calendar name would mean in tests)."""


def utc_iso(at: datetime | None) -> str:
    """A short human form of a UTC instant, for explanations (``2025-03-03 09:05 UTC``)."""
    if at is None:
        return "never"
    return f"{at.year:04d}-{at.month:02d}-{at.day:02d} {at.hour:02d}:{at.minute:02d} UTC"
