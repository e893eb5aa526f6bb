"""SLA clocks computed from a ticket's own history, on business calendars.

For each target the policy sets (first response, next response, resolution,
periodic update) the clock starts at a moment read from the conversation,
runs only in business time and only while the ticket's status does not pause
that target, and stops when the awaited reply or resolution arrives.
deskbridge's own comments (``by_deskbridge``) are echoes and never stop a
clock. Where the helpdesk keeps its own SLA, both are kept and a disagreement
beyond the policy's tolerance is reported, never silently resolved.

Everything here is pure: ``now`` is an argument, and the work is done on
epoch seconds so that a run over 100,000 tickets stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from operator import attrgetter
from typing import Annotated

from pydantic import Field

from core.calendar import BusinessCalendar
from core.model import EventKind, NativeSla, Role, Status, Ticket
from core.policy_sla import TargetName

_STATUS_BY_VALUE = {s.value: s for s in Status}
_NOT_OPEN = frozenset({Status.solved, Status.closed})
_STATUS_EVENTS = (EventKind.status_change, EventKind.reopen)
_AGENT, _CUSTOMER = Role.agent, Role.customer
_by_time = attrgetter("at")

REACHED_WITHIN_S = 0.001
"""A time threshold counts as reached when less than a millisecond of it is left.

The instants the engine schedules re-checks at are worked out to the
microsecond from float epoch seconds; this slack makes a re-check at such an
instant always see the change it was scheduled for (float noise and the
microsecond rounding are far below it), so a re-check is never lost.
"""


class ClockState(StrEnum):
    """Where a clock stands at ``now``."""

    not_started = "not_started"  # nothing is awaited (e.g. no customer message since the last reply)
    running = "running"
    paused = "paused"  # the ticket's status pauses this target
    stopped = "stopped"  # the ticket is solved or closed
    completed = "completed"  # the awaited reply arrived


@dataclass(slots=True)  # read-only by convention; not frozen because frozen init is 4x slower
class NativeComparison:
    """The helpdesk's own SLA for the same target, and whether it agrees with ours."""

    name: str
    source: str
    due_at: datetime | None
    breached: bool
    paused: bool
    difference_minutes: float | None  # native due minus ours
    disagreement: str | None  # None when within tolerance


@dataclass(slots=True)  # read-only by convention; not frozen because frozen init is 4x slower
class SlaClock:
    """One SLA target's figures at ``now``. ``remaining_minutes`` is negative once overdue."""

    target: TargetName
    calendar: str
    target_minutes: int
    state: ClockState
    started_at: datetime | None
    due_at: datetime | None  # None while paused, stopped or not started
    completed_at: datetime | None
    elapsed_minutes: float
    percent_used: float
    remaining_minutes: float
    breached: bool
    breached_at: datetime | None
    native: NativeComparison | None = None
    # The exact business seconds used (``elapsed_minutes`` is rounded for people): what thresholds
    # are checked and re-check instants computed on. In-process only: not dumped, 0.0 when read back.
    elapsed_seconds: Annotated[float, Field(exclude=True)] = field(default=0.0, repr=False, compare=False)

    @property
    def running(self) -> bool:
        return self.state is ClockState.running


@dataclass(slots=True)  # read-only by convention; not frozen because frozen init is 4x slower
class Timeline:
    """The ticket's status over time: ``statuses[i]`` holds from ``starts[i]`` until ``starts[i + 1]``."""

    starts: tuple[float, ...]
    statuses: tuple[Status | None, ...]  # None: a status value deskbridge does not know (never pauses)


