"""Native Zendesk JSON for every record, in the shape of the real API.

Key sets and value types follow the recorded payloads in
``shared/reference/payloads/zendesk``; URLs are absolute to the emulator
(``base`` is the request's own scheme://host:port) because zenpy follows them.
"""

from __future__ import annotations

import html
from typing import Any

from sandbox.zendesk import ids
from sandbox.zendesk.records import (AuditRecord, Change, CommentEntry, CommentRecord, OrganizationRecord, TicketRecord,
                                     UserRecord)

CHANNEL_NAMES = {"web": "Web form", "email": "Mail", "api": "Web service"}


def via(channel: str, from_address: str | None = None, from_name: str | None = None) -> dict:
    source: dict[str, Any] = {"from": {}, "to": {}, "rel": None}
    if channel == "email":
        source["from"] = {"address": from_address, "name": from_name}
        source["to"] = {"name": "Acme Support", "address": ids.SUPPORT_ADDRESS}
    return {"channel": channel, "source": source}


def ticket(t: TicketRecord, base: str, users: dict[int, UserRecord]) -> dict:
    requester = users.get(t.requester_id)
    custom = [{"id": fid, "value": value} for fid, value in zip(ids.FIELD_ORDER, t.fields)]
    public = any(entry.comment.public for entry in t.comments())
    return {
        "url": f"{base}/api/v2/tickets/{t.id}.json",
        "id": t.id,
        "external_id": None,
        "via": via(t.channel, requester.email if requester else None, requester.name if requester else None),
        "created_at": ids.iso(t.created_at),
        "updated_at": ids.iso(t.updated_at),
        "generated_timestamp": t.updated_at,
        "type": None,
        "subject": t.subject,
        "raw_subject": t.subject,
        "description": t.description,
        "priority": t.priority,
        "status": t.status,
        "recipient": ids.SUPPORT_ADDRESS if t.channel == "email" else None,
        "requester_id": t.requester_id,
        "submitter_id": t.submitter_id,
        "assignee_id": t.assignee_id,
        "organization_id": t.organization_id,
        "group_id": t.group_id,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "forum_topic_id": None,
        "problem_id": None,
        "has_incidents": False,
        "is_public": public,
        "due_at": None,
        "tags": list(t.tags),
        "custom_fields": custom,
        "satisfaction_rating": {"score": "offered" if t.status in ("solved", "closed") else "unoffered"},
        "sharing_agreement_ids": [],
        "custom_status_id": ids.CUSTOM_STATUS_IDS[t.status],
        "fields": [dict(entry) for entry in custom],
        "followup_ids": [],
        "ticket_form_id": ids.TICKET_FORM_ID,
        "brand_id": ids.BRAND_ID,
        "allow_channelback": False,
        "allow_attachments": True,
        "from_messaging_channel": False,
    }


def user(u: UserRecord, base: str) -> dict:
    agent = u.is_agent
    return {
        "id": u.id,
        "url": f"{base}/api/v2/users/{u.id}.json",
        "name": u.name,
        "email": u.email,
        "created_at": ids.iso(u.created_at),
        "updated_at": ids.iso(u.created_at),
        "time_zone": "Etc/UTC",
        "iana_time_zone": "Etc/UTC",
        "phone": None,
        "shared_phone_number": None,
        "photo": None,
        "locale_id": 1,
        "locale": "en-US",
        "organization_id": u.organization_id,
        "role": u.role,
        "verified": True,
        "external_id": None,
        "tags": [],
        "alias": None,
        "active": True,
        "shared": False,
        "shared_agent": False,
        "last_login_at": ids.iso(u.created_at) if agent else None,
        "two_factor_auth_enabled": None,
        "signature": None,
        "details": None,
        "notes": None,
        "role_type": 4 if u.role == "admin" else None,
        "custom_role_id": ids.CUSTOM_ROLE_ID if agent else None,
        "moderator": agent,
        "ticket_restriction": None if agent else "requested",
        "only_private_comments": False,
        "restricted_agent": False,
        "suspended": False,
        "default_group_id": u.default_group_id,
        "report_csv": agent,
        "user_fields": {},
    }


