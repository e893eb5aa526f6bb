"""The pysnc client deskbridge talks to ServiceNow with: construction, auth, typed and retried calls.

Construction: ``ServiceNowClient(creds.instance, (username, password), auto_retry=False)``; pysnc
refuses ``http://`` instances (the sandbox serves https on 127.0.0.1). Every HTTP call, pysnc's own
included, goes through the client's one ``requests`` session, where the :class:`CallCounter` and the
:class:`LastResponse` hook sit.

Retry layering (see :mod:`connectors.retry`), set here:

- pysnc's own retry is off. With ``auto_retry=True`` (its default) pysnc mounts
  ``HTTPAdapter(max_retries=Retry(total=4, backoff_factor=0.2, status_forcelist=[429, 500, 502, 503]))``
  on the instance URL (``pysnc/client.py``, ``ServiceNowClient.__init__``), which would retry GETs
  up to 4 times on its own, sleeping on ``Retry-After``, and end in ``requests.exceptions.RetryError``.
  We pass ``auto_retry=False`` and mount :class:`connectors.http.NoRetryAdapter` (urllib3 ``Retry(total=0)``, no
  status retries, a default timeout pysnc never sets) on ``https://`` and on the instance prefix.
- deskbridge's :func:`call_with_retry` wraps every call: 429/5xx/connection errors, honouring an
  integer ``Retry-After``, bounded by the policy's total wait.
- A body that is not JSON (a truncated answer) is asked for once more, then raised as PayloadError
  so the caller fails that page cleanly.
- Write batches (non-idempotent POSTs) are re-sent in place only after 429/503, which the instance
  answers before doing anything; a dropped connection or another 5xx raises :class:`WriteOutcomeUnknown`
  and the caller re-checks the tickets before writing again (connectors.servicenow.apply).
- Prefect task retries stay 0.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import requests
from pysnc import ServiceNowClient
from pysnc.exceptions import InstanceException

from connectors.calls import CallCounter
from connectors.credentials import ServiceNowCredentials
from connectors.http import NoRetryAdapter
from connectors.retry import RetryPolicy, call_with_retry
from connectors.servicenow.batch import BATCH_PATH, InnerRequest, InnerResponse, batch_body, parse_batch
from connectors.servicenow.translate import SYSTEM, LastResponse, status_error, translate
from core.errors import APIError, FatalAPIError, PayloadError, RetriableAPIError

T = TypeVar("T")
BATCH_ENDPOINT = f"POST {BATCH_PATH}"


class WriteOutcomeUnknown(APIError):
    """A write batch got no definite answer (connection lost, 500/502/504): it may or may not have landed."""


def build_client(creds: ServiceNowCredentials, calls: CallCounter, last: LastResponse,
                 timeout: float = 30.0) -> ServiceNowClient:
    """A pysnc client on ``creds`` with pysnc's retries off, calls counted and responses remembered."""
    try:
        client = ServiceNowClient(creds.instance, (creds.username, creds.password.get_secret_value()),
                                  auto_retry=False)
    except InstanceException as exc:  # http://, or a dotted name without a scheme
        raise FatalAPIError(SYSTEM, "client", f"{exc}; check {creds.where('instance')}") from None
    adapter = NoRetryAdapter(timeout)
    client.session.mount("https://", adapter)
    client.session.mount(client.instance, adapter)
    calls.install(client.session)
    client.session.hooks["response"].append(last.hook)
    return client


