"""What an edit means: parse Jira edit bodies into attribute changes, and describe each change.

Pure functions. :func:`parse_edit` reads the ``fields``/``update`` body of
``PUT /issue`` (and of a transition) into ``{attribute: new value}`` plus any
comments to add, or raises :class:`FieldErrors` with Jira's 400 shape; no
change is applied unless the whole body is valid.

A comment added by an edit (``update: {"comment": [{"add": {"body": ...}}]}``)
is what Jira documents there: a body and an optional role/group
``visibility``. Without a visibility it is public (JSM: ``jsdPublic`` true,
as for every comment made through the platform API). Comment properties such
as ``sd.public.comment`` are documented for ``POST /issue/{id}/comment`` only,
so an edit's ``properties`` are ignored here: a client that hoped to make an
internal note that way gets a public comment, and the tests see it. :func:`describe` turns one
change into the changelog item(s) Jira records and the neutral write-log
entries the sandbox keeps (normalized statuses and priorities, logical
groups, emails).
"""

from __future__ import annotations

from sandbox.jira import catalog
from sandbox.jira.records import ChangeItem, UserRecord

NOT_SETTABLE = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
# custom field id -> record attribute
CUSTOM_ATTRS = {
    catalog.TEAM_FIELD: "team",
    catalog.PRODUCT_AREA_FIELD: "product_area",
    catalog.ESCALATION_FIELD: "escalation_flag",
    catalog.CUSTOMER_REQUEST_FIELD: "customer_request",
    catalog.ACCOUNT_FIELD: "sf_account",
}
SELECT_OPTIONS = {"team": catalog.TEAM_OPTIONS, "product_area": catalog.PRODUCT_AREA_OPTIONS}


class FieldErrors(Exception):
    """A 400 answer: ``{"errorMessages": messages, "errors": errors}``."""

    def __init__(self, errors: dict[str, str] | None = None, messages: list[str] | None = None):
        super().__init__("invalid edit")
        self.errors, self.messages = errors or {}, messages or []

    def body(self) -> dict:
        return {"errorMessages": self.messages, "errors": self.errors}


def parse_edit(body: dict, labels: list[str], users: dict[str, UserRecord],
               extra_allowed: frozenset[str] = frozenset()) -> tuple[dict[str, object], list[tuple[str, bool]]]:
    """Attribute changes and comments (body, public) requested by an edit body (validated as a whole)."""
    if not isinstance(body, dict):
        raise FieldErrors(messages=["Can not deserialize the request body: expected a JSON object."])
    fields, update = body.get("fields") or {}, body.get("update") or {}
    if not isinstance(fields, dict) or not isinstance(update, dict):
        raise FieldErrors(messages=["'fields' and 'update' must be JSON objects."])
    changes: dict[str, object] = {}
    comments: list[tuple[str, bool]] = []
    errors: dict[str, str] = {}
    for name in set(fields) & set(update):
        errors[name] = f"Field '{name}' cannot be set in both 'fields' and 'update'."
    for name, value in fields.items():
        if name in extra_allowed:
            continue
        _set(name, value, changes, errors, users)
    current_labels = list(changes.get("labels", labels))
    for name, operations in update.items():
        if not isinstance(operations, list) or not all(isinstance(o, dict) and len(o) == 1 for o in operations):
            errors[name] = "Operation value must be a list of single-verb objects such as {\"add\": ...}."
            continue
        for operation in operations:
            (verb, value), = operation.items()
            if name == "labels" and verb in ("add", "remove", "set"):
                current_labels = _label_op(verb, value, current_labels, errors)
                changes["labels"] = current_labels
            elif name == "comment" and verb == "add":
                _comment_add(value, comments, errors)
            elif verb == "set":
                _set(name, value, changes, errors, users)
            else:
                errors[name] = f"Operation '{verb}' is not supported for field '{name}'."
    if errors:
        raise FieldErrors(errors)
    return changes, comments


