"""ServiceNow normalizer: the three record forms, journals, audits, task_sla, and precise payload errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.raw import Reader
from connectors.servicenow.normalize import concurrency_token, normalize_many, to_ticket
from connectors.servicenow.normalize_journal import People, comment_from_row
from core.config import load_mappings
from core.errors import PayloadError
from core.markers import marker
from core.model import Priority, Role, Status, System

ROOT = Path(__file__).resolve().parent.parent
SYS_ID = "1c741bd70b2322007518478d83673af3"


@pytest.fixture(scope="module")
def mapping():
    return load_mappings(ROOT / "mapping", with_policy=False).servicenow


@pytest.fixture
def load(payloads_dir):
    return lambda name: json.loads((payloads_dir / "servicenow" / name).read_text(encoding="utf-8"))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_plain_values(load, mapping):
    [raw] = load("incident_table_plain_values.json")["result"]
    t = to_ticket(raw, mapping)
    assert (t.system, t.id, t.key) == (System.servicenow, SYS_ID, "INC0000060")
    assert t.url == f"https://dev112093.service-now.com/incident.do?sys_id={SYS_ID}"
    assert (t.subject, t.description) == ("Unable to connect to email",
                                          "I am unable to connect to the email server. It appears to be down.")
    assert (t.status, t.native_status, t.priority, t.native_priority) == (Status.closed, "7", Priority.normal, "3")
    assert t.category == "inquiry"
    assert (t.requester_id, t.organization_id, t.assignee_id) == (
        "681ccaf9c0a8016400b98a06818d57c7", "31bea3d53790200044e0bfc8bcbe5dec", "5137153cc611227c000bbd1bd8cd2007")
    assert (t.group_id, t.group, t.group_name) == ("287ebd7da9fe198100f92cc8d1d2154e", "tier2", None)
    assert (t.created_at, t.updated_at) == (utc(2016, 12, 12, 15, 19, 57), utc(2016, 12, 14, 2, 46, 44))
    assert t.solved_at == utc(2016, 12, 13, 21, 43, 14)  # resolved_at
    assert t.concurrency_token == "15"
    assert (t.comments, t.tags, t.custom_fields) == ((), (), {})  # journal fields are empty strings here


def test_display_value_all_subset(load, mapping):
    """Elastic's field subset: no number, no short_description, no sys_mod_count."""
    [raw] = load("incident_table_display_value_all.json")["result"]
    t = to_ticket(raw, mapping)
    assert (t.id, t.key, t.subject, t.url) == (SYS_ID, SYS_ID, "", None)
    assert (t.status, t.native_status, t.priority, t.native_priority) == (Status.closed, "7", Priority.normal, "3")
    assert t.assignee_id == "5137153cc611227c000bbd1bd8cd2007"
    assert (t.created_at, t.updated_at) == (utc(2016, 12, 12, 15, 19, 57), utc(2024, 9, 24, 5, 39, 40))  # raw values
    assert t.solved_at == utc(2016, 12, 14, 2, 46, 44)  # closed_at: resolved_at is not in the subset
    assert t.concurrency_token == "sys_updated_on:2024-09-24 05:39:40"
    assert concurrency_token(raw) == t.concurrency_token


