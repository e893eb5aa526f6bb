"""Turn the neutral :class:`sandbox.world.World` into Zendesk records.

Users keep the roles a real account gives them (customers are end-users,
account owners and the deskbridge integration user are admins), every
Salesforce account becomes an organization whose ``external_id`` is the
Account id, and each ticket is rebuilt as a creation audit (its description is
the first comment) followed by one audit per later comment or change.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sandbox.world import SeedEvent, SeedTicket, SeedUser, World
from sandbox.zendesk import ids
from sandbox.zendesk.records import AuditRecord, Change, CommentRecord, OrganizationRecord, TicketRecord, UserRecord
from sandbox.zendesk.store import ZendeskStore

ROLES = {"customer": "end-user", "agent": "agent", "admin": "admin"}
SYSTEM_AUTHOR = -1  # Zendesk's author id for changes made by the system


def seed_store(store: ZendeskStore, world: World) -> None:
    """Load people, organizations and this system's tickets (``world.tickets`` is read once)."""
    since = store.since
    store.add_user(UserRecord(ids.user_id(ids.INTEGRATION_KEY), ids.INTEGRATION_KEY, ids.INTEGRATION_NAME,
                              ids.INTEGRATION_EMAIL, "admin", None, None, since))
    for user in world.users.values():
        store.add_user(_user(user, since))
    for account in world.accounts:
        org_id = ids.organization_id(account.id)
        store.add_organization(OrganizationRecord(org_id, account.name, account.id, since))
        if account.owner.key not in world.users:
            store.add_user(_user(account.owner, since, role="admin"))
    for seed in world.tickets:
        if seed.system == "zendesk":
            store.add_ticket(build_ticket(store, seed, seed.n), sort_events=False)
    store.sort_events()


def _user(user: SeedUser, since: int, role: str | None = None) -> UserRecord:
    native_role = role or ROLES.get(user.role, "end-user")
    group_id = ids.GROUP_IDS.get(user.group) if user.group and native_role != "end-user" else None
    return UserRecord(ids.user_id(user.key), user.key, user.name, user.email, native_role, group_id, None, since)


def build_ticket(store: ZendeskStore, seed: SeedTicket, ticket_id: int, channel: str | None = None) -> TicketRecord:
    """A ticket record with its full audit history, as Zendesk would hold it after that life."""
    now = store.ctx.clock.now()
    created = ids.to_ts(seed.created_at or now)
    requester = _known(store, seed.requester)
    org_id = ids.organization_id(seed.account_id) if seed.account_id else None
    if requester is not None and org_id is not None and store.users[requester].organization_id is None:
        store.users[requester].organization_id = org_id
    area = ids.PRODUCT_AREA_TAGS.get(seed.product_area) if seed.product_area else None
    tags = [t for t in dict.fromkeys(tag.lower() for tag in seed.tags)]
    if area and area not in tags:
        tags.append(area)
    fields = [area, bool(seed.agent_flag), bool(seed.customer_requested), seed.account_id]
    ticket = TicketRecord(
        id=ticket_id, subject=seed.subject, description=seed.description,
        status=ids.STATUS_TO_NATIVE[seed.status], priority=ids.PRIORITY_TO_NATIVE.get(seed.priority),
        requester_id=requester or SYSTEM_AUTHOR, submitter_id=requester or SYSTEM_AUTHOR,
        assignee_id=_known(store, seed.assignee), group_id=ids.GROUP_IDS.get(seed.group),
        organization_id=org_id, tags=tags, fields=fields, created_at=created, updated_at=created,
        channel=channel or ("email" if seed.n % 3 == 0 else "web"),
    )
    ticket.audits = _history(store, seed, ticket)
    last = max((a.at for a in ticket.audits), default=created)
    ticket.updated_at = max(last, ids.to_ts(seed.updated_at) if seed.updated_at else created)
    return ticket


def _known(store: ZendeskStore, key: str | None) -> int | None:
    if key is None:
        return None
    uid = ids.user_id(key)
    return uid if uid in store.users else None


def _initial(seed: SeedTicket, kind: str, final: Any) -> Any:
    for event in seed.events:
        if event.kind == kind:
            return event.from_value
    return final


def _history(store: ZendeskStore, seed: SeedTicket, t: TicketRecord) -> list[AuditRecord]:
    comments = list(seed.comments)
    first = comments[0] if comments and comments[0].body == seed.description else None
    if first is not None:
        comments = comments[1:]
    create = AuditRecord(0, t.id, t.created_at, t.requester_id, t.channel, "seed")
    create.events.append(CommentRecord(t.requester_id, seed.description, None, first.public if first else True))
    initial = {
        "subject": seed.subject,
        "requester_id": t.requester_id,
        "status": ids.STATUS_TO_NATIVE.get(_initial(seed, "status", seed.status)),
        "priority": ids.PRIORITY_TO_NATIVE.get(_initial(seed, "priority", seed.priority)),
        "group_id": ids.GROUP_IDS.get(_initial(seed, "group", seed.group)),
        "assignee_id": _known(store, _initial(seed, "assignee", seed.assignee)),
        "tags": list(t.tags),
    }
    for name, value in initial.items():
        if value is not None:
            create.events.append(Change("Create", name, value if name == "tags" else _text(value)))
    for fid, value in zip(ids.FIELD_ORDER, t.fields):
        if value not in (None, False):
            create.events.append(Change("Create", _text(fid), "1" if value is True else _text(value)))
    audits = [create]
    later: list[tuple[datetime, int, Any]] = [(c.at, 0, c) for c in comments] + [(e.at, 1, e) for e in seed.events]
    for at, _order, item in sorted(later, key=lambda row: (row[0], row[1])):
        ts = max(ids.to_ts(at), t.created_at)
        author = _known(store, getattr(item, "author", None) or getattr(item, "actor", None)) or SYSTEM_AUTHOR
        audit = audits[-1]
        if audit is create or audit.at != ts or audit.author_id != author:
            audit = AuditRecord(0, t.id, ts, author, "web", "seed")
            audits.append(audit)
        if isinstance(item, SeedEvent):
            change = _change(store, item)
            if change is not None:
                audit.events.append(change)
        else:
            audit.events.append(CommentRecord(author, item.body, None, item.public))
    audits = [a for a in audits if a.events]
    for audit in audits:
        audit.id = store.ids.block(1 + len(audit.events))
    return audits


def _change(store: ZendeskStore, event: SeedEvent) -> Change | None:
    convert = {
        "status": ("status", ids.STATUS_TO_NATIVE.get),
        "priority": ("priority", ids.PRIORITY_TO_NATIVE.get),
        "group": ("group_id", lambda v: ids.GROUP_IDS.get(v)),
        "assignee": ("assignee_id", lambda v: _known(store, v)),
    }.get(event.kind)
    if convert is None:
        return None
    name, to_native = convert
    new = to_native(event.to_value) if event.to_value is not None else None
    old = to_native(event.from_value) if event.from_value is not None else None
    return Change("Change", name, _text(new), _text(old))


@functools.cache
def _text(value: Any) -> Any:
    """Audit values are strings; one shared string per distinct id keeps 100,000 histories small."""
    return None if value is None else str(value)
