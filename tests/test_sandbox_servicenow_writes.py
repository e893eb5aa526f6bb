"""The ServiceNow emulator's write side, driven by pysnc: updates, journal, batch, conflicts, tags, humans."""

from __future__ import annotations

import base64
import json

import pytest
from pysnc.exceptions import RequestException
from test_sandbox_servicenow import T0, Running, certs, sn  # noqa: F401  (fixtures)

from sandbox.context import Fault
from sandbox.servicenow import incident_number, incident_sys_id, user_sys_id
from sandbox.world import SeedTicket

TIER3 = "8a5055c9c61122780043563ef53438e3"


def fetch(sn: Running, n: int):
    gr = sn.client.GlideRecord("incident")
    assert gr.get(incident_sys_id(n))
    return gr


def kinds(writes: list[dict]) -> list[tuple[str, dict]]:
    return [(w["kind"], w["detail"]) for w in writes]


def test_given_state_group_and_work_notes_when_updated_then_they_read_back_with_journal_and_audit(sn: Running):
    gr = fetch(sn, 2)
    token = int(str(gr.sys_mod_count))
    sn.ctx.clock.advance(600)
    gr.state = "3"
    gr.hold_reason = "1"
    gr.assignment_group = TIER3
    gr.work_notes = "Escalating to tier 3 [deskbridge:abc123def]"
    gr.update()
    assert int(str(gr.sys_mod_count)) == token + 1  # the PATCH answer replaced the local record

    again = fetch(sn, 2)
    assert (str(again.state), str(again.hold_reason), str(again.assignment_group)) == ("3", "1", TIER3)
    assert again.assignment_group.get_display_value() == "Tier 3 Engineering"
    assert str(again.sys_updated_on) == "2026-03-02 09:10:00" and str(again.sys_updated_by) == "deskbridge.integration"
    assert str(again.work_notes) == ""  # journal fields keep an empty value on the record
    assert again.work_notes.get_display_value().startswith(
        "2026-03-02 09:10:00 - Deskbridge Integration (Work notes)\nEscalating to tier 3 [deskbridge:abc123def]")

    journal = sn.client.GlideRecord("sys_journal_field")
    journal.add_query("element_id", incident_sys_id(2))
    journal.add_query("element", "work_notes")
    journal.order_by_desc("sys_created_on")
    journal.query()
    assert journal.next()
    assert (str(journal.value), str(journal.sys_created_by), str(journal.name)) == (
        "Escalating to tier 3 [deskbridge:abc123def]", "deskbridge.integration", "incident")

    audit = sn.raw("/api/now/table/sys_audit", sysparm_query=f"documentkey={incident_sys_id(2)}"
                   "^sys_created_on>=2026-03-02 09:10:00^ORDERBYfieldname").json()["result"]
    assert [(a["fieldname"], a["oldvalue"], a["newvalue"]) for a in audit] == [
        ("assignment_group", "287ebd7da9fe198100f92cc8d1d2154e", TIER3), ("hold_reason", "", "1"),
        ("reassignment_count", "0", "1"), ("state", "2", "3"),
        ("work_notes", "", "Escalating to tier 3 [deskbridge:abc123def]"),
    ]
    assert kinds(sn.api_writes()) == [
        ("status", {"from": "open", "to": "pending"}), ("group", {"from": "tier2", "to": "tier3"}),
        ("comment", {"public": False, "body": "Escalating to tier 3 [deskbridge:abc123def]"}),
    ]
    view = sn.emulator.view(incident_sys_id(2))
    assert (view["status"], view["group"], view["token"]) == ("pending", "tier3", str(token + 1))


def test_given_a_customer_comment_then_it_is_public_and_logged_once(sn: Running):
    gr = fetch(sn, 4)
    gr.comments = "We are on it."
    gr.update()
    assert kinds(sn.api_writes()) == [("comment", {"public": True, "body": "We are on it."})]
    assert sn.emulator.view(incident_sys_id(4))["comments"][-1] == {
        "public": True, "body": "We are on it.", "author_email": "deskbridge.integration@example.com",
        "at": T0.isoformat()}


def test_given_an_update_that_changes_nothing_then_the_record_and_token_stay(sn: Running):
    before = sn.emulator.view(incident_sys_id(2))
    response = sn.client.session.patch(f"{sn.url}/api/now/table/incident/{incident_sys_id(2)}",
                                       json={"state": "2", "u_unknown_column": "x"})
    assert response.status_code == 200 and response.json()["result"]["sys_mod_count"] == before["token"]
    assert sn.emulator.view(incident_sys_id(2)) == before and sn.api_writes() == []


