"""Zendesk payloads -> core.model.Ticket. Pure: no I/O, no clock.

Inputs are the JSON the Support API returns: a ticket (``GET /tickets/{id}``,
with or without its ``{"ticket": ...}`` envelope, or one entry of the cursor
incremental export), optionally its comments (``GET /tickets/{id}/comments``),
its audits (``GET /tickets/{id}/audits``) and side-loaded users, groups and
organizations (``include=users,groups,organizations``).

Roles: a side-loaded user's ``role`` decides (end-user = customer, agent/admin =
agent); without users, the requester is the customer and anyone else an agent.
Changes made by Zendesk itself (author -1) and comments added by triggers or
automations (via ``rule``/``automation``) are ``system``.
https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_audits/
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from connectors.derive import (
    Change,
    decision_tags,
    first_agent_reply,
    history_from,
    is_echo,
    solved_time,
    sort_comments,
)
from connectors.raw import (
    Reader,
    as_flag,
    dig,
    normalize_many as _normalize_many,
    payload_guard,
    raw_id,
    storable,
    storable_value,
)
from connectors.text import to_plain
from core.errors import PayloadError
from core.mapping import ZendeskMapping
from core.markers import has_marker
from core.model import Comment, EventKind, HistoryEvent, Priority, Quarantined, Role, Status, System, Ticket

SYSTEM = System.zendesk
_SYSTEM_AUTHOR = "-1"  # Zendesk's own changes (automations, SLA) carry author_id -1
_SYSTEM_CHANNELS = {"rule", "automation"}
_API_URL_RE = re.compile(r"^(https?://[^/]+)/api/v2/tickets/(\d+)\.json$")
_CHANGE_KINDS = {
    "status": EventKind.status_change,
    "group_id": EventKind.group_change,
    "assignee_id": EventKind.assignee_change,
    "priority": EventKind.priority_change,
}

Records = Iterable[Mapping[str, Any]] | Mapping[Any, Mapping[str, Any]] | None


def _by_id(records: Records, field: str, reader: Reader | None = None) -> dict[str, dict]:
    """Side-loaded records (a list, or already a dict by id) indexed by their string id.

    Entries that are not objects with an id are skipped (that user, group or organization
    is unknown); a side-load that is not a list at all is a PayloadError naming it.
    """
    if records is None:
        return {}
    reader = reader or Reader(SYSTEM, None)
    values = records.values() if isinstance(records, Mapping) else reader.items(records, field)
    return {str(r["id"]): dict(r) for r in values if isinstance(r, Mapping) and r.get("id") is not None}


class _People:
    """Who is who on one ticket: roles, names, and whether deskbridge is the author."""

    def __init__(self, mapping: ZendeskMapping, users: dict[str, dict], requester_id: str | None):
        self.mapping = mapping
        self.users = users
        self.requester_id = requester_id

    def role(self, author_id: str | None, via_channel: str | None = None) -> Role:
        if author_id == _SYSTEM_AUTHOR or via_channel in _SYSTEM_CHANNELS:
            return Role.system
        user = self.users.get(author_id or "")
        if user is not None and isinstance(user.get("role"), str):
            return Role.customer if user["role"] == "end-user" else Role.agent
        return Role.customer if author_id is not None and author_id == self.requester_id else Role.agent

    def is_integration_user(self, author_id: str | None) -> bool:
        email = dig(self.users.get(author_id or ""), "email")
        return self.mapping.integration_user.matches(author_id, email)


def to_ticket(
    raw: Mapping[str, Any],
    mapping: ZendeskMapping,
    *,
    comments: Iterable[Mapping[str, Any]] = (),
    audits: Iterable[Mapping[str, Any]] = (),
    users: Records = None,
    groups: Records = None,
    organizations: Records = None,
) -> Ticket:
    """Normalize one Zendesk ticket; raises PayloadError (never anything else) when it is unusable."""
    ticket = raw.get("ticket", raw) if isinstance(raw, Mapping) else raw
    with payload_guard(SYSTEM, raw_id(ticket, "id")):
        r = Reader(SYSTEM, raw_id(ticket, "id"))
        return _to_ticket(ticket, mapping, comments, audits, _by_id(users, "users", r), _by_id(groups, "groups", r),
                          _by_id(organizations, "organizations", r))


def _to_ticket(t, mapping: ZendeskMapping, comments, audits, users, groups, organizations) -> Ticket:
    if not isinstance(t, Mapping):
        raise Reader(SYSTEM, None).error(None, f"expected a ticket object, got {type(t).__name__}")
    r = Reader(SYSTEM, raw_id(t, "id"))
    ticket_id = r.id(t.get("id"), "id", required=True)
    requester_id = r.id(t.get("requester_id"), "requester_id")
    people = _People(mapping, users, requester_id)
    status, native_status = _status(r, mapping, t.get("status"))
    priority, native_priority = _priority(r, mapping, t.get("priority"))
    fields = _custom_fields(r, mapping, t.get("custom_fields"))
    audits = r.records(audits, "audits")
    for index, audit in enumerate(audits):
        owner = r.id(audit.get("ticket_id"), f"audits[{index}].ticket_id")
        if owner is not None and owner != ticket_id:
            raise r.error(f"audits[{index}].ticket_id", f"belongs to ticket {owner}, not {ticket_id}")
    all_comments = sort_comments(
        [to_comment(c, mapping, people=people, reader=r) for c in r.records(comments, "comments")]
        + comments_from_audits(audits, mapping, people=people, reader=r)
    )
    history = history_from_audits(audits, mapping, people=people, reader=r)
    group_id = r.id(t.get("group_id"), "group_id")
    org_id = r.id(t.get("organization_id"), "organization_id")
    updated_raw = r.text(t.get("updated_at"), "updated_at")
    tags = [storable(str(x)) for x in r.items(t.get("tags"), "tags") if isinstance(x, (str, int))]
    requester = users.get(requester_id or "", {})
    return Ticket(
        system=SYSTEM,
        id=ticket_id,
        key=f"#{ticket_id}",
        url=_agent_url(t.get("url")),
        subject=r.text(t.get("subject"), "subject") or r.text(t.get("raw_subject"), "raw_subject") or "",
        description=to_plain(r.text(t.get("description"), "description")),
        status=status,
        native_status=native_status,
        priority=priority,
        native_priority=native_priority,
        type=r.text(t.get("type"), "type"),
        product_area=fields.pop("_product_area", None),
        requester_id=requester_id,
        requester_name=r.text(requester.get("name"), "users.name"),
        requester_email=r.text(requester.get("email"), "users.email"),
        organization_id=org_id,
        account_id=fields.get("salesforce_account_id") or _org_account(mapping, organizations.get(org_id or "")),
        assignee_id=r.id(t.get("assignee_id"), "assignee_id"),
        group_id=group_id,
        group_name=r.text(dig(groups.get(group_id or ""), "name"), "groups.name"),
        group=mapping.logical_group(group_id),
        tags=decision_tags(mapping.supervisor_decision, None, tags),
        custom_fields=fields,
        agent_escalation_flag=as_flag(fields.get("escalation_flag")),
        customer_escalation_request=as_flag(fields.get("customer_escalation_request")),
        created_at=r.time(t.get("created_at"), "created_at", required=True),
        updated_at=r.time(updated_raw, "updated_at", required=True),
        solved_at=solved_time(status, history, None),
        first_agent_reply_at=first_agent_reply(all_comments),
        comments=all_comments,
        history=history,
        concurrency_token=updated_raw,  # sent back as updated_stamp with safe_update
    )


def _status(r: Reader, mapping: ZendeskMapping, value: Any) -> tuple[Status, str]:
    native = r.text(value, "status")
    if native is None:
        raise r.error("status", "is missing")
    if native not in mapping.status_map:
        raise r.error("status", f"{native!r} is not in the Zendesk mapping's status_map "
                                f"({', '.join(mapping.status_map)})")
    return mapping.status_map[native], native


def _priority(r: Reader, mapping: ZendeskMapping, value: Any) -> tuple[Priority, str | None]:
    native = r.text(value, "priority")
    if native is None or native == "":
        return mapping.missing_priority, None
    if native not in mapping.priority_map:
        raise r.error("priority", f"{native!r} is not in the Zendesk mapping's priority_map "
                                  f"({', '.join(mapping.priority_map)})")
    return mapping.priority_map[native], native


def _custom_fields(r: Reader, mapping: ZendeskMapping, value: Any) -> dict[str, Any]:
    """Mapped custom fields by mapping name; ``_product_area`` carries the logical area."""
    by_id: dict[str, Any] = {}
    for index, entry in enumerate(r.items(value, "custom_fields")):
        if isinstance(entry, Mapping) and entry.get("id") is not None:
            by_id[str(entry["id"])] = entry.get("value")
        elif entry is not None:
            raise r.error(f"custom_fields[{index}]", "expected an object with id and value")
    f = mapping.fields
    out: dict[str, Any] = {}
    for name, ref in f.named().items():
        if by_id.get(ref.field) not in (None, ""):
            out[name] = storable_value(by_id[ref.field])
    for name, field_id in f.extra.items():
        if field_id in by_id:
            out[name] = storable_value(by_id[field_id])
    if "salesforce_account_id" in out:
        out["salesforce_account_id"] = r.text(out["salesforce_account_id"], "custom_fields.salesforce_account_id")
    area = out.get("product_area")
    if area is not None and f.product_area is not None:
        area = r.text(area, "custom_fields.product_area")
        out["_product_area"] = f.product_area.values.get(area) if f.product_area.values is not None else area
    return out


def _org_account(mapping: ZendeskMapping, organization: dict | None) -> str | None:
    if mapping.organization_account_id is None or not organization:
        return None
    value = organization.get(mapping.organization_account_id)
    return storable(str(value)) if isinstance(value, (str, int)) and value != "" else None


def _agent_url(api_url: Any) -> str | None:
    """The agent-facing URL from the API one (…/api/v2/tickets/28.json -> …/agent/tickets/28)."""
    if not isinstance(api_url, str):
        return None
    m = _API_URL_RE.match(api_url)
    return f"{m.group(1)}/agent/tickets/{m.group(2)}" if m else storable(api_url)


def to_comment(raw: Mapping[str, Any], mapping: ZendeskMapping, *, people: _People | None = None,
               reader: Reader | None = None, created_at: Any = None, via: Any = None) -> Comment:
    """One comment (from the comments list, or a Comment event of an audit with its audit's time)."""
    r = reader or Reader(SYSTEM, None)
    people = people or _People(mapping, {}, None)
    author_id = r.id(raw.get("author_id"), "comments.author_id")
    body = _comment_body(r, raw)
    channel = dig(raw, "via", "channel") or dig(via, "channel")
    return Comment(
        id=r.id(raw.get("id"), "comments.id", required=True),
        author_id=author_id,
        author_name=r.text(dig(people.users.get(author_id or ""), "name"), "users.name"),
        role=people.role(author_id, channel if isinstance(channel, str) else None),
        public=raw.get("public") is not False,
        body=body,
        created_at=r.time(raw.get("created_at", created_at), "comments.created_at", required=True),
        by_deskbridge=is_echo(people.is_integration_user(author_id), body),
    )


def _comment_body(r: Reader, raw: Mapping[str, Any]) -> str:
    """The typed text (``body``); ``html_body`` stripped when there is none; ``plain_body`` last."""
    for key in ("body", "html_body", "plain_body"):
        text = r.text(raw.get(key), f"comments.{key}")
        if text:
            return to_plain(text)
    return ""


def comments_from_audits(audits: list[dict], mapping: ZendeskMapping, *, people: _People | None = None,
                         reader: Reader | None = None) -> list[Comment]:
    """The Comment events of audits, each timed by its audit.

    Without ``people`` the requester is taken from the audits' own Create events.
    """
    reader = reader or Reader(SYSTEM, None)
    people = people or _People(mapping, {}, _created_requester(audits, reader))
    out = []
    for index, audit in enumerate(audits):
        for event in reader.records(audit.get("events"), f"audits[{index}].events"):
            if event.get("type") == "Comment":
                out.append(to_comment(event, mapping, people=people, reader=reader,
                                      created_at=audit.get("created_at"), via=audit.get("via")))
    return out


def _created_requester(audits: list[dict], reader: Reader) -> str | None:
    for audit in audits:
        for event in (audit.get("events") or []) if isinstance(audit, Mapping) else []:
            if not isinstance(event, Mapping) or event.get("type") != "Create":
                continue
            if event.get("field_name") == "requester_id":
                return reader.id(event.get("value"), "audits.events.value")
    return None


def history_from_audits(audits: list[dict], mapping: ZendeskMapping, *, people: _People | None = None,
                        reader: Reader | None = None) -> tuple[HistoryEvent, ...]:
    """Creation, status/group/assignee/priority changes and reopens from audit events.

    A change is deskbridge's own when its audit's author is the integration user, or when
    the same audit (one update request) carries a comment with deskbridge's marker: its
    writes always travel with a marked note, so this holds even without side-loaded users.
    """
    people = people or _People(mapping, {}, None)
    reader = reader or Reader(SYSTEM, None)
    changes: list[Change] = []
    for index, audit in enumerate(audits):
        at = reader.time(audit.get("created_at"), f"audits[{index}].created_at", required=True)
        actor = reader.id(audit.get("author_id"), f"audits[{index}].author_id")
        events = reader.records(audit.get("events"), f"audits[{index}].events")
        marked = any(e.get("type") == "Comment" and has_marker(_comment_body(reader, e)) for e in events)
        who = dict(actor_id=actor, actor_role=people.role(actor),
                   by_deskbridge=people.is_integration_user(actor) or marked)
        if any(e.get("type") == "Create" for e in events):
            changes.append(Change(EventKind.created, at, None, None, **who))
        for event in events:
            field_name = event.get("field_name")
            kind = _CHANGE_KINDS.get(field_name) if isinstance(field_name, str) else None
            if event.get("type") == "Change" and kind is not None:
                old, new = (_history_value(mapping, kind, event.get(k)) for k in ("previous_value", "value"))
                changes.append(Change(kind, at, old, new, **who))
    return history_from(changes)


def _history_value(mapping: ZendeskMapping, kind: EventKind, value: Any) -> str | None:
    """Statuses and priorities normalized, groups as logical names where mapped, else the native value."""
    if value is None or value == "" or isinstance(value, (list, dict)):
        return None
    value = storable(str(value))
    if kind is EventKind.status_change:
        return mapping.status_map[value].value if value in mapping.status_map else value
    if kind is EventKind.priority_change:
        return mapping.priority_map[value].value if value in mapping.priority_map else value
    if kind is EventKind.group_change:
        return mapping.logical_group(value) or value
    return value


def normalize_many(
    raws: Iterable[Mapping[str, Any]],
    mapping: ZendeskMapping,
    *,
    comments_by_ticket: Mapping[str, list] | None = None,
    audits_by_ticket: Mapping[str, list] | None = None,
    users: Records = None,
    groups: Records = None,
    organizations: Records = None,
) -> tuple[list[Ticket], list[Quarantined]]:
    """Normalize a page of tickets; bad ones are quarantined with the reason, the rest go on."""
    try:
        users_, groups_ = _by_id(users, "users"), _by_id(groups, "groups")
        orgs_ = _by_id(organizations, "organizations")
    except PayloadError:  # unusable side-loads: passed on as they are, so each ticket is quarantined naming them
        users_, groups_, orgs_ = users, groups, organizations
    comments_by_ticket, audits_by_ticket = comments_by_ticket or {}, audits_by_ticket or {}

    def one(raw: Mapping[str, Any]) -> Ticket:
        tid = raw_id(raw, "id", "ticket.id") or ""
        return to_ticket(raw, mapping, comments=comments_by_ticket.get(tid, ()), audits=audits_by_ticket.get(tid, ()),
                         users=users_, groups=groups_, organizations=orgs_)

    return _normalize_many(raws, one, system=SYSTEM, id_of=lambda raw: raw_id(raw, "id", "ticket.id"))