def status_timeline(ticket: Ticket) -> Timeline:
    """Rebuild the status history from status-change and reopen events."""
    changes = [e for e in ticket.history if e.kind in _STATUS_EVENTS]
    changes.sort(key=_by_time)
    created = ticket.created_at.timestamp()
    if not changes:
        if ticket.status in _NOT_OPEN and ticket.solved_at is not None:
            return Timeline((created, ticket.solved_at.timestamp()), (Status.open, ticket.status))
        return Timeline((created,), (ticket.status,))
    first_from = _status(changes[0].from_value)
    starts, statuses = [created], [first_from if first_from is not None else Status.new]
    for event in changes:
        to = _status(event.to_value)
        if to is None and event.kind is EventKind.reopen:
            to = Status.open
        at = event.at.timestamp()
        starts.append(at if at > created else created)
        statuses.append(to)
    if statuses[-1] is not ticket.status:  # history shorter than the truth: trust the current status
        updated = ticket.updated_at.timestamp()
        starts.append(updated if updated > starts[-1] else starts[-1])
        statuses.append(ticket.status)
    return Timeline(tuple(starts), tuple(statuses))


def _status(value: str | None) -> Status | None:
    return _STATUS_BY_VALUE.get(value.lower()) if value else None


def status_at(timeline: Timeline, ts: float) -> Status | None:
    """The status in force at ``ts``."""
    current = timeline.statuses[0]
    for start, status in zip(timeline.starts, timeline.statuses):
        if start > ts:
            break
        current = status
    return current


Window = tuple[float | None, float | None]  # when a clock started and, if the awaited event happened, when it stopped


def clock_windows(ticket: Ticket) -> dict[TargetName, Window]:
    """Start and stop of every target, read from the conversation (echoes ignored)."""
    created = ticket.created_at.timestamp()
    first_reply: float | None = None
    last_reply: float | None = None
    cycle_start: float | None = None  # a customer message awaiting the next reply
    last_cycle: Window = (None, None)
    for c in ticket.comments:
        if c.by_deskbridge:
            continue
        role = c.role
        if role is _AGENT and c.public:
            at = c.created_at.timestamp()
            if first_reply is None:
                first_reply = at
            elif cycle_start is not None:
                last_cycle = (cycle_start, at)
                cycle_start = None
            last_reply = at
        elif role is _CUSTOMER and first_reply is not None and cycle_start is None:
            cycle_start = c.created_at.timestamp()
    if first_reply is None and ticket.first_agent_reply_at is not None:
        first_reply = last_reply = ticket.first_agent_reply_at.timestamp()
    return {
        TargetName.first_response: (created, first_reply),
        TargetName.next_response: (cycle_start, None) if cycle_start is not None else last_cycle,
        TargetName.resolution: (created, None),
        TargetName.periodic_update: (max(last_reply or created, created), None),
    }


def compute_clock(
    target: TargetName,
    minutes: int,
    calendar: BusinessCalendar,
    window: Window,
    timeline: Timeline,
    paused: frozenset[Status],
    now_ts: float,
    positions: dict[float, float] | None = None,
) -> SlaClock:
    """One clock's figures at ``now_ts``."""
    start, stop = window
    if start is None or start > now_ts:
        return SlaClock(target, calendar.name, minutes, ClockState.not_started, None, None, None, 0.0, 0.0,
                        float(minutes), False, None)
    target_s = minutes * 60.0
    completed = stop is not None and stop <= now_ts
    end = stop if completed else now_ts
    elapsed, breach_ts = _business_use(calendar, timeline, start, end, paused, target_s,
                                       positions if positions is not None else {})
    state = _state(completed, status_at(timeline, end), paused)
    due_ts = breach_ts
    if due_ts is None and state is ClockState.running:
        due_ts = calendar.add_business_seconds(now_ts, target_s - elapsed)
    elif due_ts is None and completed:
        due_ts = calendar.add_business_seconds(end, target_s - elapsed)
    breached = breach_ts is not None and not (completed and end <= breach_ts)
    return SlaClock(
        target,
        calendar.name,
        minutes,
        state,
        _utc(start),
        _utc(due_ts) if due_ts is not None else None,
        _utc(end) if completed else None,
        round(elapsed / 60.0, 2),
        round(elapsed / target_s * 100.0, 2),
        round((target_s - elapsed) / 60.0, 2),
        breached,
        _utc(breach_ts) if breached and breach_ts is not None else None,
        elapsed_seconds=elapsed,
    )