def test_given_resolve_then_reopen_then_the_business_rules_fill_and_clear_fields(sn: Running):
    gr = fetch(sn, 2)
    gr.state = "6"
    gr.close_code = "Solved (Permanently)"
    gr.close_notes = "Fixed"
    gr.update()
    assert str(gr.resolved_at) == "2026-03-02 09:00:00" and str(gr.resolved_by) == user_sys_id(
        "deskbridge.integration")
    sn.ctx.clock.advance(3600)
    gr.state = "2"
    gr.update()
    assert (str(gr.resolved_at), str(gr.reopen_count), str(gr.reopened_time)) == ("", "1", "2026-03-02 10:00:00")
    assert [w["detail"] for w in sn.api_writes() if w["kind"] == "status"] == [
        {"from": "open", "to": "solved"}, {"from": "solved", "to": "open"}]


def test_given_impact_and_urgency_then_priority_follows_the_lookup_and_back(sn: Running):
    gr = fetch(sn, 4)  # P4: impact 2, urgency 3
    gr.urgency = "1"
    gr.update()
    assert (str(gr.priority), str(gr.impact), str(gr.urgency)) == ("2", "2", "1")
    gr.priority = "1"
    gr.update()
    assert (str(gr.priority), str(gr.impact), str(gr.urgency)) == ("1", "1", "1")
    assert [w["detail"] for w in sn.api_writes() if w["kind"] == "priority"] == [
        {"from": "low", "to": "high"}, {"from": "high", "to": "urgent"}]


def test_given_reference_and_flag_values_by_name_then_they_resolve_like_the_instance(sn: Running):
    response = sn.client.session.patch(
        f"{sn.url}/api/now/table/incident/{incident_sys_id(2)}",
        params={"sysparm_display_value": "all", "sysparm_exclude_reference_link": "true"},
        json={"assignment_group": "Billing", "assigned_to": "agent-1", "u_escalation_flag": True,
              "u_product_area": "mobile"})
    result = response.json()["result"]
    assert result["assignment_group"]["display_value"] == "Billing"
    assert result["assigned_to"] == {"display_value": "Bo Agent", "value": user_sys_id("agent-1")}
    assert result["u_escalation_flag"]["value"] == "true"
    assert ("field", {"name": "escalation_flag", "value": True}) in kinds(sn.api_writes())
    assert ("field", {"name": "product_area", "value": "mobile"}) in kinds(sn.api_writes())


def test_given_update_multiple_then_one_batch_request_updates_each_record_with_its_own_result(sn: Running):
    gr = sn.client.GlideRecord("incident")
    gr.add_query("state", "2")  # incidents 2 and 8
    gr.query()
    for record in gr:
        record.state = "6"
        record.work_notes = f"bulk note for {record.number}"
    results = []
    assert gr.update_multiple(custom_handler=results.append)
    assert sorted((r.status_code, r.json()["result"]["state"]["value"]) for r in results) == [(200, "6"), (200, "6")]
    assert [r["path"] for r in sn.requests("POST", at_least=1)] == ["/api/now/v1/batch"]
    assert sn.requests("PATCH", at_least=0) == []
    for n in (2, 8):
        view = sn.emulator.view(incident_sys_id(n))
        assert view["status"] == "solved" and view["comments"][-1]["body"] == f"bulk note for {incident_number(n)}"
    assert sorted(w["kind"] for w in sn.api_writes()) == ["comment", "comment", "status", "status"]


def test_given_a_raw_batch_then_each_inner_request_is_served_alone_with_its_status(sn: Running):
    def item(ident: str, method: str, url: str, body: dict | None = None) -> dict:
        out = {"id": ident, "method": method, "url": url, "headers": [{"name": "Content-Type",
                                                                        "value": "application/json"}]}
        if body is not None:
            out["body"] = base64.b64encode(json.dumps(body).encode()).decode()
        return out
    batch = {"batch_request_id": 7, "rest_requests": [
        item("a", "GET", f"/api/now/table/incident?sysparm_query=number={incident_number(1)}&sysparm_fields=number"),
        item("b", "PATCH", "/api/now/table/incident/0123456789abcdef0123456789abcdef", {"state": "2"}),
        item("c", "PATCH", f"/api/now/table/incident/{incident_sys_id(1)}", {"state": "2"}),
    ]}
    answer = sn.client.session.post(f"{sn.url}/api/now/v1/batch", json=batch).json()
    assert answer["batch_request_id"] == "7" and answer["unserviced_requests"] == []
    served = {s["id"]: s for s in answer["serviced_requests"]}
    assert [(s["id"], s["status_code"], s["status_text"]) for s in answer["serviced_requests"]] == [
        ("a", 200, "OK"), ("b", 404, "Not Found"), ("c", 200, "OK")]
    listed = served["a"]
    assert {"name": "X-Total-Count", "value": "1"} in listed["headers"]
    assert json.loads(base64.b64decode(listed["body"]))["result"] == [
        {"sys_id": incident_sys_id(1), "number": incident_number(1)}]
    assert json.loads(base64.b64decode(served["c"]["body"]))["result"]["state"] == "2"
    assert kinds(sn.api_writes()) == [("status", {"from": "new", "to": "open"})]