def test_display_value_true_in_the_readers_time_zone(load, mapping):
    la = mapping.model_copy(update={"display_timezone": "America/Los_Angeles"})
    t = to_ticket(load("incident_get_display_value_true.json"), la)
    assert (t.key, t.status, t.native_status, t.priority, t.native_priority) == (
        "INC0000060", Status.closed, "7", Priority.normal, "3")
    assert t.url == f"https://dev405491.service-now.com/incident.do?sys_id={SYS_ID}"
    assert (t.group_id, t.group_name, t.group) == ("287ebd7da9fe198100f92cc8d1d2154e", "Network", "tier2")
    assert (t.requester_id, t.requester_name) == ("681ccaf9c0a8016400b98a06818d57c7", "Joe Employee")
    assert t.category == "Inquiry / Help"
    # the same instants as the plain (UTC) record of the same incident
    assert t.created_at == utc(2016, 12, 12, 15, 19, 57)
    assert t.solved_at == utc(2016, 12, 13, 21, 43, 14)
    assert t.updated_at == utc(2026, 7, 14, 0, 28, 40)
    assert t.concurrency_token == "19"
    public = [c for c in t.comments if c.public]
    internal = [c for c in t.comments if not c.public]
    assert (len(public), len(internal)) == (9, 7)
    assert [c.author_name for c in public if c.role is Role.customer] == ["Joe Employee"] * 4
    assert {c.role for c in internal} == {Role.agent}
    first = t.comments[0]
    assert (first.author_name, first.role, first.created_at) == ("Joe Employee", Role.customer,
                                                                 utc(2016, 12, 12, 15, 19, 57))
    assert first.body == "I am unable to connect to the email server. It appears to be down."
    assert t.first_agent_reply_at == utc(2016, 12, 12, 16, 30, 49)  # Beth Anglin, 08:30:49 Pacific
    beth = t.comments[1]
    assert beth.body == "Hi Joe,\nMy name is Beth and I'll be assisting you with your issue."
    assert len({c.id for c in t.comments}) == 16  # synthetic ids are distinct and stable
    assert [c.id for c in to_ticket(load("incident_get_display_value_true.json"), la).comments] == [
        c.id for c in t.comments]


def test_display_times_follow_the_mapping_time_zone(load, mapping):
    t = to_ticket(load("incident_get_display_value_true.json"), mapping)  # shipped: UTC
    assert t.created_at == utc(2016, 12, 12, 7, 19, 57)


def test_csm_activity_entry(load, mapping):
    [entry] = load("csm_case_activities_doc_example.json")["result"]["entries"]
    reader = Reader(System.servicenow, "f352dc9387632300d6b0a7da0acb0b60")
    c = comment_from_row(entry, People(mapping), reader)
    assert (c.id, c.author_id, c.author_name) == ("600b6e4adb241010d045232d1396196a",
                                                   "da419c1fc312310015519f2974d3ae15", "John Jason")
    assert (c.role, c.public, c.by_deskbridge) == (Role.agent, True, False)
    assert c.created_at == utc(2020, 5, 4, 21, 15, 44)
    assert c.body.startswith("Hi, Alex. Can you please send me a photo")
    as_caller = comment_from_row(entry, People(mapping, caller_id="da419c1fc312310015519f2974d3ae15"), reader)
    assert as_caller.role is Role.customer


# --- the sandbox's shapes -------------------------------------------------------------------


def _incident(**over) -> dict:
    base = {
        "sys_id": "a" * 32, "number": "INC0010001", "short_description": "Invoices missing",
        "description": "Since Monday", "state": "3", "hold_reason": "1", "priority": "2",
        "caller_id": {"value": "c" * 32, "link": "https://acme.service-now.com/api/now/table/sys_user/" + "c" * 32},
        "assignment_group": {"value": "a715cd759f2002002920bde8132e7018", "link": "x"},
        "assigned_to": "", "company": "", "opened_at": "2026-03-02 09:00:00",
        "sys_created_on": "2026-03-02 09:00:00", "sys_updated_on": "2026-03-02 11:00:00", "sys_mod_count": "4",
        "u_product_area": "billing", "u_escalation_flag": "false", "u_customer_escalation": "true",
        "u_sf_account_id": "001xx000003DGb2AAG", "approval": "approved", "work_notes": "", "comments": "",
    }
    return base | over


USERS = [
    {"sys_id": "c" * 32, "user_name": "cara.customer", "name": "Cara Customer"},
    {"sys_id": "d" * 32, "user_name": "alex.agent", "name": "Alex Agent"},
]


