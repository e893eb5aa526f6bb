"""ZendeskConnector under failure, against the Zendesk emulator with the real zenpy.

Rate limits, server errors, dropped connections, garbage bodies, wrong credentials, and
a log scan proving the token never leaves its box. Waits are recorded instead of slept
(``sleep=waits.append``), so a 429 storm with ``Retry-After: 1`` costs no wall time —
and if zenpy's own 429 loop were still active it would sleep for real, which the
elapsed-time checks would catch.
"""

from __future__ import annotations

import base64
import logging
import time
from datetime import timedelta

import pytest
from pydantic import SecretStr
from test_connector_zendesk import EXPORT, MAPPING, make_connector, pull_all, settle, tickets_of
from test_connector_zendesk_writes import fresh, plan_for

from connectors.credentials import ZendeskCredentials
from connectors.retry import RetryPolicy
from connectors.zendesk.connector import ZendeskConnector
from core.actions import AddTags, AssignGroup, WriteOutcome
from core.errors import FatalAPIError, PayloadError, RetryBudgetExceeded
from core.markers import ESCALATED_TAG

EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
WRONG_TOKEN = "zd-WRONG-7f3c9a1e-secret-never-logged"


@pytest.fixture
def start(sandbox_admin):
    settle(sandbox_admin)
    return sandbox_admin.now() - timedelta(days=400)


def export_requests(admin, since: int) -> list[dict]:
    return [r for r in admin.requests("zendesk", since=since) if r["path"] == EXPORT_PATH]


def test_a_429_storm_that_ends_within_the_budget_is_waited_out_by_deskbridge_alone(sandbox, clean_faults, start):
    waits: list[float] = []
    connector = make_connector(waits, policy=RetryPolicy(max_attempts=6, max_total_wait=10))
    clean_faults.add_fault("429", system="zendesk", path="cursor.json", count=3, retry_after=1)
    mark = clean_faults.mark()
    began = time.monotonic()
    pages, _ = pull_all(connector, None, start)
    assert time.monotonic() - began < 0.9  # zenpy never slept on the Retry-After itself
    assert waits == [1.0, 1.0, 1.0]  # the server's Retry-After, honoured by the retry policy
    assert [r["status"] for r in export_requests(clean_faults, mark)] == [429, 429, 429, 200]
    assert len(tickets_of(pages)) == len(clean_faults.ticket_ids("zendesk"))


def test_a_429_storm_beyond_the_wait_budget_fails_cleanly_naming_system_and_endpoint(sandbox, clean_faults, start):
    waits: list[float] = []
    connector = make_connector(waits, policy=RetryPolicy(max_attempts=10, max_total_wait=2.5))
    clean_faults.add_fault("429", system="zendesk", path="cursor.json", count=50, retry_after=1)
    mark = clean_faults.mark()
    with pytest.raises(RetryBudgetExceeded) as caught:
        next(connector.pull_changes(None, start=start))
    message = str(caught.value)
    assert message.startswith(f"zendesk {EXPORT} (HTTP 429)") and "budget 2s" in message
    assert waits == [1.0, 1.0]  # a third 1 s wait would pass the 2.5 s budget
    assert len(export_requests(clean_faults, mark)) == 3


def test_a_429_without_a_usable_retry_after_backs_off_instead(sandbox, clean_faults, start):
    waits: list[float] = []
    connector = make_connector(waits)
    clean_faults.add_fault("429", system="zendesk", path="cursor.json", count=2, retry_after=0)
    pages, _ = pull_all(connector, None, start)
    assert len(waits) == 2 and all(0 < w < 1 for w in waits) and tickets_of(pages)


def test_server_errors_and_dropped_connections_are_retried_by_the_policy_not_by_the_transport(
        sandbox, clean_faults, start):
    waits: list[float] = []
    connector = make_connector(waits)
    clean_faults.add_fault("5xx", system="zendesk", path="cursor.json", count=1, status=503)
    clean_faults.add_fault("reset", system="zendesk", path="cursor.json", count=1)
    clean_faults.add_fault("5xx", system="zendesk", path="ticket_events", count=1, status=500)
    mark = clean_faults.mark()
    pages, _ = pull_all(connector, None, start)
    assert [r["status"] for r in export_requests(clean_faults, mark)] == [503, 0, 200]  # 0: the dropped one
    assert len(waits) == 3 and tickets_of(pages)


def test_wrong_credentials_give_a_clear_fatal_error_without_the_secret(sandbox, clean_faults, start, caplog):
    caplog.set_level(logging.DEBUG)
    creds = ZendeskCredentials(subdomain="acme", email="deskbridge@acme.test", token=SecretStr(WRONG_TOKEN))
    connector = ZendeskConnector(creds, MAPPING, policy=RetryPolicy(max_attempts=3))
    mark = clean_faults.mark()
    with pytest.raises(FatalAPIError) as caught:
        next(connector.pull_changes(None, start=start))
    message = str(caught.value)
    assert "zendesk" in message and "(HTTP 401)" in message and "authentication failed" in message
    assert "DESKBRIDGE_ZENDESK_EMAIL" in message and "DESKBRIDGE_ZENDESK_TOKEN" in message
    assert len(clean_faults.requests("zendesk", since=mark)) == 1  # never retried
    _assert_never_seen(WRONG_TOKEN, creds.email, caplog, [caught.value, connector, connector.client, creds])


