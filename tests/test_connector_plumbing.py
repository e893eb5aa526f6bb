"""The shared connector plumbing: retry policy, error classification, call accounting, credentials."""

from __future__ import annotations

import pytest
import requests
import responses

from connectors.base import error_for_status
from connectors.calls import CallCounter, endpoint_of
from connectors.credentials import credentials_from_env
from connectors.retry import RetryPolicy, call_with_retry
from core.errors import ConfigError, ConflictError, FatalAPIError, RetriableAPIError, RetryBudgetExceeded


class Flaky:
    """Fails with the given errors in order, then returns 'ok'."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def _retriable(retry_after=None):
    return RetriableAPIError("zendesk", "GET /x", "rate limited", 429, retry_after=retry_after)


def test_given_429_with_retry_after_when_called_then_waits_that_long_and_succeeds():
    slept = []
    fn = Flaky(_retriable(3), _retriable(2))
    result = call_with_retry(fn, system="zendesk", endpoint="GET /x", policy=RetryPolicy(), sleep=slept.append)
    assert result == "ok" and fn.calls == 3
    assert slept == [3.0, 2.0]


def test_given_no_retry_after_then_backoff_grows_with_bounded_jitter():
    slept = []
    fn = Flaky(_retriable(), _retriable(), _retriable())
    policy = RetryPolicy(base_delay=1, jitter=0.5, max_total_wait=100)
    call_with_retry(fn, system="s", endpoint="e", policy=policy, sleep=slept.append)
    assert 1 <= slept[0] <= 1.5 and 2 <= slept[1] <= 3 and 4 <= slept[2] <= 6


def test_given_waits_beyond_budget_then_fails_cleanly_naming_system_and_endpoint():
    slept = []
    fn = Flaky(*[_retriable(30) for _ in range(10)])
    with pytest.raises(RetryBudgetExceeded) as err:
        call_with_retry(fn, system="zendesk", endpoint="GET /api/v2/x", policy=RetryPolicy(max_total_wait=45), sleep=slept.append)
    assert slept == [30.0]  # the second 30 s wait would pass the 45 s budget
    assert "zendesk GET /api/v2/x" in str(err.value) and "budget 45s" in str(err.value)


def test_given_attempts_exhausted_then_budget_error():
    fn = Flaky(*[_retriable(0) for _ in range(10)])
    with pytest.raises(RetryBudgetExceeded):
        call_with_retry(fn, system="s", endpoint="e", policy=RetryPolicy(max_attempts=3, base_delay=0), sleep=lambda s: None)
    assert fn.calls == 3


def test_fatal_and_conflict_errors_are_not_retried():
    for error in (FatalAPIError("s", "e", "401"), ConflictError("s", "e", "409")):
        fn = Flaky(error)
        with pytest.raises(type(error)):
            call_with_retry(fn, system="s", endpoint="e", policy=RetryPolicy(), sleep=lambda s: None)
        assert fn.calls == 1


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, RetriableAPIError), (503, RetriableAPIError), (500, RetriableAPIError), (401, FatalAPIError),
     (403, FatalAPIError), (409, ConflictError), (400, FatalAPIError)],
)
def test_error_for_status_classifies(status, kind):
    assert type(error_for_status("jira", "GET /x", status, "m")) is kind


def test_retry_after_must_be_an_integer():
    assert error_for_status("s", "e", 429, "m", retry_after="7").retry_after == 7
    assert error_for_status("s", "e", 429, "m", retry_after="Wed, 21 Oct 2015 07:28:00 GMT").retry_after is None


def test_auth_error_names_where_the_credential_lives_not_its_value():
    err = error_for_status("zendesk", "GET /x", 401, "Couldn't authenticate you", credential_hint="DESKBRIDGE_ZENDESK_TOKEN")
    assert "check DESKBRIDGE_ZENDESK_TOKEN" in str(err)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://h/api/v2/tickets/123.json?x=1", "GET /api/v2/tickets/{id}.json"),
        ("https://h/api/now/table/incident/9d385017c611228701d22104cc95c371", "GET /api/now/table/incident/{id}"),
        ("https://h/rest/api/2/issue/SUP-12/comment", "GET /rest/api/2/issue/{id}/comment"),
        ("https://h/rest/api/2/search/jql", "GET /rest/api/2/search/jql"),
    ],
)
def test_endpoint_folds_record_ids(url, expected):
    assert endpoint_of("get", url) == expected


@responses.activate
def test_counter_counts_every_response_including_errors():
    responses.get("https://h/api/v2/tickets/1.json", json={}, status=200)
    responses.get("https://h/api/v2/tickets/2.json", json={}, status=429)
    counter = CallCounter("zendesk")
    session = counter.install(requests.Session())
    session.get("https://h/api/v2/tickets/1.json")
    session.get("https://h/api/v2/tickets/2.json")
    assert counter.by_endpoint() == {"GET /api/v2/tickets/{id}.json": 2} and counter.total == 2


def test_credentials_from_env_masks_secrets(monkeypatch):
    monkeypatch.setenv("DESKBRIDGE_ZENDESK_SUBDOMAIN", "acme")
    monkeypatch.setenv("DESKBRIDGE_ZENDESK_EMAIL", "bot@acme.test")
    monkeypatch.setenv("DESKBRIDGE_ZENDESK_TOKEN", "s3cr3t-token-value")
    creds = credentials_from_env("zendesk")
    assert creds.token.get_secret_value() == "s3cr3t-token-value"
    assert "s3cr3t" not in repr(creds) and "s3cr3t" not in str(creds)
    assert creds.where("token") == "DESKBRIDGE_ZENDESK_TOKEN"


def test_missing_credentials_name_the_variables(monkeypatch):
    for name in ("URL", "EMAIL", "TOKEN"):
        monkeypatch.delenv(f"DESKBRIDGE_JIRA_{name}", raising=False)
    with pytest.raises(ConfigError) as err:
        credentials_from_env("jira")
    text = str(err.value)
    assert "DESKBRIDGE_JIRA_URL: is not set" in text and "DESKBRIDGE_JIRA_TOKEN: is not set" in text
