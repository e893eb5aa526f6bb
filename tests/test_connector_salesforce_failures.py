"""SalesforceAccounts when Salesforce misbehaves: rate limits, server errors, the org's API limit, unreadable
answers, degrading to default tiers, and no secret in any log line or exception.

Same emulator set-up as ``test_connector_salesforce.py`` (fixtures imported from it), real simple-salesforce.
"""

from __future__ import annotations

import logging
import time
import traceback

import pytest

from core.errors import FatalAPIError, PayloadError, RetryBudgetExceeded
from sandbox.context import Fault
from test_connector_salesforce import FAST, LOGIN, QUERY, account_id, make_org, org, server  # noqa: F401


# -- rate limits, server errors and the org limit --------------------------------------------


def test_a_429_storm_within_the_budget_ends_in_success_honouring_retry_after(org):
    org.ctx.faults.add(Fault(kind="429", system="salesforce", path="/query", count=2, retry_after=1))
    waits: list[float] = []
    source = org.source(waits)
    assert source.accounts([account_id(1)])[account_id(1)].known
    assert waits == [1.0, 1.0]
    assert source.calls.by_endpoint() == {LOGIN: 1, QUERY: 3}
    assert [r["status"] for r in org.requests("/query", at_least=3)] == [429, 429, 200]


def test_a_429_really_waits_the_retry_after_seconds(org):
    org.ctx.faults.add(Fault(kind="429", system="salesforce", path="/query", count=1, retry_after=1))
    source = org.source()
    began = time.monotonic()
    assert source.accounts([account_id(1)])[account_id(1)].known
    assert 1.0 <= time.monotonic() - began < 3.0


def test_a_5xx_storm_beyond_the_budget_raises_retry_budget_exceeded_naming_system_and_endpoint(org):
    org.ctx.faults.add(Fault(kind="5xx", system="salesforce", path="/query", status=503, retry_after=1))
    waits: list[float] = []
    source = org.source(waits, degrade_on_failure=False)
    with pytest.raises(RetryBudgetExceeded) as caught:
        source.accounts([account_id(1)])
    assert str(caught.value).startswith(f"salesforce {QUERY} (HTTP 503): gave up after")
    assert sum(waits) <= FAST.max_total_wait and waits == [1.0, 1.0, 1.0]


def test_a_login_answered_503_is_retried(org):
    org.ctx.faults.add(Fault(kind="5xx", system="salesforce", path="/services/Soap", status=503, count=1))
    waits: list[float] = []
    source = org.source(waits)
    assert source.accounts([account_id(1)])[account_id(1)].known
    assert waits == [1.0] and source.calls.by_endpoint() == {LOGIN: 2, QUERY: 1}


def test_a_dropped_connection_is_retried(org):
    org.ctx.faults.add(Fault(kind="reset", system="salesforce", path="/query", count=1))
    waits: list[float] = []
    source = org.source(waits)
    assert source.accounts([account_id(1)])[account_id(1)].known
    assert len(waits) == 1 and source.calls.by_endpoint() == {LOGIN: 1, QUERY: 2}  # the broken attempt counts


def test_the_org_api_limit_is_fatal_with_a_clear_message(server):
    org = make_org(server, api_limit=2)
    source = org.source(degrade_on_failure=False)
    source.accounts([account_id(1)])
    source.accounts([account_id(2)])
    with pytest.raises(FatalAPIError) as caught:
        source.accounts([account_id(3)])
    assert caught.value.status == 403 and "REQUEST_LIMIT_EXCEEDED" in str(caught.value)
    assert "retrying cannot help" in str(caught.value)
    assert source.calls.by_endpoint() == {LOGIN: 1, QUERY: 3}  # not retried


# -- degrading instead of stopping escalations ------------------------------------------------


def test_by_default_a_failed_lookup_degrades_to_default_tiers_with_a_loud_warning(server, caplog):
    org = make_org(server, api_limit=1)
    source = org.source()
    source.accounts([account_id(0)])  # the one call the org allows: cached
    wanted = [account_id(k) for k in range(450)]
    with caplog.at_level(logging.WARNING, logger="deskbridge.salesforce"):
        got = source.accounts(wanted)
    assert got[account_id(0)].known  # from the cache
    degraded = [got[i] for i in wanted[1:]]
    assert all(not a.known and a.tier == "standard" and "lookup failed" in a.tier_note for a in degraded)
    assert isinstance(source.last_failure, FatalAPIError) and source.last_failure.status == 403
    assert source.calls.by_endpoint() == {LOGIN: 1, QUERY: 2}  # the first refused chunk stops the rest
    (loud,) = [r.getMessage() for r in caplog.records if "FAILED" in r.getMessage()]
    assert "449 account(s) get the default tier 'standard'" in loud and "REQUEST_LIMIT_EXCEEDED" in loud
    org.emulator.org.api.limit = 15000  # the window frees calls: degraded answers were not cached
    again = source.accounts(wanted[:3])
    assert all(a.known for a in again.values()) and source.last_failure is None