def _business_use(calendar: BusinessCalendar, timeline: Timeline, start: float, end: float, paused: frozenset[Status],
                  target_s: float, positions: dict[float, float]) -> tuple[float, float | None]:
    """Business seconds used in ``[start, end)`` while the status lets the clock run, and the instant
    the target was reached, if it was.

    ``positions`` memoises calendar positions per instant: the clocks of one
    ticket share most of their span ends (creation, status changes, now).
    """
    used = 0.0
    reached: float | None = None
    starts = timeline.starts
    last = len(starts) - 1
    for i, status in enumerate(timeline.statuses):
        if status in paused or status in _NOT_OPEN:
            continue
        s = starts[i] if starts[i] > start else start
        e = end if i == last or starts[i + 1] > end else starts[i + 1]
        if e <= s:
            continue
        ps = positions.get(s)
        if ps is None:
            ps = positions[s] = calendar.position(s)
        pe = positions.get(e)
        if pe is None:
            pe = positions[e] = calendar.position(e)
        business = pe - ps
        if reached is None and used + business + REACHED_WITHIN_S >= target_s:
            reached = min(calendar.add_business_seconds(s, target_s - used), e)
        used += business
    return used, reached


def _state(completed: bool, status: Status | None, paused: frozenset[Status]) -> ClockState:
    if completed:
        return ClockState.completed
    if status in _NOT_OPEN:
        return ClockState.stopped
    if status in paused:
        return ClockState.paused
    return ClockState.running


def compare_native(clock: SlaClock, natives: tuple[NativeSla, ...], tolerance_minutes: float) -> SlaClock:
    """Attach the helpdesk's own SLA for the same target, flagging a disagreement beyond tolerance."""
    native = next((n for n in natives if n.target == clock.target), None)
    if native is None:
        return clock
    difference = None
    problems: list[str] = []
    if native.due_at is not None and clock.due_at is not None:
        difference = round((native.due_at - clock.due_at).total_seconds() / 60.0, 2)
        if abs(difference) > tolerance_minutes:
            problems.append(f"{native.source} says due {native.due_at.isoformat()}, deskbridge {clock.due_at.isoformat()}")
    if native.breached != clock.breached:
        problems.append(f"{native.source} says {'breached' if native.breached else 'not breached'}, "
                        f"deskbridge {'breached' if clock.breached else 'not breached'}")
    comparison = NativeComparison(native.name, native.source, native.due_at, native.breached, native.paused,
                                  difference, "; ".join(problems) or None)
    return _with_native(clock, comparison)


def _with_native(clock: SlaClock, native: NativeComparison) -> SlaClock:
    fields = {name: getattr(clock, name) for name in SlaClock.__slots__}
    fields["native"] = native
    return SlaClock(**fields)


def compute_clocks(
    ticket: Ticket,
    minutes: dict[TargetName, int],
    calendar: BusinessCalendar,
    pauses: dict[TargetName, frozenset[Status]],
    now: datetime,
    tolerance_minutes: float = 15.0,
) -> tuple[SlaClock, ...]:
    """Every clock the policy sets for this ticket, in target order."""
    now_ts = now.timestamp()
    timeline = status_timeline(ticket)
    windows = clock_windows(ticket)
    clocks = []
    positions: dict[float, float] = {}
    for target, target_minutes in minutes.items():
        clock = compute_clock(target, target_minutes, calendar, windows[target], timeline, pauses[target], now_ts,
                              positions)
        if ticket.native_slas:
            clock = compare_native(clock, ticket.native_slas, tolerance_minutes)
        clocks.append(clock)
    return tuple(clocks)


def instant_when_used(clock: SlaClock, calendar: BusinessCalendar, minutes: float, now: datetime) -> datetime | None:
    """When a running clock will have used ``minutes``; None if it already has or is not running."""
    left = minutes * 60.0 - clock.elapsed_seconds
    if not clock.running or left < REACHED_WITHIN_S:
        return None
    return _utc(calendar.add_business_seconds(now.timestamp(), left))


def _utc(ts: float, _from_timestamp=datetime.fromtimestamp, _zone=timezone.utc) -> datetime:
    return _from_timestamp(ts, _zone)
