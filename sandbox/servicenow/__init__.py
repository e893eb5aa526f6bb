"""A stateful ServiceNow instance (Table API + Batch API) that the real pysnc client drives over HTTPS.

``build(ctx, world)`` seeds it from the neutral world and returns the emulator
the sandbox platform serves; see docs/sandbox-servicenow.md for the endpoints,
what is faithful and the known gaps.
"""

from __future__ import annotations

from typing import Any

from sandbox.context import FaultMiddleware, SandboxContext
from sandbox.servicenow.app import error_body, make_app
from sandbox.servicenow.human import apply_human
from sandbox.servicenow.ids import INTEGRATION_USER, incident_number, incident_sys_id, user_sys_id
from sandbox.servicenow.seeding import incident_from_seed, seed_world
from sandbox.servicenow.store import SYSTEM, ServiceNowStore, normalized_priority, normalized_status
from sandbox.servicenow.tables import build_catalog
from sandbox.servicenow.writes import logical_group, user_email
from sandbox.world import SeedTicket, World

__all__ = ["ServiceNowEmulator", "build", "error_body", "incident_number", "incident_sys_id", "user_sys_id"]

SANDBOX_PASSWORD = "sandbox-servicenow-pw"


class ServiceNowEmulator:
    """The emulated instance: its ASGI app (faults included), credentials and admin hooks."""

    system = SYSTEM

    def __init__(self, ctx: SandboxContext, world: World):
        self.ctx = ctx
        self.store = ServiceNowStore(ctx)
        build_catalog(self.store)
        seed_world(self.store, world, ctx.clock.now())
        self.credentials = {"username": INTEGRATION_USER, "password": SANDBOX_PASSWORD}
        self.app = FaultMiddleware(make_app(self.store, ctx, INTEGRATION_USER, SANDBOX_PASSWORD), SYSTEM, ctx,
                                   error_body)

    def __repr__(self) -> str:
        return f"ServiceNowEmulator(incidents={len(self.store.incidents)})"

    def env(self, base_url: str) -> dict[str, str]:
        """What deskbridge reads to reach this instance (the URL must be https: pysnc refuses http)."""
        return {
            "DESKBRIDGE_SERVICENOW_INSTANCE": base_url.rstrip("/"),
            "DESKBRIDGE_SERVICENOW_USERNAME": self.credentials["username"],
            "DESKBRIDGE_SERVICENOW_PASSWORD": self.credentials["password"],
        }

    def create(self, ticket: SeedTicket) -> str:
        """Open an incident from a seed ticket (a caller filing it now); returns its sys_id."""
        with self.store.lock:
            if incident_sys_id(ticket.n) in self.store.incidents:
                raise ValueError(f"incident {incident_number(ticket.n)} already exists")
            incident = incident_from_seed(self.store, ticket, self.ctx.clock.now())
            self.store.add_incident(incident)
        self.ctx.log.write(SYSTEM, incident.sys_id, "created", "human", self.ctx.clock.now(), number=incident.number)
        return incident.sys_id

    def human(self, ticket_id: str, action: dict[str, Any]) -> dict[str, Any]:
        """Apply a simulated UI edit (see the sandbox contract for the actions) and return the new view."""
        apply_human(self.store, self.ctx, self.store.incident(ticket_id), action)
        return self.view(ticket_id)

    def view(self, ticket_id: str) -> dict[str, Any]:
        """A system-neutral snapshot of one incident for assertions and the demo."""
        store = self.store
        with store.lock:
            incident = store.incident(ticket_id)
            return {
                "id": incident.sys_id,
                "key": incident.number,
                "status": normalized_status(incident.state, incident.hold_reason),
                "priority": normalized_priority(incident.priority),
                "group": logical_group(store, incident.assignment_group),
                "assignee": user_email(store, incident.assigned_to),
                "tags": store.tag_names(incident),
                "token": str(incident.mod_count),
                "updated_at": incident.updated_on.isoformat(),
                "comments": [
                    {"public": entry.element == "comments", "body": entry.value,
                     "author_email": getattr(store.users_by_name.get(entry.created_by), "email", None),
                     "at": entry.created_on.isoformat()}
                    for entry in incident.journal
                ],
            }

    def ticket_ids(self) -> list[str]:
        """Incident sys_ids in creation order."""
        with self.store.lock:
            return list(self.store.creation_order)


def build(ctx: SandboxContext, world: World) -> ServiceNowEmulator:
    """Seed a ServiceNow instance from ``world`` and wrap it in the sandbox's fault layer."""
    return ServiceNowEmulator(ctx, world)
