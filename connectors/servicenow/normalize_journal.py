"""ServiceNow conversation, history and native SLAs: journal rows, sys_audit rows, task_sla rows.

Comments come from ``sys_journal_field`` rows (element ``comments`` = public,
``work_notes`` = internal), from CSM activity entries (same keys plus
``user_sys_id``/``name``), or, when neither was fetched, from the journal text
a record carries in display form ("2016-12-13 12:30:14 - Joe Employee
(Comments)\\n..."). History comes from ``sys_audit`` rows; native SLAs from
``task_sla`` rows.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors.derive import Change, is_echo
from connectors.raw import Reader, as_flag
from connectors.servicenow.normalize_fields import Form, Record, duration_seconds
from connectors.text import to_plain
from core.mapping import ServiceNowMapping
from core.model import Comment, EventKind, NativeSla, Role, Status

_PUBLIC = {"comments": True, "work_notes": False}
_HEADER_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) - (.+?) \((Comments|Additional comments|Work notes)\)$", re.MULTILINE
)
_HEADER_ELEMENT = {"Comments": "comments", "Additional comments": "comments", "Work notes": "work_notes"}
_SYSTEM_LOGINS = {"system", "guest"}
_AUDIT_KINDS = {
    "state": EventKind.status_change,
    "assignment_group": EventKind.group_change,
    "assigned_to": EventKind.assignee_change,
    "priority": EventKind.priority_change,
}
_SLA_TARGETS = {"response": "first_response", "resolution": "resolution"}


@dataclass
class People:
    """The caller and known users of one incident, to tell customers from agents."""

    mapping: ServiceNowMapping
    caller_id: str | None = None
    caller_name: str | None = None
    users: dict[str, dict] = field(default_factory=dict)  # by sys_id and by user_name

    def sys_id_of(self, login: str | None) -> str | None:
        user = self.users.get(login or "")
        return user.get("sys_id") if user else None

    def role(self, element: str, login: str | None, sys_id: str | None, name: str | None) -> Role:
        if login in _SYSTEM_LOGINS:
            return Role.system
        if element == "work_notes":
            return Role.agent
        who = {sys_id, self.sys_id_of(login)} - {None}
        if self.caller_id and self.caller_id in who:
            return Role.customer
        if not who and name and self.caller_name and name.casefold() == self.caller_name.casefold():
            return Role.customer
        return Role.agent

    def is_integration_user(self, *identifiers: str | None) -> bool:
        return self.mapping.integration_user.matches(*identifiers)


def index_users(rows: Any, reader: Reader) -> dict[str, dict]:
    """sys_user rows (any form) by sys_id and by user_name."""
    out: dict[str, dict] = {}
    for row in reader.records(rows, "users"):
        rec = Record(row, reader, "auto")
        user = {"sys_id": rec.value("sys_id"), "user_name": rec.value("user_name"), "name": rec.label_or_value("name")}
        for key in (user["sys_id"], user["user_name"]):
            if key:
                out[key] = user
    return out


def comment_from_row(row: dict, people: People, reader: Reader, form: Form = "auto") -> Comment | None:
    """A journal row or activity entry; None for journal elements that are not conversation."""
    rec = Record(row, reader, form, people.mapping.display_timezone)
    element = rec.value("element")
    if element not in _PUBLIC:
        return None
    login = rec.value("sys_created_by")
    sys_id = rec.value("user_sys_id") or people.sys_id_of(login)
    # In sys_journal_field rows "name" is the table ("incident"); activity entries name the person.
    is_activity = "user_sys_id" in row
    name = (rec.label_or_value("name") or rec.label_or_value("login_name")) if is_activity else None
    name = name or _name_of(people, login)
    body = to_plain(rec.value("value"))
    return Comment(
        id=rec.value("sys_id") or _synthetic_id(element, rec.value("sys_created_on"), login or name, body),
        author_id=sys_id or login,
        author_name=name,
        role=people.role(element, login, sys_id, name),
        public=_PUBLIC[element],
        body=body,
        created_at=rec.time("sys_created_on", required=True),
        by_deskbridge=is_echo(people.is_integration_user(login, sys_id), body),
    )


def _name_of(people: People, login: str | None) -> str | None:
    user = people.users.get(login or "")
    return user.get("name") if user else None


def comments_from_text(text: str | None, element: str, people: People, reader: Reader) -> list[Comment]:
    """Entries of a journal field rendered as text (display form), oldest and newest alike."""
    if not text:
        return []
    headers = list(_HEADER_RE.finditer(text))
    out = []
    for index, header in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
        stamp, name, label = header.groups()
        if _HEADER_ELEMENT[label] != element:
            continue
        body = to_plain(text[header.end():end])
        out.append(Comment(
            id=_synthetic_id(element, stamp, name, body),
            author_name=name,
            role=people.role(element, None, None, name),
            public=_PUBLIC[element],
            body=body,
            created_at=reader.time(stamp, element, tz=ZoneInfo(people.mapping.display_timezone)),
            by_deskbridge=is_echo(people.is_integration_user(name), body),
        ))
    return out


def _synthetic_id(element: str, stamp: str | None, who: str | None, body: str) -> str:
    """Journal text has no ids: a stable one from what identifies the entry."""
    digest = hashlib.sha1(f"{element}|{stamp}|{who}|{body}".encode()).hexdigest()[:12]
    return f"journal:{element}:{digest}"


def changes_from_audit(rows: list[dict], people: People, reader: Reader, created_at: datetime) -> list[Change]:
    """Field changes after creation (rows at the creation instant are initial values, not changes)."""
    mapping = people.mapping
    records = [Record(row, reader, "auto") for row in rows]
    holds = {rec.value("sys_created_on"): rec.value("newvalue")
             for rec in records if rec.value("fieldname") == "hold_reason"}
    changes = []
    for index, rec in enumerate(records):
        kind = _AUDIT_KINDS.get(rec.value("fieldname") or "")
        at = rec.time("sys_created_on", required=True)
        if kind is None or at <= created_at:
            continue
        login = rec.value("user")
        old, new = rec.value("oldvalue"), rec.value("newvalue")
        if kind is EventKind.status_change:
            old, new = _state(mapping, old, None), _state(mapping, new, holds.get(rec.value("sys_created_on")))
        elif kind is EventKind.priority_change:
            old, new = (mapping.priority_map[v].priority.value if v in mapping.priority_map else v for v in (old, new))
        elif kind is EventKind.group_change:
            old, new = (mapping.logical_group(v) or v for v in (old, new))
        role = Role.system if login in _SYSTEM_LOGINS else Role.agent
        changes.append(Change(kind, at, old, new, actor_id=login, actor_role=role,
                              by_deskbridge=people.is_integration_user(login)))
    return changes


def _state(mapping: ServiceNowMapping, value: str | None, hold_reason: str | None) -> str | None:
    """A state value as a normalized status (refined by the hold reason), or as it is when unmapped."""
    if value is None or value not in mapping.status_map:
        return value
    status = mapping.status_map[value].status
    if status is Status.on_hold and hold_reason in mapping.hold_reasons:
        status = mapping.hold_reasons[hold_reason].status
    return status.value


def sla_from_row(row: dict, mapping: ServiceNowMapping, reader: Reader) -> NativeSla | None:
    """A task_sla row; cancelled SLAs are left out."""
    rec = Record(row, reader, "auto", mapping.display_timezone)
    stage = (rec.value("stage") or "").casefold()
    if stage == "cancelled":
        return None
    name = rec.display("sla") or rec.value("sla.name") or rec.value("sla") or "task_sla"
    target = _SLA_TARGETS.get((rec.value("sla.target") or "").casefold())
    if target is None and name in mapping.sla_definitions:
        target = mapping.sla_definitions[name].value
    return NativeSla(
        name=name,
        target=target,
        started_at=rec.time("start_time"),
        due_at=rec.time("planned_end_time"),
        completed_at=rec.time("end_time"),
        breached=as_flag(rec.value("has_breached")) or stage == "breached",
        paused=stage == "paused",
        remaining_seconds=duration_seconds(_raw_value(row.get("time_left"))),
        source="task_sla",
    )


def _raw_value(field: Any) -> str | None:
    value = field.get("value") if isinstance(field, dict) else field
    return value if isinstance(value, str) else None