def test_given_a_429_on_patch_then_pysnc_raises_at_once_and_nothing_is_written(sn: Running):
    gr = fetch(sn, 2)
    before = sn.emulator.view(incident_sys_id(2))
    sn.ctx.faults.add(Fault("429", system="servicenow", method="PATCH", count=1, retry_after=1))
    gr.state = "6"
    with pytest.raises(RequestException, match="Rate limit exceeded"):
        gr.update()
    assert len(sn.requests("PATCH")) == 1  # urllib3 never retries PATCH
    assert sn.emulator.view(incident_sys_id(2)) == before and sn.api_writes() == []
    gr.update()  # the caller's own retry goes through
    assert sn.emulator.view(incident_sys_id(2))["status"] == "solved"


def test_given_a_conflict_on_patch_then_a_human_edit_lands_first_and_the_token_moves_twice(sn: Running):
    gr = fetch(sn, 2)
    token = int(str(gr.sys_mod_count))
    sn.ctx.faults.add(Fault("conflict", system="servicenow", method="PATCH", count=1))
    gr.priority = "1"
    gr.update()
    assert int(str(gr.sys_mod_count)) == token + 2
    assert sn.emulator.view(incident_sys_id(2))["tags"] == ["human_edit"]
    writes = sn.ctx.log.query_writes("servicenow")
    assert [(w["actor"], w["kind"]) for w in writes] == [("human", "tags_added"), ("api", "priority")]
    assert writes[0]["detail"] == {"tags": ["human_edit"]}


def test_given_a_conflict_on_a_read_then_the_read_already_shows_the_human_edit(sn: Running):
    before = sn.emulator.view(incident_sys_id(5))["token"]
    sn.ctx.faults.add(Fault("conflict", system="servicenow", method="GET", count=1))
    gr = fetch(sn, 5)
    assert int(str(gr.sys_mod_count)) == int(before) + 1
    assert gr.sys_tags.get_display_value() == "human_edit"


def test_given_tags_through_label_and_label_entry_then_the_incident_shows_them(sn: Running):
    label = sn.client.GlideRecord("label")
    label.initialize()
    label.name = "deskbridge_escalated"
    assert label.insert()
    entry = sn.client.GlideRecord("label_entry")
    entry.initialize()
    entry.label = "deskbridge_escalated"  # a reference set by display value
    entry.set_value("table", "incident")  # GlideRecord.table is a read-only property of pysnc
    entry.table_key = incident_sys_id(3)
    token = sn.emulator.view(incident_sys_id(3))["token"]
    entry_id = entry.insert()
    assert entry_id
    view = sn.emulator.view(incident_sys_id(3))
    assert view["tags"] == ["vip", "deskbridge_escalated"]
    assert view["token"] == token  # tags live in label_entry: the incident itself is not updated
    again = sn.client.session.post(f"{sn.url}/api/now/table/label_entry", json={
        "label": "deskbridge_escalated", "table": "incident", "table_key": incident_sys_id(3)})
    assert again.status_code == 201 and again.json()["result"]["sys_id"] == str(entry_id)  # tagging twice: same
    plain = sn.raw(f"/api/now/table/incident/{incident_sys_id(3)}", sysparm_fields="sys_tags").json()["result"]
    assert plain["sys_tags"] == "vip,deskbridge_escalated"
    duplicate = sn.client.session.post(f"{sn.url}/api/now/table/label", json={"name": "deskbridge_escalated"})
    assert duplicate.status_code == 403 and duplicate.json()["status"] == "failure"
    found = sn.client.GlideRecord("label_entry")
    found.add_query("table_key", incident_sys_id(3))
    found.add_query("label.name", "deskbridge_escalated")
    found.query()
    assert found.next() and found.delete()
    assert sn.emulator.view(incident_sys_id(3))["tags"] == ["vip"]
    assert kinds(sn.api_writes()) == [("tags_added", {"tags": ["deskbridge_escalated"]}),
                                      ("tags_removed", {"tags": ["deskbridge_escalated"]})]


