"""The normalizers against what the sandbox emulators actually emit (in process, no network).

The emulators render the seeded world in each API's native shape from sandbox/vocab.py; the
shipped mapping must turn every record back into the normalized values the emulator's own
system-neutral view() reports, and deskbridge's own writes must come back as echoes.
"""

from __future__ import annotations

import base64
import warnings
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.jira import normalize as jira_normalize
from connectors.salesforce import normalize as salesforce_normalize
from connectors.servicenow import normalize as servicenow_normalize
from connectors.zendesk import normalize as zendesk_normalize
from core.config import load_mappings
from sandbox.context import SandboxContext
from sandbox.seed import generate_world

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
MAPPINGS = load_mappings(ROOT / "mapping", with_policy=False)


@pytest.fixture(scope="module")
def world():
    return generate_world(11, 40, datetime(2026, 2, 20, tzinfo=UTC))


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode(),
            "Accept": "application/json"}


def _assert_matches_views(tickets, emulator) -> None:
    for t in tickets:
        view = emulator.view(t.id)
        assert (t.status.value, t.group) == (view["status"], view["group"]), t.ref
        if view["priority"] is not None:
            assert t.priority.value == view["priority"], t.ref
        assert t.concurrency_token == view["token"], t.ref
        assert len(t.comments) == len(view["comments"]), t.ref


def _open_id(emulator) -> str:
    return next(i for i in emulator.ticket_ids() if emulator.view(i)["status"] in ("new", "open", "pending"))


def test_zendesk(world):
    from sandbox import zendesk

    emulator = zendesk.build(SandboxContext(), world)
    client = TestClient(emulator.app, base_url="https://acme.zendesk.com")
    auth = _basic(emulator.credentials["email"] + "/token", emulator.credentials["token"])
    page = client.get("/api/v2/incremental/tickets/cursor.json?start_time=0&include=users,groups,organizations",
                      headers=auth).json()
    raws = page["tickets"]
    comments = {str(r["id"]): client.get(f"/api/v2/tickets/{r['id']}/comments.json", headers=auth).json()["comments"]
                for r in raws}
    tickets, quarantined = zendesk_normalize.normalize_many(raws, MAPPINGS.zendesk, comments_by_ticket=comments,
                                                            users=page.get("users"), groups=page.get("groups"))
    assert quarantined == [] and len(tickets) == len(raws) > 0
    _assert_matches_views(tickets, emulator)
    assert {t.product_area for t in tickets} - {None} <= set(MAPPINGS.shared.product_areas)
    assert all(t.account_id for t in tickets if t.custom_fields.get("salesforce_account_id"))

    tid = _open_id(emulator)
    put = client.put(f"/api/v2/tickets/{tid}.json", headers=auth, json={"ticket": {
        "group_id": 360000004, "comment": {"body": "Handoff [deskbridge:zd-test-key1]", "public": False}}})
    assert put.status_code == 200
    raw = client.get(f"/api/v2/tickets/{tid}.json", headers=auth).json()
    audits = client.get(f"/api/v2/tickets/{tid}/audits.json", headers=auth).json()["audits"]
    t = zendesk_normalize.to_ticket(raw, MAPPINGS.zendesk, audits=audits)
    assert t.group == "security"
    assert [(e.to_value, e.by_deskbridge) for e in t.history if e.kind.value == "group_change"][-1] == ("security", True)
    assert t.comments[-1].by_deskbridge and not t.comments[-1].public


