"""ServiceNowConnector when things go wrong, against the sandbox with the real pysnc client.

Rate limits (in budget and past it), server errors, pysnc's own retries being off, wrong credentials,
garbage bodies, a dropped write and a write whose answer was lost, and a log scan for the secret.
Faults come from the sandbox's fault rules; where a fault must start between two calls of one
``apply`` (after the read batch, before the write batch), a response hook on the client's session
arms it — the connector itself is never patched.
"""

from __future__ import annotations

import base64
import logging
import time

import pytest
import requests
from test_connector_servicenow import FAST, MAPPING, api_writes, create, plan_for

from connectors.credentials import ServiceNowCredentials
from connectors.retry import RetryPolicy
from connectors.servicenow.connector import ServiceNowConnector
from core.actions import AssignGroup, WriteOutcome
from core.errors import FatalAPIError, PayloadError, RetryBudgetExceeded

BATCH = "/api/now/v1/batch"
INCIDENTS = "/api/now/table/incident$"


class Sleeps:
    """Records the waits; sleeps for real only when asked (a 429 storm that ends should take its time)."""

    def __init__(self, real: bool = False):
        self.waits: list[float] = []
        self.real = real

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.real:
            time.sleep(seconds)


def connector_with(sleep: Sleeps, policy: RetryPolicy = FAST, **kw) -> ServiceNowConnector:
    return ServiceNowConnector.from_env(MAPPING, policy=policy, sleep=sleep, **kw)


def arm_after_first(connector: ServiceNowConnector, action) -> None:
    """Run ``action`` once, right after the client's first batch POST is answered (the apply's read batch)."""
    state = {"done": False}

    def hook(response: requests.Response, *args, **kwargs):
        if not state["done"] and response.request.method == "POST" and response.request.url.endswith(BATCH):
            state["done"] = True
            action()
        return response

    connector.api.client.session.hooks["response"].append(hook)


def served(admin, since: int, path: str = "") -> list[tuple[str, int]]:
    return [(r["method"], r["status"]) for r in admin.requests("servicenow", since=since) if path in r["path"]]


# -- rate limits and server errors ------------------------------------------------------------------------


def test_given_a_429_storm_that_ends_then_the_pull_waits_retry_after_and_succeeds(sandbox, clean_faults):
    sleeps = Sleeps(real=True)
    connector = connector_with(sleeps, RetryPolicy(max_attempts=5, max_total_wait=4, base_delay=0.01))
    mark = clean_faults.mark()
    clean_faults.add_fault("429", system="servicenow", method="GET", path=INCIDENTS, count=2, retry_after=1)

    pages = list(connector.pull_changes(None, start=clean_faults.now()))

    assert sleeps.waits == [1.0, 1.0]  # the integer Retry-After, honoured
    assert served(clean_faults, mark, "/table/incident")[:3] == [("GET", 429), ("GET", 429), ("GET", 200)]
    assert pages == [] or all(p.cursor for p in pages)
    connector.close()


def test_given_a_429_storm_past_the_budget_then_the_pull_fails_naming_system_and_endpoint(sandbox, clean_faults):
    sleeps = Sleeps()
    connector = connector_with(sleeps, RetryPolicy(max_attempts=10, max_total_wait=2.5, base_delay=0.01))
    clean_faults.add_fault("429", system="servicenow", method="GET", path=INCIDENTS, count=50, retry_after=1)

    with pytest.raises(RetryBudgetExceeded) as caught:
        list(connector.pull_changes(None, start=clean_faults.now()))

    assert str(caught.value).startswith("servicenow GET /api/now/table/incident (HTTP 429): gave up")
    assert "gave up after 3 attempts" in str(caught.value) and caught.value.status == 429
    assert sleeps.waits == [1.0, 1.0]
    connector.close()


def test_pysnc_does_not_retry_on_its_own(sandbox, clean_faults):
    """One attempt allowed: exactly one request reaches the instance (pysnc's Retry(total=4) would send five)."""
    connector = connector_with(Sleeps(), RetryPolicy(max_attempts=1, max_total_wait=10))
    mark = clean_faults.mark()
    clean_faults.add_fault("5xx", system="servicenow", method="GET", path=INCIDENTS, count=10, status=503)

    with pytest.raises(RetryBudgetExceeded):
        list(connector.pull_changes(None, start=clean_faults.now()))

    assert served(clean_faults, mark, "/table/incident") == [("GET", 503)]
    adapter = connector.api.client.session.get_adapter(f"{connector.api.client.instance}/api/now/table/incident")
    assert adapter.max_retries.total == 0
    connector.close()