def test_given_writes_the_api_user_may_not_make_then_the_acl_answer_comes_back(sn: Running):
    denied = sn.client.session.patch(f"{sn.url}/api/now/table/sys_user/{user_sys_id('agent-1')}", json={"name": "x"})
    assert denied.status_code == 403 and denied.json()["error"]["message"] == "Operation Failed"
    broken = sn.client.session.patch(f"{sn.url}/api/now/table/incident/{incident_sys_id(1)}", data=b"{not json")
    assert broken.status_code == 400


# -- the sandbox hooks: humans and new tickets ------------------------------------------------------------

def test_given_human_actions_then_each_moves_the_token_and_is_logged_as_human(sn: Running):
    sys_id = incident_sys_id(2)
    emulator = sn.emulator
    token = int(emulator.view(sys_id)["token"])
    sn.ctx.clock.advance(60)
    view = emulator.human(sys_id, {"action": "reassign", "group": "tier3", "assignee": "agent-3"})
    assert (view["group"], view["assignee"], int(view["token"])) == ("tier3", "di@acme.test", token + 1)
    view = emulator.human(sys_id, {"action": "comment", "body": "Any news?"})
    assert view["comments"][-1] == {"public": True, "body": "Any news?", "author_email": "bjorn@initech.example",
                                    "at": "2026-03-02T09:01:00+00:00"}
    view = emulator.human(sys_id, {"action": "comment", "author": "agent-3", "public": False, "body": "checking"})
    assert view["comments"][-1]["public"] is False
    assert emulator.human(sys_id, {"action": "set_status", "status": "on_hold"})["status"] == "on_hold"
    assert emulator.human(sys_id, {"action": "set_priority", "priority": "urgent"})["priority"] == "urgent"
    emulator.human(sys_id, {"action": "set_field", "field": "customer_escalation_request", "value": True})
    assert emulator.human(sys_id, {"action": "add_tags", "tags": ["vip", "billing_dispute"]})["tags"] == [
        "vip", "billing_dispute"]
    view = emulator.human(sys_id, {"action": "remove_tags", "tags": ["vip"]})
    assert view["tags"] == ["billing_dispute"] and int(view["token"]) == token + 8
    writes = sn.ctx.log.query_writes("servicenow")
    assert {w["actor"] for w in writes} == {"human"}
    assert [w["kind"] for w in writes] == ["group", "assignee", "comment", "comment", "status", "priority", "field",
                                           "tags_added", "tags_removed"]
    journal = sn.raw("/api/now/table/sys_journal_field",
                     sysparm_query=f"element_id={sys_id}^value=Any news?").json()["result"]
    assert journal[0]["sys_created_by"] == "cust-2"  # the caller wrote it, not the integration user
    with pytest.raises(ValueError):
        emulator.human(sys_id, {"action": "dance"})


def test_given_a_supervisor_tag_then_the_approval_field_carries_the_decision(sn: Running):
    sn.emulator.human(incident_sys_id(6), {"action": "add_tags", "tags": ["deskbridge_approved"]})
    record = sn.raw(f"/api/now/table/incident/{incident_sys_id(6)}", sysparm_fields="approval").json()["result"]
    assert record["approval"] == "approved"


def test_given_create_then_the_new_incident_is_served_with_a_predictable_id(sn: Running):
    sn.ctx.clock.advance(120)
    ticket = SeedTicket(n=11, system="servicenow", subject="Fresh outage", description="All down", status="new",
                        priority="urgent", requester="cust-1", account_id="001000000000001AAA", group="l1",
                        assignee=None, product_area="platform")
    sys_id = sn.emulator.create(ticket)
    assert sys_id == incident_sys_id(11) and sn.emulator.ticket_ids()[-1] == sys_id
    gr = sn.client.GlideRecord("incident")
    gr.add_encoded_query("sys_updated_on>=2026-03-02 09:02:00")
    gr.query()
    assert gr.next() and str(gr.number) == incident_number(11) and str(gr.opened_at) == "2026-03-02 09:02:00"
    assert gr.company.get_display_value() == "Globex"
    assert sn.ctx.log.query_writes("servicenow")[-1]["kind"] == "created"
