"""The assembled sandbox: four emulators and the admin API, driven by the real clients through ``Sandbox.env()``."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

import pytest
import requests
from jira import JIRA
from pysnc import ServiceNowClient
from pysnc.exceptions import RequestException
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import SalesforceExpiredSession
from zenpy import Zenpy
from zenpy.lib.api_objects import Ticket as ZendeskTicket
from zenpy.lib.exception import APIException

from sandbox.admin_client import SandboxAdmin, SandboxAdminError
from sandbox.runner import Sandbox

pytest_plugins = ["sandbox_fixtures"]

HELPDESKS = ("zendesk", "servicenow", "jira")
ENV_NAMES = {
    "DESKBRIDGE_ZENDESK_SUBDOMAIN", "DESKBRIDGE_ZENDESK_EMAIL", "DESKBRIDGE_ZENDESK_TOKEN", "ZENPY_FORCE_NETLOC",
    "DESKBRIDGE_SERVICENOW_INSTANCE", "DESKBRIDGE_SERVICENOW_USERNAME", "DESKBRIDGE_SERVICENOW_PASSWORD",
    "DESKBRIDGE_JIRA_URL", "DESKBRIDGE_JIRA_EMAIL", "DESKBRIDGE_JIRA_TOKEN",
    "DESKBRIDGE_SALESFORCE_USERNAME", "DESKBRIDGE_SALESFORCE_PASSWORD", "DESKBRIDGE_SALESFORCE_SECURITY_TOKEN",
    "DESKBRIDGE_SALESFORCE_LOGIN_URL",
    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "DESKBRIDGE_SANDBOX_ADMIN_URL",
}


# -- the real clients, configured only from the environment the sandbox applied ----------------


def zendesk() -> Zenpy:
    env = os.environ
    return Zenpy(
        subdomain=env["DESKBRIDGE_ZENDESK_SUBDOMAIN"], email=env["DESKBRIDGE_ZENDESK_EMAIL"],
        token=env["DESKBRIDGE_ZENDESK_TOKEN"], disable_cache=True, ratelimit_budget=10,
    )


def servicenow() -> ServiceNowClient:
    env = os.environ
    auth = (env["DESKBRIDGE_SERVICENOW_USERNAME"], env["DESKBRIDGE_SERVICENOW_PASSWORD"])
    return ServiceNowClient(env["DESKBRIDGE_SERVICENOW_INSTANCE"], auth)


def jira() -> JIRA:
    env = os.environ
    return JIRA(server=env["DESKBRIDGE_JIRA_URL"], basic_auth=(env["DESKBRIDGE_JIRA_EMAIL"], env["DESKBRIDGE_JIRA_TOKEN"]))


def salesforce() -> Salesforce:
    env = os.environ
    session_id, instance = SalesforceLogin(
        username=env["DESKBRIDGE_SALESFORCE_USERNAME"], password=env["DESKBRIDGE_SALESFORCE_PASSWORD"],
        security_token=env["DESKBRIDGE_SALESFORCE_SECURITY_TOKEN"], scratch_url=env["DESKBRIDGE_SALESFORCE_LOGIN_URL"],
    )
    return Salesforce(session_id=session_id, instance=instance)


def incident(sys_id: str):
    record = servicenow().GlideRecord("incident")
    assert record.get(sys_id)
    return record


def seeded(sandbox: Sandbox, system: str):
    return list(sandbox.world.tickets.for_system(system))


def open_ids(sandbox: Sandbox, system: str) -> list[str]:
    """Native ids of the seeded tickets still in progress (closed ones refuse edits, as in the products)."""
    native = sandbox.emulators[system].ticket_ids()
    return [str(native[t.n - 1]) for t in seeded(sandbox, system) if t.status in ("new", "open", "pending", "on_hold")]


def instant(text: str) -> datetime:
    """An ISO 8601 or ServiceNow ("YYYY-MM-DD HH:MM:SS", UTC) timestamp."""
    return datetime.fromisoformat(text if "T" in text else text.replace(" ", "T") + "+00:00")


# -- assembly and environment -----------------------------------------------------------------


def test_each_system_has_its_own_https_port_on_loopback_and_the_environment_names_them(sandbox: Sandbox):
    urls = sandbox.urls
    assert set(urls) == {"zendesk", "servicenow", "jira", "salesforce", "admin"}
    assert all(url.startswith("https://127.0.0.1:") for url in urls.values())
    assert len({url.rsplit(":", 1)[1] for url in urls.values()}) == 5
    env = sandbox.env()
    assert set(env) >= ENV_NAMES
    assert {key: os.environ[key] for key in env} == env  # the fixture applied it
    assert env["ZENPY_FORCE_NETLOC"] == urls["zendesk"].removeprefix("https://")
    assert env["DESKBRIDGE_SANDBOX_ADMIN_URL"] == urls["admin"]
    assert open(env["REQUESTS_CA_BUNDLE"]).read().count("BEGIN CERTIFICATE") >= 2  # machine CAs + the sandbox CA


def test_the_real_clients_read_the_same_seeded_world_from_every_emulator(sandbox: Sandbox):
    zd_seed, sn_seed, jira_seed = (seeded(sandbox, s) for s in HELPDESKS)
    exported = {t.id: t for t in zendesk().tickets.incremental(start_time=0)}
    assert exported[1].subject == zd_seed[0].subject and len(exported) >= len(zd_seed)

    records = servicenow().GlideRecord("incident", batch_size=10)
    records.add_query("number", "INC0010001")
    records.query()
    assert records.next() and records.get_value("short_description") == sn_seed[0].subject

    issues = jira().search_issues("project = SUP ORDER BY key ASC", maxResults=False)
    assert len(issues) >= len(jira_seed)
    assert jira().issue("SUP-1").fields.summary == jira_seed[0].subject

    soql = "SELECT Id, Support_Tier__c FROM Account"
    accounts = salesforce().query_all(soql, include_deleted=True)["records"]  # another test deletes one
    assert {a["Id"]: a["Support_Tier__c"] for a in accounts} == {a.id: a.tier_value for a in sandbox.world.accounts}


# -- the admin API ------------------------------------------------------------------------------


def test_clock_moves_are_visible_in_every_helpdesks_timestamps(sandbox: Sandbox, sandbox_admin: SandboxAdmin):
    moved = sandbox_admin.advance(3600)
    assert sandbox_admin.now() == moved == sandbox.ctx.clock.now()
    for system in HELPDESKS:
        view = sandbox_admin.human(system, open_ids(sandbox, system)[0], "add_tags", tags=["clock_probe"])
        assert abs(instant(view["updated_at"]) - moved) <= timedelta(seconds=1), system

    later = sandbox_admin.set_clock(moved + timedelta(days=1, hours=2))
    assert later == moved + timedelta(days=1, hours=2)
    client, zendesk_id = zendesk(), int(open_ids(sandbox, "zendesk")[1])
    client.tickets.update(ZendeskTicket(id=zendesk_id, priority="high"))
    assert instant(client.tickets(id=zendesk_id).updated_at) == later
    record = incident(open_ids(sandbox, "servicenow")[1])
    record.work_notes = "clock check"
    record.update()
    assert instant(incident(record.get_value("sys_id")).get_value("sys_updated_on")) == later
    comment = jira().add_comment(open_ids(sandbox, "jira")[1], "clock check", is_internal=True)
    assert abs(instant(comment.created.replace("+0000", "+00:00")) - later) < timedelta(seconds=1)


def test_a_scripted_429_is_answered_logged_and_retried_by_the_client(clean_faults: SandboxAdmin, fresh_logs):
    admin = clean_faults
    admin.add_fault("429", system="zendesk", method="GET", path=r"/api/v2/tickets/3\.json", count=1, retry_after=1)
    assert zendesk().tickets(id=3).id == 3  # zenpy waits Retry-After and asks again
    answered = [(r["status"], r["fault"]) for r in admin.requests(system="zendesk")]
    assert answered == [(429, "429"), (200, None)]
    assert admin.faults()[0]["injected"] == 1


def test_a_failed_write_is_never_applied_and_a_retried_one_is_logged_once(sandbox, clean_faults, fresh_logs):
    admin = clean_faults
    sys_id = open_ids(sandbox, "servicenow")[2]
    admin.add_fault("5xx", system="servicenow", method="PATCH", status=500, count=1)
    record = incident(sys_id)
    record.work_notes = "escalating to tier 2"
    with pytest.raises(RequestException):  # pysnc never retries a PATCH
        record.update()
    assert admin.writes(system="servicenow") == []
    record = incident(sys_id)
    record.work_notes = "escalating to tier 2"
    record.update()
    notes = [w for w in admin.writes(system="servicenow", actor="api") if w["kind"] == "comment"]
    assert [(w["ticket_id"], w["detail"]["body"], w["detail"]["public"]) for w in notes] == [
        (sys_id, "escalating to tier 2", False)
    ]


def test_a_conflict_fault_makes_a_human_edit_first_so_a_safe_update_fails(sandbox, clean_faults, fresh_logs):
    admin, ticket_id = clean_faults, int(open_ids(sandbox, "zendesk")[2])
    client = zendesk()
    ticket = client.tickets(id=ticket_id)
    admin.add_fault("conflict", system="zendesk", method="PUT", count=1)
    change = ZendeskTicket(id=ticket_id, priority="urgent", safe_update=True, updated_stamp=ticket.updated_at)
    with pytest.raises(APIException) as raised:
        client.tickets.update(change)
    assert raised.value.response.status_code == 409
    human = admin.writes(system="zendesk", actor="human")
    assert [(w["ticket_id"], w["kind"], w["detail"]["tags"]) for w in human] == [
        (str(ticket_id), "tags_added", ["human_edit"])
    ]
    assert admin.writes(system="zendesk", actor="api") == []
    assert "human_edit" in client.tickets(id=ticket_id).tags


def test_human_actions_are_logged_as_human_and_seen_through_the_api(sandbox, sandbox_admin, fresh_logs):
    admin = sandbox_admin
    targets = {system: open_ids(sandbox, system)[3] for system in HELPDESKS}
    for system, ticket_id in targets.items():
        # Other tests share the session sandbox and may have moved the ticket already: pick another group.
        group = "billing" if admin.view(system, ticket_id)["group"] == "tier3" else "tier3"
        admin.human(system, ticket_id, "add_tags", tags=["vip_probe"])
        view = admin.human(system, ticket_id, "reassign", group=group, assignee=None)
        assert "vip_probe" in view["tags"] and view["group"] == group, system
        kinds = {w["kind"] for w in admin.writes(system=system, actor="human") if w["ticket_id"] == ticket_id}
        assert {"tags_added", "group"} <= kinds, system
    assert "vip_probe" in zendesk().tickets(id=int(targets["zendesk"])).tags
    assert "vip_probe" in jira().issue(targets["jira"]).fields.labels
    assert admin.writes(actor="api") == []


def test_tickets_created_through_the_admin_api_are_served_to_the_clients(sandbox_admin: SandboxAdmin):
    admin = sandbox_admin
    created = {s: admin.create_ticket(s, f"Created in {s}", description="From the admin API", priority="high") for s in HELPDESKS}
    for system, ticket_id in created.items():
        view = admin.view(system, ticket_id)
        assert (view["status"], view["priority"]) == ("new", "high"), system
        assert admin.ticket_ids(system)[-1] == ticket_id
    assert zendesk().tickets(id=int(created["zendesk"])).subject == "Created in zendesk"
    assert incident(created["servicenow"]).get_value("short_description") == "Created in servicenow"
    assert jira().issue(created["jira"]).fields.summary == "Created in jira"


def test_a_salesforce_account_edit_is_seen_by_the_next_query(sandbox: Sandbox, sandbox_admin: SandboxAdmin, fresh_logs):
    account = next(a for a in sandbox.world.accounts if a.tier_value != "Premier Support")
    sandbox_admin.set_account(account.id, Support_Tier__c="Premier Support")
    try:
        rows = salesforce().query(f"SELECT Id, Support_Tier__c FROM Account WHERE Id IN ('{account.id}')")["records"]
        assert rows[0]["Support_Tier__c"] == "Premier Support"
        assert [w["ticket_id"] for w in sandbox_admin.writes(system="salesforce", actor="human")] == [account.id]
    finally:
        sandbox_admin.set_account(account.id, Support_Tier__c=account.tier_value)


def test_a_deleted_account_and_expired_sessions_reach_the_salesforce_client(sandbox: Sandbox, sandbox_admin):
    client, gone = salesforce(), sandbox.world.accounts[-1].id
    sandbox_admin.delete_account(gone)
    assert gone not in {a["Id"] for a in sandbox_admin.accounts()}
    assert client.query(f"SELECT Id FROM Account WHERE Id IN ('{gone}')")["totalSize"] == 0
    sandbox_admin.expire_sessions()
    with pytest.raises(SalesforceExpiredSession):
        client.query("SELECT Id FROM Account LIMIT 1")
    assert salesforce().query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1  # a new login works


def test_log_marks_show_only_what_came_after(sandbox_admin: SandboxAdmin):
    mark = sandbox_admin.mark()
    jira().issue("SUP-3")
    after = sandbox_admin.requests(since=mark)
    assert after and all(r["seq"] > mark and r["system"] == "jira" for r in after)
    assert sandbox_admin.requests(system="zendesk", since=mark) == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/nowhere/tickets", None, 404),
        ("GET", "/zendesk/tickets/999999", None, 404),
        ("POST", "/jira/tickets/SUP-1/human", {"action": "dance"}, 400),
        ("POST", "/jira/tickets/SUP-1/human", {"tags": ["x"]}, 400),
        ("POST", "/zendesk/tickets/1/human", {"action": "add_tags"}, 400),
        ("POST", "/servicenow/tickets/nope/human", {"action": "add_tags", "tags": ["x"]}, 404),
        ("POST", "/zendesk/tickets", {"subject": "x", "group": "sales"}, 400),
        ("POST", "/zendesk/tickets", {"subject": "x", "requester": "nobody"}, 400),
        ("POST", "/salesforce/accounts/0015g0000000000AAA", {"Support_Tier__c": "Premier Support"}, 404),
        ("POST", "/salesforce/accounts/0015g00000000G8AAI", {"Nope__c": 1}, 400),
        ("POST", "/faults", {"kind": "meteor"}, 400),
        ("POST", "/clock", {"advance_seconds": -5}, 400),
        ("POST", "/clock", {"set": "2026-03-02T09:00:00"}, 400),
    ],
)
def test_the_admin_api_refuses_bad_requests_with_a_reason(sandbox_admin, method, path, body, status):
    with pytest.raises(SandboxAdminError) as refused:
        sandbox_admin._call(method, path, body)
    assert refused.value.status == status and str(refused.value)


def test_an_injected_reset_breaks_the_connection_without_a_server_traceback(clean_faults: SandboxAdmin, fresh_logs):
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    server_log = logging.getLogger("uvicorn.error")
    server_log.addHandler(handler)
    try:
        clean_faults.add_fault("reset", system="jira", path="/rest/api/2/issue/", count=1)
        with pytest.raises((requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
            jira().issue("SUP-4")
    finally:
        server_log.removeHandler(handler)
    assert [(r["status"], r["fault"]) for r in clean_faults.requests(system="jira")][-1:] == [(0, "reset")]
    assert [r.getMessage() for r in records if r.exc_info] == []
