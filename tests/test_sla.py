"""SLA clocks from ticket history: starts, stops, pauses, breaches, native SLA disagreements."""

from __future__ import annotations

from datetime import datetime

import pytest
from engine_builders import T0, at, comment, reopen, status_change, ticket

from core.calendar import BusinessCalendar, CalendarSpec
from core.model import NativeSla, Status
from core.policy_sla import SlaSpec, TargetName
from core.sla import ClockState, compute_clocks

OFFICE = BusinessCalendar.from_spec("office", CalendarSpec(
    timezone="UTC", hours={d: ["09:00-17:00"] for d in ["mon", "tue", "wed", "thu", "fri"]}))
PAUSES = {
    TargetName.first_response: frozenset(),
    TargetName.next_response: frozenset({Status.pending, Status.on_hold}),
    TargetName.resolution: frozenset({Status.pending, Status.on_hold}),
    TargetName.periodic_update: frozenset({Status.pending, Status.on_hold}),
}
MINUTES = {TargetName.first_response: 60, TargetName.next_response: 120, TargetName.resolution: 480,
           TargetName.periodic_update: 240}


def clocks(t, now: datetime, minutes=None, tolerance=15.0):
    found = compute_clocks(t, minutes or MINUTES, OFFICE, PAUSES, now, tolerance)
    return {c.target: c for c in found}


def test_first_response_runs_from_creation_and_breaches_at_the_due_time():
    c = clocks(ticket(), at(90))[TargetName.first_response]
    assert c.state is ClockState.running
    assert c.started_at == T0
    assert c.due_at == at(60)
    assert (c.elapsed_minutes, c.percent_used, c.remaining_minutes) == (90, 150, -30)
    assert c.breached and c.breached_at == at(60)


def test_first_response_is_met_by_a_public_agent_reply_but_not_by_a_deskbridge_echo_or_internal_note():
    comments = (
        comment("1", "customer", at(0), "help"),
        comment("2", "agent", at(10), "[deskbridge:abc123] escalated", public=False, by_deskbridge=True),
        comment("3", "agent", at(20), "looking internally", public=False),
        comment("4", "agent", at(45), "Hi, we are on it"),
    )
    c = clocks(ticket(comments=comments), at(120))[TargetName.first_response]
    assert c.state is ClockState.completed
    assert c.completed_at == at(45)
    assert (c.elapsed_minutes, c.percent_used, c.breached) == (45, 75, False)


def test_a_late_first_reply_is_completed_but_breached():
    t = ticket(comments=(comment("1", "agent", at(75), "sorry for the wait"),))
    c = clocks(t, at(200))[TargetName.first_response]
    assert c.state is ClockState.completed and c.breached and c.breached_at == at(60)


def test_pending_pauses_resolution_but_not_first_response():
    # open 0-60, pending 60-180, open again from 180; now = 240 -> 120 minutes of resolution used.
    history = (status_change(at(0), "new", "open"), status_change(at(60), "open", "pending"),
               status_change(at(180), "pending", "open"))
    c = clocks(ticket(history=history), at(240))
    assert c[TargetName.resolution].elapsed_minutes == 120
    # 360 minutes left at Monday 13:00: 240 until closing, 120 on Tuesday from 09:00.
    assert c[TargetName.resolution].due_at == at(26 * 60)
    assert c[TargetName.first_response].elapsed_minutes == 240


def test_a_currently_paused_clock_has_no_due_time_and_is_not_running():
    history = (status_change(at(30), "open", "pending"),)
    c = clocks(ticket(status="pending", native_status="pending", history=history), at(300))[TargetName.resolution]
    assert c.state is ClockState.paused
    assert c.due_at is None
    assert c.elapsed_minutes == 30


def test_pauses_and_business_hours_combine():
    # Created Monday 09:00; pending from 16:00 Monday to 10:00 Tuesday; now Tuesday 12:00.
    history = (status_change(at(7 * 60), "open", "pending"), status_change(at(25 * 60), "pending", "open"))
    c = clocks(ticket(history=history), at(27 * 60))[TargetName.resolution]
    assert c.elapsed_minutes == 7 * 60 + 120
    # 7 hours used by Monday 16:00, then paused; the 8th hour is used Tuesday 10:00-11:00.
    assert c.breached_at == at(26 * 60)


