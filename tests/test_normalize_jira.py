"""Jira/JSM normalizer: the captured issue, v3 comments and changelog, JSM SLAs, and payload errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.jira.normalize import native_slas, normalize_many, to_ticket
from connectors.jira.normalize_parts import to_comment
from core.config import load_mappings
from core.errors import PayloadError
from core.markers import marker
from core.model import Priority, Role, Status, System

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def mapping():
    return load_mappings(ROOT / "mapping", with_policy=False).jira


@pytest.fixture
def load(payloads_dir):
    return lambda name: json.loads((payloads_dir / "jira" / name).read_text(encoding="utf-8"))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_issue_get_v3_captured(load, mapping):
    t = to_ticket(load("issue_get_v3_captured.json"), mapping)
    assert (t.system, t.id, t.key) == (System.jira, "10002", "KAN-2")
    assert t.url is None  # api.atlassian.com OAuth route: no site URL to browse
    assert t.subject == "Test issue for delete-comment action"
    assert t.description == "This is a test issue created for testing the delete-comment action"  # ADF -> text
    assert (t.status, t.native_status) == (Status.open, "In Review")  # unmapped: category indeterminate -> open
    assert (t.priority, t.native_priority, t.type) == (Priority.normal, "Medium", "Task")
    assert (t.requester_id, t.requester_name, t.requester_email) == (
        "712020:7bf45758-6986-4e0e-aefc-a3000196d8d2", "Nango Developer", "api@nango.dev")
    assert (t.assignee_id, t.group_id, t.group, t.tags, t.custom_fields) == (None, None, None, (), {})
    assert t.created_at == utc(2026, 4, 28, 13, 31, 13, 533000)
    assert t.updated_at == utc(2026, 4, 28, 13, 55, 26, 678000)
    assert t.concurrency_token == "2026-04-28T15:55:26.678+0200"
    assert (t.comments, t.history, t.native_slas, t.solved_at) == ((), (), (), None)  # customfield_10021 is null


def test_unmapped_status_without_category_fallback_is_an_error(load, mapping):
    strict = mapping.model_copy(update={"status_categories": {}})
    with pytest.raises(PayloadError) as err:
        to_ticket(load("issue_get_v3_captured.json"), strict)
    assert str(err.value) == ("jira ticket KAN-2 field 'fields.status': 'In Review' (category 'indeterminate') is not "
                              "in the Jira mapping's status_map and its category is not in status_categories")


def test_comments_v3_adf(load, mapping):
    first, second = (to_comment(c, mapping) for c in load("issue_comments_v3.json")["comments"])
    assert (first.id, first.author_id, first.author_name) == ("10755", "5fc9e78d2730d800760becc4", "integration test")
    assert (first.body, first.public, first.role) == ("Closed", True, Role.agent)
    assert first.created_at == utc(2022, 5, 17, 11, 6, 55, 76000)
    assert second.id == "10521"
    assert second.body.startswith("Lorem ipsum dolor sit amet") and second.body.endswith("augue semper.")
    assert second.created_at == utc(2021, 4, 14, 21, 32, 43, 99000)
    reporter = to_comment(load("issue_comments_v3.json")["comments"][0], mapping,
                          reporter_id="5fc9e78d2730d800760becc4")
    assert reporter.role is Role.customer


def test_changelog_v3_link_items_are_not_history(load, mapping):
    t = to_ticket(load("issue_get_v3_captured.json"), mapping, changelog=load("issue_changelog_v3_captured.json"))
    assert t.history == ()  # two "Link" items: neither a status, team, assignee nor priority change


def test_jsm_request_sla_doc_example(load, mapping):
    slas = native_slas({}, mapping, load("jsm_request_sla_doc_example.json"))
    got = [(s.name, s.target, s.started_at, s.due_at, s.completed_at, s.breached, s.paused, s.remaining_seconds)
           for s in slas]
    assert got == [
        ("Time To First Response", "first_response", utc(2015, 10, 10, 12, 15, 23), None, None, False, False, 8760.0),
        ("Time To Resolution", "resolution", utc(2015, 10, 10, 22, 15, 23), None, None, False, False, 66360.0),
        ("Time To Retrospective", None, utc(2015, 10, 11, 12, 15, 23), None, None, False, False, 138360.0),
    ]
    assert {s.source for s in slas} == {"jsm"}


# --- the sandbox's shapes (API v2, sandbox/vocab.py) --------------------------------------


AGENT = {"accountId": "agent-1", "displayName": "Alex Agent", "emailAddress": "alex@acme.test", "accountType": "atlassian"}
CUSTOMER = {"accountId": "cust-1", "displayName": "Cara Customer", "emailAddress": "cara@example.com",
            "accountType": "customer"}
BOT = {"accountId": "bot-1", "displayName": "deskbridge", "emailAddress": "deskbridge@acme.test",
       "accountType": "atlassian"}


def _sla_field(name: str, breach: str | None, remaining: int) -> dict:
    cycle = {"startTime": {"iso8601": "2026-03-02T09:00:00+0000", "epochMillis": 1772442000000},
             "breached": False, "paused": False, "withinCalendarHours": True,
             "goalDuration": {"millis": 14400000}, "remainingTime": {"millis": remaining}}
    if breach:
        cycle["breachTime"] = {"iso8601": breach}
    return {"id": "1", "name": name, "completedCycles": [], "ongoingCycle": cycle}


def _issue(**fields) -> dict:
    base = {
        "summary": "Cannot log in", "description": "Since the update", "labels": ["vip"],
        "status": {"name": "Waiting for support", "statusCategory": {"key": "indeterminate"}},
        "priority": {"name": "Highest"}, "issuetype": {"name": "Support"}, "reporter": CUSTOMER, "assignee": AGENT,
        "created": "2026-03-02T09:00:00.000+0000", "updated": "2026-03-02T10:00:00.000+0000", "resolutiondate": None,
        "customfield_10050": {"value": "Tier 2 Support"}, "customfield_10051": {"value": "api"},
        "customfield_10052": [{"value": "Yes"}], "customfield_10053": None, "customfield_10054": "001xx000003DGb2AAG",
        "customfield_10010": {"requestType": {"name": "Get help"}},
        "customfield_10020": _sla_field("Time to first response", "2026-03-02T13:00:00+0000", 3600000),
        "customfield_10021": None, "customfield_99999": {"weird": ["unknown", "field"]},
        "comment": {"comments": [], "total": 0},
    }
    return {"id": "10001", "key": "SUP-1", "self": "https://acme.atlassian.net/rest/api/2/issue/10001",
            "fields": base | fields}


def test_sandbox_shaped_issue(mapping):
    t = to_ticket(_issue(), mapping)
    assert t.url == "https://acme.atlassian.net/browse/SUP-1"
    assert (t.status, t.priority, t.type, t.category) == (Status.open, Priority.urgent, "Support", "Get help")
    assert (t.group_id, t.group_name, t.group) == ("Tier 2 Support", "Tier 2 Support", "tier2")
    assert (t.product_area, t.account_id) == ("api", "001xx000003DGb2AAG")
    assert (t.agent_escalation_flag, t.customer_escalation_request) == (True, False)
    assert (t.requester_id, t.assignee_id, t.tags) == ("cust-1", "agent-1", ("vip",))
    [sla] = t.native_slas
    assert (sla.name, sla.target, sla.started_at, sla.due_at, sla.remaining_seconds) == (
        "Time to first response", "first_response", utc(2026, 3, 2, 9), utc(2026, 3, 2, 13), 3600.0)
    # the same SLA from the request endpoint is not counted twice
    request = {"values": [_sla_field("Time to first response", None, 1)]}
    assert len(to_ticket(_issue(), mapping, slas=request).native_slas) == 1


def test_comments_visibility_roles_and_echoes(mapping):
    comments = [
        {"id": "1", "author": CUSTOMER, "body": "Help please", "created": "2026-03-02T09:01:00.000+0000"},
        {"id": "2", "author": AGENT, "body": "Looking", "created": "2026-03-02T09:05:00.000+0000",
         "properties": [{"key": "sd.public.comment", "value": {"internal": True}}]},
        {"id": "3", "author": AGENT, "body": "Fixed?", "created": "2026-03-02T09:10:00.000+0000", "jsdPublic": True},
        {"id": "4", "author": BOT, "body": f"Handoff {marker('jira-10001-k1')}", "jsdPublic": False,
         "created": "2026-03-02T09:20:00.000+0000"},
        {"id": "5", "author": {"accountId": "app-1", "accountType": "app"}, "body": "Automation",
         "created": "2026-03-02T09:30:00.000+0000"},
    ]
    t = to_ticket(_issue(comment={"comments": comments}), mapping)
    got = [(c.id, c.role, c.public, c.by_deskbridge) for c in t.comments]
    assert got == [("1", Role.customer, True, False), ("2", Role.agent, False, False), ("3", Role.agent, True, False),
                   ("4", Role.agent, False, True), ("5", Role.system, True, False)]
    assert t.first_agent_reply_at == utc(2026, 3, 2, 9, 10)
    # comments fetched separately replace fields.comment
    assert [c.id for c in to_ticket(_issue(), mapping, comments={"comments": comments[:1]}).comments] == ["1"]


def test_changelog_history(mapping):
    histories = [
        {"id": "1", "author": AGENT, "created": "2026-03-02T09:30:00.000+0000",
         "items": [{"field": "status", "fieldId": "status", "fromString": "Waiting for support", "toString": "Resolved"}]},
        {"id": "2", "author": CUSTOMER, "created": "2026-03-02T09:40:00.000+0000",
         "items": [{"field": "status", "fieldId": "status", "fromString": "Resolved", "toString": "Waiting for support"}]},
        {"id": "3", "author": BOT, "created": "2026-03-02T09:50:00.000+0000",
         "items": [{"field": "Support team", "fieldId": "customfield_10050", "fromString": "Tier 2 Support",
                    "toString": "Tier 3 Engineering"},
                   {"field": "priority", "fieldId": "priority", "fromString": "High", "toString": "Highest"}]},
        {"id": "4", "author": AGENT, "created": "2026-03-02T09:55:00.000+0000",
         "items": [{"field": "assignee", "fieldId": "assignee", "from": None, "to": "agent-2"},
                   {"field": "labels", "fieldId": "labels", "fromString": "", "toString": "vip"}]},
    ]
    t = to_ticket(_issue(), mapping, changelog={"values": histories, "isLast": True})
    got = [(e.kind.value, e.from_value, e.to_value, e.actor_role, e.by_deskbridge) for e in t.history]
    assert got == [
        ("status_change", "open", "solved", Role.agent, False),
        ("status_change", "solved", "open", Role.customer, False),
        ("reopen", "solved", "open", Role.customer, False),
        ("group_change", "tier2", "tier3", Role.agent, True),
        ("priority_change", "high", "urgent", Role.agent, True),
        ("assignee_change", None, "agent-2", Role.agent, False),
    ]
    expanded = _issue()
    expanded["changelog"] = {"histories": histories}
    assert to_ticket(expanded, mapping).history == t.history


def test_changelog_items_without_field_id_match_the_team_by_name(mapping):
    """Items do not always carry fieldId (see the captured v3 changelog); the mapping names the team field."""
    history = {"id": "9", "author": AGENT, "created": "2026-03-02T09:50:00.000+0000",
               "items": [{"field": "Support team", "fieldtype": "custom", "from": "10200", "fromString": "L1 Support",
                          "to": "10202", "toString": "Tier 3 Engineering"}]}
    [event] = to_ticket(_issue(), mapping, changelog=[history]).history
    assert (event.kind.value, event.from_value, event.to_value) == ("group_change", "l1", "tier3")


def test_solved_time_from_resolutiondate_without_history(mapping):
    t = to_ticket(_issue(status={"name": "Resolved"}, resolutiondate="2026-03-03T08:00:00.000+0100"), mapping)
    assert (t.status, t.solved_at) == (Status.solved, utc(2026, 3, 3, 7))


@pytest.mark.parametrize(("change", "message"), [
    ({"status": None}, "jira ticket SUP-1 field 'fields.status': is missing"),
    ({"priority": {"name": "P0"}}, "jira ticket SUP-1 field 'fields.priority': 'P0' is not in the Jira mapping's "
                                   "priority_map (Lowest, Low, Medium, High, Highest)"),
    ({"updated": None}, "jira ticket SUP-1 field 'fields.updated': is missing"),
    ({"labels": "vip"}, "jira ticket SUP-1 field 'fields.labels': expected a list, got str"),
    ({"comment": {"comments": ["text"]}}, "jira ticket SUP-1 field 'fields.comment.comments[0]': expected an object, "
                                          "got str"),
    ({"customfield_10020": {"name": "x", "ongoingCycle": {"startTime": {"epochMillis": 10**18}}}},
     "jira ticket SUP-1 field 'fields.customfield_10020.startTime': 1000000000000000000 is not a valid epoch time"),
])
def test_payload_errors(mapping, change, message):
    with pytest.raises(PayloadError) as err:
        to_ticket(_issue(**change), mapping)
    assert str(err.value) == message


def test_normalize_many_quarantines(mapping):
    bad = _issue()
    del bad["fields"]
    bad["key"] = "SUP-2"
    tickets, quarantined = normalize_many([_issue(), bad, None], mapping)
    assert [t.key for t in tickets] == ["SUP-1"]
    assert [(q.ticket_id, q.field) for q in quarantined] == [("SUP-2", "fields"), ("?", None)]
