"""Incremental exports: cursor-based tickets and time-based ticket events.

Cursor export (``incremental/tickets/cursor.json``) walks tickets in
``(updated_at, id)`` order. Keys never tie, so tickets that share an
``updated_at`` second are neither lost nor repeated across a page edge, and a
ticket changed later moves behind every cursor already handed out. Pages carry
``after_cursor``/``after_url`` (absolute, keeping ``per_page`` and ``include``,
which zenpy does not re-send) and ``end_of_stream``; there is deliberately no
``end_time`` key (zenpy would stop early). Side-loads are top-level lists.

Ticket events (``incremental/ticket_events.json``) are time-based: ``next_page``
restarts at ``end_time``, so events of that second may come again (as in Zendesk;
de-duplicate on the event id); a page always completes its last second.
Both exports hold back the current virtual second, as Zendesk holds back the last minute.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from sandbox.zendesk import render
from sandbox.zendesk.http import JSON, bad_request
from sandbox.zendesk.metrics import ticket_metric
from sandbox.zendesk.paging import BadCursor, base_url, decode_cursor, encode_cursor, int_param, page_url
from sandbox.zendesk.records import TicketRecord
from sandbox.zendesk.store import ZendeskStore

MAX_PER_PAGE = 1000
FAR_ID = 2**62


def sideloads(store: ZendeskStore, include: str | None, tickets: list[TicketRecord], base: str) -> dict:
    """The ``include=users,groups,organizations,metric_sets`` lists for these tickets."""
    wanted = {part.strip() for part in (include or "").split(",") if part.strip()}
    out: dict[str, list] = {}
    if "users" in wanted:
        user_ids = dict.fromkeys(u for t in tickets for u in (t.requester_id, t.submitter_id, t.assignee_id) if u)
        out["users"] = [render.user(store.users[u], base) for u in user_ids if u in store.users]
    if "groups" in wanted:
        group_ids = dict.fromkeys(t.group_id for t in tickets if t.group_id)
        out["groups"] = [render.group(g, base, store.since) for g in group_ids]
    if "organizations" in wanted:
        org_ids = dict.fromkeys(t.organization_id for t in tickets if t.organization_id)
        out["organizations"] = [render.organization(store.organizations[o], base) for o in org_ids if o in store.organizations]
    if "metric_sets" in wanted:
        out["metric_sets"] = [ticket_metric(t, store.users, base) for t in tickets]
    return out


def export_routes(store: ZendeskStore) -> list[Route]:
    async def tickets_cursor(request: Request) -> JSON:
        params = request.query_params
        per_page = int_param(request, "per_page", MAX_PER_PAGE, MAX_PER_PAGE)
        include = params.get("include")
        if ("cursor" in params) == ("start_time" in params):
            return bad_request("Provide exactly one of start_time or cursor")
        before = False
        try:
            if "cursor" in params:
                key, before = decode_cursor(params["cursor"])
            else:
                key = (int(params["start_time"]) - 1, FAR_ID)
        except (BadCursor, ValueError):
            return bad_request("Invalid cursor or start_time")
        base = base_url(request)
        with store.lock:
            if before:
                rows, earlier = store.tickets_before(key, per_page)
                more = True  # the cursor's own position lies after this page
            else:
                rows, more = store.tickets_after(key, per_page)
                earlier = "cursor" in params  # a first page (start_time) has no before cursor
            first = (rows[0].updated_at, rows[0].id) if rows else key
            last = (rows[-1].updated_at, rows[-1].id) if rows else key
            body = {"tickets": [render.ticket(t, base, store.users) for t in rows],
                    **sideloads(store, include, rows, base)}
        after_cursor = encode_cursor(last)
        before_cursor = encode_cursor(first, before=True) if rows and earlier else None
        link = lambda cursor: page_url(request, {"cursor": cursor, "per_page": params.get("per_page"), "include": include})  # noqa: E731
        body.update({
            "after_url": link(after_cursor),
            "before_url": link(before_cursor) if before_cursor else None,
            "after_cursor": after_cursor,
            "before_cursor": before_cursor,
            "end_of_stream": not more,
        })
        return JSON(body)

    async def ticket_events(request: Request) -> JSON:
        params = request.query_params
        try:
            start_time = int(params["start_time"])
        except (KeyError, ValueError):
            return bad_request("start_time is required and must be a unix timestamp")
        per_page = int_param(request, "per_page", MAX_PER_PAGE, MAX_PER_PAGE)
        with_comments = "comment_events" in (params.get("include") or "")
        with store.lock:
            audits, more = store.events_since(start_time, per_page)
            events = [render.ticket_event(a, with_comments) for a in audits]
        end_time = audits[-1].at if audits else start_time
        next_page = page_url(request, {"start_time": end_time, "per_page": params.get("per_page"),
                                       "include": params.get("include")})
        return JSON({"ticket_events": events, "next_page": next_page, "count": len(events),
                     "end_of_stream": not more, "end_time": end_time})

    return [
        Route("/api/v2/incremental/tickets/cursor.json", tickets_cursor, methods=["GET"]),
        Route("/api/v2/incremental/ticket_events.json", ticket_events, methods=["GET"]),
    ]