def test_servicenow(world):
    from sandbox import servicenow

    emulator = servicenow.build(SandboxContext(), world)
    client = TestClient(emulator.app, base_url="https://acme.service-now.com")
    auth = _basic(emulator.credentials["username"], emulator.credentials["password"])
    records = client.get("/api/now/table/incident?sysparm_display_value=all&sysparm_limit=500", headers=auth).json()["result"]
    journal = defaultdict(list)
    for row in client.get("/api/now/table/sys_journal_field?sysparm_display_value=all&sysparm_limit=5000"
                          "&sysparm_query=elementINcomments,work_notes", headers=auth).json()["result"]:
        journal[row["element_id"]["value"]].append(row)
    users = client.get("/api/now/table/sys_user?sysparm_limit=1000", headers=auth).json()["result"]
    ids = [r["sys_id"]["value"] for r in records]
    tickets, quarantined = servicenow_normalize.normalize_many(
        records, MAPPINGS.servicenow, journal_by_ticket={i: journal.get(i, []) for i in ids}, users=users)
    assert quarantined == [] and len(tickets) == len(records) > 0
    _assert_matches_views(tickets, emulator)
    customers = [c for t in tickets for c in t.comments if c.role.value == "customer"]
    assert customers and all(c.public for c in customers)

    sys_id = _open_id(emulator)
    patch = client.patch(f"/api/now/table/incident/{sys_id}", headers=auth, json={
        "assignment_group": MAPPINGS.servicenow.groups["tier3"], "work_notes": "Handoff [deskbridge:sn-test-key1]"})
    assert patch.status_code == 200
    record = client.get(f"/api/now/table/incident/{sys_id}?sysparm_display_value=all", headers=auth).json()["result"]
    rows = client.get(f"/api/now/table/sys_journal_field?sysparm_query=element_id={sys_id}", headers=auth).json()["result"]
    audits = client.get(f"/api/now/table/sys_audit?sysparm_query=documentkey={sys_id}", headers=auth).json()["result"]
    t = servicenow_normalize.to_ticket(record, MAPPINGS.servicenow, journal=rows, audits=audits)
    assert t.group == "tier3" and t.concurrency_token == emulator.view(sys_id)["token"]
    assert [(e.to_value, e.by_deskbridge) for e in t.history if e.kind.value == "group_change"][-1] == ("tier3", True)
    assert t.comments[-1].by_deskbridge


def test_jira(world):
    from sandbox import jira

    emulator = jira.build(SandboxContext(), world)
    client = TestClient(emulator.app, base_url="https://acme.atlassian.net")
    auth = _basic(emulator.credentials["email"], emulator.credentials["token"])
    issues = client.get("/rest/api/2/search/jql?jql=project%20%3D%20SUP&maxResults=100&fields=*all&expand=changelog",
                        headers=auth).json()["issues"]
    comments = {i["id"]: client.get(f"/rest/api/2/issue/{i['key']}/comment?expand=properties", headers=auth).json()
                for i in issues}
    tickets, quarantined = jira_normalize.normalize_many(issues, MAPPINGS.jira, comments_by_issue=comments)
    assert quarantined == [] and len(tickets) == len(issues) > 0
    _assert_matches_views(tickets, emulator)
    assert all({s.target for s in t.native_slas} == {"first_response", "resolution"} for t in tickets)

    key = _open_id(emulator)
    assert client.put(f"/rest/api/2/issue/{key}", headers=auth,
                      json={"fields": {"customfield_10050": {"value": "Tier 3 Engineering"}}}).status_code == 204
    t = jira_normalize.to_ticket(client.get(f"/rest/api/2/issue/{key}?expand=changelog", headers=auth).json(),
                                 MAPPINGS.jira)
    assert t.group == "tier3"
    assert [(e.to_value, e.by_deskbridge) for e in t.history if e.kind.value == "group_change"][-1] == ("tier3", True)


def test_salesforce(world):
    from sandbox import salesforce

    emulator = salesforce.build(SandboxContext(), world)
    accounts, errors = salesforce_normalize.to_accounts(emulator.accounts(), MAPPINGS.salesforce)
    assert errors == [] and len(accounts) == len(world.accounts)
    assert set(accounts) == {seed.id for seed in world.accounts}
    for seed in world.accounts:
        assert accounts[seed.id].tier == MAPPINGS.salesforce.tier_map[seed.tier_value]
        assert (accounts[seed.id].tier_note, accounts[seed.id].segment) == (None, seed.segment)