def test_solved_stops_the_resolution_clock_and_a_reopen_resumes_it():
    solved = (status_change(at(0), "new", "open"), status_change(at(100), "open", "solved"))
    c = clocks(ticket(status="solved", native_status="solved", history=solved), at(300))[TargetName.resolution]
    assert c.state is ClockState.stopped and c.elapsed_minutes == 100 and c.due_at is None
    reopened = (*solved, reopen(at(200)))
    c = clocks(ticket(history=reopened), at(300))[TargetName.resolution]
    assert c.state is ClockState.running and c.elapsed_minutes == 200


def test_next_response_starts_with_the_customer_message_after_a_reply_and_stops_at_the_next_reply():
    comments = (
        comment("1", "customer", at(0), "help"),
        comment("2", "agent", at(20), "what version?"),
        comment("3", "customer", at(30), "v2"),
        comment("4", "customer", at(40), "hello?"),
    )
    c = clocks(ticket(comments=comments), at(150))[TargetName.next_response]
    assert c.state is ClockState.running and c.started_at == at(30)
    assert c.elapsed_minutes == 120 and c.due_at == at(150) and c.breached
    answered = (*comments, comment("5", "agent", at(100), "fixed in v2.1"))
    c = clocks(ticket(comments=answered), at(150))[TargetName.next_response]
    assert c.state is ClockState.completed and c.completed_at == at(100) and not c.breached


def test_next_response_is_not_started_before_the_first_reply():
    c = clocks(ticket(comments=(comment("1", "customer", at(0), "help"),)), at(30))[TargetName.next_response]
    assert c.state is ClockState.not_started and c.due_at is None and c.percent_used == 0


def test_periodic_update_restarts_at_each_public_agent_update():
    comments = (comment("1", "agent", at(100), "update 1"), comment("2", "agent", at(200), "update 2"))
    c = clocks(ticket(comments=comments), at(260))[TargetName.periodic_update]
    assert c.started_at == at(200) and c.elapsed_minutes == 60 and c.due_at == at(200 + 240)


def test_only_the_targets_the_policy_sets_are_computed():
    found = clocks(ticket(), at(10), minutes={TargetName.resolution: 480})
    assert list(found) == [TargetName.resolution]


def _native(due: datetime, breached: bool = False) -> NativeSla:
    return NativeSla(name="Time to resolution", target="resolution", due_at=due, breached=breached, source="jsm")


def test_native_sla_within_tolerance_is_kept_without_a_disagreement():
    c = clocks(ticket(native_slas=(_native(at(490)),)), at(60))[TargetName.resolution]
    assert c.native is not None and c.native.difference_minutes == 10 and c.native.disagreement is None


def test_native_sla_beyond_tolerance_is_reported_not_silently_picked():
    c = clocks(ticket(native_slas=(_native(at(600), breached=True),)), at(60))[TargetName.resolution]
    assert c.due_at == at(480)  # deskbridge's own figure stays
    assert c.native.due_at == at(600)
    assert c.native.disagreement == (
        "jsm says due 2025-03-03T19:00:00+00:00, deskbridge 2025-03-03T17:00:00+00:00; "
        "jsm says breached, deskbridge not breached"
    )


def _sla(rows: list[dict]) -> SlaSpec:
    return SlaSpec.model_validate({"targets": rows})


def test_the_most_specific_target_row_wins_and_ties_go_to_the_first_written():
    spec = _sla([
        {"tier": "business", "priority": ["urgent", "high"], "calendar": "a", "resolution": 480},
        {"tier": "business", "priority": "urgent", "segment": "Enterprise", "calendar": "b", "resolution": 240},
        {"tier": "business", "priority": "urgent", "system": "jira", "calendar": "c", "resolution": 300},
        {"tier": "business", "priority": "urgent", "calendar": "d", "resolution": 120},
    ])
    assert spec.row_for("business", "urgent", "SMB", "zendesk").calendar == "a"
    assert spec.row_for("business", "urgent", "Enterprise", "zendesk").calendar == "b"
    assert spec.row_for("business", "urgent", "Enterprise", "jira").calendar == "b"
    assert spec.row_for("business", "urgent", None, "jira").calendar == "c"
    assert spec.row_for("standard", "urgent", None, "jira") is None


@pytest.mark.parametrize("written, minutes", [(90, 90), ("90m", 90), ("4h", 240), ("1h 30m", 90), ("2h30m", 150)])
def test_durations_are_written_in_minutes_or_hours(written, minutes):
    spec = _sla([{"tier": "x", "priority": "low", "calendar": "a", "resolution": written}])
    assert spec.targets[0].resolution == minutes