def test_hold_reason_fields_and_approval(mapping):
    t = to_ticket(_incident(), mapping, journal=[])
    assert (t.status, t.native_status) == (Status.pending, "3")  # On Hold, Awaiting Caller
    assert to_ticket(_incident(hold_reason="4"), mapping).status is Status.on_hold
    assert (t.priority, t.group, t.product_area, t.account_id) == (Priority.high, "billing", "billing",
                                                                   "001xx000003DGb2AAG")
    assert (t.agent_escalation_flag, t.customer_escalation_request) == (False, True)
    assert t.tags == ("deskbridge_approved",)  # the approval field read as the shared supervisor tag
    assert to_ticket(_incident(approval="rejected"), mapping).tags == ("deskbridge_rejected",)
    assert to_ticket(_incident(approval="not requested"), mapping).tags == ()
    assert t.url == "https://acme.service-now.com/incident.do?sys_id=" + "a" * 32


def test_journal_rows_roles_and_echoes(mapping):
    journal = [
        {"sys_id": "j1", "element": "comments", "element_id": "a" * 32, "name": "incident", "value": "Still broken",
         "sys_created_on": "2026-03-02 09:05:00", "sys_created_by": "cara.customer"},
        {"sys_id": "j2", "element": "work_notes", "value": "Called the user", "sys_created_on": "2026-03-02 09:10:00",
         "sys_created_by": "alex.agent"},
        {"sys_id": "j3", "element": "comments", "value": "[code]<p>We are on it &amp; close</p>[/code]",
         "sys_created_on": "2026-03-02 09:20:00", "sys_created_by": "alex.agent"},
        {"sys_id": "j4", "element": "work_notes", "value": f"Escalated {marker('servicenow-a-1x2y3z')}",
         "sys_created_on": "2026-03-02 09:30:00", "sys_created_by": "deskbridge.integration"},
        {"sys_id": "j5", "element": "work_notes_list", "value": "x", "sys_created_on": "2026-03-02 09:31:00"},
    ]
    t = to_ticket(_incident(), mapping, journal=journal, users=USERS)
    got = [(c.id, c.role, c.public, c.body, c.by_deskbridge, c.author_name) for c in t.comments]
    assert got == [
        ("j1", Role.customer, True, "Still broken", False, "Cara Customer"),
        ("j2", Role.agent, False, "Called the user", False, "Alex Agent"),
        ("j3", Role.agent, True, "We are on it & close", False, "Alex Agent"),
        ("j4", Role.agent, False, f"Escalated {marker('servicenow-a-1x2y3z')}", True, None),
    ]
    assert t.first_agent_reply_at == utc(2026, 3, 2, 9, 20)


def test_audit_history(mapping):
    audits = [
        {"fieldname": "state", "oldvalue": "", "newvalue": "1", "user": "cara.customer",
         "sys_created_on": "2026-03-02 09:00:00"},  # the insert: an initial value, not a change
        {"fieldname": "state", "oldvalue": "1", "newvalue": "6", "user": "alex.agent", "sys_created_on": "2026-03-02 09:40:00"},
        {"fieldname": "state", "oldvalue": "6", "newvalue": "3", "user": "cara.customer", "sys_created_on": "2026-03-02 10:00:00"},
        {"fieldname": "hold_reason", "oldvalue": "", "newvalue": "1", "user": "cara.customer",
         "sys_created_on": "2026-03-02 10:00:00"},
        {"fieldname": "assignment_group", "oldvalue": "a715cd759f2002002920bde8132e7018",
         "newvalue": "8a5055c9c61122780043563ef53438e3", "user": "deskbridge.integration",
         "sys_created_on": "2026-03-02 10:30:00"},
        {"fieldname": "priority", "oldvalue": "3", "newvalue": "2", "user": "deskbridge.integration",
         "sys_created_on": "2026-03-02 10:30:00"},
        {"fieldname": "assigned_to", "oldvalue": "", "newvalue": "d" * 32, "user": "alex.agent",
         "sys_created_on": "2026-03-02 10:45:00"},
        {"fieldname": "short_description", "oldvalue": "a", "newvalue": "b", "user": "alex.agent",
         "sys_created_on": "2026-03-02 10:50:00"},
    ]
    t = to_ticket(_incident(), mapping, audits=audits)
    got = [(e.kind.value, e.from_value, e.to_value, e.actor_id, e.by_deskbridge) for e in t.history]
    assert got == [
        ("status_change", "new", "solved", "alex.agent", False),
        ("status_change", "solved", "pending", "cara.customer", False),
        ("reopen", "solved", "pending", "cara.customer", False),
        ("group_change", "billing", "tier3", "deskbridge.integration", True),
        ("priority_change", "normal", "high", "deskbridge.integration", True),
        ("assignee_change", None, "d" * 32, "alex.agent", False),
    ]
    assert (t.reopen_count, t.reassignment_count) == (1, 1)


