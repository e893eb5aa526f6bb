"""JiraConnector against the sandbox's Jira Cloud emulator, driven by the real jira client over HTTPS.

Reads: full pull, resume from a saved cursor across page edges and equal timestamps, bulk re-reads,
call counts by endpoint. Failures (rate limits, credentials, malformed answers, conflicts) are in
test_connector_jira_failures.py. Each test moves the shared virtual clock forward an hour and works on
issues it creates there, so it sees only its own changes.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import HelpdeskConnector
from connectors.jira.client import forget_site_facts
from connectors.jira.connector import JiraConnector
from connectors.retry import RetryPolicy
from core.mapping import JiraMapping
from core.model import Priority, Status, System
from core.yamlconf import load_model

ROOT = Path(__file__).resolve().parent.parent
MAPPING = load_model(ROOT / "mapping" / "jira.yaml", JiraMapping)
FAST = RetryPolicy(max_attempts=4, max_total_wait=3.5, base_delay=0.01, max_delay=0.05)
SEARCH = "GET /rest/api/2/search/jql"
SETUP = {"GET /rest/api/2/myself": 1}  # the one set-up call per connector: credentials, time zone, Cloud
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_site_facts():
    """Each test's first connector makes its own GET myself (the process keeps the answer an hour)."""
    forget_site_facts()
    yield
    forget_site_facts()


def connector(waits: list[float] | None = None, **kw) -> JiraConnector:
    """A connector from the sandbox environment (DESKBRIDGE_JIRA_*), with fast retries; waits are recorded."""
    kw.setdefault("policy", FAST)
    return JiraConnector.from_env(MAPPING, sleep=(waits if waits is not None else []).append, **kw)


def fresh_hour(admin) -> datetime:
    """Move the shared clock an hour on: what follows happens at a time no other test wrote at."""
    admin.advance(3600)
    return admin.now()


def create(admin, count: int, label: str, **fields) -> list[str]:
    """``count`` issues created at the same virtual second (equal ``updated``)."""
    return [admin.create_ticket("jira", f"{label} {k}", tags=[label], **fields) for k in range(count)]


def pulled_ids(pages) -> list[str]:
    return [t.id for page in pages for t in page.tickets]


def test_the_connector_has_the_helpdesk_shape(sandbox):
    jira = connector()
    assert isinstance(jira, HelpdeskConnector) and jira.system is System.jira and jira.project == "SUP"


def test_full_pull_returns_every_issue_once_normalized_like_the_emulator_shows_it(sandbox, sandbox_admin):
    jira = connector(page_size=7)
    pages = list(jira.pull_changes(None, start=LONG_AGO))
    ids = pulled_ids(pages)
    expected = sandbox_admin.ticket_ids("jira")
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids))
    assert not [q for p in pages for q in p.quarantined]
    tickets = {t.id: t for p in pages for t in p.tickets}
    for ticket_id in expected[:6]:
        view, ticket = sandbox_admin.view("jira", ticket_id), tickets[ticket_id]
        assert (ticket.key, ticket.status.value, ticket.priority.value) == (
            view["key"], view["status"], view["priority"])
        assert (ticket.group, set(ticket.tags), ticket.concurrency_token) == (
            view["group"], set(view["tags"]), view["token"])
        assert [c.public for c in ticket.comments] == [c["public"] for c in view["comments"]]
    updated = [t.updated_at for p in pages for t in p.tickets]
    assert updated == sorted(updated)  # ORDER BY updated ASC across pages
    assert {s.target for t in tickets.values() for s in t.native_slas} >= {"first_response", "resolution"}


def test_pull_calls_are_pages_not_per_issue(sandbox, sandbox_admin):
    jira = connector(page_size=5)
    pages = list(jira.pull_changes(None, start=LONG_AGO))
    n = sum(p.raw_count for p in pages)
    assert n == len(sandbox_admin.ticket_ids("jira"))
    assert jira.calls.by_endpoint() == {**SETUP, SEARCH: math.ceil(n / 5)}
    assert len(pages) == math.ceil(n / 5)


def test_search_names_its_fields_and_expands_the_changelog_in_the_same_request(sandbox, fresh_logs):
    start = fresh_hour(fresh_logs)
    create(fresh_logs, 1, "fields")
    list(connector().pull_changes(None, start=start))
    [search] = [r for r in fresh_logs.requests("jira") if r["path"].endswith("/search/jql")]
    query = search["query"]
    assert "expand=changelog" in query and "fields=%2Aall" not in query
    for field in ("summary", "status", "comment", "updated", "customfield_10050", "customfield_10020"):
        assert f"fields={field}&" in query + "&"
    assert "ORDER+BY+updated+ASC%2C+key+ASC" in query


