"""Comments and history in bulk: the incremental ticket event export, read once per run.

``GET incremental/ticket_events.json?start_time=T&include=comment_events`` is
*time-based* by design (there is no cursor variant): each page answers
``ticket_events``, ``end_time``, ``next_page`` and ``end_of_stream``, and the next
page starts at ``end_time`` inclusive, so events of that second can come again —
they are de-duplicated on the event id. Events strictly before ``end_time`` are
complete; those *at* ``end_time`` only once a later page (or ``end_of_stream``)
was read. zenpy's own generator is not used: it stops whenever ``end_time`` lies
within 5 minutes of the wall clock, which is right for Zendesk's one-minute
hold-back but not for a clock that differs from the wall (the sandbox).
https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/#incremental-ticket-event-export

One :class:`EventWindow` serves a whole run: it scans forward lazily, only as far
as the latest ticket page needs, so the comments of N changed tickets cost about
(events in the window / 1000) calls, never one call per ticket. Each ticket gets
the events from the window start up to its own ``updated_at``, shaped as audits
for :func:`connectors.zendesk.normalize.to_ticket`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from core.errors import PayloadError

SYSTEM = "zendesk"
EVENTS_PATH = "incremental/ticket_events.json"
# The audit-level ``via`` of an event is a display name; comments carry their own via object.
_VIA_NAMES = {"web form": "web", "mail": "email", "web service": "api", "rule": "rule", "automation": "automation",
              "web widget": "web_widget", "mobile": "mobile", "closed ticket": "closed_ticket"}
# Change events may name the field as a key instead of ``field_name``/``value``.
_CHANGE_KEYS = ("status", "priority", "group_id", "assignee_id", "tags", "type", "requester_id")

FetchPage = Callable[[int], dict[str, Any]]  # start_time -> one page of the event export


def event_time(event: Mapping[str, Any]) -> int | None:
    """Unix seconds of a ticket event (``timestamp``, else ``created_at``)."""
    stamp = event.get("timestamp")
    if isinstance(stamp, int) and not isinstance(stamp, bool):
        return stamp
    created = event.get("created_at")
    if isinstance(created, str):
        try:
            return int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())
        except ValueError:
            return None
    return None


def as_audit(event: Mapping[str, Any]) -> dict[str, Any]:
    """A ticket event in the shape of a ticket audit (``GET tickets/{id}/audits``)."""
    via = event.get("via")
    channel = _VIA_NAMES.get(via.strip().lower(), via.strip().lower()) if isinstance(via, str) else None
    return {
        "id": event.get("id"),
        "ticket_id": event.get("ticket_id"),
        "created_at": event.get("created_at"),
        "author_id": event.get("updater_id"),
        "via": via if isinstance(via, dict) else {"channel": channel},
        "events": [_as_audit_event(child) for child in event.get("child_events") or [] if isinstance(child, Mapping)],
    }


def _as_audit_event(child: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(child)
    out["type"] = child.get("type") or child.get("event_type")
    if out["type"] in ("Change", "Create") and "field_name" not in child:
        for key in _CHANGE_KEYS:
            if key in child:
                out["field_name"], out["value"] = key, child[key]
                break
    return out


class EventWindow:
    """The run's ticket events from ``start`` on, fetched forward only as far as asked."""

    def __init__(self, fetch: FetchPage, start: int):
        self._fetch = fetch
        self.start = start
        self._next_start = start
        self._complete_to = start - 1  # every event at or before this second has been read
        self._finished = False
        self._seen: set[Any] = set()
        self._by_ticket: dict[str, list[tuple[int, Any, dict]]] = defaultdict(list)
        self.pages = 0

    def audits_for(self, tickets: Iterable[tuple[str, int]]) -> dict[str, list[dict]]:
        """Audits of each ``(ticket id, updated_at seconds)`` from the window start to that time, oldest first."""
        wanted = list(tickets)
        if wanted:
            self._read_through(max(updated for _tid, updated in wanted))
        out: dict[str, list[dict]] = {}
        for tid, updated in wanted:
            rows = sorted((r for r in self._by_ticket.get(tid, ()) if r[0] <= updated), key=lambda r: (r[0], str(r[1])))
            out[tid] = [as_audit(event) for _at, _id, event in rows]
        return out

    def _read_through(self, until: int) -> None:
        while not self._finished and self._complete_to < until:
            body = self._fetch(self._next_start)
            self.pages += 1
            events = body.get("ticket_events")
            if not isinstance(events, list):
                raise PayloadError(SYSTEM, None, "ticket_events", "the event export answered no event list",
                                   kind="response")
            fresh = self._keep(events)
            end_time = body.get("end_time")
            if body.get("end_of_stream") is True:
                self._finished = True
            elif not isinstance(end_time, int) or (end_time <= self._next_start and not fresh):
                self._finished = True  # no progress possible: stop instead of looping
            else:
                self._complete_to = max(self._complete_to, end_time - 1)
                self._next_start = end_time

    def _keep(self, events: list) -> int:
        fresh = 0
        for event in events:
            if not isinstance(event, dict) or event.get("id") in self._seen or "child_events" not in event:
                continue
            at, tid = event_time(event), event.get("ticket_id")
            if at is None or tid is None or at < self.start:
                continue
            self._seen.add(event.get("id"))
            self._by_ticket[str(tid)].append((at, event.get("id"), event))
            fresh += 1
        return fresh
