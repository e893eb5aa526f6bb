"""The native catalogue of the emulated JSM project SUP: ids, categories, options, fields.

Everything here is derived from :data:`sandbox.vocab.JIRA` (the names) plus the
ids a real Jira Cloud site would give them, so the renderer, the JQL evaluator
and the write path agree on one table. Transitions follow a small JSM-like
workflow: each one is named for its action and leads to one status (look them
up by ``to.name``; names are for humans).
"""

from __future__ import annotations

from sandbox.vocab import JIRA, PRODUCT_AREAS

PROJECT = {"id": "10000", "key": JIRA["project"], "name": "Customer Support", "projectTypeKey": "service_desk"}
ISSUE_TYPE = {"id": "10004", "name": "[System] Service request", "description": "Created by Jira Service Management.",
              "entity_id": "5d5c1b3e-4f7a-4c1e-9b8e-0d6a2f1c9a10"}

# statusCategory id -> (key, colorName, name), as Jira Cloud numbers them.
STATUS_CATEGORIES = {
    2: ("new", "blue-gray", "To Do"),
    4: ("indeterminate", "yellow", "In Progress"),
    3: ("done", "green", "Done"),
}

# native status name -> (status id, statusCategory id)
STATUSES: dict[str, tuple[str, int]] = {
    "Open": ("1", 2),
    "Waiting for support": ("10001", 4),
    "Waiting for customer": ("10002", 4),
    "Pending": ("10003", 4),
    "In Progress": ("3", 4),
    "Escalated": ("10004", 4),
    "Resolved": ("5", 3),
    "Closed": ("6", 3),
}
DONE_STATUSES = frozenset(name for name, (_, category) in STATUSES.items() if category == 3)

# native status name -> normalized status (the inverse of vocab, plus the extra open statuses)
NORMALIZED_STATUS = {native: normal for normal, native in JIRA["status"].items()} | {
    name: "open" for name in JIRA["extra_open_statuses"]
}

# native priority name -> id
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
NORMALIZED_PRIORITY = {native: normal for normal, native in JIRA["priority"].items()} | JIRA["extra_priorities"]

RESOLUTION_DONE = {"id": "10000", "name": "Done", "description": "Work has been completed on this issue."}

# (transition id, name, target status)
TRANSITIONS = [
    ("11", "Reopen", "Open"),
    ("21", "Back to support", "Waiting for support"),
    ("31", "Respond to customer", "Waiting for customer"),
    ("41", "Pending", "Pending"),
    ("51", "Start progress", "In Progress"),
    ("61", "Escalate", "Escalated"),
    ("71", "Resolve this issue", "Resolved"),
    ("81", "Close", "Closed"),
]


def transitions_from(status: str) -> list[tuple[str, str, str]]:
    """Transitions offered in ``status``: every other status; a closed issue can only be reopened."""
    if status == "Closed":
        return [t for t in TRANSITIONS if t[2] in ("Open", "Waiting for support")]
    return [t for t in TRANSITIONS if t[2] != status]


def _field(mapping_name: str) -> str:
    return JIRA["custom_fields"][mapping_name][0]


TEAM_FIELD = _field("team")
PRODUCT_AREA_FIELD = _field("product_area")
ESCALATION_FIELD = _field("escalation_flag")
CUSTOMER_REQUEST_FIELD = _field("customer_escalation_request")
ACCOUNT_FIELD = _field("salesforce_account_id")
REQUEST_TYPE_FIELD = _field("request_type")
SLA_FIRST_RESPONSE_FIELD = _field("sla_first_response")
SLA_RESOLUTION_FIELD = _field("sla_resolution")
FIELD_NAMES = {field_id: name for field_id, name in JIRA["custom_fields"].values()}

# Select options: value -> option id.
TEAM_OPTIONS = {value: str(10200 + i) for i, value in enumerate(JIRA["groups"].values())}
LOGICAL_GROUP = {value: logical for logical, value in JIRA["groups"].items()}
PRODUCT_AREA_OPTIONS = {area: str(10300 + i) for i, area in enumerate(PRODUCT_AREAS)}
# Checkbox fields have one option each; checked renders [{"value": CHECKBOX_ON, ...}], unchecked null.
CHECKBOX_ON = "Yes"
CHECKBOX_OPTIONS = {ESCALATION_FIELD: "10100", CUSTOMER_REQUEST_FIELD: "10101"}


def select_options(field_id: str) -> dict[str, str] | None:
    """value -> option id of a select or checkbox custom field; None for a field without options."""
    if field_id == TEAM_FIELD:
        return TEAM_OPTIONS
    if field_id == PRODUCT_AREA_FIELD:
        return PRODUCT_AREA_OPTIONS
    if field_id in CHECKBOX_OPTIONS:
        return {CHECKBOX_ON: CHECKBOX_OPTIONS[field_id]}
    return None