def organization(o: OrganizationRecord, base: str) -> dict:
    return {
        "url": f"{base}/api/v2/organizations/{o.id}.json",
        "id": o.id,
        "name": o.name,
        "shared_tickets": False,
        "shared_comments": False,
        "external_id": o.external_id,
        "created_at": ids.iso(o.created_at),
        "updated_at": ids.iso(o.created_at),
        "domain_names": [],
        "details": None,
        "notes": None,
        "group_id": None,
        "tags": [],
        "organization_fields": {},
    }


def group(group_id: int, base: str, created_at: int) -> dict:
    return {
        "url": f"{base}/api/v2/groups/{group_id}.json",
        "id": group_id,
        "is_public": True,
        "name": ids.GROUP_NAMES[group_id],
        "description": "",
        "default": group_id == ids.GROUP_IDS["l1"],
        "deleted": False,
        "created_at": ids.iso(created_at),
        "updated_at": ids.iso(created_at),
    }


def html_body(c: CommentRecord) -> str:
    if c.html_body:
        return c.html_body
    paragraphs = "".join(f'<p dir="auto">{html.escape(p)}</p>' for p in c.body.split("\n\n"))
    return f'<div class="zd-comment" dir="auto">{paragraphs}</div>'


def comment_event(event_id: int, c: CommentRecord, audit_id: int) -> dict:
    """A comment as an audit event (no via, metadata or created_at: those sit on the audit)."""
    return {
        "id": event_id,
        "type": "Comment",
        "author_id": c.author_id,
        "body": c.body,
        "html_body": html_body(c),
        "plain_body": c.body,
        "public": c.public,
        "attachments": [],
        "audit_id": audit_id,
    }


def comment(entry: CommentEntry) -> dict:
    """A comment as the comments endpoint lists it."""
    audit = entry.audit
    return {
        **comment_event(entry.id, entry.comment, audit.id),
        "via": via(audit.channel),
        "created_at": ids.iso(audit.at),
        "metadata": {"system": {"client": "deskbridge-sandbox"} if audit.channel == "api" else {}, "custom": {}},
    }


def change_event(event_id: int, ch: Change) -> dict:
    event = {"id": event_id, "type": ch.kind, "value": ch.value, "field_name": ch.field_name}
    if ch.kind == "Change":
        event["previous_value"] = ch.previous
    return event


def _event(a: AuditRecord, position: int, e: Change | CommentRecord) -> dict:
    event_id = a.event_id(position)
    return comment_event(event_id, e, a.id) if isinstance(e, CommentRecord) else change_event(event_id, e)


def audit(a: AuditRecord) -> dict:
    return {
        "id": a.id,
        "ticket_id": a.ticket_id,
        "created_at": ids.iso(a.at),
        "author_id": a.author_id,
        "metadata": {"system": {}, "custom": {}},
        "events": [_event(a, i, e) for i, e in enumerate(a.events)],
        "via": via(a.channel),
    }


def ticket_event(a: AuditRecord, with_comments: bool) -> dict:
    """One audit as the incremental ticket event export renders it."""
    children = []
    for i, e in enumerate(a.events):
        if isinstance(e, CommentRecord):
            if with_comments:
                children.append({**_event(a, i, e), "via": via(a.channel), "via_reference_id": None,
                                 "created_at": ids.iso(a.at), "event_type": "Comment"})
            continue
        child = {**_event(a, i, e), "via": CHANNEL_NAMES.get(a.channel, a.channel), "via_reference_id": None,
                 "event_type": e.kind}
        if e.field_name == "tags":
            before = e.previous or []
            child["added_tags"] = [t for t in e.value if t not in before]
            child["removed_tags"] = [t for t in before if t not in e.value]
        children.append(child)
    return {
        "id": a.id,
        "ticket_id": a.ticket_id,
        "timestamp": a.at,
        "created_at": ids.iso(a.at),
        "updater_id": a.author_id,
        "via": CHANNEL_NAMES.get(a.channel, a.channel),
        "system": {},
        "metadata": {},
        "event_type": "Audit",
        "child_events": children,
    }