def _comment_add(value, comments: list[tuple[str, bool]], errors: dict) -> None:
    """``{"body": text, "visibility"?: {"type": "role"|"group", "value": ...}}``; other keys (properties) ignored."""
    body = value.get("body") if isinstance(value, dict) else None
    visibility = value.get("visibility") if isinstance(value, dict) else None
    if not isinstance(body, str) or not body.strip():
        errors["comment"] = "Comment body can not be empty!"
    elif visibility is not None and not (isinstance(visibility, dict) and visibility.get("type") in ("role", "group")
                                         and visibility.get("value")):
        errors["comment"] = "Invalid visibility: 'type' must be role or group, with a 'value'."
    else:
        comments.append((body, visibility is None))


def _label_op(verb: str, value, labels: list[str], errors: dict) -> list[str]:
    values = value if verb == "set" else [value]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        errors["labels"] = "Labels must be strings."
        return labels
    for label in values:
        _check_label(label, errors)
    if verb == "set":
        return list(dict.fromkeys(values))
    if verb == "add":
        return labels if value in labels else labels + [value]
    return [label for label in labels if label != value]


def _check_label(label: str, errors: dict) -> None:
    if not label or " " in label:
        errors["labels"] = f"The label '{label}' contains spaces which is invalid."
    elif len(label) > 255:
        errors["labels"] = "The label must not exceed 255 characters."


def _set(name: str, value, changes: dict, errors: dict, users: dict[str, UserRecord]) -> None:
    """Validate one ``fields`` entry into ``changes`` (or ``errors``)."""
    if name in ("summary", "description"):
        if name == "summary" and (not isinstance(value, str) or not value.strip()):
            errors[name] = "You must specify a summary of the issue."
        elif value is not None and not isinstance(value, str):
            errors[name] = "Operation value must be a string"
        else:
            changes[name] = value or ""
    elif name == "labels":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            errors[name] = "Labels must be strings."
        else:
            for label in value:
                _check_label(label, errors)
            changes[name] = list(dict.fromkeys(value))
    elif name == "priority":
        wanted = value if isinstance(value, dict) else {}
        match = [p for p, pid in catalog.PRIORITIES.items() if wanted.get("name") == p or wanted.get("id") == pid]
        if match:
            changes[name] = match[0]
        else:
            errors[name] = "Specify a valid 'id' or 'name' for Priority"
    elif name == "assignee":
        _assignee(value, changes, errors, users)
    elif name in CUSTOM_ATTRS:
        _custom(name, value, changes, errors)
    else:
        errors[name] = NOT_SETTABLE.format(name)


def _assignee(value, changes: dict, errors: dict, users: dict[str, UserRecord]) -> None:
    if value is None or (isinstance(value, dict) and value.get("accountId") in (None, "-1")):
        if isinstance(value, dict) and "accountId" not in value:
            errors["assignee"] = "Specify the user by 'accountId'; 'name' and 'key' are not supported in Jira Cloud."
            return
        changes["assignee"] = None
        return
    account = value.get("accountId") if isinstance(value, dict) else None
    user = users.get(account) if isinstance(account, str) else None
    if user is None or user.account_type != "atlassian":
        errors["assignee"] = f"User '{account}' cannot be assigned issues."
    else:
        changes["assignee"] = account


