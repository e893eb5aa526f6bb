"""The Zendesk emulator as the sandbox platform sees it (see briefs: emulator contract).

``build(ctx, world)`` seeds a :class:`ZendeskStore` from the world and wires the
Starlette app: routes, then token auth and rate-limit headers
(:class:`~.http.ZendeskGate`), then the shared :class:`FaultMiddleware` outside.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request

from sandbox.context import FaultMiddleware, SandboxContext
from sandbox.world import SeedTicket, World
from sandbox.zendesk import ids
from sandbox.zendesk.http import ZendeskGate, error_body, invalid_endpoint
from sandbox.zendesk.human import apply_human_action
from sandbox.zendesk.jobs import JobBook
from sandbox.zendesk.routes_jobs import job_routes
from sandbox.zendesk.routes_directory import directory_routes
from sandbox.zendesk.routes_export import export_routes
from sandbox.zendesk.routes_tickets import ticket_routes
from sandbox.zendesk.ticket_fields import ticket_field_routes
from sandbox.zendesk.seed import build_ticket, seed_store
from sandbox.zendesk.store import SYSTEM, ZendeskStore


async def _not_found(request: Request, exc: Exception):
    return invalid_endpoint()


class ZendeskEmulator:
    """A stateful Zendesk Support account reachable by zenpy over HTTPS."""

    system = SYSTEM

    def __init__(self, ctx: SandboxContext, world: World):
        self.ctx = ctx
        self.store = ZendeskStore(ctx)
        seed_store(self.store, world)
        self.jobs = JobBook()
        token = "zdsbx_" + hashlib.sha256(f"deskbridge-sandbox-zendesk:{world.seed}".encode()).hexdigest()[:32]
        self.credentials = {"subdomain": ids.SUBDOMAIN, "email": ids.INTEGRATION_EMAIL, "token": token}
        routes = (export_routes(self.store) + ticket_routes(self.store, self.jobs) + job_routes(self.jobs)
                  + directory_routes(self.store) + ticket_field_routes(self.store.since))
        app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
        gated = ZendeskGate(app, ids.INTEGRATION_EMAIL, token)
        self.app = FaultMiddleware(gated, SYSTEM, ctx, error_body)

    def env(self, base_url: str) -> dict[str, str]:
        """What points deskbridge (and zenpy, process-wide) at this emulator."""
        return {
            "DESKBRIDGE_ZENDESK_SUBDOMAIN": ids.SUBDOMAIN,
            "DESKBRIDGE_ZENDESK_EMAIL": self.credentials["email"],
            "DESKBRIDGE_ZENDESK_TOKEN": self.credentials["token"],
            "ZENPY_FORCE_NETLOC": urlsplit(base_url).netloc,
        }

    def create(self, ticket: SeedTicket) -> str:
        """A customer opens a ticket now; it gets the next free id."""
        with self.store.lock:
            ticket_id = self.store.next_ticket_id()
            record = build_ticket(self.store, ticket, ticket_id, channel="web")
            self.store.add_ticket(record)
        self.ctx.log.write(SYSTEM, str(ticket_id), "created", "human", self.ctx.clock.now(), subject=ticket.subject)
        return str(ticket_id)

    def human(self, ticket_id: str, action: dict) -> dict:
        """Apply a person's edit through the (simulated) agent UI and return the new view."""
        apply_human_action(self.store, self._id(ticket_id), action)
        return self.view(ticket_id)

    def view(self, ticket_id: str) -> dict:
        """A system-neutral snapshot for assertions and the demo."""
        store = self.store
        with store.lock:
            t = store.ticket(self._id(ticket_id))
            token = ids.iso(t.updated_at)
            return {
                "id": str(t.id),
                "key": str(t.id),
                "status": ids.STATUS_FROM_NATIVE[t.status],
                "priority": ids.PRIORITY_FROM_NATIVE.get(t.priority) if t.priority else None,
                "group": ids.GROUP_FROM_ID.get(t.group_id) if t.group_id else None,
                "assignee": store.email_of(t.assignee_id),
                "tags": list(t.tags),
                "token": token,
                "updated_at": token,
                "comments": [{"public": e.comment.public, "body": e.comment.body,
                              "author_email": store.email_of(e.comment.author_id), "at": ids.iso(e.at)}
                             for e in t.comments()],
            }

    def ticket_ids(self) -> list[str]:
        with self.store.lock:
            return [str(tid) for tid in self.store.tickets]

    @staticmethod
    def _id(ticket_id: str | int) -> int:
        try:
            return int(ticket_id)
        except ValueError:
            raise KeyError(ticket_id) from None


def build(ctx: SandboxContext, world: World) -> ZendeskEmulator:
    """The emulator contract's entry point."""
    return ZendeskEmulator(ctx, world)
