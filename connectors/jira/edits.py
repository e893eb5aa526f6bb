"""A write plan's actions -> the Jira requests that carry them out. Pure: no I/O.

One ``PUT /issue/{id}`` carries every field action: the team select
``{"value": option}`` (AssignGroup), ``assignee {"accountId"}`` (AssignOwner),
``priority {"name"}`` only when it raises the current priority
(RaisePriority), and labels through ``update: {"labels": [{"add": ...}]}``,
never ``set`` (AddTags: a human's labels are never rewritten).

The same PUT carries a CustomerMessage as ``update: {"comment": [{"add":
{"body": ...}}]}``: Jira documents adding a comment "as part of editing an
issue", and a comment made through the platform API is public in JSM
(``jsdPublic`` defaults to true), which is what a customer message is. The
InternalNote cannot ride along: JSM's internal flag is the comment property
``sd.public.comment`` ``{"internal": true}``, documented for ``POST
/issue/{id}/comment`` only (the edit's ``comment.add`` is documented with a
body and a role/group ``visibility``), so it stays a POST of its own (see
docs/connector-jira.md). Bodies already end with the plan's marker.

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


INTERNAL, PUBLIC = "internal note", "customer message"  # the kinds of comment a plan writes


@dataclass
class IssueEdit:
    """What one plan sends: field changes for the PUT, the customer messages that ride in it, the internal notes."""

    body: dict[str, Any] = field(default_factory=dict)
    public: list[str] = field(default_factory=list)
    internal: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def changes_fields(self) -> bool:
        return bool(self.body.get("fields") or self.body.get("update"))

    @property
    def put_body(self) -> dict[str, Any]:
        """The PUT: the field changes plus ``update.comment`` adds for the customer messages (empty: no PUT)."""
        if not self.public:
            return self.body
        update = {**self.body.get("update", {}), "comment": [{"add": {"body": text}} for text in self.public]}
        return {**self.body, "update": update}

    @property
    def kinds(self) -> set[str]:
        """The kinds of comment this edit writes (each carries the plan's marker)."""
        return ({PUBLIC} if self.public else set()) | ({INTERNAL} if self.internal else set())

    def only_comments(self, missing: set[str]) -> IssueEdit:
        """The rest of an earlier attempt that landed in part: only the comments of the ``missing`` kinds.

        The fields went out in the PUT before (or with) the first comment that landed, so they are not sent again.
        """
        return IssueEdit(public=self.public if PUBLIC in missing else [],
                         internal=self.internal if INTERNAL in missing else [])


def check_fields(mapping: JiraMapping) -> list[str]:
    """Fields of the read just before writing: the token, the comments (markers) and what edits compare with."""
    return [*WRITE_CHECK_FIELDS, mapping.fields.team.field]


def comment_kinds(plan: WritePlan) -> set[str]:
    """The kinds of comment ``plan`` writes."""
    return ({INTERNAL} if any(isinstance(a, InternalNote) for a in plan.actions) else set()) | (
        {PUBLIC} if any(isinstance(a, CustomerMessage) for a in plan.actions) else set())


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
            edit.internal.append(action.body)
        elif isinstance(action, CustomerMessage):
            edit.public.append(action.body)
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