def test_a_401_fault_names_the_prefect_block_when_credentials_came_from_one(sandbox, clean_faults, start):
    env = sandbox.env()
    creds = ZendeskCredentials(subdomain=env["DESKBRIDGE_ZENDESK_SUBDOMAIN"], email=env["DESKBRIDGE_ZENDESK_EMAIL"],
                               token=SecretStr(env["DESKBRIDGE_ZENDESK_TOKEN"]), source="Prefect block 'zendesk-prod'")
    clean_faults.add_fault("401", system="zendesk", count=1)
    with pytest.raises(FatalAPIError, match=r"check Prefect block 'zendesk-prod' \(fields email and token\)"):
        next(ZendeskConnector(creds, MAPPING).pull_changes(None, start=start))


def test_a_garbage_body_is_asked_for_once_more_then_the_page_fails_cleanly(sandbox, clean_faults, start):
    connector = make_connector([])
    clean_faults.add_fault("malformed", system="zendesk", path="cursor.json", count=1)
    pages, _ = pull_all(connector, None, start)
    assert tickets_of(pages)  # once: asked again, and the page came
    clean_faults.add_fault("malformed", system="zendesk", path="cursor.json", count=2)
    run = connector.pull_changes(None, start=start)
    with pytest.raises(PayloadError, match="not valid JSON"):
        next(run)  # twice: the page fails before any cursor was handed out


def test_a_submit_that_exhausts_the_budget_fails_those_plans_without_raising(sandbox, sandbox_admin, clean_faults):
    waits: list[float] = []
    connector = make_connector(waits, policy=RetryPolicy(max_attempts=3, max_total_wait=1.5))
    ticket = fresh(sandbox_admin, connector)
    clean_faults.add_fault("429", system="zendesk", method="PUT", path="update_many", count=10, retry_after=1)
    (result,) = connector.apply([plan_for(ticket, AddTags(tags=(ESCALATED_TAG,)))])
    assert result.outcome is WriteOutcome.failed
    assert "NotSubmitted" in result.detail and "PUT /api/v2/tickets/update_many.json" in result.detail
    assert ESCALATED_TAG not in sandbox_admin.view("zendesk", ticket.id)["tags"]


def test_a_whole_sync_never_logs_or_raises_the_token(sandbox, sandbox_admin, clean_faults, caplog):
    caplog.set_level(logging.DEBUG)  # root: zenpy, urllib3, requests and deskbridge loggers all at DEBUG
    for name in ("urllib3", "urllib3.connectionpool", "zenpy", "requests", "deskbridge"):
        caplog.set_level(logging.DEBUG, logger=name)  # restored after the test
    token = sandbox.env()["DESKBRIDGE_ZENDESK_TOKEN"]
    email = sandbox.env()["DESKBRIDGE_ZENDESK_EMAIL"]
    assert token.startswith("zdsbx_") and len(token) > 30  # distinctive: a match could not be a coincidence
    errors: list[BaseException] = []
    connector = make_connector([])
    clean_faults.add_fault("429", system="zendesk", path="cursor.json", count=1, retry_after=1)
    settle(sandbox_admin)
    pages, _ = pull_all(connector, None, sandbox_admin.now() - timedelta(days=400))
    ticket = fresh(sandbox_admin, connector)
    sandbox_admin.human("zendesk", ticket.id, "add_tags", tags=["meanwhile"])
    results = connector.apply([plan_for(ticket, AssignGroup(group="tier2"), message=True)])
    assert results[0].outcome is WriteOutcome.conflict  # the marker check ran too
    clean_faults.add_fault("401", system="zendesk", count=1)
    try:
        connector.fetch_tickets([ticket.id])
    except FatalAPIError as exc:
        errors.append(exc)
    assert errors and "GET /api/v2/tickets/show_many.json" in caplog.text  # the logs were really captured
    _assert_never_seen(token, email, caplog, [*errors, connector, connector.client, connector.credentials,
                                              *results, *[p.cursor for p in pages]])


def _assert_never_seen(token: str, email: str, caplog, objects) -> None:
    basic = base64.b64encode(f"{email}/token:{token}".encode()).decode()  # the Authorization header value
    texts = [caplog.text, *(r.getMessage() for r in caplog.records)]
    texts += [str(o) for o in objects] + [repr(o) for o in objects]
    for text in texts:
        assert token not in text and basic not in text


def test_when_the_ticket_cannot_be_read_again_the_customer_message_is_reported_not_sent(
        sandbox, sandbox_admin, clean_faults):
    connector = make_connector([], policy=RetryPolicy(max_attempts=2, max_total_wait=1.5))
    ticket = fresh(sandbox_admin, connector)
    clean_faults.add_fault("5xx", system="zendesk", path="tickets/show_many", count=10, status=503)
    (result,) = connector.apply([plan_for(ticket, AssignGroup(group="tier2"), message=True)])
    assert result.outcome is WriteOutcome.applied  # the escalation itself landed
    assert "round 2 not sent" in result.detail
    comments = sandbox_admin.view("zendesk", ticket.id)["comments"]
    assert [c["public"] for c in comments[1:]] == [False]  # the note only; no customer message