def test_given_a_429_on_the_write_batch_then_it_is_sent_again_and_lands_once(sandbox, sandbox_admin, clean_faults):
    sandbox_admin.advance(120)
    [ticket_id] = create(sandbox_admin, 1)
    connector = connector_with(Sleeps(real=True))
    [ticket], _ = connector.fetch_tickets([ticket_id])
    mark = sandbox_admin.mark()
    arm_after_first(connector, lambda: clean_faults.add_fault(
        "429", system="servicenow", method="POST", path=BATCH, count=1, retry_after=1))

    [result] = connector.apply([plan_for(ticket, "sn-429-write-1", AssignGroup(group="tier2"))])

    assert result.outcome is WriteOutcome.applied
    assert served(sandbox_admin, mark, BATCH) == [("POST", 200), ("POST", 429), ("POST", 200)]
    assert [w["kind"] for w in api_writes(sandbox_admin, ticket_id, mark)].count("comment") == 1
    connector.close()


def test_given_a_dropped_connection_on_the_write_then_deskbridge_looks_again_and_writes_once(
        sandbox, sandbox_admin, clean_faults):
    sandbox_admin.advance(120)
    [ticket_id] = create(sandbox_admin, 1)
    sleeps = Sleeps()
    connector = connector_with(sleeps)
    [ticket], _ = connector.fetch_tickets([ticket_id])
    mark = sandbox_admin.mark()
    arm_after_first(connector, lambda: clean_faults.add_fault(
        "reset", system="servicenow", method="POST", path=BATCH, count=1))

    [result] = connector.apply([plan_for(ticket, "sn-reset-write1", AssignGroup(group="tier2"))])

    assert result.outcome is WriteOutcome.applied and len(sleeps.waits) == 1
    # read, write (dropped before the instance ran it), read again (token unchanged), write
    assert [m for m, _s in served(sandbox_admin, mark, BATCH)] == ["POST"] * 4
    assert [w["kind"] for w in api_writes(sandbox_admin, ticket_id, mark)].count("comment") == 1
    connector.close()


def test_given_a_write_that_landed_but_whose_answer_was_lost_then_the_marker_answers_already_applied(
        sandbox, sandbox_admin):
    sandbox_admin.advance(120)
    [ticket_id] = create(sandbox_admin, 1)
    connector = connector_with(Sleeps())
    [ticket], _ = connector.fetch_tickets([ticket_id])
    mark = sandbox_admin.mark()
    lost = {"done": False}

    def lose_the_write_answer(response: requests.Response, *args, **kwargs):
        if not lost["done"] and b'"PATCH"' in (response.request.body or b""):
            lost["done"] = True
            raise requests.ConnectionError("connection dropped after the instance answered")
        return response

    connector.api.client.session.hooks["response"].append(lose_the_write_answer)

    [result] = connector.apply([plan_for(ticket, "sn-lost-answer1", AssignGroup(group="tier2"))])

    assert lost["done"] and result.outcome is WriteOutcome.already_applied
    assert [w["kind"] for w in api_writes(sandbox_admin, ticket_id, mark)].count("comment") == 1
    connector.close()


# -- credentials ------------------------------------------------------------------------------------------

SECRET = "Zebra-Quokka-7731-not-the-password"


def wrong_credentials(sandbox) -> ServiceNowCredentials:
    env = sandbox.env()
    return ServiceNowCredentials(instance=env["DESKBRIDGE_SERVICENOW_INSTANCE"],
                                 username=env["DESKBRIDGE_SERVICENOW_USERNAME"], password=SECRET)


