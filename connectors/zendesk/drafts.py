"""A write plan as Zendesk ticket updates (pure): which fields, which comments, what cannot be done.

Zendesk takes one comment per update, so a plan becomes *rounds*: round 0 carries
every field change plus the first comment (the internal note when there is one,
else the customer message); each further comment (a customer message next to a
note) is a round of its own, a comment-only update sent after round 0 landed.
Every round is a ``safe_update`` against a known ``updated_stamp``.

- AssignGroup -> ``group_id`` from the mapping's ``groups``.
- AssignOwner -> ``assignee_id`` of the agent with that e-mail (resolved by the caller).
- AddTags -> ``additional_tags`` only: the tag list itself is never sent, so no tag a
  person added is ever removed.
- RaisePriority -> ``priority`` only when higher than the current one (never lowers).
- InternalNote -> ``comment {"body", "public": false}``; CustomerMessage -> public comment.
  Bodies already end with the marker line; nothing is appended.
An action that cannot be done (unknown group, unknown e-mail) is reported in
``problems`` and the rest of the plan still applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.actions import AddTags, AssignGroup, AssignOwner, CustomerMessage, InternalNote, RaisePriority, WritePlan
from core.mapping import ZendeskMapping
from core.model import Priority

Comment = tuple[str, bool]  # (body, public)
Assignee = tuple[str | None, str | None]  # (user id, why not)


@dataclass
class Draft:
    """What one plan asks of Zendesk."""

    plan: WritePlan
    fields: dict[str, Any] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ticket_id(self) -> str:
        return self.plan.ticket_id

    @property
    def rounds(self) -> int:
        """Updates this plan needs: fields + first comment, then one per further comment."""
        return max(1 if self.fields else 0, len(self.comments))

    def update(self, round_no: int, stamp: str) -> dict[str, Any]:
        """The ticket object of one round, as update_many takes it."""
        body: dict[str, Any] = {"id": int(self.ticket_id), "safe_update": True, "updated_stamp": stamp}
        if round_no == 0:
            body.update(self.fields)
        if round_no < len(self.comments):
            text, public = self.comments[round_no]
            body["comment"] = {"body": text, "public": public}
        return body

    def summary(self) -> str | None:
        """The problems and skipped actions, for WriteResult.detail."""
        parts = self.problems + self.skipped
        return "; ".join(parts) if parts else None


def needs_current_priority(plan: WritePlan) -> bool:
    return any(isinstance(a, RaisePriority) for a in plan.actions)


def build_draft(
    plan: WritePlan,
    mapping: ZendeskMapping,
    *,
    assignees: dict[str, Assignee],
    current_priority: str | None,
) -> Draft:
    """The updates for ``plan``; ``current_priority`` is the ticket's native priority at ``expected_token``."""
    draft = Draft(plan)
    notes: list[Comment] = []
    messages: list[Comment] = []
    tags: list[str] = []
    raise_to: Priority | None = None
    for action in plan.actions:
        if isinstance(action, AssignGroup):
            _assign_group(draft, mapping, action.group)
        elif isinstance(action, AssignOwner):
            user_id, why = assignees.get(action.email.strip().lower(), (None, f"{action.email} was not looked up"))
            if user_id is None:
                draft.problems.append(f"assign_owner: {why}")
            else:
                draft.fields["assignee_id"] = int(user_id)
        elif isinstance(action, AddTags):
            tags += [t for t in action.tags if t not in tags]
        elif isinstance(action, RaisePriority):
            raise_to = action.priority if raise_to is None or action.priority.rank > raise_to.rank else raise_to
        elif isinstance(action, InternalNote):
            notes.append((action.body, False))
        elif isinstance(action, CustomerMessage):
            messages.append((action.body, True))
    if tags:
        draft.fields["additional_tags"] = tags
    if raise_to is not None:
        _raise_priority(draft, mapping, raise_to, current_priority)
    draft.comments = notes + messages
    return draft


def _assign_group(draft: Draft, mapping: ZendeskMapping, group: str) -> None:
    native = mapping.groups.get(group)
    if native is None or not str(native).isdigit():
        draft.problems.append(f"assign_group: mapping/zendesk.yaml has no Zendesk group for {group!r}")
    else:
        draft.fields["group_id"] = int(native)


def _raise_priority(draft: Draft, mapping: ZendeskMapping, target: Priority, current_native: str | None) -> None:
    native = next((n for n, p in mapping.priority_map.items() if p is target), None)
    if native is None:
        draft.problems.append(f"raise_priority: mapping/zendesk.yaml maps no Zendesk priority to {target.value!r}")
        return
    current = mapping.priority_map.get(current_native) if current_native else mapping.missing_priority
    if current is None:
        draft.problems.append(f"raise_priority: the current priority {current_native!r} is not in the mapping")
        return
    if current.rank >= target.rank:
        draft.skipped.append(f"raise_priority: already {current.value}, not lowered or rewritten")
        return
    draft.fields["priority"] = native
