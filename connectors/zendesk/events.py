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
for :func:`connectors.zendesk.normalize.to_ticket`; events wait on disk until then
(:mod:`connectors.zendesk.spool`), so memory does not grow with the backlog.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.zendesk.spool import EventSpool
from core.errors import PayloadError

SYSTEM = "zendesk"
EVENTS_PATH = "incremental/ticket_events.json"
# The audit-level ``via`` of an event is a display name; comments carry their own via object.
_VIA_NAMES = {"web form": "web", "mail": "email", "web service": "api", "rule": "rule", "automation": "automation",
              "web widget": "web_widget", "mobile": "mobile", "closed ticket": "closed_ticket"}
# Change events may name the field as a key instead of ``field_name``/``value``.
_CHANGE_KEYS = ("status", "priority", "group_id", "assignee_id", "tags", "type", "requester_id")

FetchPage = Callable[[int], dict[str, Any]]  # start_time -> one page of the event export


def unix_seconds(value: Any) -> int | None:
    """Unix seconds of an ISO 8601 instant as Zendesk writes them (``...Z``); None if unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def event_time(event: Mapping[str, Any]) -> int | None:
    """Unix seconds of a ticket event (``timestamp``, else ``created_at``)."""
    stamp = event.get("timestamp")
    if isinstance(stamp, int) and not isinstance(stamp, bool):
        return stamp
    return unix_seconds(event.get("created_at"))


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


@dataclass(frozen=True)
class Handout:
    """One ticket version's audits. ``since``: the second of this ticket's earlier hand-out in this run,
    whose events went with that earlier version (these audits are the ones after it); None if the first."""

    audits: list[dict]
    since: int | None = None


class EventWindow:
    """The run's ticket events from ``start`` on, fetched forward only as far as asked.

    Memory stays bounded whatever the backlog: events wait on disk in an
    :class:`~connectors.zendesk.spool.EventSpool` until their ticket is handed out
    (and are dropped then), and only the ids of events that can still come again
    (those at or after the next page's start) are kept for de-duplication.
    """

    def __init__(self, fetch: FetchPage, start: int, spool: EventSpool | None = None):
        self._fetch = fetch
        self.start = start
        self._next_start = start
        self._complete_to = start - 1  # every event at or before this second has been read
        self._finished = False
        self._repeatable: dict[Any, int] = {}  # event id -> second, for events a later page may return again
        self._spool = spool or EventSpool()
        self.pages = 0

    def hand_out(self, tickets: Iterable[tuple[str, int]]) -> dict[str, Handout]:
        """Audits of each ``(ticket id, updated_at seconds)`` up to that time, oldest first; once per run.

        A ticket's first hand-out in the run carries its events from the window
        start; a newer version later in the run carries only the events after the
        earlier hand-out (``Handout.since``). A version at or before one already
        handed out is left out of the answer: it is a repeat.
        """
        wanted = list(tickets)
        if wanted:
            self._read_through(max(updated for _tid, updated in wanted))
        out: dict[str, Handout] = {}
        for tid, updated in wanted:
            before = self._spool.handed_at(tid)
            if before is not None and updated <= before:
                continue
            events = self._spool.take(tid, updated)
            self._spool.mark_handed(tid, updated)
            out[tid] = Handout([as_audit(event) for event in events], before)
        return out

    @property
    def repeatable_ids(self) -> frozenset:
        """The event ids kept for de-duplication: those a later page may return again."""
        return frozenset(self._repeatable)

    @property
    def waiting(self) -> int:
        """Events read and not yet handed out."""
        return self._spool.waiting

    def close(self) -> None:
        self._spool.close()

    def _read_through(self, until: int) -> None:
        """Read forward until every event at or before ``until`` is in, or the export has no more yet.

        ``end_of_stream`` ends this read, not the window: a ticket updated while the run
        goes on (its newer version comes in a later ticket page) makes the window read on
        from ``end_time`` for the events that happened since.
        """
        while not self._finished and self._complete_to < until:
            body = self._fetch(self._next_start)
            self.pages += 1
            events = body.get("ticket_events")
            if not isinstance(events, list):
                raise PayloadError(SYSTEM, None, "ticket_events", "the event export answered no event list",
                                   kind="response")
            fresh = self._keep(events)
            end_time = body.get("end_time")
            if not isinstance(end_time, int) or (end_time <= self._next_start and not fresh):
                self._finished = True  # no progress possible: stop instead of looping
                self._repeatable.clear()
                return
            self._complete_to = max(self._complete_to, end_time - 1)
            self._next_start = max(self._next_start, end_time)
            # The next page starts at end_time inclusive: only events of that second on can come again.
            self._repeatable = {i: at for i, at in self._repeatable.items() if at >= self._next_start}
            if body.get("end_of_stream") is True:
                return  # caught up for now

    def _keep(self, events: list) -> int:
        rows = []
        for event in events:
            if not isinstance(event, dict) or event.get("id") in self._repeatable or "child_events" not in event:
                continue
            at, tid = event_time(event), event.get("ticket_id")
            if at is None or tid is None or at < self.start:
                continue
            self._repeatable[event.get("id")] = at
            rows.append((str(tid), at, event.get("id"), event))
        self._spool.add(rows)
        return len(rows)
