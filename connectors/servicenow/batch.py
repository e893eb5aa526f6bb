"""The ServiceNow Batch API payloads: inner requests out, serviced responses back. Pure: no I/O.

``POST /api/now/v1/batch`` carries up to a few dozen Table API requests (bodies base64-encoded) and
answers each with its own status, headers and base64 body; the instance runs them in order.
https://www.servicenow.com/docs/r/api-reference/rest-apis/batch-api.html

deskbridge builds these itself and posts them through pysnc's session rather than calling pysnc's
``update_multiple()``: pysnc keeps queued requests on one shared ``client.batch_api`` object (a batch
that failed would be re-sent with the next one), names inner requests by ``id()`` of Python objects,
and cannot mix the ``label_entry`` inserts for tags with the incident PATCHes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.errors import PayloadError

SYSTEM = "servicenow"
BATCH_PATH = "/api/now/v1/batch"
MAX_INNER = 50  # inner requests per batch: stays well inside the instance's batch transaction time
_HEADERS = [{"name": "Content-Type", "value": "application/json"}, {"name": "Accept", "value": "application/json"}]


@dataclass(frozen=True)
class InnerRequest:
    """One Table API request inside a batch; ``id`` ties the answer back to it."""

    id: str
    method: str
    path: str  # /api/now/table/... with its query string
    body: dict[str, Any] | None = None

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "method": self.method, "url": self.path, "headers": _HEADERS}
        if self.body is not None:
            out["body"] = base64.b64encode(json.dumps(self.body).encode()).decode()
        return out


@dataclass(frozen=True)
class InnerResponse:
    """The instance's answer to one inner request (``status`` 0: it was not serviced)."""

    id: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        """The decoded body; PayloadError when it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise PayloadError(SYSTEM, None, "body", f"batch answer {self.id} is not valid JSON",
                               kind="response") from None

    def rows(self) -> list[dict[str, Any]]:
        """The ``result`` list of a Table API list answer."""
        data = self.json()
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, list):
            raise PayloadError(SYSTEM, None, "result", f"batch answer {self.id} has no result list", kind="response")
        return [row for row in result if isinstance(row, dict)]

    def total(self) -> int | None:
        """``X-Total-Count`` of a list answer, when the instance sent it."""
        value = next((v for k, v in self.headers.items() if k.lower() == "x-total-count"), None)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    def error_message(self) -> str:
        """The instance's ``error.message``/``detail`` of a failed inner request, best effort."""
        try:
            error = (json.loads(self.body or b"{}") or {}).get("error") or {}
        except (ValueError, UnicodeDecodeError, AttributeError):
            return f"HTTP {self.status}"
        parts = [str(error.get(k)) for k in ("message", "detail") if isinstance(error, dict) and error.get(k)]
        return f"HTTP {self.status}: {': '.join(parts)}" if parts else f"HTTP {self.status}"


def batch_body(batch_id: str, requests: Sequence[InnerRequest]) -> dict[str, Any]:
    """The JSON body of one batch POST."""
    return {"batch_request_id": batch_id, "rest_requests": [r.payload() for r in requests]}


def parse_batch(batch_id: str, data: Any, sent: Sequence[InnerRequest]) -> dict[str, InnerResponse]:
    """Answers by inner id; requests the instance left unserviced come back with status 0."""
    if not isinstance(data, dict) or not isinstance(data.get("serviced_requests"), list):
        raise PayloadError(SYSTEM, None, "serviced_requests", "the batch answer has no serviced_requests list",
                           kind="response")
    if str(data.get("batch_request_id", "")) != batch_id:
        raise PayloadError(SYSTEM, None, "batch_request_id",
                           f"the batch answer names batch {data.get('batch_request_id')!r}, not {batch_id!r}",
                           kind="response")
    out: dict[str, InnerResponse] = {}
    for item in data["serviced_requests"]:
        if not isinstance(item, dict) or "id" not in item:
            continue
        try:
            body = base64.b64decode(item.get("body") or "")
        except ValueError:
            body = b"\x00not base64"
        headers = {str(h.get("name")): str(h.get("value")) for h in item.get("headers") or [] if isinstance(h, dict)}
        out[str(item["id"])] = InnerResponse(str(item["id"]), int(item.get("status_code") or 0), headers, body)
    for request in sent:
        out.setdefault(request.id, InnerResponse(request.id, 0))
    return out
