"""Zendesk normalizer: every reference payload, the oddities of real data, and precise payload errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.zendesk.normalize import normalize_many, to_ticket
from core.config import load_mappings
from core.errors import PayloadError
from core.markers import marker
from core.model import EventKind, Priority, Role, Status, System

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def mapping():
    return load_mappings(ROOT / "mapping", with_policy=False).zendesk


@pytest.fixture
def load(payloads_dir):
    return lambda name: json.loads((payloads_dir / "zendesk" / name).read_text(encoding="utf-8"))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_ticket_show_captured(load, mapping):
    t = to_ticket(load("ticket_show_captured.json"), mapping)  # with its {"ticket": ...} envelope
    assert (t.system, t.id, t.key) == (System.zendesk, "4017", "#4017")
    assert t.url == "https://z3n-jteitelbaum.zendesk.com/agent/tickets/4017"
    assert (t.subject, t.description) == ("test", "test")
    assert (t.status, t.native_status) == (Status.new, "new")
    assert (t.priority, t.native_priority) == (Priority.normal, None)  # priority null: missing_priority
    assert (t.requester_id, t.organization_id, t.assignee_id, t.group_id, t.group) == (
        "6130907993114", "6130869157658", None, None, None)
    assert (t.tags, t.custom_fields, t.type, t.account_id) == ((), {}, None, None)
    assert (t.created_at, t.updated_at) == (utc(2023, 9, 18, 23, 34, 35), utc(2023, 9, 18, 23, 34, 36))
    assert t.concurrency_token == "2023-09-18T23:34:36Z"
    assert (t.comments, t.history, t.solved_at, t.first_agent_reply_at) == ((), (), None, None)


def test_incremental_export_page(load, mapping):
    page = load("incremental_tickets_cursor_page.json")
    tickets, quarantined = normalize_many(page["tickets"], mapping)
    assert quarantined == []
    [t] = tickets
    assert (t.id, t.status, t.subject, t.requester_id) == ("28", Status.new, "test", "6130907993114")
    assert t.created_at == t.updated_at == utc(2023, 9, 18, 15, 57, 42)
    assert t.concurrency_token == "2023-09-18T15:57:42Z"


def test_ticket_object_doc_example_with_unknown_custom_fields(load, mapping):
    t = to_ticket(load("ticket_object_doc_example.json"), mapping)
    assert (t.id, t.key, t.subject) == ("35436", "#35436", "Help, my printer is on fire!")
    assert t.description == "The fire is very colorful."
    assert (t.status, t.priority, t.native_priority, t.type) == (Status.open, Priority.high, "high", "incident")
    assert (t.requester_id, t.assignee_id, t.group_id, t.organization_id) == ("20978392", "235323", "98738", "509974")
    assert t.group is None  # 98738 is not a group the mapping names
    assert t.tags == ("enterprise", "other_tag")
    assert t.custom_fields == {}  # fields 27642 and 27648 are not mapped: ignored, no crash
    assert t.url == "https://company.zendesk.com/agent/tickets/35436"
    assert (t.created_at, t.updated_at) == (utc(2009, 7, 20, 22, 55, 29), utc(2011, 5, 5, 10, 38, 52))


def _ticket_one(load) -> dict:
    """ticket_show's shape with the values ticket 1's audit created (the audits page is ticket 1's)."""
    return dict(load("ticket_show_captured.json")["ticket"], id=1, requester_id=6130869168922,
                assignee_id=6130907993114, group_id=6130852536346, status="open",
                subject="Sample ticket: Meet the ticket", tags=["sample", "support", "zendesk"])


def test_audits_comments_and_side_loads(load, mapping):
    audits = load("ticket_audits_page.json")["audits"]
    comments = load("ticket_comments_list.json")["comments"]
    users = [load("user_show.json")["user"]]
    groups = load("groups_list_page.json")["groups"]
    t = to_ticket(_ticket_one(load), mapping, audits=audits, comments=comments, users=users, groups=groups,
                  organizations=[load("organization_show.json")["organization"]])
    assert (t.group_id, t.group_name, t.group) == ("6130852536346", "Support", None)
    assert (t.assignee_id, t.account_id) == ("6130907993114", None)  # organization external_id is null
    [created] = t.history
    assert (created.kind, created.at, created.actor_id, created.actor_role) == (
        EventKind.created, utc(2023, 9, 9, 23, 52, 5), "6130907993114", Role.agent)  # user_show: role admin
    first, second = t.comments
    assert first.id == "6130852545306"
    assert (first.author_id, first.role, first.public) == ("6130869168922", Role.customer, True)
    assert first.created_at == utc(2023, 9, 9, 23, 52, 5)  # a Comment event takes its audit's time
    assert first.body == ("Hi there,\n\nI’m sending an email because I’m having a problem setting up your new "
                          "product. Can you help me troubleshoot?\n\nThanks,\nThe Customer")
    assert (second.id, second.author_id, second.role, second.body) == (
        "33144692244499", "26155588908179", Role.agent, "Some comment")
    assert second.created_at == utc(2024, 9, 6, 18, 52, 11)
    assert t.first_agent_reply_at == utc(2024, 9, 6, 18, 52, 11)
    assert t.agent_reply_count == 1


def test_requester_from_side_loaded_users(load, mapping):
    t = to_ticket(load("ticket_show_captured.json"), mapping, users={"6130907993114": load("user_show.json")["user"]})
    assert (t.requester_name, t.requester_email) == ("09cace", "automationsqa@z3nmail.com")


def test_audit_for_another_ticket_is_a_payload_error(load, mapping):
    with pytest.raises(PayloadError) as err:
        to_ticket(load("ticket_show_captured.json"), mapping, audits=load("ticket_audits_page.json")["audits"])
    assert str(err.value) == "zendesk ticket 4017 field 'audits[0].ticket_id': belongs to ticket 1, not 4017"


# --- the sandbox's shapes (sandbox/vocab.py) ----------------------------------------------


def _vocab_ticket(**over) -> dict:
    base = {
        "id": 7, "url": "https://acme.zendesk.com/api/v2/tickets/7.json", "subject": "Export broken",
        "description": "<p>It fails &amp; fails</p>", "status": "hold", "priority": "urgent",
        "requester_id": 501, "assignee_id": 601, "group_id": 360000002, "organization_id": 9,
        "tags": ["vip", "deskbridge_approved"], "created_at": "2026-03-02T09:00:00Z", "updated_at": "2026-03-02T10:00:00Z",
        "custom_fields": [{"id": 360010001, "value": "pa_billing"}, {"id": 360010002, "value": True},
                          {"id": 360010003, "value": False}, {"id": 360010004, "value": "001xx000003DGb2AAG"},
                          {"id": 99, "value": "ignored"}],
    }
    return base | over


USERS = [
    {"id": 501, "name": "Cara Customer", "email": "cara@example.com", "role": "end-user"},
    {"id": 601, "name": "Alex Agent", "email": "alex@acme.test", "role": "agent"},
    {"id": 700, "name": "deskbridge", "email": "deskbridge@acme.test", "role": "admin"},
]


def test_mapped_fields_groups_and_flags(mapping):
    t = to_ticket(_vocab_ticket(), mapping, users=USERS)
    assert (t.status, t.native_status, t.priority) == (Status.on_hold, "hold", Priority.urgent)
    assert (t.group_id, t.group) == ("360000002", "tier2")
    assert t.product_area == "billing"
    assert t.account_id == "001xx000003DGb2AAG"
    assert (t.agent_escalation_flag, t.customer_escalation_request) == (True, False)
    assert t.custom_fields == {"product_area": "pa_billing", "escalation_flag": True,
                               "customer_escalation_request": False, "salesforce_account_id": "001xx000003DGb2AAG"}
    assert t.description == "It fails & fails"
    assert t.tags == ("vip", "deskbridge_approved")  # the supervisor's answer travels as a tag
    assert (t.requester_name, t.requester_email) == ("Cara Customer", "cara@example.com")


def test_account_from_organization_external_id(mapping):
    raw = _vocab_ticket(custom_fields=[])
    t = to_ticket(raw, mapping, organizations=[{"id": 9, "external_id": "001xx000003DGb2AAG"}])
    assert t.account_id == "001xx000003DGb2AAG"


def test_history_reopens_reassignments_and_echoes(mapping):
    audits = [
        {"id": 1, "ticket_id": 7, "created_at": "2026-03-02T09:00:00Z", "author_id": 501,
         "events": [{"id": 10, "type": "Comment", "author_id": 501, "body": "Help", "public": True},
                    {"id": 11, "type": "Create", "field_name": "status", "value": "new"}]},
        {"id": 2, "ticket_id": 7, "created_at": "2026-03-02T09:30:00Z", "author_id": 601,
         "events": [{"id": 20, "type": "Change", "field_name": "status", "value": "solved", "previous_value": "new"},
                    {"id": 21, "type": "Comment", "author_id": 601, "body": "Fixed?", "public": True}]},
        {"id": 3, "ticket_id": 7, "created_at": "2026-03-02T09:40:00Z", "author_id": 501,
         "events": [{"id": 30, "type": "Change", "field_name": "status", "value": "open", "previous_value": "solved"}]},
        {"id": 4, "ticket_id": 7, "created_at": "2026-03-02T09:50:00Z", "author_id": 700,
         "events": [{"id": 40, "type": "Change", "field_name": "group_id", "value": "360000003",
                     "previous_value": "360000002"},
                    {"id": 41, "type": "Change", "field_name": "priority", "value": "urgent", "previous_value": "high"},
                    {"id": 42, "type": "Comment", "author_id": 700, "public": False,
                     "body": f"Escalated to Tier 3\n{marker('zendesk-7-abc123')}"}]},
        {"id": 5, "ticket_id": 7, "created_at": "2026-03-02T09:55:00Z", "author_id": 601,
         "events": [{"id": 50, "type": "Change", "field_name": "assignee_id", "value": "602", "previous_value": "601"}]},
    ]
    t = to_ticket(_vocab_ticket(status="open"), mapping, audits=audits, users=USERS)
    kinds = [(e.kind.value, e.from_value, e.to_value, e.by_deskbridge) for e in t.history]
    assert kinds == [
        ("created", None, None, False),
        ("status_change", "new", "solved", False),
        ("status_change", "solved", "open", False),
        ("reopen", "solved", "open", False),
        ("group_change", "tier2", "tier3", True),
        ("priority_change", "high", "urgent", True),
        ("assignee_change", "601", "602", False),
    ]
    assert (t.reopen_count, t.reassignment_count) == (1, 1)  # deskbridge's own group change does not count
    roles = [(c.id, c.role, c.public, c.by_deskbridge) for c in t.comments]
    assert roles == [("10", Role.customer, True, False), ("21", Role.agent, True, False),
                     ("42", Role.agent, False, True)]
    assert t.first_agent_reply_at == utc(2026, 3, 2, 9, 30)
    assert t.solved_at is None  # open again


def test_changes_in_an_audit_with_a_marked_note_are_deskbridges(mapping):
    """Without the integration user among the side-loaded users, the marker in the same update decides."""
    audit = {"id": 9, "ticket_id": 7, "created_at": "2026-03-02T10:00:00Z", "author_id": 424242,
             "events": [{"id": 1, "type": "Change", "field_name": "group_id", "value": "360000003",
                         "previous_value": "360000002"},
                        {"id": 2, "type": "Comment", "author_id": 424242, "public": False,
                         "body": f"Handoff {marker('zendesk-7-k9x8y7')}"}]}
    human = dict(audit, id=10, created_at="2026-03-02T11:00:00Z", author_id=601,
                 events=[dict(audit["events"][0], value="360000002", previous_value="360000003")])
    t = to_ticket(_vocab_ticket(), mapping, audits=[audit, human])
    assert [(e.to_value, e.by_deskbridge) for e in t.history] == [("tier3", True), ("tier2", False)]
    assert t.reassignment_count == 1


def test_solved_time_is_the_latest_solve(mapping):
    audits = [{"id": 1, "ticket_id": 7, "created_at": "2026-03-03T12:00:00Z", "author_id": 601,
               "events": [{"id": 2, "type": "Change", "field_name": "status", "value": "solved",
                           "previous_value": "open"}]}]
    t = to_ticket(_vocab_ticket(status="solved"), mapping, audits=audits)
    assert t.solved_at == utc(2026, 3, 3, 12)


def test_html_only_comment_and_system_comments(mapping):
    comments = [
        {"id": 1, "author_id": 601, "html_body": "<div><p>Dear&nbsp;Cara,</p><script>x()</script><p>Done &lt;ok&gt;</p></div>",
         "public": True, "created_at": "2026-03-02T09:10:00Z"},
        {"id": 2, "author_id": -1, "body": "Automatic reminder", "public": True, "created_at": "2026-03-02T09:20:00Z"},
        {"id": 3, "author_id": 601, "body": "Trigger text", "public": True, "created_at": "2026-03-02T09:30:00Z",
         "via": {"channel": "rule"}},
    ]
    t = to_ticket(_vocab_ticket(), mapping, comments=comments, users=USERS)
    assert [(c.body, c.role) for c in t.comments] == [
        ("Dear Cara,\n\nDone <ok>", Role.agent), ("Automatic reminder", Role.system), ("Trigger text", Role.system)]


# --- unusable payloads ----------------------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    ({"status": "weird"}, "zendesk ticket 7 field 'status': 'weird' is not in the Zendesk mapping's status_map "
                          "(new, open, pending, hold, solved, closed)"),
    ({"status": None}, "zendesk ticket 7 field 'status': is missing"),
    ({"priority": "p1"}, "zendesk ticket 7 field 'priority': 'p1' is not in the Zendesk mapping's priority_map "
                         "(low, normal, high, urgent)"),
    ({"updated_at": None}, "zendesk ticket 7 field 'updated_at': is missing"),
    ({"created_at": "yesterday"}, "zendesk ticket 7 field 'created_at': 'yesterday' is not a timestamp"),
    ({"subject": {"text": "x"}}, "zendesk ticket 7 field 'subject': expected text, got dict"),
    ({"custom_fields": "none"}, "zendesk ticket 7 field 'custom_fields': expected a list, got str"),
])
def test_payload_errors_name_system_ticket_and_field(mapping, change, message):
    with pytest.raises(PayloadError) as err:
        to_ticket(_vocab_ticket(**change), mapping)
    assert str(err.value) == message


def test_one_bad_ticket_never_stops_the_rest(mapping):
    raws = [_vocab_ticket(id=1), _vocab_ticket(id=2, status="weird"), "garbage", _vocab_ticket(id=3)]
    tickets, quarantined = normalize_many(raws, mapping)
    assert [t.id for t in tickets] == ["1", "3"]
    assert [(q.ticket_id, q.field) for q in quarantined] == [("2", "status"), ("?", None)]
    assert quarantined[0].reason.startswith("zendesk ticket 2 field 'status'")