def _custom(field_id: str, value, changes: dict, errors: dict) -> None:
    attr = CUSTOM_ATTRS[field_id]
    name = catalog.FIELD_NAMES[field_id]
    if attr == "sf_account":
        if value is not None and not isinstance(value, str):
            errors[field_id] = "Operation value must be a string"
        else:
            changes[attr] = value or None
    elif attr in SELECT_OPTIONS:
        options = SELECT_OPTIONS[attr]
        if value is None:
            changes[attr] = None
            return
        wanted = value if isinstance(value, dict) else {}
        match = [v for v, oid in options.items() if wanted.get("value") == v or wanted.get("id") == oid]
        if match:
            changes[attr] = match[0]
        else:
            errors[field_id] = f"Specify a valid 'id' or 'name' for {name}"
    else:  # checkbox with its single option
        if value is None or value == []:
            changes[attr] = False
            return
        option_id = catalog.CHECKBOX_OPTIONS[field_id]
        ok = isinstance(value, list) and all(
            isinstance(v, dict) and (v.get("value") == catalog.CHECKBOX_ON or v.get("id") == option_id) for v in value
        )
        if ok:
            changes[attr] = True
        else:
            errors[field_id] = f"Specify a valid 'id' or 'name' for {name}"


# describing changes ----------------------------------------------------------------------------------
def describe(attr: str, old, new, users: dict[str, UserRecord]) -> tuple[list[ChangeItem], list[tuple[str, dict]]]:
    """The changelog items and write-log entries for one applied change (old != new)."""
    if attr == "labels":
        added = [label for label in new if label not in old]
        removed = [label for label in old if label not in new]
        log = ([("tags_added", {"tags": added})] if added else []) + (
            [("tags_removed", {"tags": removed})] if removed else [])
        return [("labels", "jira", None, " ".join(old) or None, None, " ".join(new) or None)], log
    if attr == "status":
        old_id, new_id = catalog.STATUSES[old][0], catalog.STATUSES[new][0]
        log = {"from": catalog.NORMALIZED_STATUS.get(old), "to": catalog.NORMALIZED_STATUS.get(new)}
        return [("status", "jira", old_id, old, new_id, new)], [("status", log)]
    if attr == "priority":
        log = {"from": catalog.NORMALIZED_PRIORITY.get(old), "to": catalog.NORMALIZED_PRIORITY.get(new)}
        return [("priority", "jira", catalog.PRIORITIES[old], old, catalog.PRIORITIES[new], new)], [("priority", log)]
    if attr == "assignee":
        name = lambda a: users[a].display_name if a else None  # noqa: E731
        email = lambda a: users[a].email if a else None  # noqa: E731
        item = ("assignee", "jira", old, name(old), new, name(new))
        return [item], [("assignee", {"from": email(old), "to": email(new)})]
    if attr == "team":
        options = catalog.TEAM_OPTIONS
        item = ("Support team", "custom", options.get(old or ""), old, options.get(new or ""), new)
        log = {"from": catalog.LOGICAL_GROUP.get(old or ""), "to": catalog.LOGICAL_GROUP.get(new or "")}
        return [item], [("group", log)]
    if attr == "product_area":
        options = catalog.PRODUCT_AREA_OPTIONS
        item = ("Product area", "custom", options.get(old or ""), old, options.get(new or ""), new)
        return [item], [("field", {"name": "product_area", "value": new})]
    if attr in ("escalation_flag", "customer_request"):
        field_id = catalog.ESCALATION_FIELD if attr == "escalation_flag" else catalog.CUSTOMER_REQUEST_FIELD
        option = f"[{catalog.CHECKBOX_OPTIONS[field_id]}]"
        on = catalog.CHECKBOX_ON
        item = (catalog.FIELD_NAMES[field_id], "custom", option if old else None, on if old else None,
                option if new else None, on if new else None)
        name = "escalation_flag" if attr == "escalation_flag" else "customer_escalation_request"
        return [item], [("field", {"name": name, "value": bool(new)})]
    if attr == "sf_account":
        item = (catalog.FIELD_NAMES[catalog.ACCOUNT_FIELD], "custom", None, old, None, new)
        return [item], [("field", {"name": "salesforce_account_id", "value": new})]
    if attr in ("summary", "description"):
        return [(attr, "jira", None, old or None, None, new or None)], [("field", {"name": attr, "value": new})]
    raise ValueError(f"no description for attribute {attr!r}")
