"""The ``incident`` table: every column of a real incident record, read from the compact record.

The column set is that of the recorded payloads in
shared/reference/payloads/servicenow/ (plain, ``display_value=all`` and
``=true``) plus the custom columns from :mod:`sandbox.vocab`. Columns this
sandbox does not model (CMDB, approvals, ...) hold their empty or default values.
The journal columns ``work_notes``/``comments`` always exist with an empty value
(pysnc silently drops journal writes otherwise); their display value is the
journal text, newest first, as the real API renders it.
"""

from __future__ import annotations

from dataclasses import replace

from sandbox import vocab
from sandbox.servicenow import schedule
from sandbox.servicenow.catalog import Field, Table, const
from sandbox.servicenow.ids import parse_sn_time, sn_time
from sandbox.servicenow.query import EncodedQuery, equality_values, range_bounds
from sandbox.servicenow.records import Incident
from sandbox.servicenow.store import ServiceNowStore

STATE_CHOICES = {value: label for value, label in vocab.SERVICENOW["status"].values()} | {"8": "Canceled"}
PRIORITY_CHOICES = {value: label for value, label in vocab.SERVICENOW["priority"].values()} | {"5": "5 - Planning"}
IMPACT_CHOICES = {"1": "1 - High", "2": "2 - Medium", "3": "3 - Low"}
HOLD_REASON_CHOICES = dict(vocab.SERVICENOW["hold_reason"])
CATEGORY_CHOICES = {"inquiry": "Inquiry / Help", "software": "Software", "hardware": "Hardware",
                    "network": "Network", "database": "Database"}
CONTACT_CHOICES = {"email": "Email", "phone": "Phone", "self-service": "Self-service", "chat": "Chat",
                   "virtual_agent": "Virtual Agent"}
PRODUCT_AREA_CHOICES = {area: ("API" if area == "api" else area.title()) for area in vocab.PRODUCT_AREAS}
CLOSE_CODES = ["Solved (Work Around)", "Solved (Permanently)", "Solved Remotely (Work Around)",
               "Solved Remotely (Permanently)", "Not Solved (Not Reproducible)", "Not Solved (Too Costly)",
               "Closed/Resolved by Caller"]
APPROVAL_CHOICES = {"not requested": "Not Yet Requested", "requested": "Requested", "approved": "Approved",
                    "rejected": "Rejected", "cancelled": "Cancelled"}
JOURNAL_LABELS = {"comments": "Comments", "work_notes": "Work notes"}

# Writable columns -> kind (the raw value is stored on the Incident attribute of the same name).
WRITABLE = {
    "short_description": "string", "description": "string", "state": "choice", "hold_reason": "choice",
    "priority": "choice", "impact": "choice", "urgency": "choice", "caller_id": "reference",
    "assignment_group": "reference", "assigned_to": "reference", "company": "reference",
    "category": "choice", "contact_type": "choice", "close_code": "choice", "close_notes": "string",
    "u_product_area": "choice", "u_escalation_flag": "boolean", "u_customer_escalation": "boolean",
    "u_sf_account_id": "string", "approval": "choice",
}
REFERENCE_TABLES = {"caller_id": "sys_user", "assignment_group": "sys_user_group", "assigned_to": "sys_user",
                    "company": "core_company"}


def _attr(name: str):
    return lambda row: getattr(row, name)


def _time(name: str):
    return lambda row: sn_time(getattr(row, name))


def _user_ref(name: str) -> Field:
    return Field(_attr(name), "reference", ref="sys_user")


def journal_text(store: ServiceNowStore, incident: Incident, elements: tuple[str, ...]) -> str:
    """The journal as a form shows it: ``<when> - <who> (<label>)\\n<text>\\n\\n``, newest first."""
    parts = []
    for entry in reversed(incident.journal):
        if entry.element in elements:
            who = store.full_name_of(entry.created_by)
            parts.append(f"{sn_time(entry.created_on)} - {who} ({JOURNAL_LABELS[entry.element]})\n{entry.value}\n\n")
    return "".join(parts)


