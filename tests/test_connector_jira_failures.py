"""JiraConnector when Jira misbehaves: rate limits, server errors, dropped connections, wrong credentials,
unreadable answers, a malformed issue, and no secret in any log line or exception.

Real jira client against the session sandbox's Jira emulator; faults through the admin API. Retry waits
are recorded instead of slept (``sleep=``) except where a test proves a real wait.
"""

from __future__ import annotations

import base64
import logging
import time
import traceback

import pytest

from connectors.credentials import JiraCredentials
from connectors.jira.connector import JiraConnector
from connectors.retry import RetryPolicy
from core.actions import AddTags, WriteOutcome
from core.errors import FatalAPIError, PayloadError, RetryBudgetExceeded
from test_connector_jira import (FAST, MAPPING, SETUP, SEARCH, connector, create, fresh_hour,  # noqa: F401
                                 fresh_site_facts, pulled_ids)
from test_connector_jira_writes import note, plan

SEEDED_SECRET = "ATATT3xSEEDED-jira-secret-7f3c9e1b"  # distinctive, so a leak anywhere is found


def search_statuses(admin, since: int) -> list[int]:
    return [r["status"] for r in admin.requests("jira", since=since) if r["path"].endswith("/search/jql")]


# -- rate limits, server errors, dropped connections --------------------------------------------


def test_a_429_storm_within_the_budget_ends_in_success_honouring_retry_after(sandbox, clean_faults):
    admin = clean_faults
    start = fresh_hour(admin)
    ids = create(admin, 3, "storm")
    admin.add_fault("429", system="jira", path="/search/jql$", count=2, retry_after=1)
    mark = admin.mark()
    waits: list[float] = []
    jira = connector(waits)
    assert sorted(pulled_ids(jira.pull_changes(None, start=start))) == sorted(ids)
    assert waits == [1.0, 1.0]  # deskbridge waited; the client's own retry loop (max_retries=0) did not
    assert search_statuses(admin, mark) == [429, 429, 200]
    assert jira.calls.by_endpoint()[SEARCH] == 3


def test_a_429_really_waits_the_retry_after_seconds_once(sandbox, clean_faults):
    admin = clean_faults
    start = fresh_hour(admin)
    create(admin, 1, "wait")
    jira = JiraConnector.from_env(MAPPING, policy=FAST)
    list(jira.pull_changes(None, start=start))  # connect first: the timing covers the search alone
    admin.add_fault("429", system="jira", path="/search/jql$", count=1, retry_after=1)
    began = time.monotonic()
    assert len(pulled_ids(jira.pull_changes(None, start=start))) == 1
    assert 1.0 <= time.monotonic() - began < 2.0  # not 2×Retry-After with jitter, as the client would


def test_a_429_storm_beyond_the_wait_budget_fails_clearly_naming_system_and_endpoint(sandbox, clean_faults):
    admin = clean_faults
    start = fresh_hour(admin)
    admin.add_fault("429", system="jira", path="/search/jql$", count=50, retry_after=1)
    waits: list[float] = []
    jira = connector(waits, policy=RetryPolicy(max_attempts=10, max_total_wait=2.5))
    with pytest.raises(RetryBudgetExceeded) as caught:
        list(jira.pull_changes(None, start=start))
    assert str(caught.value).startswith("jira GET /rest/api/2/search/jql (HTTP 429): gave up after 3 attempts")
    assert "budget 2s" in str(caught.value)
    assert waits == [1.0, 1.0]


@pytest.mark.parametrize("kind,extra", [("5xx", {"status": 502}), ("reset", {})])
def test_server_errors_and_dropped_connections_on_reads_are_retried(sandbox, clean_faults, kind, extra):
    admin = clean_faults
    start = fresh_hour(admin)
    ids = create(admin, 2, "flaky")
    admin.add_fault(kind, system="jira", path="/search/jql$", count=1, **extra)
    waits: list[float] = []
    assert sorted(pulled_ids(connector(waits).pull_changes(None, start=start))) == sorted(ids)
    assert len(waits) == 1


def test_a_server_error_on_the_put_is_retried_because_the_edit_is_idempotent(sandbox, clean_faults):
    admin = clean_faults
    fresh_hour(admin)
    [ticket_id] = create(admin, 1, "put500")
    jira = connector()
    [ticket], _ = jira.fetch_tickets([ticket_id])
    admin.add_fault("5xx", system="jira", method="PUT", path=r"/issue/\d+$", count=1, status=500)
    mark = admin.mark()
    [result] = jira.apply([plan(ticket, "jira-put500-1", AddTags(tags=("deskbridge_escalated",)),
                                note("jira-put500-1"))])
    assert result.outcome is WriteOutcome.applied
    kinds = [w["kind"] for w in admin.writes("jira", since=mark, actor="api")]
    assert kinds == ["tags_added", "comment"]