def test_resume_from_a_saved_cursor_has_no_gap_and_no_duplicate_across_page_edges_and_equal_timestamps(
        sandbox, sandbox_admin):
    admin = sandbox_admin
    start = fresh_hour(admin)
    first = create(admin, 5, "resume")  # five issues with the same updated second, pages of two
    run = connector(page_size=2).pull_changes(None, start=start)
    page = next(run)
    run.close()  # the run dies after committing the first page's cursor
    assert len(page.tickets) == 2 and page.cursor
    late = create(admin, 1, "resume")  # indexed late, at the very same second as the cursor's watermark

    resumed = list(connector(page_size=2).pull_changes(page.cursor, start=start))
    again = pulled_ids(resumed)
    assert sorted(pulled_ids([page]) + again) == sorted(first + late)
    assert not set(pulled_ids([page])) & set(again) and len(again) == len(set(again))

    assert pulled_ids(connector().pull_changes(resumed[-1].cursor, start=start)) == []  # nothing twice
    admin.advance(30)
    admin.human("jira", first[0], "add_tags", tags=["vip"])
    assert pulled_ids(connector().pull_changes(resumed[-1].cursor, start=start)) == [first[0]]  # a new change


def test_a_first_run_with_nothing_changed_yields_one_empty_page_with_a_cursor_at_start(sandbox, sandbox_admin):
    start = fresh_hour(sandbox_admin) + timedelta(minutes=5)
    [page] = list(connector().pull_changes(None, start=start))
    assert page.tickets == [] and page.raw_count == 0
    assert '"watermark":"' + start.strftime("%Y-%m-%dT%H:%M:%S") in page.cursor


def test_fetch_tickets_reads_given_issues_in_bulk_and_leaves_out_missing_ones(sandbox, sandbox_admin):
    start = fresh_hour(sandbox_admin)
    ids = create(sandbox_admin, 3, "fetch", priority="high", group="tier2")
    jira = connector()
    tickets, quarantined = jira.fetch_tickets([ids[2], "999999", ids[0], ids[1]])
    assert [t.id for t in tickets] == [ids[2], ids[0], ids[1]] and quarantined == []
    assert all(t.priority is Priority.high and t.group == "tier2" and t.status is Status.new for t in tickets)
    assert all(t.created_at == start for t in tickets)
    # one search failed naming the missing id, one more without it: no call per issue
    assert jira.calls.by_endpoint() == {**SETUP, SEARCH: 2}


def test_fetch_full_history_completes_a_changelog_the_search_truncated(sandbox, sandbox_admin):
    start = fresh_hour(sandbox_admin)
    [busy] = create(sandbox_admin, 1, "history")
    sandbox_admin.human("jira", busy, "reassign", group="tier3")  # the oldest history entry
    for k in range(50):  # 100 label changes after it: the embedded changelog keeps only the newest 100
        sandbox_admin.human("jira", busy, "add_tags", tags=[f"step{k}"])
        sandbox_admin.human("jira", busy, "remove_tags", tags=[f"step{k}"])
    jira = connector()
    [short], _ = jira.fetch_tickets([busy])
    assert "group_change" not in {e.kind.value for e in short.history}  # the search's changelog lost it
    assert jira.calls.by_endpoint() == {**SETUP, SEARCH: 1}
    [pulled] = [t for page in jira.pull_changes(None, start=start) for t in page.tickets]
    [full], _ = jira.fetch_tickets([busy], full_history=True)
    assert [e.to_value for e in full.history if e.kind.value == "group_change"] == ["tier3"]
    # the truncated reads say so: complete only from after the lost reassignment on; the full read is whole
    [lost] = [e for e in full.history if e.kind.value == "group_change"]
    assert lost.at < short.history_since == pulled.history_since <= short.updated_at
    assert full.history_since is None
    assert jira.calls.by_endpoint()["GET /rest/api/2/issue/{id}/changelog"] == 2  # 101 histories, pages of 100
    assert "GET /rest/api/2/issue/{id}/comment" not in jira.calls.by_endpoint()  # comments were complete


def test_comments_tell_internal_notes_from_replies_in_bulk(sandbox, sandbox_admin):
    start = fresh_hour(sandbox_admin)
    [ticket_id] = create(sandbox_admin, 1, "visibility")
    sandbox_admin.human("jira", ticket_id, "comment", author="agent-1", public=False, body="internal: checking logs")
    sandbox_admin.human("jira", ticket_id, "comment", author="agent-1", public=True, body="We are on it.")
    jira = connector()
    [page] = list(jira.pull_changes(None, start=start))
    [ticket] = page.tickets
    assert [(c.body, c.public) for c in ticket.comments] == [
        ("internal: checking logs", False), ("We are on it.", True)]
    assert "GET /rest/api/2/issue/{id}/comment" not in jira.calls.by_endpoint()  # jsdPublic came with the search