def _stc(kind: str):
    def seconds(row: Incident) -> float | None:
        if row.resolved_at is None:
            return None
        if kind == "business":
            return schedule.business_seconds(row.opened_at, row.resolved_at)
        return (row.resolved_at - row.opened_at).total_seconds()
    return seconds


def _duration_field(kind: str) -> Field:
    seconds = _stc(kind)
    return Field(lambda row: "" if seconds(row) is None else schedule.duration_value(seconds(row)), "duration",
                 display=lambda row: "" if seconds(row) is None else schedule.duration_display(seconds(row)))


def _stc_field(kind: str) -> Field:
    seconds = _stc(kind)
    return Field(lambda row: "" if seconds(row) is None else str(int(seconds(row))), "integer")


def incident_fields(store: ServiceNowStore) -> dict[str, Field]:
    """Every column of the incident table, in the order of the recorded payload."""
    journal = lambda *elements: Field(const("").get, "journal",  # noqa: E731
                                      display=lambda row: journal_text(store, row, elements))
    # Tags live in label_entry; the record shows their names (what deskbridge's normalizer reads).
    tags = Field(lambda row: ",".join(store.tag_names(row)), "string",
                 display=lambda row: ", ".join(store.tag_names(row)))
    return {
        "parent": const(""), "made_sla": const("true", "boolean"), "caused_by": const(""),
        "watch_list": const(""),
        "upon_reject": const("cancel", "choice", choices={"cancel": "Cancel all future Tasks",
                                                           "goto": "Go to a previous Task"}),
        "sys_updated_on": Field(_time("updated_on"), "datetime"),
        "child_incidents": const("0", "integer"),
        "hold_reason": Field(_attr("hold_reason"), "choice", choices=HOLD_REASON_CHOICES),
        "origin_table": const(""), "task_effective_number": Field(_attr("number")),
        "approval_history": const(""), "number": Field(_attr("number")),
        "resolved_by": _user_ref("resolved_by"),
        "sys_updated_by": Field(_attr("updated_by")),
        "opened_by": _user_ref("caller_id"), "user_input": const(""),
        "sys_created_on": Field(_time("opened_at"), "datetime"),
        "sys_domain": Field(const("global").get, "reference", ref="sys_user_group", display=lambda _r: "global"),
        "state": Field(_attr("state"), "choice", choices=STATE_CHOICES),
        "route_reason": const(""), "sys_created_by": Field(_attr("created_by")),
        "knowledge": const("false", "boolean"), "order": const(""),
        "calendar_stc": _stc_field("calendar"),
        "closed_at": Field(_time("closed_at"), "datetime"),
        "cmdb_ci": const(""), "delivery_plan": const(""), "contract": const(""),
        "impact": Field(_attr("impact"), "choice", choices=IMPACT_CHOICES),
        "active": Field(lambda row: "false" if row.state in ("7", "8") else "true", "boolean"),
        "work_notes_list": const(""), "business_service": const(""), "business_impact": const(""),
        "priority": Field(_attr("priority"), "choice", choices=PRIORITY_CHOICES),
        "sys_domain_path": const("/"), "rfc": const(""), "time_worked": const(""), "expected_start": const(""),
        "opened_at": Field(_time("opened_at"), "datetime"),
        "business_duration": _duration_field("business"), "group_list": const(""), "work_end": const(""),
        "caller_id": _user_ref("caller_id"),
        "reopened_time": Field(_time("reopened_time"), "datetime"),
        "resolved_at": Field(_time("resolved_at"), "datetime"),
        "approval_set": const(""), "subcategory": const(""),
        "work_notes": journal("work_notes"), "universal_request": const(""),
        "short_description": Field(_attr("short_description")),
        "close_code": Field(_attr("close_code"), "choice", choices={code: code for code in CLOSE_CODES}),
        "correlation_display": const(""), "delivery_task": const(""), "work_start": const(""),
        "assignment_group": Field(_attr("assignment_group"), "reference", ref="sys_user_group"),
        "additional_assignee_list": const(""), "business_stc": _stc_field("business"), "cause": const(""),
        "description": Field(_attr("description")), "origin_id": const(""),
        "calendar_duration": _duration_field("calendar"),
        "close_notes": Field(_attr("close_notes")),
        "notify": const("1", "choice", choices={"1": "Do Not Notify", "2": "Send Email"}),
        "service_offering": const(""),
        "sys_class_name": const("incident", "choice", choices={"incident": "Incident"}),
        "closed_by": _user_ref("closed_by"), "follow_up": const(""), "parent_incident": const(""),
        "sys_id": Field(_attr("sys_id")),
        "contact_type": Field(_attr("contact_type"), "choice", choices=CONTACT_CHOICES),
        "reopened_by": _user_ref("reopened_by"),
        "incident_state": Field(_attr("state"), "choice", choices=STATE_CHOICES),
        "urgency": Field(_attr("urgency"), "choice", choices=IMPACT_CHOICES), "problem_id": const(""),
        "company": Field(_attr("company"), "reference", ref="core_company"),
        "reassignment_count": Field(lambda row: str(row.reassignment_count), "integer"),
        "activity_due": const("", "datetime"),
        "assigned_to": _user_ref("assigned_to"),
        "severity": const("3", "choice", choices=IMPACT_CHOICES),
        "comments": journal("comments"),
        "approval": Field(_attr("approval"), "choice", choices=APPROVAL_CHOICES),
        "sla_due": Field(const("").get, "datetime", display=lambda _r: "UNKNOWN"),
        "comments_and_work_notes": journal("comments", "work_notes"),
        "due_date": const("", "datetime"),
        "sys_mod_count": Field(lambda row: str(row.mod_count), "integer"),
        "reopen_count": Field(lambda row: str(row.reopen_count), "integer"),
        "sys_tags": tags,
        "escalation": const("0", "choice", choices={"0": "Normal", "1": "Moderate", "2": "High", "3": "Overdue"}),
        "upon_approval": const("proceed", "choice", choices={"proceed": "Proceed to Next Task"}),
        "correlation_id": const(""), "location": const(""),
        "category": Field(_attr("category"), "choice", choices=CATEGORY_CHOICES),
        "u_product_area": Field(_attr("u_product_area"), "choice", choices=PRODUCT_AREA_CHOICES),
        "u_escalation_flag": Field(_attr("u_escalation_flag"), "boolean"),
        "u_customer_escalation": Field(_attr("u_customer_escalation"), "boolean"),
        "u_sf_account_id": Field(_attr("u_sf_account_id")),
    }