def test_a_5xx_storm_degrades_every_pending_chunk_without_retrying_each(org):
    org.ctx.faults.add(Fault(kind="5xx", system="salesforce", path="/query", status=500))
    waits: list[float] = []
    source = org.source(waits)
    got = source.accounts([account_id(k) for k in range(450)])
    assert all(not a.known for a in got.values())
    assert isinstance(source.last_failure, RetryBudgetExceeded)
    assert source.calls.by_endpoint()[QUERY] == FAST.max_attempts  # one chunk's attempts, not three


def test_an_unreadable_answer_is_asked_for_once_more(org):
    org.ctx.faults.add(Fault(kind="malformed", system="salesforce", path="/query", count=1))
    source = org.source()
    assert source.accounts([account_id(1)])[account_id(1)].known
    assert source.calls.by_endpoint() == {LOGIN: 1, QUERY: 2}


def test_an_answer_unreadable_twice_fails_the_lookup_cleanly(org):
    org.ctx.faults.add(Fault(kind="malformed", system="salesforce", path="/query", count=2))
    source = org.source(degrade_on_failure=False)
    with pytest.raises(PayloadError, match="not valid JSON"):
        source.accounts([account_id(1)])
    degrading = org.source()
    org.ctx.faults.add(Fault(kind="malformed", system="salesforce", path="/query", count=2))
    got = degrading.accounts([account_id(1)])
    assert got[account_id(1)].known is False and isinstance(degrading.last_failure, PayloadError)


# -- secrets ---------------------------------------------------------------------------------

PASSWORD = "Pw-zq8842-OXBOW-secret"
TOKEN = "TKNvv7731LANTERNsecret"
WRONG_PASSWORD = "Wrong-kk5510-MAGPIE-secret"


def test_no_password_token_or_session_id_in_any_log_line_or_exception(server, caplog):
    org = make_org(server, credentials={"username": "api@acme.test", "password": PASSWORD, "security_token": TOKEN})
    issued: set[str] = set()
    texts: list[str] = []

    def keep(exc: BaseException) -> None:
        texts.extend([str(exc), repr(exc), "".join(traceback.format_exception(exc))])

    caplog.set_level(logging.DEBUG)  # root: deskbridge, urllib3, requests, simple_salesforce, tenacity
    for name in ("urllib3", "requests", "simple_salesforce", "deskbridge"):
        caplog.set_level(logging.DEBUG, logger=name)
    wrong = org.source(password=WRONG_PASSWORD, degrade_on_failure=False)
    with pytest.raises(FatalAPIError) as refused:
        wrong.accounts([account_id(1)])
    keep(refused.value)
    degraded = org.source(password=WRONG_PASSWORD)
    assert degraded.accounts([account_id(1)])[account_id(1)].known is False
    keep(degraded.last_failure)

    source = org.source(waits := [])
    org.ctx.faults.add(Fault(kind="429", system="salesforce", path="/query", count=1))
    org.ctx.faults.add(Fault(kind="reset", system="salesforce", path="/query", count=1))
    assert source.accounts([account_id(k) for k in range(3)])[account_id(0)].known
    issued.update(org.emulator.org.sessions)
    org.emulator.org.expire_sessions()
    assert source.accounts([account_id(5), "not an id"])[account_id(5)].known
    issued.update(org.emulator.org.sessions)
    org.ctx.faults.add(Fault(kind="5xx", system="salesforce", path="/query", status=503))
    with pytest.raises(RetryBudgetExceeded) as storm:
        org.source(degrade_on_failure=False, sleep=waits.append).accounts([account_id(9)])
    keep(storm.value)
    issued.update(org.emulator.org.sessions)

    assert len(issued) >= 3 and len(waits) >= 2
    texts += [r.getMessage() for r in caplog.records] + [caplog.text, repr(source), repr(source.client)]
    texts += [repr(source.client.credentials), str(source.client.credentials.model_dump())]
    assert any("urllib3" in r.name for r in caplog.records)  # the transport's DEBUG lines were captured
    assert any("INVALID_LOGIN" in t for t in texts) and any("DESKBRIDGE_SALESFORCE_PASSWORD" in t for t in texts)
    for secret in (PASSWORD, TOKEN, WRONG_PASSWORD, PASSWORD + TOKEN, *issued):
        leaks = [t for t in texts if secret in t]
        assert not leaks, f"a secret leaked into: {leaks[0][:200]}"


def test_a_fresh_session_refused_at_once_is_fatal_after_one_new_login(org):
    org.ctx.faults.add(Fault(kind="401", system="salesforce", path="/query", count=2))
    source = org.source(degrade_on_failure=False)
    with pytest.raises(FatalAPIError, match="fresh session was refused at once") as caught:
        source.accounts([account_id(1)])
    assert caught.value.status == 401 and "DESKBRIDGE_SALESFORCE_PASSWORD" in str(caught.value)
    assert source.calls.by_endpoint() == {LOGIN: 2, QUERY: 2}  # never a third login