def test_task_sla_rows(mapping):
    slas = [
        {"sla": {"value": "s1", "display_value": "Priority 2 resolution (8 hour)"}, "stage": "in_progress",
         "has_breached": "false", "start_time": "2026-03-02 09:00:00", "planned_end_time": "2026-03-02 17:00:00",
         "end_time": "", "time_left": "1970-01-01 06:00:00"},
        {"sla": {"value": "s2", "display_value": "Custom response"}, "sla.target": "response", "stage": "breached",
         "has_breached": "true", "start_time": "2026-03-02 09:00:00", "planned_end_time": "2026-03-02 10:00:00",
         "end_time": "2026-03-02 10:30:00", "time_left": ""},
        {"sla": {"value": "s3", "display_value": "Old"}, "stage": "cancelled", "start_time": "2026-03-01 09:00:00"},
        {"sla": {"value": "s4", "display_value": "Priority 2 response (1 hour)"}, "stage": "paused",
         "has_breached": "false", "start_time": "2026-03-02 09:00:00", "planned_end_time": ""},
    ]
    t = to_ticket(_incident(), mapping, slas=slas)
    got = [(s.name, s.target, s.started_at, s.due_at, s.completed_at, s.breached, s.paused, s.remaining_seconds)
           for s in t.native_slas]
    assert got == [
        ("Priority 2 resolution (8 hour)", "resolution", utc(2026, 3, 2, 9), utc(2026, 3, 2, 17), None, False, False,
         21600.0),
        ("Custom response", "first_response", utc(2026, 3, 2, 9), utc(2026, 3, 2, 10), utc(2026, 3, 2, 10, 30), True,
         False, None),
        ("Priority 2 response (1 hour)", "first_response", utc(2026, 3, 2, 9), None, None, False, True, None),
    ]
    assert {s.source for s in t.native_slas} == {"task_sla"}


@pytest.mark.parametrize(("change", "message"), [
    ({"state": "99"}, f"servicenow ticket {'a' * 32} field 'state': '99' is not in the ServiceNow mapping's "
                      "status_map (1 (New), 2 (In Progress), 3 (On Hold), 6 (Resolved), 7 (Closed))"),
    ({"state": ""}, f"servicenow ticket {'a' * 32} field 'state': is missing"),
    ({"priority": "9"}, f"servicenow ticket {'a' * 32} field 'priority': '9' is not in the ServiceNow mapping's "
                        "priority_map (1, 2, 3, 4)"),
    ({"sys_updated_on": "", "sys_mod_count": ""}, f"servicenow ticket {'a' * 32} field 'sys_updated_on': is missing"),
    ({"sys_created_on": "13/02/2026", "opened_at": ""},
     f"servicenow ticket {'a' * 32} field 'sys_created_on': '13/02/2026' is not a timestamp"),
    ({"short_description": ["x"]}, f"servicenow ticket {'a' * 32} field 'short_description': expected text, got list"),
])
def test_payload_errors(mapping, change, message):
    with pytest.raises(PayloadError) as err:
        to_ticket(_incident(**change), mapping)
    assert str(err.value) == message


def test_missing_sys_id_and_quarantine(mapping):
    raws = [_incident(sys_id="b" * 32), _incident(sys_id="", number="INC0010002"), _incident(sys_id="e" * 32)]
    tickets, quarantined = normalize_many(raws, mapping)
    assert [t.id for t in tickets] == ["b" * 32, "e" * 32]
    [q] = quarantined
    assert (q.ticket_id, q.field, q.reason) == ("INC0010002", "sys_id", "servicenow ticket INC0010002 field 'sys_id': "
                                                                        "is missing")
