"""Unit tests of the ServiceNow emulator's pure parts: encoded queries and the SLA schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.servicenow import query as q
from sandbox.servicenow import schedule


def rows_matching(text: str, rows: list[dict]) -> list[dict]:
    parsed = q.parse(text)
    return [row for row in rows if q.matches(parsed, lambda name, row=row: row.get(name, ""))]


ROWS = [
    {"n": "1", "state": "1", "priority": "1", "short_description": "VPN down for all users", "assigned_to": "",
     "sys_updated_on": "2026-03-01 08:00:00", "number": "INC0010001"},
    {"n": "2", "state": "2", "priority": "3", "short_description": "Billing question", "assigned_to": "abc",
     "sys_updated_on": "2026-03-01 09:30:00", "number": "INC0010002"},
    {"n": "3", "state": "3", "priority": "2", "short_description": "API returns 500", "assigned_to": "def",
     "sys_updated_on": "2026-03-02 10:00:00", "number": "INC0010003"},
    {"n": "10", "state": "6", "priority": "4", "short_description": "vpn slow", "assigned_to": "abc",
     "sys_updated_on": "2026-03-02 10:00:00", "number": "INC0010010"},
]


def ns(rows: list[dict]) -> list[str]:
    return [row["n"] for row in rows]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("state=2", ["2"]),
        ("state!=2", ["1", "3", "10"]),
        ("stateIN1,3", ["1", "3"]),
        ("stateNOT IN1,3", ["2", "10"]),
        ("short_descriptionLIKEvpn", ["1", "10"]),  # case-insensitive, as on the instance's database
        ("short_descriptionNOT LIKEvpn", ["2", "3"]),
        ("short_descriptionSTARTSWITHapi", ["3"]),
        ("short_descriptionENDSWITHslow", ["10"]),
        ("assigned_toISEMPTY", ["1"]),
        ("assigned_toISNOTEMPTY", ["2", "3", "10"]),
        ("sys_updated_on>=2026-03-01 09:30:00", ["2", "3", "10"]),
        ("sys_updated_on>2026-03-01 09:30:00", ["3", "10"]),
        ("sys_updated_on<2026-03-01 09:30:00", ["1"]),
        ("sys_updated_on<=2026-03-01 09:30:00", ["1", "2"]),
        ("n>3", ["10"]),  # numbers compare as numbers, not text ("10" > "3")
        ("state=1^ORstate=6", ["1", "10"]),
        ("assigned_to=abc^state=2^ORstate=6", ["2", "10"]),  # ^OR binds to the condition before it
        ("state=1^NQpriority=4", ["1", "10"]),
        ("numberBETWEENINC0010002@INC0010003", ["2", "3"]),
        ("stateANYTHING", ["1", "2", "3", "10"]),
        ("sys_updated_on>=javascript:gs.dateGenerate('2026-03-02','00:00:00')", ["3", "10"]),
        ("", ["1", "2", "3", "10"]),
    ],
)
def test_given_an_encoded_query_when_evaluated_then_it_selects_what_the_instance_would(text, expected):
    assert ns(rows_matching(text, ROWS)) == expected


def test_given_two_orderby_terms_when_parsed_then_both_order_and_conditions_stay_apart():
    parsed = q.parse("sys_updated_on>=2026-03-01 00:00:00^ORDERBYsys_updated_on^ORDERBYsys_id")
    assert parsed.order == (("sys_updated_on", False), ("sys_id", False))
    assert list(parsed.conditions()) == [q.Condition("sys_updated_on", ">=", "2026-03-01 00:00:00")]


def test_given_orderbydesc_then_rows_sort_descending_with_ties_in_the_next_key():
    rows = [dict(row) for row in ROWS]
    parsed = q.parse("ORDERBYDESCsys_updated_on^ORDERBYn")
    q.order_rows(rows, parsed.order, lambda row, name: row[name])
    assert ns(rows) == ["3", "10", "2", "1"]


def test_given_an_unknown_field_when_pruned_then_the_condition_is_dropped_like_the_instance_does():
    parsed = q.prune(q.parse("nosuchfield=1^state=2^ORDERBYnosuchfield"), lambda name: name != "nosuchfield")
    assert list(parsed.conditions()) == [q.Condition("state", "=", "2")]
    assert parsed.order == ()
    assert "nosuchfield=1" in parsed.ignored


def test_given_only_unknown_fields_when_pruned_then_every_row_matches():
    parsed = q.prune(q.parse("bogus=1"), lambda name: name in ROWS[0])
    assert ns([row for row in ROWS if q.matches(parsed, row.get)]) == ["1", "2", "3", "10"]


def test_given_an_escaped_caret_then_it_is_part_of_the_value():
    parsed = q.parse("short_description=a^^b^state=1")
    assert list(parsed.conditions()) == [q.Condition("short_description", "=", "a^b"), q.Condition("state", "=", "1")]


def test_given_a_value_with_an_operator_inside_then_the_first_operator_splits_it():
    assert q.parse("short_descriptionLIKEa=b").groups[0][0][0] == q.Condition("short_description", "LIKE", "a=b")


def test_given_pysnc_joined_terms_then_in_lists_and_equality_are_found_for_indexes():
    parsed = q.parse("element_idINa1,b2^elementINcomments,work_notes^name=incident^ORDERBYsys_created_on")
    assert q.equality_values(parsed, "element_id") == {"a1", "b2"}
    assert q.equality_values(parsed, "name") == {"incident"}
    assert q.equality_values(q.parse("element_id=a1^ORelement_id=b2"), "element_id") is None  # OR: no pin


def test_given_range_terms_then_the_tightest_bounds_are_reported():
    parsed = q.parse("sys_updated_on>=2026-03-01 00:00:00^sys_updated_on>2026-03-01 10:00:00^sys_updated_on<2026-04-01")
    assert q.range_bounds(parsed, "sys_updated_on") == ("2026-03-01 10:00:00", "2026-04-01")
    assert q.range_bounds(q.parse("state=1"), "sys_updated_on") is None


def test_given_garbage_terms_then_they_are_ignored_not_fatal():
    parsed = q.parse("^EQ^GROUPBYstate^state=1^%%%^")
    assert list(parsed.conditions()) == [q.Condition("state", "=", "1")]
    assert parsed.ignored == ("%%%",)


# -- schedule --------------------------------------------------------------------------------------------

MONDAY_8 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_given_a_working_day_then_business_seconds_count_only_8_to_5():
    assert schedule.business_seconds(MONDAY_8, MONDAY_8 + timedelta(hours=9)) == 9 * 3600
    assert schedule.business_seconds(MONDAY_8 - timedelta(hours=8), MONDAY_8 + timedelta(hours=1)) == 3600
    assert schedule.business_seconds(MONDAY_8, MONDAY_8 + timedelta(days=1)) == 9 * 3600


def test_given_a_weekend_then_no_business_time_passes():
    friday_5pm = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)
    assert schedule.business_seconds(friday_5pm, friday_5pm + timedelta(days=2, hours=15)) == 0
    assert schedule.business_seconds(friday_5pm - timedelta(hours=1), MONDAY_8 + timedelta(days=7, hours=1)) == 7200


def test_given_business_seconds_to_add_then_the_deadline_skips_nights_and_weekends():
    friday_4pm = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    assert schedule.add_business_seconds(friday_4pm, 2 * 3600) == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    # exactly a day's worth ends at 17:00 the same day, not 08:00 the next
    assert schedule.add_business_seconds(MONDAY_8, 9 * 3600) == datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    # "3 day" = 72 schedule hours = 8 business days
    assert schedule.add_business_seconds(MONDAY_8, 72 * 3600) == datetime(2026, 3, 11, 17, 0, tzinfo=UTC)


def test_given_durations_then_they_render_as_the_table_api_does():
    assert schedule.duration_value(4 * 3600) == "1970-01-01 04:00:00"
    assert schedule.duration_value(28 * 3600 + 23 * 60) == "1970-01-02 04:23:00"
    assert schedule.duration_display(28 * 3600 + 23 * 60) == "1 Day 4 Hours 23 Minutes"
    assert schedule.duration_display(0) == "0 Seconds"
    assert schedule.duration_display(3600) == "1 Hour"
