"""A write plan's actions -> the Jira requests that carry them out. Pure: no I/O.

One ``PUT /issue/{id}`` carries every field action: the team select
``{"value": option}`` (AssignGroup), ``assignee {"accountId"}`` (AssignOwner),
``priority {"name"}`` only when it raises the current priority
(RaisePriority), and labels through ``update: {"labels": [{"add": ...}]}``,
never ``set`` (AddTags: a human's labels are never rewritten). Comments follow
as separate POSTs: InternalNote as a JSM internal comment, CustomerMessage as
a public one, in plan order (their bodies already end with the plan's marker).
Actions that would change nothing are left out; actions that cannot be
carried out (an unmapped group, an unknown owner, a lower priority) are
skipped with a reason, and the rest of the plan still applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.raw import dig
from core.actions import AddTags, AssignGroup, AssignOwner, CustomerMessage, InternalNote, RaisePriority, WritePlan
from core.mapping import JiraMapping
from core.model import Priority

WRITE_CHECK_FIELDS = ("updated", "comment", "labels", "priority", "assignee")


@dataclass
class IssueEdit:
    """What one plan sends: a PUT body (empty when no field changes) and comments as (body, internal)."""

    body: dict[str, Any] = field(default_factory=dict)
    comments: list[tuple[str, bool]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def changes_fields(self) -> bool:
        return bool(self.body.get("fields") or self.body.get("update"))


def check_fields(mapping: JiraMapping) -> list[str]:
    """Fields of the read just before writing: the token, the comments (markers) and what edits compare with."""
    return [*WRITE_CHECK_FIELDS, mapping.fields.team.field]


def owner_emails(plan: WritePlan) -> set[str]:
    return {a.email.strip().casefold() for a in plan.actions if isinstance(a, AssignOwner)}


def native_priority(mapping: JiraMapping, wanted: Priority) -> str | None:
    """The Jira priority name for a normalized priority (the one named like it when several map to it)."""
    names = [name for name, value in mapping.priority_map.items() if value is wanted]
    same = [name for name in names if name.casefold() == wanted.value]
    return (same or names or [None])[0]


def edit_for(plan: WritePlan, current: Mapping[str, Any], mapping: JiraMapping,
             owners: Mapping[str, str | None]) -> IssueEdit:
    """The requests for ``plan`` against the issue as just read (``current``: a search result issue)."""
    fields_now = current.get("fields") or {}
    edit = IssueEdit()
    put_fields: dict[str, Any] = {}
    labels: list[str] = []
    have = set(fields_now.get("labels") or [])
    for action in plan.actions:
        if isinstance(action, AssignGroup):
            _assign_group(action, fields_now, mapping, put_fields, edit)
        elif isinstance(action, AssignOwner):
            _assign_owner(action, fields_now, owners, put_fields, edit)
        elif isinstance(action, AddTags):
            labels += [t for t in action.tags if t not in have and t not in labels]
        elif isinstance(action, RaisePriority):
            _raise_priority(action, fields_now, mapping, put_fields, edit)
        elif isinstance(action, InternalNote):
            edit.comments.append((action.body, True))
        elif isinstance(action, CustomerMessage):
            edit.comments.append((action.body, False))
    if put_fields:
        edit.body["fields"] = put_fields
    if labels:
        edit.body["update"] = {"labels": [{"add": label} for label in labels]}
    return edit


def _assign_group(action: AssignGroup, now: Mapping, mapping: JiraMapping, out: dict, edit: IssueEdit) -> None:
    option = mapping.groups.get(action.group)
    if option is None:
        edit.skipped.append(f"assign_group {action.group!r}: no team option for it in the Jira mapping's groups")
        return
    team_field = mapping.fields.team.field
    if dig(now, team_field, "value") != str(option):
        out[team_field] = {"value": str(option)}


def _assign_owner(action: AssignOwner, now: Mapping, owners: Mapping[str, str | None], out: dict,
                  edit: IssueEdit) -> None:
    account = owners.get(action.email.strip().casefold())
    if account is None:
        edit.skipped.append(f"assign_owner: no assignable Jira user has the e-mail {action.email!r}")
        return
    if dig(now, "assignee", "accountId") != account:
        out["assignee"] = {"accountId": account}


def _raise_priority(action: RaisePriority, now: Mapping, mapping: JiraMapping, out: dict, edit: IssueEdit) -> None:
    name = native_priority(mapping, action.priority)
    if name is None:
        edit.skipped.append(f"raise_priority {action.priority.value}: no Jira priority maps to it")
        return
    current_name = dig(now, "priority", "name")
    current = mapping.priority_map.get(current_name, mapping.missing_priority) if current_name else \
        mapping.missing_priority
    if action.priority.rank > current.rank:
        out["priority"] = {"name": name}
    elif action.priority.rank < current.rank:
        edit.skipped.append(f"raise_priority {action.priority.value}: the issue is already {current_name} "
                            "(never lowered)")