def test_given_a_wrong_password_then_pull_and_apply_fail_clearly_without_the_secret(sandbox, sandbox_admin):
    connector = ServiceNowConnector(wrong_credentials(sandbox), MAPPING, policy=FAST)

    with pytest.raises(FatalAPIError) as on_pull:
        list(connector.pull_changes(None, start=sandbox_admin.now()))
    ticket_id = sandbox_admin.ticket_ids("servicenow")[0]
    with pytest.raises(FatalAPIError) as on_apply:
        connector.apply([plan_for(_fake_ticket(ticket_id), "sn-wrong-cred-1")])

    for caught in (on_pull.value, on_apply.value):
        text = str(caught)
        assert caught.status == 401 and "servicenow" in text and "authentication failed" in text
        assert "DESKBRIDGE_SERVICENOW_PASSWORD" in text and SECRET not in text
    assert SECRET not in repr(connector) and SECRET not in repr(connector.credentials)
    connector.close()


def _fake_ticket(ticket_id: str):
    from datetime import UTC, datetime

    from core.model import Priority, Status, System, Ticket
    at = datetime(2026, 3, 2, tzinfo=UTC)
    return Ticket(system=System.servicenow, id=ticket_id, key="INC0000000", status=Status.open, native_status="2",
                  priority=Priority.normal, created_at=at, updated_at=at, concurrency_token="0")


# -- bodies that are not JSON -----------------------------------------------------------------------------


def test_given_one_garbage_body_then_the_page_is_asked_for_once_more(sandbox, sandbox_admin, clean_faults):
    sandbox_admin.advance(120)
    created = create(sandbox_admin, 2)
    connector = connector_with(Sleeps())
    clean_faults.add_fault("malformed", system="servicenow", method="GET", path=INCIDENTS, count=1)

    pages = list(connector.pull_changes(None, start=sandbox_admin.now()))

    assert sorted(t.id for p in pages for t in p.tickets) == sorted(created)
    connector.close()


def test_given_garbage_twice_then_the_page_fails_cleanly_and_no_cursor_moves(sandbox, sandbox_admin, clean_faults):
    sandbox_admin.advance(120)
    create(sandbox_admin, 2)
    connector = connector_with(Sleeps())
    clean_faults.add_fault("malformed", system="servicenow", method="POST", path=BATCH, count=2)
    pages = []

    with pytest.raises(PayloadError) as caught:
        for page in connector.pull_changes(None, start=sandbox_admin.now()):
            pages.append(page)

    assert pages == [] and "servicenow" in str(caught.value) and "/api/now/v1/batch" in str(caught.value)
    connector.close()


# -- nothing secret in logs, reprs or errors --------------------------------------------------------------


def test_a_sync_with_retries_and_a_refused_login_never_logs_the_password(sandbox, sandbox_admin, clean_faults, caplog):
    env = sandbox.env()
    real = env["DESKBRIDGE_SERVICENOW_PASSWORD"]
    user = env["DESKBRIDGE_SERVICENOW_USERNAME"]
    secrets = [real, SECRET] + [base64.b64encode(f"{user}:{pw}".encode()).decode() for pw in (real, SECRET)]
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "pysnc", "deskbridge"):
        caplog.set_level(logging.DEBUG, logger=name)  # restored after the test
    sandbox_admin.advance(120)
    [ticket_id] = create(sandbox_admin, 1)
    connector = connector_with(Sleeps())
    clean_faults.add_fault("429", system="servicenow", method="GET", path=INCIDENTS, count=1, retry_after=1)
    clean_faults.add_fault("5xx", system="servicenow", method="POST", path=BATCH, count=1, status=503)
    texts = []

    [page] = list(connector.pull_changes(None, start=sandbox_admin.now()))
    [result] = connector.apply([plan_for(page.tickets[0], "sn-secret-scan1", AssignGroup(group="tier2"))])
    wrong = ServiceNowConnector(wrong_credentials(sandbox), MAPPING, policy=FAST)
    for attempt in (lambda: list(wrong.pull_changes(None, start=sandbox_admin.now())),
                    lambda: wrong.fetch_tickets([ticket_id])):
        with pytest.raises(FatalAPIError) as caught:
            attempt()
        texts += [str(caught.value), repr(caught.value), str(caught.value.__cause__)]

    assert result.outcome is WriteOutcome.applied and page.tickets[0].id == ticket_id
    assert any("retrying in" in r.getMessage() for r in caplog.records)
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # the transport did log at DEBUG
    texts += [caplog.text, repr(connector), repr(wrong), repr(connector.api), repr(wrong.credentials)]
    for text in texts:
        for secret in secrets:
            assert secret not in text
    connector.close()
    wrong.close()
