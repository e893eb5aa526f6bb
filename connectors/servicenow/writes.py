"""A write plan as ServiceNow requests: the incident PATCH body and the tags to add. Pure: no I/O.

- AssignGroup: ``assignment_group`` = the mapping's sys_user_group sys_id for the logical group.
- AssignOwner: ``assigned_to`` = the sys_user found by e-mail (looked up in bulk by the caller).
- RaisePriority: ServiceNow derives ``priority`` from impact x urgency (the Priority Data Lookup
  rules), so deskbridge writes the pair that gives the wanted priority under the default lookup
  (1 = 1/1, 2 = 1/2, 3 = 2/2, 4 = 2/3, 5 = 3/3) together with ``priority`` itself; the emulator
  applies the same matrix. Only ever raised: a current priority at or above the target is left as is.
- InternalNote -> ``work_notes``; CustomerMessage -> ``comments`` (each body already ends with its marker).
- AddTags: ServiceNow tags are ``label`` records linked by ``label_entry`` rows; only tags the incident
  does not have yet are added, none is ever removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.actions import AddTags, AssignGroup, AssignOwner, CustomerMessage, InternalNote, RaisePriority, WritePlan
from core.mapping import ServiceNowMapping
from core.model import Priority

# ServiceNow's default Priority Data Lookup: priority -> (impact, urgency).
IMPACT_URGENCY = {"1": ("1", "1"), "2": ("1", "2"), "3": ("2", "2"), "4": ("2", "3"), "5": ("3", "3")}


@dataclass
class PreparedWrite:
    """What one plan turns into, and what of it could not be written (with the reason)."""

    index: int  # position of the plan in apply()'s input
    plan: WritePlan
    patch: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)  # tags to add (the incident does not have them)
    failed: list[str] = field(default_factory=list)  # actions that cannot be written, with why
    notes: list[str] = field(default_factory=list)  # actions deliberately left out (priority not lowered)

    @property
    def writes_anything(self) -> bool:
        return bool(self.patch or self.tags)


def current_tags(fresh: dict[str, Any]) -> set[str]:
    """The incident's tag names (``sys_tags``, comma-separated), case-folded."""
    value = fresh.get("sys_tags")
    value = value.get("display_value") or value.get("value") if isinstance(value, dict) else value
    return {t.strip().casefold() for t in str(value or "").split(",") if t.strip()}


def prepare(index: int, plan: WritePlan, fresh: dict[str, Any], mapping: ServiceNowMapping,
            owners: dict[str, str]) -> PreparedWrite:
    """The PATCH body and tags for ``plan`` against the incident as just read (``fresh``, plain values)."""
    out = PreparedWrite(index, plan)
    have = current_tags(fresh)
    notes: dict[str, list[str]] = {"work_notes": [], "comments": []}
    for action in plan.actions:
        if isinstance(action, AssignGroup):
            group = mapping.groups.get(action.group)
            if group is None:
                out.failed.append(f"assign_group: '{action.group}' is not a group in the ServiceNow mapping")
            else:
                out.patch["assignment_group"] = group
        elif isinstance(action, AssignOwner):
            user = owners.get(action.email.strip().casefold())
            if user is None:
                out.failed.append(f"assign_owner: no ServiceNow user has the e-mail {action.email}")
            else:
                out.patch["assigned_to"] = user
        elif isinstance(action, RaisePriority):
            _raise_priority(out, action.priority, _plain(fresh.get("priority")), mapping)
        elif isinstance(action, AddTags):
            for tag in action.tags:
                if tag.casefold() not in have and tag not in out.tags:
                    out.tags.append(tag)
        elif isinstance(action, InternalNote):
            notes["work_notes"].append(action.body)
        elif isinstance(action, CustomerMessage):
            notes["comments"].append(action.body)
    for element, bodies in notes.items():
        if bodies:
            out.patch[element] = "\n\n".join(bodies)
    return out


def native_priority(priority: Priority, mapping: ServiceNowMapping) -> str | None:
    """The first priority value the mapping maps to ``priority``."""
    return next((value for value, entry in mapping.priority_map.items() if entry.priority is priority), None)


def is_higher(target: str, current: str | None, mapping: ServiceNowMapping) -> bool:
    """True when the native priority ``target`` is above ``current`` (lower number = more urgent)."""
    if not current:
        return True
    if current in mapping.priority_map and target in mapping.priority_map:
        return mapping.priority_map[target].priority.rank > mapping.priority_map[current].priority.rank
    try:
        return int(target) < int(current)
    except ValueError:
        return False


def _raise_priority(out: PreparedWrite, wanted: Priority, current: str | None, mapping: ServiceNowMapping) -> None:
    target = native_priority(wanted, mapping)
    if target is None:
        out.failed.append(f"raise_priority: no priority value maps to '{wanted.value}' in the ServiceNow mapping")
        return
    if not is_higher(target, current, mapping):
        out.notes.append(f"raise_priority: left at {current} (not lowered to {target})")
        return
    out.patch["priority"] = target
    if target in IMPACT_URGENCY:
        out.patch["impact"], out.patch["urgency"] = IMPACT_URGENCY[target]


def _plain(field: Any) -> str | None:
    value = field.get("value") if isinstance(field, dict) else field
    return str(value) if value not in (None, "") else None