# -- credentials ----------------------------------------------------------------------------------


def wrong_credentials(sandbox, **kw) -> JiraCredentials:
    env = sandbox.env()
    return JiraCredentials(url=env["DESKBRIDGE_JIRA_URL"], email=env["DESKBRIDGE_JIRA_EMAIL"],
                           token=SEEDED_SECRET + "-wrong", **kw)


def test_wrong_credentials_give_a_clear_fatal_error_naming_the_variable_never_the_token(sandbox, fresh_logs):
    jira = JiraConnector(wrong_credentials(sandbox), MAPPING, policy=FAST)
    with pytest.raises(FatalAPIError) as caught:
        list(jira.pull_changes(None, start=fresh_logs.now()))
    text = str(caught.value)
    assert caught.value.status == 401 and text.startswith("jira GET /rest/api/2/myself (HTTP 401): "
                                                          "authentication failed; check DESKBRIDGE_JIRA_EMAIL "
                                                          "and DESKBRIDGE_JIRA_TOKEN")
    assert SEEDED_SECRET not in text and SEEDED_SECRET not in repr(jira)
    assert len(fresh_logs.requests("jira")) == 1  # fatal: not retried


def test_credentials_from_a_block_are_named_as_the_block(sandbox, sandbox_admin):
    jira = JiraConnector(wrong_credentials(sandbox, source="Prefect block 'jira-prod'"), MAPPING, policy=FAST)
    with pytest.raises(FatalAPIError, match=r"check Prefect block 'jira-prod' \(field email\) and "
                                            r"Prefect block 'jira-prod' \(field token\)"):
        jira.fetch_tickets(sandbox_admin.ticket_ids("jira")[:1])


def test_credentials_revoked_in_the_middle_of_an_apply_stop_the_run(sandbox, clean_faults):
    admin = clean_faults
    fresh_hour(admin)
    [ticket_id] = create(admin, 1, "revoked")
    jira = connector()
    [ticket], _ = jira.fetch_tickets([ticket_id])
    admin.add_fault("401", system="jira", method="POST", path="/comment$", count=1)
    with pytest.raises(FatalAPIError, match="DESKBRIDGE_JIRA_TOKEN"):
        jira.apply([plan(ticket, "jira-revoked-1", note("jira-revoked-1"))])
    mark = admin.mark()
    connector().fetch_tickets([ticket_id])
    asked = [r for r in admin.requests("jira", since=mark) if r["path"].endswith("/myself")]
    assert len(asked) == 1  # the 401 made the process forget what GET myself had proved


def test_a_second_connector_in_the_process_trusts_the_first_ones_get_myself_and_a_revoked_token_fails_clearly(
        sandbox, clean_faults):
    admin = clean_faults
    start = fresh_hour(admin)
    create(admin, 1, "kept")
    first, second = connector(), connector()
    list(first.pull_changes(None, start=start))
    list(second.pull_changes(None, start=start))  # the next run, in the same process (a served flow)
    assert first.calls.by_endpoint() == {**SETUP, SEARCH: 1} and second.calls.by_endpoint() == {SEARCH: 1}
    assert second.client.time_zone == first.client.time_zone
    wrong = JiraConnector(wrong_credentials(sandbox), MAPPING, policy=FAST)  # another token asks again
    with pytest.raises(FatalAPIError, match="GET /rest/api/2/myself"):
        wrong.fetch_tickets(["10001"])
    admin.add_fault("401", system="jira", method="GET", path="/search/jql", count=1)  # revoked after it was kept
    with pytest.raises(FatalAPIError, match="search/jql .*DESKBRIDGE_JIRA_TOKEN"):
        list(connector().pull_changes(None, start=start))
    third = connector()
    list(third.pull_changes(None, start=start))
    assert third.calls.by_endpoint() == {**SETUP, SEARCH: 1}  # the 401 made the next connection prove it again


# -- unreadable answers and a malformed issue -------------------------------------------------------


