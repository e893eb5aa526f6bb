"""Updating an incident the way the instance does: raw values, business rules, journal, audit.

:func:`apply_update` is shared by the Table API PATCH/PUT and the simulated
human edits, so both leave the same traces: changed columns, the derived ones
(resolved_at, reopen_count, priority from impact x urgency, ...), one
sys_audit row per changed column, journal rows for ``work_notes``/``comments``
(never stored on the record), and one sys_mod_count step per update that
changed anything. It returns the semantic effects for the sandbox's write log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox import vocab
from sandbox.servicenow.ids import sn_time, sys_id_for, truncate
from sandbox.servicenow.incident_table import REFERENCE_TABLES, WRITABLE
from sandbox.servicenow.records import Incident, LabelEntry, User
from sandbox.servicenow.store import ServiceNowStore, normalized_priority, normalized_status

# Priority data lookup: (impact, urgency) -> priority, and the pair a priority is written with.
PRIORITY_MATRIX = {("1", "1"): "1", ("1", "2"): "2", ("2", "1"): "2", ("1", "3"): "3", ("2", "2"): "3",
                   ("3", "1"): "3", ("2", "3"): "4", ("3", "2"): "4", ("3", "3"): "5"}
CANONICAL_IMPACT_URGENCY = {"1": ("1", "1"), "2": ("1", "2"), "3": ("2", "2"), "4": ("2", "3"), "5": ("3", "3")}
DERIVED = ("resolved_at", "resolved_by", "closed_at", "closed_by", "reopen_count", "reopened_time", "reopened_by",
           "reassignment_count")
TRACKED = tuple(WRITABLE) + DERIVED
JOURNAL_ELEMENTS = ("work_notes", "comments")
# Columns whose changes are logged as "field" effects, by the name deskbridge's mapping gives them.
CUSTOM_FIELD_NAMES = {column: name for name, column in vocab.SERVICENOW["custom_fields"].items()} | {
    "approval": "approval"}


@dataclass
class Effect:
    """One semantic write for ``ctx.log.write`` (kind and detail as the sandbox contract names them)."""

    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


def as_text(value: Any) -> str:
    """A JSON value as the instance stores it: booleans as "true"/"false", null as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):  # {"value": ..., "display_value": ...} echoed back by a client
        return as_text(value.get("value", ""))
    return str(value)


def resolve_reference(store: ServiceNowStore, column: str, value: str) -> str:
    """A reference value: a sys_id as is, otherwise the record whose display value (or user_name/email) matches."""
    if value == "":
        return ""
    table = REFERENCE_TABLES[column]
    if table == "sys_user":
        if value in store.users:
            return value
        user = store.users_by_name.get(value) or next(
            (u for u in store.users.values() if value in (u.name, u.email)), None)
        return user.sys_id if user else value
    records = store.groups if table == "sys_user_group" else store.companies
    if value in records:
        return value
    match = next((r for r in records.values() if r.name == value), None)
    return match.sys_id if match else value  # a broken reference is stored as sent, like the real instance


def _snapshot(incident: Incident) -> dict[str, Any]:
    return {column: getattr(incident, column) for column in TRACKED}


def _audit_text(value: Any) -> str:
    return sn_time(value) if isinstance(value, datetime) else ("" if value is None else str(value))


def _business_rules(incident: Incident, before: dict[str, Any], explicit: dict[str, str], user: User,
                    now: datetime) -> None:
    if incident.state != before["state"]:
        if incident.state != "3":
            incident.hold_reason = ""
        if incident.state in ("6", "7"):
            if incident.resolved_at is None:
                incident.resolved_at, incident.resolved_by = now, user.sys_id
            if incident.state == "7" and incident.closed_at is None:
                incident.closed_at, incident.closed_by = now, user.sys_id
        elif before["state"] in ("6", "7"):
            incident.reopen_count += 1
            incident.reopened_time, incident.reopened_by = now, user.sys_id
            incident.resolved_at, incident.resolved_by, incident.closed_at, incident.closed_by = None, "", None, ""
    if ("impact" in explicit or "urgency" in explicit) and "priority" not in explicit:
        incident.priority = PRIORITY_MATRIX.get((incident.impact, incident.urgency), incident.priority)
    elif "priority" in explicit and incident.priority in CANONICAL_IMPACT_URGENCY:
        incident.impact, incident.urgency = CANONICAL_IMPACT_URGENCY[incident.priority]
    if incident.assignment_group != before["assignment_group"]:
        incident.reassignment_count += 1


