"""Business calendars: DST in both directions, holidays, split shifts, starts outside hours."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from core.calendar import BusinessCalendar, CalendarSpec

UTC = timezone.utc
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def cal(zone: str, hours: dict, holidays: dict | None = None) -> BusinessCalendar:
    return BusinessCalendar.from_spec("c", CalendarSpec(timezone=zone, hours=hours, holidays=holidays or {}))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


ALL_DAY = {d: ["00:00-24:00"] for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
LONDON = cal("Europe/London", {d: ["09:00-17:30"] for d in WEEKDAYS}, {"country": "GB", "subdivision": "ENG"})
NEW_YORK_SPLIT = cal("America/New_York", {d: ["08:00-12:00", "13:00-18:00"] for d in WEEKDAYS},
                     {"country": "US", "subdivision": "NY"})


@pytest.mark.parametrize(
    "zone, day, hours",
    [
        ("Europe/London", date(2025, 3, 30), 23),  # clocks go forward
        ("Europe/London", date(2025, 10, 26), 25),  # clocks go back
        ("America/New_York", date(2025, 3, 9), 23),
        ("America/New_York", date(2025, 11, 2), 25),
        ("Europe/London", date(2025, 6, 1), 24),
    ],
)
def test_a_whole_local_day_lasts_as_long_as_it_really_does(zone, day, hours):
    calendar = cal(zone, ALL_DAY)
    (start, _), = calendar.intervals_on(day)
    (next_start, _), = calendar.intervals_on(day + timedelta(days=1))
    assert calendar.business_minutes_between(start, next_start) == hours * 60


@pytest.mark.parametrize(
    "day, minutes",
    [(date(2025, 3, 9), 300), (date(2025, 11, 2), 420), (date(2025, 3, 16), 360)],
)
def test_a_night_shift_spanning_the_new_york_switch_is_shorter_or_longer(day, minutes):
    calendar = cal("America/New_York", {"sun": ["00:00-06:00"]})
    (start, end), = calendar.intervals_on(day)
    assert calendar.business_minutes_between(start - timedelta(hours=1), end + timedelta(hours=1)) == minutes
    assert calendar.add_business_minutes(start, minutes) == end


def test_london_spring_forward_over_a_weekend():
    # Friday 28 March 2025 16:00 UTC = 16:00 GMT: 90 minutes left that day; the clocks go forward on
    # Sunday, so Monday opens at 09:00 BST = 08:00 UTC.
    start = utc(2025, 3, 28, 16, 0)
    assert LONDON.add_business_minutes(start, 120) == utc(2025, 3, 31, 8, 30)
    assert LONDON.business_minutes_between(start, utc(2025, 3, 31, 9, 30)) == 180


def test_london_fall_back_over_a_weekend():
    # Friday 24 October 2025 16:00 UTC = 17:00 BST: 30 minutes left; Monday opens at 09:00 GMT = 09:00 UTC.
    start = utc(2025, 10, 24, 16, 0)
    assert LONDON.add_business_minutes(start, 60) == utc(2025, 10, 27, 9, 30)
    assert LONDON.business_minutes_between(start, utc(2025, 10, 27, 9, 30)) == 60


def test_new_york_spring_forward_and_fall_back():
    # Friday 7 March 2025 17:00 EST = 22:00 UTC; Monday 10 March opens 08:00 EDT = 12:00 UTC.
    assert NEW_YORK_SPLIT.add_business_minutes(utc(2025, 3, 7, 22, 0), 90) == utc(2025, 3, 10, 12, 30)
    # Friday 31 October 2025 17:00 EDT = 21:00 UTC; Monday 3 November opens 08:00 EST = 13:00 UTC.
    assert NEW_YORK_SPLIT.add_business_minutes(utc(2025, 10, 31, 21, 0), 90) == utc(2025, 11, 3, 13, 30)


def test_split_shift_skips_the_lunch_break():
    # Monday 3 March 2025 11:30 EST = 16:30 UTC; lunch 12:00-13:00 EST.
    start = utc(2025, 3, 3, 16, 30)
    assert NEW_YORK_SPLIT.add_business_minutes(start, 60) == utc(2025, 3, 3, 18, 30)  # 13:30 EST
    assert NEW_YORK_SPLIT.business_minutes_between(utc(2025, 3, 3, 16, 0), utc(2025, 3, 3, 19, 0)) == 120
    assert not NEW_YORK_SPLIT.is_business_time(utc(2025, 3, 3, 17, 30))
    assert NEW_YORK_SPLIT.next_business_moment(utc(2025, 3, 3, 17, 30)) == utc(2025, 3, 3, 18, 0)


def test_exhausting_a_day_exactly_ends_at_closing_time_not_next_morning():
    # Monday 3 March 2025: 09:00-17:30 GMT is 510 minutes.
    assert LONDON.add_business_minutes(utc(2025, 3, 3, 9, 0), 510) == utc(2025, 3, 3, 17, 30)


@pytest.mark.parametrize(
    "start, expected",
    [
        (utc(2025, 3, 3, 6, 0), utc(2025, 3, 3, 10, 0)),  # before opening: counts from 09:00
        (utc(2025, 3, 3, 19, 0), utc(2025, 3, 4, 10, 0)),  # after closing: next morning
        (utc(2025, 3, 8, 12, 0), utc(2025, 3, 10, 10, 0)),  # Saturday: Monday
        (utc(2025, 3, 9, 23, 59), utc(2025, 3, 10, 10, 0)),  # Sunday night
    ],
)
def test_starts_outside_business_hours_count_from_the_next_opening(start, expected):
    assert LONDON.add_business_minutes(start, 60) == expected
    assert LONDON.business_minutes_between(start, expected) == 60


def test_public_holidays_from_the_holidays_package_are_closed():
    # Good Friday 18 and Easter Monday 21 April 2025 are English bank holidays.
    thursday_late = utc(2025, 4, 17, 16, 0)  # 17:00 BST, 30 minutes before closing
    assert LONDON.add_business_minutes(thursday_late, 60) == utc(2025, 4, 22, 8, 30)  # Tuesday 09:30 BST
    assert LONDON.intervals_on(date(2025, 4, 18)) == ()
    assert LONDON.next_business_moment(utc(2025, 4, 18, 10, 0)) == utc(2025, 4, 22, 8, 0)
    # Thanksgiving (27 Nov 2025) is a New York holiday; the day after is not.
    assert NEW_YORK_SPLIT.intervals_on(date(2025, 11, 27)) == ()
    assert len(NEW_YORK_SPLIT.intervals_on(date(2025, 11, 28))) == 2


def test_explicit_holiday_dates_are_closed_and_the_year_boundary_is_crossed():
    calendar = cal("Europe/London", {d: ["09:00-17:00"] for d in WEEKDAYS},
                   {"country": "GB", "dates": ["2025-12-31", "2026-01-02"]})
    # Tue 30 Dec 2025 16:00 GMT + 120 min: 60 that day, 31 Dec (explicit) and 1 Jan (bank holiday)
    # and 2 Jan (explicit) closed; Monday 5 January 2026 10:00.
    assert calendar.add_business_minutes(utc(2025, 12, 30, 16, 0), 120) == utc(2026, 1, 5, 10, 0)
    assert calendar.business_minutes_between(utc(2025, 12, 30, 16, 0), utc(2026, 1, 5, 10, 0)) == 120


def test_a_24x7_calendar_is_wall_clock_time():
    always = BusinessCalendar.from_spec("always", CalendarSpec(always_open=True))
    start = utc(2025, 3, 30, 0, 0)
    assert always.add_business_minutes(start, 1440) == utc(2025, 3, 31, 0, 0)
    assert always.business_minutes_between(start, utc(2025, 4, 1)) == 2880
    assert always.next_business_moment(start) == start


def test_between_is_zero_when_end_is_not_after_start():
    assert LONDON.business_minutes_between(utc(2025, 3, 4, 12), utc(2025, 3, 3, 12)) == 0


def test_long_spans_cross_several_years():
    minutes = LONDON.business_minutes_between(utc(2024, 1, 1), utc(2027, 1, 1))
    due = LONDON.add_business_minutes(utc(2024, 1, 1), minutes)
    assert LONDON.business_minutes_between(utc(2024, 1, 1), due) == pytest.approx(minutes)
    assert due <= utc(2027, 1, 1)


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"timezone": "Europe/Londres", "hours": {"mon": ["09:00-17:00"]}}, "'Europe/Londres' is not an IANA time zone"),
        ({"hours": {"mon": ["9-5"]}}, "mon: '9-5' is not HH:MM-HH:MM"),
        ({"hours": {"mon": ["22:00-06:00"]}}, "ends before it starts; split overnight shifts at 24:00"),
        ({"hours": {"mon": ["09:00-13:00", "12:00-17:00"]}}, "mon: shifts overlap"),
        ({"hours": {"monday": ["09:00-17:00"]}}, "'monday' is not a weekday"),
        ({"always_open": True, "hours": {"mon": ["09:00-17:00"]}}, "either always_open or has hours"),
        ({"hours": {}}, "no business hours"),
        ({"hours": {"mon": ["09:00-17:00"]}, "holidays": {"country": "XX"}}, "country 'XX' is not supported"),
        ({"hours": {"mon": ["09:00-17:00"]}, "holidays": {"country": "GB", "subdivision": "XYZ"}},
         "subdivision 'XYZ' is not one of GB's"),
    ],
)
def test_calendar_spec_rejects_mistakes_with_a_clear_message(spec, message):
    with pytest.raises(ValidationError) as err:
        CalendarSpec.model_validate(spec)
    assert message in str(err.value)


instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC))


@settings(max_examples=150, deadline=None)
@given(start=instants, minutes=st.floats(min_value=0.5, max_value=20000))
def test_property_adding_then_measuring_gives_back_the_minutes(start, minutes):
    for calendar in (LONDON, NEW_YORK_SPLIT):
        due = calendar.add_business_minutes(start, minutes)
        assert due >= start
        assert calendar.business_minutes_between(start, due) == pytest.approx(minutes, abs=1e-3)


@settings(max_examples=150, deadline=None)
@given(a=instants, b=instants, c=instants)
def test_property_business_time_is_additive_and_never_negative(a, b, c):
    a, b, c = sorted((a, b, c))
    for calendar in (LONDON, NEW_YORK_SPLIT):
        ab, bc = calendar.business_minutes_between(a, b), calendar.business_minutes_between(b, c)
        assert ab >= 0 and bc >= 0
        assert ab + bc == pytest.approx(calendar.business_minutes_between(a, c), abs=1e-3)
        assert ab <= (b - a).total_seconds() / 60 + 1e-6


@settings(max_examples=100, deadline=None)
@given(when=instants)
def test_property_next_business_moment_is_business_time_and_nothing_is_skipped(when):
    nxt = NEW_YORK_SPLIT.next_business_moment(when)
    assert nxt >= when
    assert NEW_YORK_SPLIT.is_business_time(nxt)
    assert NEW_YORK_SPLIT.business_minutes_between(when, nxt) == 0