def test_a_malformed_issue_is_quarantined_while_the_others_are_processed(sandbox, sandbox_admin):
    admin = sandbox_admin
    start = fresh_hour(admin)
    ids = create(admin, 3, "broken")
    store = sandbox.emulators["jira"].store
    with store.lock:  # an admin turned the text field into a multi-select: the value is now a list
        store.find(ids[1]).sf_account = [{"value": "001Dm0000000001AAA"}, {"value": "001Dm0000000002AAA"}]
    pages = list(connector(page_size=2).pull_changes(None, start=start))
    assert sorted(pulled_ids(pages)) == sorted([ids[0], ids[2]])
    [bad] = [q for p in pages for q in p.quarantined]
    assert (bad.ticket_id, bad.field) == (ids[1], "fields.customfield_10054")
    assert "expected text, got list" in bad.reason and "SUP-" in bad.reason  # the reason names the key people use
    assert pulled_ids(connector().pull_changes(pages[-1].cursor, start=start)) == []  # the cursor moved past it


def test_a_garbled_search_page_is_asked_for_once_more(sandbox, clean_faults):
    admin = clean_faults
    start = fresh_hour(admin)
    ids = create(admin, 2, "garbled")
    admin.add_fault("malformed", system="jira", path="/search/jql$", count=1)
    mark = admin.mark()
    assert sorted(pulled_ids(connector().pull_changes(None, start=start))) == sorted(ids)
    assert search_statuses(admin, mark) == [200, 200]


def test_a_page_garbled_twice_fails_cleanly_without_moving_the_cursor(sandbox, clean_faults):
    admin = clean_faults
    start = fresh_hour(admin)
    create(admin, 4, "garbled2")
    run = connector(page_size=2).pull_changes(None, start=start)
    first = next(run)
    admin.add_fault("malformed", system="jira", path="/search/jql$", count=2)
    with pytest.raises(PayloadError, match="not valid JSON"):
        next(run)
    resumed = list(connector(page_size=2).pull_changes(first.cursor, start=start))
    assert len(pulled_ids([first])) + len(pulled_ids(resumed)) == 4  # the next run re-reads the failed page


# -- secrets ----------------------------------------------------------------------------------------


def test_a_seeded_secret_never_appears_in_logs_reprs_or_exceptions(sandbox, clean_faults, caplog, monkeypatch):
    admin = clean_faults
    env = sandbox.env()
    monkeypatch.setitem(sandbox.emulators["jira"].credentials, "token", SEEDED_SECRET)
    creds = JiraCredentials(url=env["DESKBRIDGE_JIRA_URL"], email=env["DESKBRIDGE_JIRA_EMAIL"], token=SEEDED_SECRET)
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "jira", "jira.client", "jira.resilientsession", "deskbridge"):
        caplog.set_level(logging.DEBUG, logger=name)
    start = fresh_hour(admin)
    ids = create(admin, 3, "secret")
    admin.add_fault("429", system="jira", path="/search/jql$", count=1, retry_after=1)
    admin.add_fault("malformed", system="jira", path="/search/jql$", count=1)
    jira = JiraConnector(creds, MAPPING, policy=FAST, page_size=2, sleep=lambda s: None)
    tickets = [t for p in jira.pull_changes(None, start=start) for t in p.tickets]
    results = jira.apply([plan(t, f"jira-secret-{k}", AddTags(tags=("deskbridge_escalated",)),
                               note(f"jira-secret-{k}")) for k, t in enumerate(tickets)])
    assert sorted(t.id for t in tickets) == sorted(ids) and {r.outcome for r in results} == {WriteOutcome.applied}

    texts = [caplog.text, repr(jira), repr(jira.client), repr(creds), str(creds), str(creds.model_dump())]
    texts += [str(r.msg) + " " + repr(r.args) for r in caplog.records]
    refused = JiraConnector(JiraCredentials(url=creds.url, email=creds.email, token=SEEDED_SECRET + "x"), MAPPING,
                            policy=FAST)
    with pytest.raises(FatalAPIError) as caught:
        refused.fetch_tickets(ids)
    texts += [str(caught.value), repr(caught.value), "".join(traceback.format_exception(caught.value))]
    # the scan is not vacuous: the HTTP layer, the retry and the re-ask were all logged
    assert {"urllib3.connectionpool", "deskbridge.retry", "deskbridge.jira"} <= {r.name for r in caplog.records}
    basic = base64.b64encode(f"{creds.email}:{SEEDED_SECRET}".encode()).decode()  # the Authorization header value
    assert [t for t in texts if SEEDED_SECRET in t or basic in t] == []
    assert SETUP.keys() <= jira.calls.by_endpoint().keys()