def apply_update(store: ServiceNowStore, incident: Incident, body: dict[str, Any], user: User,
                 now: datetime) -> list[Effect]:
    """Apply a Table API update body to ``incident``; unknown and read-only columns are ignored."""
    now = truncate(now)
    with store.lock:
        before = _snapshot(incident)
        explicit: dict[str, str] = {}
        for column, raw in body.items():
            if column not in WRITABLE:
                continue
            value = as_text(raw)
            if WRITABLE[column] == "reference":
                value = resolve_reference(store, column, value)
            elif WRITABLE[column] == "boolean":
                value = value.lower()
            explicit[column] = value
            setattr(incident, column, value)
        _business_rules(incident, before, explicit, user, now)
        notes = [(element, as_text(body[element])) for element in JOURNAL_ELEMENTS if as_text(body.get(element))]
        after = _snapshot(incident)
        changed = [column for column in TRACKED if before[column] != after[column]]
        if not changed and not notes:
            return []
        store.touch(incident, now, user.user_name)
        for column in changed:
            incident.audited(column, _audit_text(before[column]), _audit_text(after[column]), now, user.user_name)
        for element, text in notes:
            incident.note(element, text, now, user.user_name)
            incident.audited(element, "", text, now, user.user_name)
        return _effects(store, before, after, notes)


def _effects(store: ServiceNowStore, before: dict[str, Any], after: dict[str, Any],
             notes: list[tuple[str, str]]) -> list[Effect]:
    effects: list[Effect] = []
    status = (normalized_status(before["state"], before["hold_reason"]),
              normalized_status(after["state"], after["hold_reason"]))
    if status[0] != status[1]:
        effects.append(Effect("status", {"from": status[0], "to": status[1]}))
    if before["assignment_group"] != after["assignment_group"]:
        effects.append(Effect("group", {"from": logical_group(store, before["assignment_group"]),
                                        "to": logical_group(store, after["assignment_group"])}))
    if before["assigned_to"] != after["assigned_to"]:
        effects.append(Effect("assignee", {"from": user_email(store, before["assigned_to"]),
                                           "to": user_email(store, after["assigned_to"])}))
    if before["priority"] != after["priority"]:
        effects.append(Effect("priority", {"from": normalized_priority(before["priority"]),
                                           "to": normalized_priority(after["priority"])}))
    for column, name in CUSTOM_FIELD_NAMES.items():
        if before[column] != after[column]:
            value = after[column]
            effects.append(Effect("field", {"name": name, "value": value == "true" if WRITABLE[column] == "boolean"
                                            else value}))
    effects.extend(Effect("comment", {"public": element == "comments", "body": text}) for element, text in notes)
    return effects


def logical_group(store: ServiceNowStore, sys_id: str) -> str | None:
    """The logical group (``l1``, ``tier2``, ...) of a group sys_id; the raw value for unknown groups."""
    if not sys_id:
        return None
    group = store.groups.get(sys_id)
    return group.logical if group else sys_id


def user_email(store: ServiceNowStore, sys_id: str) -> str | None:
    if not sys_id:
        return None
    user = store.users.get(sys_id)
    return user.email if user else sys_id


def add_tag(store: ServiceNowStore, incident: Incident, label_id: str, user_name: str,
            now: datetime) -> tuple[LabelEntry, bool]:
    """Tag ``incident`` (a label_entry row); an existing tag is returned as is (False: nothing new)."""
    with store.lock:
        for entry in incident.tags:
            if entry.label_id == label_id:
                return entry, False
        seq = store.next_seq()
        entry = LabelEntry(sys_id_for(f"label_entry-{seq}"), label_id, incident.sys_id, truncate(now), user_name)
        incident.tags.append(entry)
        store.label_entries[entry.sys_id] = entry
        store.changed()
        return entry, True


def remove_tag(store: ServiceNowStore, entry: LabelEntry) -> None:
    """Untag: delete the label_entry row."""
    with store.lock:
        incident = store.incidents.get(entry.table_key)
        if incident is not None:
            incident.tags = [e for e in incident.tags if e.sys_id != entry.sys_id]
        store.label_entries.pop(entry.sys_id, None)
        store.changed()
