"""Turning the system-neutral seed (sandbox.world) into ServiceNow records.

Groups come from :data:`sandbox.vocab.SERVICENOW`, users from ``world.users``
(plus the integration user that owns the API credentials), companies from the
Salesforce accounts, and each SeedTicket becomes an incident whose past
comments are journal rows and whose past events are sys_audit rows, so the
history a connector reads back is the one the seed describes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox import vocab
from sandbox.servicenow.ids import (
    INTEGRATION_USER, company_sys_id, incident_number, incident_sys_id, truncate, user_sys_id,
)
from sandbox.servicenow.records import Company, Group, Incident, User
from sandbox.servicenow.store import ServiceNowStore, native_status
from sandbox.servicenow.writes import CANONICAL_IMPACT_URGENCY, add_tag
from sandbox.world import SeedEvent, SeedTicket, World

INSTANCE_BORN = datetime(2024, 1, 1, tzinfo=UTC)
INTEGRATION_EMAIL = "deskbridge.integration@example.com"
_EVENT_COLUMNS = {"status": "state", "group": "assignment_group", "assignee": "assigned_to", "priority": "priority"}
_CONTACT_TYPES = ("email", "phone", "self-service", "chat")


def seed_reference_data(store: ServiceNowStore, world: World) -> None:
    """Groups, users (with the integration user) and companies."""
    for logical, (sys_id, name) in vocab.SERVICENOW["groups"].items():
        store.add_group(Group(sys_id, logical, name, INSTANCE_BORN))
    store.add_user(User(user_sys_id("admin"), "admin", "admin", "System Administrator", "admin@example.com",
                        "admin", None, INSTANCE_BORN))
    store.add_user(User(user_sys_id(INTEGRATION_USER), INTEGRATION_USER, INTEGRATION_USER, "Deskbridge Integration",
                        INTEGRATION_EMAIL, "integration", None, INSTANCE_BORN))
    for user in world.users.values():
        store.add_user(User(user_sys_id(user.key), user.key, user.key, user.name, user.email, user.role, user.group,
                            INSTANCE_BORN))
    for account in world.accounts:
        store.add_company(Company(company_sys_id(account.id), account.name, account.id, INSTANCE_BORN))


def _native(kind: str, value: str | None) -> str:
    if value is None:
        return ""
    if kind == "status":
        return native_status(value)[0]
    if kind == "priority":
        return vocab.SERVICENOW["priority"][value][0]
    if kind == "group":
        return vocab.SERVICENOW["groups"][value][0]
    return user_sys_id(value)


def _user_name(store: ServiceNowStore, key: str | None) -> str:
    user = store.users_by_key.get(key or "")
    return user.user_name if user else (key or "system")


def incident_from_seed(store: ServiceNowStore, ticket: SeedTicket, now: datetime) -> Incident:
    """The incident (with journal, audit and tags) a SeedTicket describes; not yet added to the store."""
    opened = truncate(ticket.created_at or now)
    state, hold_reason = native_status(ticket.status)
    priority = vocab.SERVICENOW["priority"][ticket.priority][0]
    impact, urgency = CANONICAL_IMPACT_URGENCY[priority]
    sys_id = incident_sys_id(ticket.n)
    account = store.companies_by_account.get(ticket.account_id or "")
    incident = Incident(
        n=ticket.n, sys_id=sys_id, number=incident_number(ticket.n), short_description=ticket.subject,
        description=ticket.description, state=state, hold_reason=hold_reason, priority=priority, impact=impact,
        urgency=urgency, caller_id=user_sys_id(ticket.requester) if ticket.requester in store.users_by_key else "",
        assignment_group=vocab.SERVICENOW["groups"][ticket.group][0],
        assigned_to=user_sys_id(ticket.assignee) if ticket.assignee else "",
        company=account.sys_id if account else "",
        category="inquiry" if ticket.product_area in (None, "billing") else "software",
        contact_type=_CONTACT_TYPES[ticket.n % len(_CONTACT_TYPES)],
        u_product_area=ticket.product_area or "", u_escalation_flag="true" if ticket.agent_flag else "false",
        u_customer_escalation="true" if ticket.customer_requested else "false",
        u_sf_account_id=ticket.account_id or "", opened_at=opened,
        created_by=_user_name(store, ticket.requester), updated_on=opened,
        updated_by=_user_name(store, ticket.requester),
    )
    _replay_history(store, incident, ticket)
    if ticket.updated_at is not None:
        incident.updated_on = max(incident.updated_on, truncate(ticket.updated_at))
    if state in ("6", "7"):
        incident.resolved_at = truncate(ticket.solved_at or incident.updated_on)
        incident.resolved_by = incident.assigned_to
        incident.close_code, incident.close_notes = "Solved (Permanently)", "Resolved by the support team."
        if state == "7":
            incident.closed_at, incident.closed_by = incident.updated_on, incident.assigned_to
    for tag in ticket.tags:
        label = store.ensure_label(tag, opened, "admin")
        add_tag(store, incident, label.sys_id, _user_name(store, ticket.assignee), opened)
    return incident


def _replay_history(store: ServiceNowStore, incident: Incident, ticket: SeedTicket) -> None:
    """Journal rows from comments and audit rows from events, in time order, each one update of the record."""
    steps: list[tuple[datetime, int, object]] = [(c.at, i, c) for i, c in enumerate(ticket.comments)]
    steps += [(e.at, len(steps) + i, e) for i, e in enumerate(ticket.events)]
    for at, _, step in sorted(steps, key=lambda s: (s[0], s[1])):
        at = truncate(at)
        incident.mod_count += 1
        if isinstance(step, SeedEvent):
            actor = _user_name(store, step.actor)
            column = _EVENT_COLUMNS.get(step.kind)
            if column is None:
                continue
            incident.audited(column, _native(step.kind, step.from_value), _native(step.kind, step.to_value), at,
                             actor)
            if step.kind == "status":
                _audit_hold_reason(store, incident, step, at, actor)
            if step.kind == "status" and step.from_value in ("solved", "closed") and step.to_value not in (
                    "solved", "closed"):
                incident.reopen_count += 1
                incident.reopened_time, incident.reopened_by = at, user_sys_id(step.actor)
            elif step.kind == "group":
                incident.reassignment_count += 1
        else:
            actor = _user_name(store, step.author)
            element = "comments" if step.public else "work_notes"
            incident.note(element, step.body, at, actor)
            incident.audited(element, "", step.body, at, actor)
        if at >= incident.updated_on:
            incident.updated_on, incident.updated_by = at, actor


def _audit_hold_reason(store: ServiceNowStore, incident: Incident, step: SeedEvent, at: datetime,
                       actor: str) -> None:
    """The hold_reason change that goes with a status change into or out of On Hold (same instant)."""
    old = native_status(step.from_value)[1] if step.from_value else ""
    new = native_status(step.to_value)[1] if step.to_value else ""
    if old != new:
        incident.audited("hold_reason", old, new, at, actor)


def seed_world(store: ServiceNowStore, world: World, now: datetime) -> None:
    """Everything the world holds for ServiceNow (iterating ``world.tickets`` once)."""
    seed_reference_data(store, world)
    for ticket in world.tickets:
        if ticket.system == "servicenow":
            store.add_incident(incident_from_seed(store, ticket, now), bulk=True)
    store.reindex()