def incident_table(store: ServiceNowStore) -> Table:
    """The incident table with its two indexes: sys_id/number lookups and the sys_updated_on range."""

    def index(parsed):
        for column, lookup in (("sys_id", store.incidents), ("number", store.incidents_by_number)):
            wanted = equality_values(parsed, column)
            if wanted is not None:
                return _lookup(lookup, wanted), (), parsed
        bounds = range_bounds(parsed, "sys_updated_on")
        if bounds is not None:
            return store.updated_between(*bounds), ("sys_updated_on", "sys_id"), _residual(parsed)
        return None

    return Table(
        "incident", incident_fields(store), "number",
        rows=lambda: (store.incidents[sys_id] for sys_id in store.creation_order),
        by_id=store.incidents.get, index=index,
    )


def _residual(parsed: EncodedQuery) -> EncodedQuery:
    """What the sys_updated_on index did not already apply exactly (it is exact for >= and <= on full times)."""
    def exact(term) -> bool:
        c = term[0]
        return len(term) == 1 and c.field == "sys_updated_on" and c.op in (">=", "<=") and parse_sn_time(c.value)
    return replace(parsed, groups=tuple(tuple(t for t in group if not exact(t)) for group in parsed.groups))


def _lookup(index: dict, values: set[str]) -> list:
    found = (index.get(v) or index.get(v.upper()) or index.get(v.lower()) for v in sorted(values))
    return [row for row in found if row is not None]