class ServiceNowApi:
    """Table reads through pysnc and Batch API posts through its session, typed, counted and retried."""

    def __init__(self, creds: ServiceNowCredentials, *, policy: RetryPolicy, calls: CallCounter,
                 timeout: float = 30.0, sleep: Callable[[float], None] = time.sleep):
        self.creds = creds
        self.policy = policy
        self.calls = calls
        self._sleep = sleep
        self._last = LastResponse()
        self.client = build_client(creds, calls, self._last, timeout)
        self._batch_ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"ServiceNowApi(instance={self.creds.instance!r}, user={self.creds.username!r})"

    def list_rows(self, table: str, query: str, *, columns: Sequence[str], display: bool | str = False,
                  limit: int = 200) -> tuple[list[dict[str, Any]], int | None]:
        """One page (offset 0, ``limit`` rows) of ``table`` matching ``query``, and the match count."""

        def once() -> tuple[list[dict[str, Any]], int | None]:
            record = self.client.GlideRecord(table, batch_size=limit)
            record.add_encoded_query(query)
            record.fields = list(columns)
            record.display_value = display
            response = self.client.table_api.list(record)
            return _result_rows(response, f"GET /api/now/table/{table}"), _total(response)

        return self._call(f"GET /api/now/table/{table}", once)

    def read_batch(self, inner: Sequence[InnerRequest]) -> dict[str, tuple[list[dict[str, Any]], int | None]]:
        """Table GETs posted as one Batch API request: ``(rows, X-Total-Count)`` by inner id.

        Reads are idempotent, so the whole batch is retried when the POST or any inner GET is
        rate limited or fails on the server side. Requests the instance left unserviced (its
        batch size or time limit) are absent from the answer, for the caller to post again;
        a batch of which nothing was serviced counts as a retriable failure.
        """

        def once() -> dict[str, tuple[list[dict[str, Any]], int | None]]:
            answers = self._post(inner, writes=False)
            out = {}
            for request in inner:
                answer = answers[request.id]
                if answer.status == 0:
                    continue
                if answer.status != 200:
                    raise self._inner_error(request, answer)
                out[request.id] = (answer.rows(), answer.total())
            if inner and not out:
                raise self._inner_error(inner[0], answers[inner[0].id])
            return out

        return self._call(BATCH_ENDPOINT, once)

    def write_batch(self, inner: Sequence[InnerRequest]) -> dict[str, InnerResponse]:
        """Writes posted as one Batch API request; the caller maps each inner answer to its plan.

        Re-sent in place only after 429/503, which the instance answers before doing anything;
        any other failure without a definite answer raises :class:`WriteOutcomeUnknown`.
        """
        return self._call(BATCH_ENDPOINT, lambda: self._post(inner, writes=True), payload_retry=False)

    def _post(self, inner: Sequence[InnerRequest], *, writes: bool) -> dict[str, InnerResponse]:
        batch_id = f"deskbridge-{next(self._batch_ids)}"
        url = f"{self.client.instance}{BATCH_PATH}"
        try:
            response = self.client.session.post(url, json=batch_body(batch_id, inner))
        except requests.RequestException as exc:
            raise self._ambiguous(translate(exc, BATCH_ENDPOINT, self.creds, self._last), writes) from exc
        if response.status_code >= 300:
            error = status_error(response.status_code, BATCH_ENDPOINT, _json_or_text(response), self.creds,
                                 response.headers.get("Retry-After"))
            raise self._ambiguous(error, writes)
        try:
            return parse_batch(batch_id, response.json(), inner)
        except (requests.exceptions.JSONDecodeError, PayloadError) as exc:
            if writes:  # the writes may have run: the caller must look before writing again
                raise WriteOutcomeUnknown(SYSTEM, BATCH_ENDPOINT, "the answer was unreadable") from exc
            raise PayloadError(SYSTEM, None, "body", f"{BATCH_ENDPOINT} answered a body deskbridge cannot read",
                               kind="response") from exc

    def _inner_error(self, request: InnerRequest, answer: InnerResponse) -> Exception:
        endpoint = f"{request.method} {request.path.split('?', 1)[0]} (in a batch)"
        if answer.status == 0:
            return RetriableAPIError(SYSTEM, endpoint, "not serviced by the batch (instance time limit)")
        body = _json_or_none(answer)
        return status_error(answer.status, endpoint, body, self.creds, answer.headers.get("Retry-After"))

    @staticmethod
    def _ambiguous(error: BaseException, writes: bool) -> BaseException:
        if writes and isinstance(error, RetriableAPIError) and error.status not in (429, 503):
            return WriteOutcomeUnknown(error.system, error.endpoint, f"no definite answer: {error}", error.status)
        return error

    def _call(self, endpoint: str, fn: Callable[[], T], *, payload_retry: bool = True) -> T:
        """Run ``fn`` under the retry policy; an unreadable body is asked for once more, then raised."""
        return call_with_retry(lambda: self._typed(endpoint, fn), system=SYSTEM, endpoint=endpoint,
                               policy=self.policy, sleep=self._sleep, payload_retries=1 if payload_retry else 0)

    def _typed(self, endpoint: str, fn: Callable[[], T]) -> T:
        self._last.forget()
        try:
            return fn()
        except (APIError, PayloadError):
            raise
        except Exception as exc:  # pysnc and requests exceptions become deskbridge's
            typed = translate(exc, endpoint, self.creds, self._last)
            if typed is exc:
                raise
            raise typed from exc

    def close(self) -> None:
        self.client.session.close()


def _result_rows(response: requests.Response, endpoint: str) -> list[dict[str, Any]]:
    data = response.json()  # JSONDecodeError -> PayloadError in translate()
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, list):
        raise PayloadError(SYSTEM, None, "result", f"{endpoint} answered without a result list", kind="response")
    return [row for row in result if isinstance(row, dict)]


def _total(response: requests.Response) -> int | None:
    try:
        return int(response.headers["X-Total-Count"])
    except (KeyError, ValueError):
        return None


def _json_or_none(answer: InnerResponse) -> Any:
    try:
        return answer.json()
    except PayloadError:
        return None


def _json_or_text(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:200]
