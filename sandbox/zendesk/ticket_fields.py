"""``GET /api/v2/ticket_fields.json``: the instance's system and custom ticket fields.

The shape of Zendesk's Ticket Fields API (``ticket_fields``: id, type, title,
active, custom_field_options for drop-downs, system_field_options for status
and priority, ...), cursor-paginated like the other lists. The custom fields
are the sandbox's own (``sandbox.vocab.ZENDESK["custom_fields"]``), with the
product-area drop-down's options, so ``deskbridge check`` can be tried on it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from sandbox.vocab import ZENDESK
from sandbox.zendesk import ids
from sandbox.zendesk.http import JSON
from sandbox.zendesk.paging import base_url, paginate

# (type, title) of the system fields, ids before the custom ones as an instance numbers them
SYSTEM_FIELDS = [("subject", "Subject"), ("description", "Description"), ("status", "Status"),
                 ("tickettype", "Type"), ("priority", "Priority"), ("group", "Group"), ("assignee", "Assignee")]
FIRST_SYSTEM_ID = 360000100
CUSTOM = {  # mapping name -> (type, title)
    "product_area": ("tagger", "Product area"),
    "escalation_flag": ("checkbox", "Escalate (agent)"),
    "customer_escalation_request": ("checkbox", "Customer asked to escalate"),
    "salesforce_account_id": ("text", "Salesforce Account Id"),
}
SYSTEM_OPTIONS = {
    "status": ["new", "open", "pending", "hold", "solved", "closed"],
    "priority": ["low", "normal", "high", "urgent"],
    "tickettype": ["question", "incident", "problem", "task"],
}


def _field(base: str, field_id: int, kind: str, title: str, position: int, created_at: int) -> dict:
    field = {
        "url": f"{base}/api/v2/ticket_fields/{field_id}.json", "id": field_id, "type": kind, "title": title,
        "raw_title": title, "description": "", "raw_description": "", "position": position, "active": True,
        "required": False, "collapsed_for_agents": False, "regexp_for_validation": None, "title_in_portal": title,
        "raw_title_in_portal": title, "visible_in_portal": kind in ("subject", "description"),
        "editable_in_portal": kind in ("subject", "description"), "required_in_portal": False, "tag": None,
        "created_at": ids.iso(created_at), "updated_at": ids.iso(created_at),
        "removable": kind not in dict(SYSTEM_FIELDS), "key": None, "agent_description": None,
    }
    if kind in SYSTEM_OPTIONS:
        field["system_field_options"] = [{"name": v.title(), "value": v} for v in SYSTEM_OPTIONS[kind]]
    if kind == "tagger":
        field["custom_field_options"] = [
            {"id": field_id * 10 + i, "name": area.title(), "raw_name": area.title(), "value": tag, "default": False}
            for i, (area, tag) in enumerate(ZENDESK["product_area_values"].items(), start=1)
        ]
    return field


def ticket_field_routes(created_at: int) -> list[Route]:
    """``created_at``: the instance's own creation (every field predates the tickets)."""

    async def ticket_fields(request: Request) -> JSON:
        base = base_url(request)
        rows = [(FIRST_SYSTEM_ID + i, kind, title) for i, (kind, title) in enumerate(SYSTEM_FIELDS)]
        rows += [(ids.FIELD_IDS[name], kind, title) for name, (kind, title) in CUSTOM.items()]
        return JSON(paginate(request, "ticket_fields", list(enumerate(rows, start=1)),
                             lambda item: _field(base, item[1][0], item[1][1], item[1][2], item[0], created_at)))

    return [Route("/api/v2/ticket_fields.json", ticket_fields, methods=["GET"])]
