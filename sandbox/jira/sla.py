"""JSM SLA cycles for the two SLAs of project SUP, computed from an issue's history.

"Time to first response" runs from creation to the first public comment by
anyone who is not a customer (or resolution). "Time to resolution" runs from
creation (and again from each reopen) to a done status, paused while waiting
for the customer or pending. Calendar: 24/7, so ``withinCalendarHours`` is
always true; goals depend on the current priority, as JSM recalculates them.
The JSON shape is that of ``/rest/servicedeskapi/request/{id}/sla``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sandbox.jira import catalog
from sandbox.jira.records import IssueRecord

HOUR_MS = 3_600_000
# SLA id -> (name, goal in hours per native priority)
SLAS = {
    "1": (catalog.FIELD_NAMES[catalog.SLA_FIRST_RESPONSE_FIELD],
          {"Highest": 1, "High": 2, "Medium": 4, "Low": 8, "Lowest": 8}),
    "2": (catalog.FIELD_NAMES[catalog.SLA_RESOLUTION_FIELD],
          {"Highest": 4, "High": 8, "Medium": 24, "Low": 48, "Lowest": 48}),
}
PAUSED_STATUSES = frozenset({"Waiting for customer", "Pending"})


def status_timeline(issue: IssueRecord) -> list[tuple[datetime, str]]:
    """(since, status) from creation on, read back from the changelog."""
    changes = [(h.created, item) for h in issue.histories for item in h.items if item[0] == "status"]
    initial = changes[0][1][3] if changes else issue.status
    return [(issue.created, initial or issue.status)] + [(at, item[5]) for at, item in changes]


def _cycles(timeline, stop_at: datetime | None, pausing: bool, now: datetime):
    """Split the timeline into cycles: [(start, stop|None, running intervals)]."""
    cycles, current = [], None
    bounds = timeline + [(now, None)]
    for (since, status), (until, _) in zip(bounds, bounds[1:]):
        if stop_at is not None and since >= stop_at:
            break
        until = min(until, stop_at) if stop_at is not None else until
        done = status in catalog.DONE_STATUSES
        if current is None and not done:
            current = [since, None, []]
        if current is not None and done:
            current[1] = since
            cycles.append(current)
            current = None
            if stop_at is not None:  # first response: one cycle only
                break
            continue
        if current is not None and not (pausing and status in PAUSED_STATUSES) and until > since:
            current[2].append((since, until))
    if current is not None:
        if stop_at is not None and stop_at <= now:
            current[1] = stop_at
        cycles.append(current)
    return cycles


def _first_response(issue: IssueRecord, is_customer: Callable[[str], bool]) -> datetime | None:
    for comment in issue.comments:
        if comment.public and not is_customer(comment.author):
            return comment.created
    return None


def sla_values(issue: IssueRecord, now: datetime, is_customer, base: str) -> list[dict]:
    """Both SLA objects of an issue, shaped like the JSM SLA resource."""
    timeline = status_timeline(issue)
    first = _first_response(issue, is_customer)
    out = []
    for sla_id, (name, goals) in SLAS.items():
        goal_ms = goals.get(issue.priority, 24) * HOUR_MS
        if sla_id == "1":
            cycles = _cycles(timeline, first or now + timedelta(days=3650), False, now)[:1]
        else:
            cycles = _cycles(timeline, None, True, now)
        value = {
            "id": sla_id,
            "name": name,
            "_links": {"self": f"{base}/rest/servicedeskapi/request/{issue.id}/sla/{sla_id}"},
            "completedCycles": [_completed(c, goal_ms) for c in cycles if c[1] is not None],
        }
        ongoing = [c for c in cycles if c[1] is None]
        if ongoing:
            value["ongoingCycle"] = _ongoing(ongoing[-1], goal_ms, issue.status, sla_id == "2", now)
        out.append(value)
    return out


def _elapsed_ms(intervals) -> int:
    return sum(int((b - a).total_seconds() * 1000) for a, b in intervals)


def _breach_instant(intervals, goal_ms: int) -> datetime | None:
    """When the running time reached the goal, if it did."""
    spent = 0
    for a, b in intervals:
        length = int((b - a).total_seconds() * 1000)
        if spent + length >= goal_ms:
            return a + timedelta(milliseconds=goal_ms - spent)
        spent += length
    return None


def _completed(cycle, goal_ms: int) -> dict:
    start, stop, intervals = cycle
    elapsed = _elapsed_ms(intervals)
    breach = _breach_instant(intervals, goal_ms) or stop + timedelta(milliseconds=goal_ms - elapsed)
    return {
        "startTime": date_object(start), "stopTime": date_object(stop), "breachTime": date_object(breach),
        "breached": elapsed > goal_ms, "goalDuration": duration(goal_ms),
        "elapsedTime": duration(elapsed), "remainingTime": duration(goal_ms - elapsed),
    }


def _ongoing(cycle, goal_ms: int, status: str, pausing: bool, now: datetime) -> dict:
    start, _, intervals = cycle
    elapsed = _elapsed_ms(intervals)
    paused = pausing and status in PAUSED_STATUSES
    value = {"startTime": date_object(start)}
    if not paused:
        breach = _breach_instant(intervals, goal_ms) or now + timedelta(milliseconds=goal_ms - elapsed)
        value["breachTime"] = date_object(breach)
    value.update({
        "breached": elapsed > goal_ms, "paused": paused, "withinCalendarHours": True,
        "goalDuration": duration(goal_ms), "elapsedTime": duration(elapsed),
        "remainingTime": duration(goal_ms - elapsed),
    })
    return value


def date_object(instant: datetime) -> dict:
    """A JSM DateDTO: iso8601, jira, friendly and epochMillis renderings of one instant (UTC)."""
    return {
        "iso8601": instant.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "jira": instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}+0000",
        "friendly": instant.strftime("%d/%b/%y %I:%M %p"),
        "epochMillis": int(instant.timestamp() * 1000),
    }


def duration(millis: int) -> dict:
    """A JSM DurationDTO; negative remaining times read "-1h -23m" as in Jira."""
    sign = "-" if millis < 0 else ""
    minutes = abs(millis) // 60_000
    hours, minutes = divmod(minutes, 60)
    friendly = f"{sign}{hours}h {sign}{minutes}m" if sign else f"{hours}h {minutes}m"
    return {"millis": millis, "friendly": friendly}
