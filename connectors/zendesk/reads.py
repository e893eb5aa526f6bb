"""The read side: the cursor-based incremental export, bulk re-reads and full histories.

Pull: ``GET incremental/tickets/cursor.json`` ONLY (``start_time`` on a first run,
``cursor`` afterwards) — never the time-based ticket export, which repeats and can
loop on tickets sharing a second. Every page is requested with ``per_page`` and
``include=users,groups,organizations`` built from the cursor ourselves (zenpy drops
``per_page`` on the cursor path and does not re-send ``include``), so each page
carries its own side-loads and its ``after_cursor``, and the cursor handed out
with a page covers exactly the tickets in it. Pages end with ``end_of_stream: true``.
https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/#incremental-ticket-export-cursor-based

Comments and history of the pulled tickets come from one :class:`EventWindow` per
run (the event export from the cursor's position minus an overlap), so a pulled
ticket carries the activity since the previous run's position — not its whole
life. The whole life (every audit: comments *and* changes) is read only for
tickets that escalate: :meth:`Reader.fetch` with ``full_history=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from connectors.base import Page
from connectors.raw import normalize_many, raw_id
from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.cursor import PullCursor
from connectors.zendesk.events import EVENTS_PATH, EventWindow, Handout, unix_seconds
from connectors.zendesk.normalize import to_ticket
from connectors.zendesk.people import Directory
from core.errors import APIError, PayloadError
from core.mapping import ZendeskMapping
from core.model import Quarantined, System, Ticket

EXPORT_PATH = "incremental/tickets/cursor.json"
SIDELOADS = "users,groups,organizations"
MAX_IDS = 100
AUDIT_PAGE = 100
EVENT_PAGE = 1000


class Reader:
    """Reads tickets for one connector; ``seen`` is told about every ticket normalized."""

    def __init__(self, client: ZendeskClient, mapping: ZendeskMapping, directory: Directory, *,
                 page_size: int, event_overlap: int, seen: Callable[[Ticket], None]):
        self.client = client
        self.mapping = mapping
        self.directory = directory
        self.page_size = page_size
        self.event_overlap = event_overlap
        self.seen = seen

    # -- pull ----------------------------------------------------------------------------------

    def pull(self, cursor: str | None, start: datetime) -> Iterator[Page]:
        """Pages of changed tickets with the cursor to commit after each."""
        if cursor:
            resume = PullCursor.decode(cursor)
            query: dict[str, Any] = {"cursor": resume.export_cursor}
            position, window_start = resume.position, resume.position - self.event_overlap
        else:
            position = window_start = int(start.timestamp())
            query = {"start_time": position}
        events = EventWindow(self._event_page, max(0, window_start))
        cursors_seen: set[str] = {query["cursor"]} if "cursor" in query else set()
        current = cursor
        try:
            while True:
                body = self.client.get(EXPORT_PATH, {**query, "per_page": self.page_size, "include": SIDELOADS})
                raws = _tickets(body)
                after = body.get("after_cursor")
                position = max([position, *(s for s in map(_updated_seconds, raws) if s is not None)])
                page = self._page(raws, body, events)
                page.cursor = PullCursor(after, position).encode() if isinstance(after, str) and after else current
                if raws or page.cursor != current:
                    yield page
                current = page.cursor
                if body.get("end_of_stream") is True or not after or after in cursors_seen:
                    return  # end_of_stream, or a cursor handed out before: stop rather than loop
                cursors_seen.add(after)
                query = {"cursor": after}
        finally:
            events.close()

    def _page(self, raws: list[dict], body: dict, events: EventWindow) -> Page:
        """Normalize one export page with its side-loads and its tickets' events; repeats dropped.

        A ticket version at or before one already handed out in this run is a repeat. A
        ticket's later version carries only the events since its earlier hand-out, and says
        so (``history_since``): the pipeline merges it with the snapshot it stored of the
        earlier one. A ticket older than the window carries only its recent activity: its
        ``history_since`` is the window start, so the pipeline reads its audits only if it escalates.
        """
        keys = [(str(r.get("id")), s) if (s := _updated_seconds(r)) is not None else None for r in raws]
        latest: dict[str, int] = {}
        for key in filter(None, keys):  # the export gives a ticket once; if not, its newest version counts
            latest[key[0]] = max(key[1], latest.get(key[0], key[1]))
        handouts = events.hand_out(latest.items())
        fresh: list[dict] = []
        for raw, key in zip(raws, keys):
            if key is None:
                fresh.append(raw)  # no readable updated_at, so no events: it goes on to be quarantined
            elif key[0] in handouts and latest.get(key[0]) == key[1]:
                fresh.append(raw)
                del latest[key[0]]  # once
        audits = {tid: h.audits for tid, h in handouts.items()}
        self.directory.remember(body.get("users"))
        users = self._users_for(body.get("users"), audits.values())
        tickets, quarantined = normalize_page(fresh, self.mapping, audits, users, body)
        window_start = datetime.fromtimestamp(events.start, UTC)
        tickets = [_with_history_since(t, window_start, handouts.get(t.id)) for t in tickets]
        for ticket in tickets:
            self.seen(ticket)
        return Page(tickets=tickets, quarantined=quarantined, raw_count=len(raws))

    def _event_page(self, start_time: int) -> dict[str, Any]:
        # Always the largest event page: events outnumber changed tickets, whatever the ticket page size.
        return self.client.get(EVENTS_PATH, {"start_time": start_time, "include": "comment_events",
                                             "per_page": EVENT_PAGE})

    # -- fetch ---------------------------------------------------------------------------------

    def fetch(self, ids: Sequence[str], full_history: bool) -> tuple[list[Ticket], list[Quarantined]]:
        """These tickets now (``show_many``, 100 a call); with every audit when ``full_history``."""
        tickets: list[Ticket] = []
        quarantined: list[Quarantined] = []
        wanted = list(dict.fromkeys(str(i) for i in ids))
        for bad in (i for i in wanted if not i.isdigit()):
            quarantined.append(Quarantined(system=System.zendesk, ticket_id=bad, field="id",
                                           reason=f"zendesk ticket id {bad!r} is not a number"))
        numeric = [i for i in wanted if i.isdigit()]
        for start in range(0, len(numeric), MAX_IDS):
            chunk = numeric[start:start + MAX_IDS]
            body = self.client.get("tickets/show_many.json", {"ids": ",".join(chunk), "include": SIDELOADS})
            raws = _tickets(body)
            self.directory.remember(body.get("users"))
            audits = self._full_audits(raws) if full_history else {}
            users = self._users_for(body.get("users"), audits.values())
            done, bad = normalize_page(raws, self.mapping, audits, users, body)
            if not full_history:  # no comments or history read: nothing is known before this version
                done = [t.model_copy(update={"history_since": t.updated_at}) for t in done]
            for ticket in done:
                self.seen(ticket)
            tickets += done
            quarantined += bad
        return tickets, quarantined

    def _full_audits(self, raws: list[dict]) -> dict[str, list[dict]]:
        """Every audit of each ticket (comments and changes), ``GET tickets/{id}/audits.json`` per ticket."""
        out: dict[str, list[dict]] = {}
        for raw in raws:
            tid = str(raw.get("id"))
            try:
                out[tid] = self.client.get_pages(f"tickets/{tid}/audits.json", "audits", size=AUDIT_PAGE)
            except APIError as exc:
                if exc.status != 404:
                    raise
                out[tid] = []  # deleted between show_many and now: the ticket is normalized without history
        return out

    def _users_for(self, sideloaded: Any, audit_lists) -> list[dict]:
        """Side-loaded users plus every audit author and comment author, fetched in bulk when unknown."""
        authors = {a.get("author_id") for audits in audit_lists for a in audits}
        authors |= {e.get("author_id") for audits in audit_lists for a in audits for e in a.get("events") or ()
                    if isinstance(e, dict) and e.get("type") == "Comment"}
        known = [u for u in sideloaded or () if isinstance(u, dict)]
        return known + self.directory.users(a for a in authors if a is not None)


def normalize_page(raws: list[dict], mapping: ZendeskMapping, audits: dict[str, list[dict]], users: list[dict],
                   body: dict[str, Any]) -> tuple[list[Ticket], list[Quarantined]]:
    """:func:`normalize.to_ticket` on each ticket with only *its* people, group and organization.

    ``normalize.normalize_many`` hands every ticket the page's whole side-load lists, which
    ``to_ticket`` re-indexes per ticket: quadratic on a 1000-ticket page (about half the
    pull's time). Picking each ticket's own records first keeps the page linear.
    """
    users_by_id, groups, orgs = _index(users), _index(body.get("groups")), _index(body.get("organizations"))

    def one(raw: dict) -> Ticket:
        tid = str(raw.get("id"))
        own = audits.get(tid, [])
        people = {raw.get("requester_id"), raw.get("submitter_id"), raw.get("assignee_id")}
        people |= {a.get("author_id") for a in own}
        people |= {e.get("author_id") for a in own for e in a.get("events") or () if isinstance(e, dict)}
        return to_ticket(
            raw, mapping, audits=own, users=[users_by_id[str(p)] for p in people if str(p) in users_by_id],
            groups=_one(groups, raw.get("group_id")), organizations=_one(orgs, raw.get("organization_id")),
        )  # fmt: skip

    return normalize_many(raws, one, system=System.zendesk, id_of=lambda raw: raw_id(raw, "id", "ticket.id"))


def _index(records: Any) -> dict[str, dict]:
    return {str(r["id"]): r for r in records or () if isinstance(r, dict) and r.get("id") is not None}


def _one(index: dict[str, dict], key: Any) -> list[dict]:
    return [index[str(key)]] if key is not None and str(key) in index else []


def _tickets(body: dict[str, Any]) -> list[dict]:
    rows = body.get("tickets")
    if not isinstance(rows, list):
        raise PayloadError("zendesk", None, "tickets", "the answer has no ticket list", kind="response")
    return [r if isinstance(r, dict) else {"id": None, "_raw": r} for r in rows]


def _with_history_since(ticket: Ticket, window_start: datetime, handout: Handout | None) -> Ticket:
    """The ticket with the instant its comments and history are complete from (None: its whole life)."""
    if handout is not None and handout.since is not None:
        since: datetime | None = datetime.fromtimestamp(handout.since, UTC)
    else:
        since = window_start if ticket.created_at < window_start else None
    return ticket if since == ticket.history_since else ticket.model_copy(update={"history_since": since})


def _updated_seconds(raw: dict[str, Any]) -> int | None:
    return unix_seconds(raw.get("updated_at"))
