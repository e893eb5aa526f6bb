"""Ticket endpoints: show, show_many, update, update_many, comments, audits, metrics (job status: routes_jobs).

Writes are made by the API user (the integration user that owns the token);
a ``conflict`` fault makes a human edit the targeted tickets first, so a
``safe_update`` with the stamp read before then fails with 409 like it would
in a real account.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.requests import Request
from starlette.routing import Route

from sandbox.context import request_fault
from sandbox.zendesk import ids, render
from sandbox.zendesk.edits import Rejected, UpdateConflict, parse_ticket_payload
from sandbox.zendesk.http import JSON, ERRORS, bad_request, error, read_json, record_invalid, too_many_values
from sandbox.zendesk.human import touch
from sandbox.zendesk.jobs import JobBook, job_json
from sandbox.zendesk.metrics import ticket_metric
from sandbox.zendesk.paging import base_url, paginate
from sandbox.zendesk.routes_export import sideloads
from sandbox.zendesk.store import ZendeskStore

MAX_MANY = 100


def parse_ids(raw: str | None) -> list[int]:
    out = []
    for part in (raw or "").split(","):
        part = part.strip()
        if part:
            out.append(int(part))
    return out


def ticket_routes(store: ZendeskStore, jobs: JobBook) -> list[Route]:
    api_user = ids.user_id(ids.INTEGRATION_KEY)

    def conflict(request: Request, ticket_ids: Iterable[int]) -> None:
        if request_fault(request) is not None:
            for tid in ticket_ids:
                touch(store, tid)

    async def show(request: Request) -> JSON:
        tid = request.path_params["ticket_id"]
        conflict(request, [tid])
        base = base_url(request)
        with store.lock:
            ticket = store.tickets.get(tid)
            if ticket is None:
                return error(404)
            return JSON({"ticket": render.ticket(ticket, base, store.users),
                         **sideloads(store, request.query_params.get("include"), [ticket], base)})

    async def show_many(request: Request) -> JSON:
        try:
            wanted = parse_ids(request.query_params.get("ids"))
        except ValueError:
            return bad_request("ids must be a comma-separated list of integers")
        if len(wanted) > MAX_MANY:
            return too_many_values("ids")
        conflict(request, wanted)
        base = base_url(request)
        with store.lock:
            found = [store.tickets[t] for t in wanted if t in store.tickets]
            body = {"tickets": [render.ticket(t, base, store.users) for t in found],
                    **sideloads(store, request.query_params.get("include"), found, base)}
        return JSON({**body, "next_page": None, "previous_page": None, "count": len(found)})

    def apply_one(tid: int, payload: dict):
        edit = parse_ticket_payload(payload)
        return store.apply(tid, edit, author_id=api_user, actor="api", channel="api")

    async def update(request: Request) -> JSON:
        tid = request.path_params["ticket_id"]
        try:
            payload = (await read_json(request)).get("ticket")
        except (json.JSONDecodeError, AttributeError):
            return JSON({"error": "Unprocessable Entity", "description": "Invalid JSON body"}, status_code=400)
        if not isinstance(payload, dict):
            return record_invalid("ticket", "Ticket: is missing")
        conflict(request, [tid])
        base = base_url(request)
        with store.lock:
            try:
                audit = apply_one(tid, payload)
            except KeyError:
                return error(404)
            except UpdateConflict:
                return error(409)
            except Rejected as exc:
                return record_invalid(exc.field_name, exc.description)
            ticket = store.tickets[tid]
            if audit is None:  # nothing changed: Zendesk answers with an empty audit
                audit_json = {"id": store.ids.next(), "ticket_id": tid, "created_at": ids.iso(ticket.updated_at),
                              "author_id": api_user, "metadata": {"system": {}, "custom": {}}, "events": [],
                              "via": render.via("api")}
            else:
                audit_json = render.audit(audit)
            return JSON({"ticket": render.ticket(ticket, base, store.users), "audit": audit_json})

    async def update_many(request: Request) -> JSON:
        try:
            body = await read_json(request)
        except json.JSONDecodeError:
            return JSON({"error": "Unprocessable Entity", "description": "Invalid JSON body"}, status_code=400)
        if "ids" in request.query_params:
            try:
                targets = [(tid, body.get("ticket") or {}) for tid in parse_ids(request.query_params["ids"])]
            except ValueError:
                return bad_request("ids must be a comma-separated list of integers")
            parameter = "ids"
        else:
            entries = body.get("tickets") if isinstance(body, dict) else None
            if not isinstance(entries, list):
                return record_invalid("tickets", "Tickets: is missing")
            targets = [(entry.get("id"), entry) for entry in entries if isinstance(entry, dict)]
            parameter = "tickets"
        if len(targets) > MAX_MANY:
            return too_many_values(parameter)
        conflict(request, [tid for tid, _ in targets if isinstance(tid, int)])
        results = []
        with store.lock:
            for tid, payload in targets:
                results.append(_bulk_result(tid, lambda: apply_one(int(tid), payload)))
            finished = store.ctx.clock.now().strftime("%Y-%m-%d %H:%M:%S +0000")
        job = jobs.add(results, finished)
        return JSON({"job_status": job_json(job, base_url(request), state="queued")})

    def with_ticket(request: Request):
        tid = request.path_params["ticket_id"]
        conflict(request, [tid])
        return store.tickets.get(tid)

    async def comments(request: Request) -> JSON:
        with store.lock:
            ticket = with_ticket(request)
            if ticket is None:
                return error(404)
            rows = ticket.comments()
            if request.query_params.get("sort_order") == "desc":
                rows.reverse()
            return JSON(paginate(request, "comments", rows, render.comment))

    async def audits(request: Request) -> JSON:
        with store.lock:
            ticket = with_ticket(request)
            if ticket is None:
                return error(404)
            rows = list(ticket.audits)
            if request.query_params.get("sort_order") == "desc":
                rows.reverse()
            return JSON(paginate(request, "audits", rows, render.audit))

    async def metrics(request: Request) -> JSON:
        with store.lock:
            ticket = with_ticket(request)
            if ticket is None:
                return error(404)
            return JSON({"ticket_metric": ticket_metric(ticket, store.users, base_url(request))})

    async def list_tickets(request: Request) -> JSON:
        base = base_url(request)
        with store.lock:
            rows = list(store.tickets.values())
            return JSON(paginate(request, "tickets", rows, lambda t: render.ticket(t, base, store.users)))

    return [
        Route("/api/v2/tickets.json", list_tickets, methods=["GET"]),
        Route("/api/v2/tickets/show_many.json", show_many, methods=["GET"]),
        Route("/api/v2/tickets/update_many.json", update_many, methods=["PUT"]),
        Route("/api/v2/tickets/{ticket_id:int}.json", show, methods=["GET"]),
        Route("/api/v2/tickets/{ticket_id:int}.json", update, methods=["PUT"]),
        Route("/api/v2/tickets/{ticket_id:int}/comments.json", comments, methods=["GET"]),
        Route("/api/v2/tickets/{ticket_id:int}/audits.json", audits, methods=["GET"]),
        Route("/api/v2/tickets/{ticket_id:int}/metrics.json", metrics, methods=["GET"]),
    ]


def _bulk_result(tid, apply) -> dict:
    """One entry of a job's ``results``: Updated, or Failed with the error Zendesk would name."""
    base = {"id": tid, "action": "update"}
    try:
        if not isinstance(tid, int):
            raise KeyError(tid)
        apply()
    except KeyError:
        return {**base, "success": False, "status": "Failed", "errors": "RecordNotFound", "details": "Not found"}
    except UpdateConflict:
        return {**base, "success": False, "status": "Failed", "errors": "UpdateConflict", "details": ERRORS[409]["description"]}
    except Rejected as exc:
        return {**base, "success": False, "status": "Failed", "errors": "RecordInvalid", "details": exc.description}
    return {**base, "success": True, "status": "Updated"}
