"""Narrow edges the sandbox cannot reach, with ``responses`` under the real jira client.

The emulator answers as a JSM Cloud site in UTC whose search embeds every comment with ``jsdPublic``.
Real sites may differ: a user time zone other than UTC, comments without ``jsdPublic`` (no JSM data),
comment lists truncated in search results, a Server/Data Center deployment.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from connectors.credentials import JiraCredentials
from connectors.jira.connector import JiraConnector
from core.actions import CustomerMessage, InternalNote, WriteOutcome, WritePlan
from core.errors import ConfigError, FatalAPIError, PayloadError
from core.markers import marker
from core.model import System
from test_connector_jira import FAST, MAPPING, fresh_site_facts  # noqa: F401 (autouse)

SITE = "https://acme.atlassian.example"
API = f"{SITE}/rest/api/2"
CREDS = JiraCredentials(url=SITE, email="deskbridge@acme.test", token="edge-token")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def comment(n: int, body: str = "text", **extra) -> dict:
    author = {"accountId": "agent-acc", "displayName": "Ann", "accountType": "atlassian"}
    return {"id": str(n), "author": author, "body": body, "created": "2026-03-02T08:00:00.000+0000", **extra}


def issue(comments: list[dict], total: int | None = None) -> dict:
    return {"id": "10001", "key": "SUP-1", "self": f"{API}/issue/10001", "fields": {
        "summary": "Broken", "status": {"name": "Open", "statusCategory": {"key": "new"}},
        "priority": {"name": "Medium"}, "labels": [], "reporter": {"accountId": "cust-acc", "accountType": "customer"},
        "created": "2026-03-02T07:00:00.000+0000", "updated": "2026-03-02T09:00:00.000+0000",
        "comment": {"comments": comments, "total": len(comments) if total is None else total,
                    "maxResults": len(comments), "startAt": 0},
        "customfield_10050": {"value": "L1 Support"},
    }}


@pytest.fixture
def site():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{API}/myself", json={"accountId": "me", "timeZone": "Europe/Berlin"})
        yield mock


def search_jql(mock) -> str:
    [call] = [c for c in mock.calls if "/search/jql" in c.request.url]
    return parse_qs(urlsplit(call.request.url).query)["jql"][0]


def comment_queries(mock) -> list[dict]:
    urls = [c.request.url for c in mock.calls]
    return [parse_qs(urlsplit(url).query) for url in urls if url.split("?")[0].endswith("/comment")]


def test_jql_dates_are_written_in_the_integration_users_time_zone(site):
    site.get(f"{API}/search/jql", json={"issues": [], "isLast": True})
    list(JiraConnector(CREDS, MAPPING, policy=FAST).pull_changes(None, start=START))
    assert search_jql(site) == 'project = SUP AND updated >= "2026/03/02 10:00" ORDER BY updated ASC, key ASC'


def test_comments_without_jsd_public_are_read_with_their_properties(site):
    site.get(f"{API}/search/jql", json={"issues": [issue([comment(1), comment(2)])], "isLast": True})
    site.get(f"{API}/issue/10001/comment", json={"comments": [
        comment(1, properties=[{"key": "sd.public.comment", "value": {"internal": True}}]),
        comment(2, properties=[])], "total": 2, "startAt": 0, "maxResults": 100})
    [page] = list(JiraConnector(CREDS, MAPPING, policy=FAST).pull_changes(None, start=START))
    assert [c.public for c in page.tickets[0].comments] == [False, True]
    assert comment_queries(site)[0]["expand"] == ["properties"]


def test_full_history_reads_every_comment_of_a_truncated_list_in_pages(site):
    embedded = [comment(n, jsdPublic=True) for n in range(100, 120)]  # the newest 20 of 150
    site.get(f"{API}/search/jql", json={"issues": [issue(embedded, total=150)], "isLast": True})
    site.get(re.compile(rf"{re.escape(API)}/issue/10001/comment\?.*startAt=0.*"), json={
        "comments": [comment(n, jsdPublic=True) for n in range(100)], "total": 150})
    site.get(re.compile(rf"{re.escape(API)}/issue/10001/comment\?.*startAt=100.*"), json={
        "comments": [comment(n, jsdPublic=True) for n in range(100, 150)], "total": 150})
    jira = JiraConnector(CREDS, MAPPING, policy=FAST)
    [short], _ = jira.fetch_tickets(["10001"])
    assert len(short.comments) == 20 and comment_queries(site) == []  # no per-issue call without full_history
    [full], _ = jira.fetch_tickets(["10001"], full_history=True)
    assert len(full.comments) == 150
    assert [q["startAt"] for q in comment_queries(site)] == [["0"], ["100"]]


def test_a_truncated_comment_list_says_from_when_the_ticket_is_complete(site):
    def at(n: int) -> str:
        return f"2026-03-02T0{n // 60}:{n % 60:02d}:00.000+0000"

    embedded = [comment(n, jsdPublic=True, created=at(n)) for n in range(400, 420)]  # the newest 20 of 150
    site.get(f"{API}/search/jql", json={"issues": [issue(embedded, total=150)], "isLast": True})
    for first in (270, 370):  # the comment endpoint, in pages of 100
        site.get(re.compile(rf"{re.escape(API)}/issue/10001/comment\?.*startAt={first - 270}.*"), json={
            "comments": [comment(n, jsdPublic=True, created=at(n)) for n in range(first, min(first + 100, 420))],
            "total": 150})
    jira = JiraConnector(CREDS, MAPPING, policy=FAST)
    [page] = list(jira.pull_changes(None, start=START))
    [pulled] = page.tickets
    # complete from the earliest comment it holds: the flow reads the whole life before a handoff note
    assert pulled.history_since == datetime(2026, 3, 2, 6, 40, tzinfo=UTC) and len(pulled.comments) == 20
    [short], _ = jira.fetch_tickets(["10001"])
    assert short.history_since == pulled.history_since
    [full], _ = jira.fetch_tickets(["10001"], full_history=True)
    assert full.history_since is None and len(full.comments) == 150
    whole = issue([comment(1, jsdPublic=True)])
    site.replace(responses.GET, f"{API}/search/jql", json={"issues": [whole], "isLast": True})
    [complete], _ = jira.fetch_tickets(["10001"])
    assert complete.history_since is None  # nothing was cut: the whole life


def test_a_marker_beyond_a_truncated_comment_list_is_found_among_the_newest_comments(site):
    key = "jira-edge-marker-1"
    site.get(f"{API}/search/jql", json={"issues": [issue([comment(1, jsdPublic=True)], total=300)], "isLast": True})
    site.get(f"{API}/issue/10001/comment", json={"comments": [comment(299, f"note\n{marker(key)}", jsdPublic=False)],
                                                 "total": 300})
    plan = WritePlan(system=System.jira, ticket_id="10001", expected_token="2026-03-01T00:00:00.000+0000",
                     idempotency_key=key, actions=(InternalNote(body=f"note\n{marker(key)}"),))
    [result] = JiraConnector(CREDS, MAPPING, policy=FAST).apply([plan])
    assert result.outcome is WriteOutcome.already_applied
    assert comment_queries(site)[0]["orderBy"] == ["-created"]
    assert not [c for c in site.calls if c.request.method in ("PUT", "POST")]


def test_a_marker_in_a_comment_of_unknown_visibility_counts_as_the_whole_plan_landed(site):
    key = "jira-edge-unknown-1"
    site.get(f"{API}/search/jql", json={"issues": [issue([comment(7, f"reply\n{marker(key)}")])], "isLast": True})
    plan = WritePlan(system=System.jira, ticket_id="10001", expected_token="2026-03-02T09:00:00.000+0000",
                     idempotency_key=key, actions=(InternalNote(body=f"note\n{marker(key)}"),
                                                   CustomerMessage(body=f"reply\n{marker(key)}")))
    [result] = JiraConnector(CREDS, MAPPING, policy=FAST).apply([plan])
    assert result.outcome is WriteOutcome.already_applied  # no jsdPublic, no property: never risk a second write
    assert not [c for c in site.calls if c.request.method in ("PUT", "POST")]


def test_tokens_written_two_ways_for_the_same_instant_are_not_a_conflict(site):
    site.get(f"{API}/search/jql", json={"issues": [issue([])], "isLast": True})
    site.post(f"{API}/issue/10001/comment", status=201, json=comment(5, "note", jsdPublic=False))
    key = "jira-edge-token-1"
    plan = WritePlan(system=System.jira, ticket_id="10001", expected_token="2026-03-02T09:00:00Z",
                     idempotency_key=key, actions=(InternalNote(body=f"note\n{marker(key)}"),))
    [result] = JiraConnector(CREDS, MAPPING, policy=FAST).apply([plan])
    assert result.outcome is WriteOutcome.applied


def test_a_server_or_data_center_site_is_refused_with_a_clear_reason():
    with responses.RequestsMock() as mock:
        mock.get(f"{API}/myself", json={"key": "JIRAUSER10100", "name": "deskbridge", "timeZone": "UTC"})
        with pytest.raises(FatalAPIError, match="deskbridge needs Jira Cloud.*DESKBRIDGE_JIRA_URL names answers "
                                                "without an accountId"):
            list(JiraConnector(CREDS, MAPPING, policy=FAST).pull_changes(None, start=START))


def test_a_mapping_without_a_project_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match="mapping/jira.yaml: project: is not set"):
        JiraConnector(CREDS, MAPPING.model_copy(update={"project": None}))


def test_a_search_that_hands_out_the_same_token_twice_is_refused_as_a_paging_loop(site):
    page = {"issues": [issue([comment(1, jsdPublic=True)])], "nextPageToken": "T1", "isLast": False}
    site.get(f"{API}/search/jql", json=page)
    pages = JiraConnector(CREDS, MAPPING, policy=FAST).pull_changes(None, start=START)
    with pytest.raises(PayloadError, match="handed out a token twice"):
        list(pages)
    assert len([c for c in site.calls if "/search/jql" in c.request.url]) == 2


def test_an_id_that_is_not_a_jira_issue_id_is_quarantined_without_a_call(site):
    jira = JiraConnector(CREDS, MAPPING, policy=FAST)
    tickets, quarantined = jira.fetch_tickets(["SUP-1 OR project = X"])
    assert tickets == [] and [(q.ticket_id, q.field) for q in quarantined] == [("SUP-1 OR project = X", "id")]
    assert jira.calls.total == 0 and len(site.calls) == 0
