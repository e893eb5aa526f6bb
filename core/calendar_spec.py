"""Business calendars as an admin writes them in ``mapping/policy.yaml``, validated.

A calendar is a time zone, weekly working hours (split shifts allowed) and
holidays (explicit dates and/or a country's public holidays from the
``holidays`` package), or simply 24x7. :mod:`core.calendar` turns a spec into
the arithmetic the SLA clocks use.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from zoneinfo import available_timezones

import holidays as holidays_lib
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN_RE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class HolidaySpec(BaseModel):
    """Days without business hours: explicit dates and/or a country's public holidays."""

    model_config = ConfigDict(extra="forbid")

    country: str | None = None
    subdivision: str | None = None
    dates: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_country(self) -> HolidaySpec:
        if self.country is None:
            if self.subdivision is not None:
                raise ValueError("subdivision needs a country")
            return self
        supported = holidays_lib.list_supported_countries()
        if self.country not in supported:
            raise ValueError(f"country {self.country!r} is not supported by the holidays package (e.g. GB, US, DE)")
        subdivisions = supported[self.country]
        if self.subdivision is not None and self.subdivision not in subdivisions:
            raise ValueError(
                f"subdivision {self.subdivision!r} is not one of {self.country}'s: {', '.join(subdivisions)}"
            )
        return self


class CalendarSpec(BaseModel):
    """One named calendar as an admin writes it in ``mapping/policy.yaml``."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = "UTC"
    always_open: bool = False
    hours: dict[str, list[str]] = Field(default_factory=dict)
    holidays: HolidaySpec = Field(default_factory=HolidaySpec)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _zone_names():
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/London, America/New_York)")
        return value

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, spans in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"{day!r} is not a weekday; use {', '.join(WEEKDAYS)}")
            parse_spans(spans, day)
        return value

    @model_validator(mode="after")
    def _hours_or_always(self) -> CalendarSpec:
        if self.always_open and self.hours:
            raise ValueError("a calendar is either always_open or has hours, not both")
        if not self.always_open and not any(self.hours.values()):
            raise ValueError("no business hours: give hours for at least one weekday, or always_open: true")
        return self


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def parse_spans(spans: list[str], day: str = "") -> tuple[tuple[int, int], ...]:
    """``["09:00-12:00", "13:00-17:30"]`` -> minutes after local midnight, sorted, non-overlapping."""
    out: list[tuple[int, int]] = []
    for span in spans:
        match = _SPAN_RE.match(span.strip())
        if not match:
            raise ValueError(f"{day}: {span!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or start > 24 * 60 or end > 24 * 60:
            raise ValueError(f"{day}: {span!r} is not a time of day (00:00 to 24:00)")
        if start >= end:
            raise ValueError(f"{day}: {span!r} ends before it starts; split overnight shifts at 24:00")
        out.append((start, end))
    out.sort()
    for (_, end1), (start2, _) in zip(out, out[1:]):
        if start2 < end1:
            raise ValueError(f"{day}: shifts overlap")
    return tuple(out)
