"""People working in the instance's UI: the sandbox's simulated human edits.

Each action goes through the same update path as the Table API
(:func:`writes.apply_update`), authored by a real user of the instance, so it
leaves the same journal, audit and sys_mod_count traces a person would, and is
logged with actor "human". Tag changes also count as an update of the incident
here (token and sys_updated_on move), as the sandbox contract asks of every
human edit.
"""

from __future__ import annotations

from typing import Any

from sandbox import vocab
from sandbox.context import SandboxContext
from sandbox.servicenow.records import Incident, User
from sandbox.servicenow.store import SYSTEM, ServiceNowStore, native_status
from sandbox.servicenow.writes import Effect, add_tag, apply_update, remove_tag

CONFLICT_TAG = "human_edit"
_FIELDS = {name: column for name, column in vocab.SERVICENOW["custom_fields"].items()
           if name in ("escalation_flag", "customer_escalation_request", "product_area")} | {"approval": "approval"}
# A supervisor answering a propose-mode escalation: the shared tags of mapping/shared.yaml, which a ServiceNow
# supervisor expresses with the task's Approval field (mapping/servicenow.yaml, supervisor_decision).
SUPERVISOR_TAGS = {"deskbridge_approved": "approved", "deskbridge_rejected": "rejected"}


def acting_agent(store: ServiceNowStore, incident: Incident) -> User:
    """Who edits the incident: its assignee, else an agent of its group, else any agent, else the admin."""
    assignee = store.users.get(incident.assigned_to)
    if assignee is not None and assignee.role == "agent":
        return assignee
    group = store.groups.get(incident.assignment_group)
    agents = [u for u in store.users.values() if u.role == "agent"]
    in_group = [u for u in agents if group is not None and u.group == group.logical]
    return (in_group or agents or [store.users_by_name["admin"]])[0]


def _log(ctx: SandboxContext, incident: Incident, effects: list[Effect]) -> None:
    now = ctx.clock.now()
    for effect in effects:
        ctx.log.write(SYSTEM, incident.sys_id, effect.kind, "human", now, **effect.detail)


def _user(store: ServiceNowStore, key: str) -> User:
    user = store.users_by_key.get(key)
    if user is None:
        raise ValueError(f"no user with key {key!r} in the ServiceNow sandbox")
    return user


def _tags(store: ServiceNowStore, incident: Incident, tags: list[str], add: bool, actor: User,
          ctx: SandboxContext) -> list[Effect]:
    now = ctx.clock.now()
    changed: list[str] = []
    with store.lock:
        for tag in tags:
            if add:
                label = store.ensure_label(tag, now, actor.user_name)
                if add_tag(store, incident, label.sys_id, actor.user_name, now)[1]:
                    changed.append(tag)
            else:
                for entry in list(incident.tags):
                    label = store.labels.get(entry.label_id)
                    if label is not None and label.name.lower() == tag.lower():
                        remove_tag(store, entry)
                        changed.append(tag)
        if changed:
            store.touch(incident, now, actor.user_name)
    return [Effect("tags_added" if add else "tags_removed", {"tags": changed})] if changed else []


def _body(store: ServiceNowStore, incident: Incident, action: dict[str, Any]) -> tuple[dict[str, Any], User]:
    """The update body and author of a non-tag action."""
    kind = action.get("action")
    if kind == "comment":
        caller = store.users.get(incident.caller_id)
        author = _user(store, action.get("author") or (caller.key if caller else "admin"))
        element = "comments" if action.get("public", True) else "work_notes"
        return {element: str(action["body"])}, author
    agent = acting_agent(store, incident)
    if kind == "reassign":
        if action.get("group") not in vocab.SERVICENOW["groups"]:
            raise ValueError(f"unknown group {action.get('group')!r}")
        assignee = action.get("assignee")
        return {"assignment_group": vocab.SERVICENOW["groups"][action["group"]][0],
                "assigned_to": _user(store, assignee).sys_id if assignee else ""}, agent
    if kind == "set_status":
        state, hold_reason = native_status(action["status"], incident.hold_reason)
        return {"state": state, "hold_reason": hold_reason}, agent
    if kind == "set_priority":
        if action.get("priority") not in vocab.SERVICENOW["priority"]:
            raise ValueError(f"unknown priority {action.get('priority')!r}")
        return {"priority": vocab.SERVICENOW["priority"][action["priority"]][0]}, agent
    if kind == "set_field":
        if action.get("field") not in _FIELDS:
            raise ValueError(f"unknown field {action.get('field')!r}; expected one of {sorted(_FIELDS)}")
        return {_FIELDS[action["field"]]: action.get("value")}, agent
    raise ValueError(f"unknown human action {kind!r}")


def apply_human(store: ServiceNowStore, ctx: SandboxContext, incident: Incident, action: dict[str, Any]) -> None:
    """Apply one simulated UI edit and log its effects with actor "human"."""
    kind = action.get("action")
    with store.lock:
        if kind in ("add_tags", "remove_tags"):
            tags, agent = list(action.get("tags") or []), acting_agent(store, incident)
            effects = _tags(store, incident, tags, kind == "add_tags", agent, ctx)
            decisions = [SUPERVISOR_TAGS[t] for t in tags if t in SUPERVISOR_TAGS and kind == "add_tags"]
            if decisions:
                effects += apply_update(store, incident, {"approval": decisions[-1]}, agent, ctx.clock.now())
        else:
            body, author = _body(store, incident, action)
            effects = apply_update(store, incident, body, author, ctx.clock.now())
    _log(ctx, incident, effects)


def conflict_edit(store: ServiceNowStore, ctx: SandboxContext, incident: Incident) -> None:
    """The human edit a ``conflict`` fault injects: tag "human_edit" and move the token."""
    with store.lock:
        agent = acting_agent(store, incident)
        now = ctx.clock.now()
        label = store.ensure_label(CONFLICT_TAG, now, agent.user_name)
        add_tag(store, incident, label.sys_id, agent.user_name, now)
        store.touch(incident, now, agent.user_name)
    ctx.log.write(SYSTEM, incident.sys_id, "tags_added", "human", now, tags=[CONFLICT_TAG])

