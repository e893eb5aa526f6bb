"""Property: a mutated payload (deleted keys, nulls, wrong types, odd unicode) either normalizes or raises
PayloadError -- never another exception -- and normalize_many never lets it stop the other tickets."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.jira.normalize import to_ticket as jira_ticket
from connectors.salesforce.normalize import to_account
from connectors.servicenow.normalize import normalize_many as servicenow_many, to_ticket as servicenow_ticket
from connectors.zendesk.normalize import to_ticket as zendesk_ticket
from core.config import load_mappings
from core.errors import PayloadError
from core.model import Account, Ticket

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = ROOT.parent / "shared" / "reference" / "payloads"
MAPPINGS = load_mappings(ROOT / "mapping", with_policy=False)

WRONG = st.sampled_from([None, 0, -1, 1.5, True, "", "x", "ünïcødé 𝄞 \u202e", "2026-13-45T99:99:99Z", [], [1, None],
                         {}, {"value": None}, {"display_value": 5}, 10**20])


def _read(system: str, name: str):
    return json.loads((PAYLOADS / system / name).read_text(encoding="utf-8"))


def _paths(node, prefix=()):
    """Every path to a value inside ``node`` (dict keys and list indexes)."""
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        out.append((*prefix, key))
        out += _paths(child, (*prefix, key))
    return out


@st.composite
def mutated(draw, original):
    """``original`` with 1-3 values deleted, nulled or replaced by a wrong type."""
    doc = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(draw(WRONG))  # never share (and later mutate) the samples
    return doc


def _holds(call) -> None:
    try:
        result = call()
    except PayloadError:
        return
    assert isinstance(result, (Ticket, Account))


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _zendesk_bundle():
    ticket = dict(_read("zendesk", "ticket_show_captured.json")["ticket"], id=1, requester_id=6130869168922)
    ticket["custom_fields"] = [{"id": 360010001, "value": "pa_api"}, {"id": 360010002, "value": True}]
    return {"ticket": ticket, "audits": _read("zendesk", "ticket_audits_page.json")["audits"],
            "comments": _read("zendesk", "ticket_comments_list.json")["comments"],
            "users": [_read("zendesk", "user_show.json")["user"]],
            "groups": _read("zendesk", "groups_list_page.json")["groups"]}


@pytest.mark.skipif(not PAYLOADS.is_dir(), reason="reference payloads not found")
@SETTINGS
@given(st.data())
def test_zendesk_mutations(data):
    b = data.draw(mutated(_zendesk_bundle()))
    _holds(lambda: zendesk_ticket(b.get("ticket"), MAPPINGS.zendesk, audits=b.get("audits") or (),
                                  comments=b.get("comments") or (), users=b.get("users"), groups=b.get("groups")))


def _servicenow_bundle():
    return {
        "plain": _read("servicenow", "incident_table_plain_values.json")["result"][0],
        "all": _read("servicenow", "incident_table_display_value_all.json")["result"][0],
        "true": _read("servicenow", "incident_get_display_value_true.json")["result"],
        "journal": [{"sys_id": "j1", "element": "comments", "value": "<p>hi</p>", "sys_created_on": "2026-03-02 09:05:00",
                     "sys_created_by": "cara"}],
        "audits": [{"fieldname": "state", "oldvalue": "6", "newvalue": "2", "user": "cara",
                    "sys_created_on": "2026-03-02 10:00:00"}],
        "slas": [{"sla": {"value": "s", "display_value": "Priority 1 resolution (4 hour)"}, "stage": "in_progress",
                  "start_time": "2026-03-02 09:00:00", "planned_end_time": "2026-03-02 13:00:00",
                  "time_left": "1970-01-01 01:00:00", "has_breached": "false"}],
    }


@pytest.mark.skipif(not PAYLOADS.is_dir(), reason="reference payloads not found")
@SETTINGS
@given(st.data())
def test_servicenow_mutations(data):
    b = data.draw(mutated(_servicenow_bundle()))
    m = MAPPINGS.servicenow
    for form in ("plain", "all", "true"):
        _holds(lambda: servicenow_ticket(b.get(form), m))
    _holds(lambda: servicenow_ticket(b.get("plain"), m, journal=b.get("journal") or [], audits=b.get("audits") or (),
                                     slas=b.get("slas") or ()))
    tickets, quarantined = servicenow_many([b.get("plain"), b.get("all"), b.get("true")], m)
    assert len(tickets) + len(quarantined) == 3


def _jira_bundle():
    issue = _read("jira", "issue_get_v3_captured.json")
    issue["fields"]["customfield_10050"] = {"value": "Tier 2 Support"}
    issue["fields"]["customfield_10020"] = _read("jira", "jsm_request_sla_doc_example.json")["values"][0]
    issue["fields"]["comment"]["comments"] = _read("jira", "issue_comments_v3.json")["comments"]
    issue["changelog"] = {"histories": _read("jira", "issue_changelog_v3_captured.json")["values"]}
    return {"issue": issue, "slas": _read("jira", "jsm_request_sla_doc_example.json")}


@pytest.mark.skipif(not PAYLOADS.is_dir(), reason="reference payloads not found")
@SETTINGS
@given(st.data())
def test_jira_mutations(data):
    b = data.draw(mutated(_jira_bundle()))
    slas = b.get("slas")
    _holds(lambda: jira_ticket(b.get("issue"), MAPPINGS.jira, slas=slas if isinstance(slas, (dict, list)) else ()))


@pytest.mark.skipif(not PAYLOADS.is_dir(), reason="reference payloads not found")
@SETTINGS
@given(st.data())
def test_salesforce_mutations(data):
    record = dict(_read("salesforce", "query_account_first_page_next_records_url.json")["records"][0],
                  Support_Tier__c="Premier Support", Owner={"Name": "O", "Email": "o@x.test"})
    r = data.draw(mutated(record))
    _holds(lambda: to_account(r, MAPPINGS.salesforce))