def context_id(field_id: str) -> str:
    """The id of a custom field's one (global) context."""
    return str(10000 + int(field_id.split("_")[1]))


# request type name -> id (JSM portal request types of service desk 1)
REQUEST_TYPES = {"Technical support": "10", "Billing question": "11"}


def request_type_for(product_area: str | None) -> str:
    """The portal request type a seeded ticket was raised through."""
    return "Billing question" if product_area == "billing" else "Technical support"


def _system(field_id: str, name: str, schema: dict, *, navigable: bool = True, orderable: bool = True,
            clauses: list[str] | None = None) -> dict:
    return {
        "id": field_id, "key": field_id, "name": name, "custom": False, "orderable": orderable,
        "navigable": navigable, "searchable": True, "clauseNames": clauses or [field_id], "schema": schema,
    }


def _custom(field_id: str, name: str, custom_type: str, schema_type: str, items: str | None = None) -> dict:
    number = int(field_id.split("_")[1])
    schema = {"type": schema_type, "custom": f"com.atlassian.{custom_type}", "customId": number}
    if items:
        schema["items"] = items
    return {
        "id": field_id, "key": field_id, "name": name, "untranslatedName": name, "custom": True,
        "orderable": True, "navigable": True, "searchable": True,
        "clauseNames": [f"cf[{number}]", name], "schema": schema,
    }


def field_list() -> list[dict]:
    """GET /rest/api/2/field: the system fields this site renders plus the SUP custom fields."""
    system = [
        _system("summary", "Summary", {"type": "string", "system": "summary"}),
        _system("description", "Description", {"type": "string", "system": "description"}),
        _system("status", "Status", {"type": "status", "system": "status"}, orderable=False),
        _system("priority", "Priority", {"type": "priority", "system": "priority"}),
        _system("labels", "Labels", {"type": "array", "items": "string", "system": "labels"}),
        _system("assignee", "Assignee", {"type": "user", "system": "assignee"}),
        _system("reporter", "Reporter", {"type": "user", "system": "reporter"}),
        _system("created", "Created", {"type": "datetime", "system": "created"}, orderable=False,
                clauses=["created", "createdDate"]),
        _system("updated", "Updated", {"type": "datetime", "system": "updated"}, orderable=False,
                clauses=["updated", "updatedDate"]),
        _system("resolutiondate", "Resolved", {"type": "datetime", "system": "resolutiondate"}, orderable=False,
                clauses=["resolved", "resolutiondate"]),
        _system("resolution", "Resolution", {"type": "resolution", "system": "resolution"}),
        _system("issuetype", "Issue Type", {"type": "issuetype", "system": "issuetype"},
                clauses=["issuetype", "type"]),
        _system("project", "Project", {"type": "project", "system": "project"}, orderable=False),
        _system("comment", "Comment", {"type": "comments-page", "system": "comment"}, navigable=False),
        _system("issuekey", "Key", {}, orderable=False, clauses=["id", "issue", "issuekey", "key"]),
    ]
    plugin = "servicedesk"
    custom = [
        _custom(TEAM_FIELD, FIELD_NAMES[TEAM_FIELD], "jira.plugin.system.customfieldtypes:select", "option"),
        _custom(PRODUCT_AREA_FIELD, FIELD_NAMES[PRODUCT_AREA_FIELD], "jira.plugin.system.customfieldtypes:select",
                "option"),
        _custom(ESCALATION_FIELD, FIELD_NAMES[ESCALATION_FIELD],
                "jira.plugin.system.customfieldtypes:multicheckboxes", "array", "option"),
        _custom(CUSTOMER_REQUEST_FIELD, FIELD_NAMES[CUSTOMER_REQUEST_FIELD],
                "jira.plugin.system.customfieldtypes:multicheckboxes", "array", "option"),
        _custom(ACCOUNT_FIELD, FIELD_NAMES[ACCOUNT_FIELD], "jira.plugin.system.customfieldtypes:textfield", "string"),
        _custom(REQUEST_TYPE_FIELD, FIELD_NAMES[REQUEST_TYPE_FIELD], f"{plugin}:vp-origin", "sd-customerrequesttype"),
        _custom(SLA_FIRST_RESPONSE_FIELD, FIELD_NAMES[SLA_FIRST_RESPONSE_FIELD], f"{plugin}:sd-sla-field",
                "sd-servicelevelagreement"),
        _custom(SLA_RESOLUTION_FIELD, FIELD_NAMES[SLA_RESOLUTION_FIELD], f"{plugin}:sd-sla-field",
                "sd-servicelevelagreement"),
    ]
    return system + custom
