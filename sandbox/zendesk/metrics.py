"""Ticket metrics (``GET tickets/{id}/metrics.json``) computed from a ticket's audits.

Zendesk keeps one ticket_metric per ticket: counts (reopens, replies, group and
assignee stations), milestone timestamps, and durations in calendar and
business minutes. The emulator derives all of them from the audit history, so
they agree with what the audits and comments endpoints show. Business minutes
use the account's default schedule here: Monday to Friday, 09:00-17:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox.zendesk import ids
from sandbox.zendesk.records import Change, CommentRecord, TicketRecord, UserRecord

BUSINESS_START_HOUR, BUSINESS_END_HOUR = 9, 17
WAIT_BUCKETS = {"new": "requester", "open": "requester", "hold": "requester", "pending": "agent"}


def business_seconds(start: int, end: int) -> int:
    """Seconds between two instants that fall inside the business schedule."""
    if end <= start:
        return 0
    total, day = 0, datetime.fromtimestamp(start, UTC).replace(hour=0, minute=0, second=0)
    while int(day.timestamp()) < end:
        if day.weekday() < 5:
            open_ts = int((day + timedelta(hours=BUSINESS_START_HOUR)).timestamp())
            close_ts = int((day + timedelta(hours=BUSINESS_END_HOUR)).timestamp())
            total += max(0, min(end, close_ts) - max(start, open_ts))
        day += timedelta(days=1)
    return total


def _minutes(start: int | None, end: int | None) -> dict:
    if start is None or end is None:
        return {"calendar": None, "business": None}
    return {"calendar": (end - start) // 60, "business": business_seconds(start, end) // 60}


def _status_timeline(t: TicketRecord) -> list[tuple[int, str | None, str]]:
    """(at, from, to) for the creation status and every status change."""
    timeline: list[tuple[int, str | None, str]] = []
    for audit in t.audits:
        for e in audit.events:
            if isinstance(e, Change) and e.field_name == "status" and e.value:
                timeline.append((audit.at, e.previous if e.kind == "Change" else None, e.value))
    if not timeline:
        timeline.append((t.created_at, None, t.status))
    return timeline


def ticket_metric(t: TicketRecord, users: dict[int, UserRecord], base: str) -> dict:
    timeline = _status_timeline(t)
    solved_times = [at for at, _old, new in timeline if new == "solved"]
    is_solved = t.status in ("solved", "closed")
    solved_at = solved_times[-1] if is_solved and solved_times else None
    until = solved_at if solved_at is not None else t.updated_at
    waits = {"agent": [0, 0], "requester": [0, 0], "hold": [0, 0]}
    for (at, _old, status), nxt in zip(timeline, timeline[1:] + [(until, None, "")]):
        end = min(nxt[0], until)
        for bucket in filter(None, (WAIT_BUCKETS.get(status), "hold" if status == "hold" else None)):
            waits[bucket][0] += max(0, end - at)
            waits[bucket][1] += business_seconds(at, end)
    assignments, group_moves, first_reply, replies = [], 0, None, 0
    latest_comment = requester_updated = assignee_updated = None
    for audit in t.audits:
        for e in audit.events:
            if isinstance(e, CommentRecord):
                latest_comment = audit.at
                author = users.get(e.author_id)
                if e.public and author is not None and author.is_agent and audit is not t.audits[0]:
                    replies += 1
                    first_reply = first_reply or audit.at
            elif e.field_name == "assignee_id" and e.value:
                assignments.append(audit.at)
            elif e.field_name == "group_id" and e.value:
                group_moves += 1
        if audit.author_id == t.requester_id:
            requester_updated = audit.at
        if t.assignee_id is not None and audit.author_id == t.assignee_id:
            assignee_updated = audit.at
    reopens = sum(1 for _at, old, new in timeline if old == "solved" and new != "closed")
    status_updated = timeline[-1][0]
    as_minutes = lambda pair: {"calendar": pair[0] // 60, "business": pair[1] // 60}  # noqa: E731
    stamp = lambda ts: ids.iso(ts) if ts is not None else None  # noqa: E731
    return {
        "url": f"{base}/api/v2/ticket_metrics/{ids.metric_id(t.id)}.json",
        "id": ids.metric_id(t.id),
        "ticket_id": t.id,
        "created_at": ids.iso(t.created_at),
        "updated_at": ids.iso(t.updated_at),
        "group_stations": group_moves,
        "assignee_stations": len(assignments),
        "reopens": reopens,
        "replies": replies,
        "assignee_updated_at": stamp(assignee_updated),
        "requester_updated_at": stamp(requester_updated),
        "status_updated_at": stamp(status_updated),
        "custom_status_updated_at": stamp(status_updated),
        "initially_assigned_at": stamp(assignments[0] if assignments else None),
        "assigned_at": stamp(assignments[-1] if assignments else None),
        "solved_at": stamp(solved_at),
        "latest_comment_added_at": stamp(latest_comment),
        "reply_time_in_minutes": _minutes(t.created_at, first_reply),
        "reply_time_in_seconds": {"calendar": (first_reply - t.created_at) if first_reply else None},
        "first_resolution_time_in_minutes": _minutes(t.created_at, solved_times[0] if solved_times else None),
        "full_resolution_time_in_minutes": _minutes(t.created_at, solved_at),
        "agent_wait_time_in_minutes": as_minutes(waits["agent"]),
        "requester_wait_time_in_minutes": as_minutes(waits["requester"]),
        "on_hold_time_in_minutes": as_minutes(waits["hold"]),
    }
