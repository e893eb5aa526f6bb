"""The REST surface: Table API and Batch API, as plain request -> response functions.

Keeping the handlers free of Starlette lets the Batch API run each inner request
through exactly the code a standalone request would take (same rendering, same
business rules, same write log), and lets the fault layer ask which incidents a
request targets before it is served.
Table API: https://www.servicenow.com/docs/r/api-reference/rest-apis/c_TableAPI.html
Batch API: https://www.servicenow.com/docs/r/api-reference/rest-apis/batch-api.html
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from sandbox.context import SandboxContext
from sandbox.servicenow.catalog import Table
from sandbox.servicenow.query import equality_values, parse
from sandbox.servicenow.records import User
from sandbox.servicenow.store import SYSTEM, ServiceNowStore
from sandbox.servicenow.writes import Effect, add_tag, apply_update, as_text, remove_tag

JSON = "application/json;charset=UTF-8"
TABLE_PATH = re.compile(r"^/api/now/(?:v\d+/)?table/(?P<table>[A-Za-z0-9_]+)(?:/(?P<sys_id>[^/]+))?/?$")
BATCH_PATH = re.compile(r"^/api/now/(?:v\d+/)?batch/?$")
DEFAULT_LIMIT = 10000
CHILD_KEYS = {"sys_journal_field": "element_id", "sys_audit": "documentkey", "task_sla": "task",
              "label_entry": "table_key"}


@dataclass
class ApiRequest:
    method: str
    path: str
    params: dict[str, str]
    body: bytes
    base_url: str  # scheme://host:port of the request, for reference links


@dataclass
class ApiResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def failure(status: int, message: str, detail: str | None = None) -> ApiResponse:
    """The instance's error envelope: {"error": {"message", "detail"}, "status": "failure"}."""
    body = {"error": {"message": message, "detail": detail}, "status": "failure"}
    return ApiResponse(status, json.dumps(body).encode(), {"Content-Type": JSON})


def _ok(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, json.dumps(payload).encode(), {"Content-Type": JSON, **(headers or {})})


def _not_found() -> ApiResponse:
    return failure(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")


def _acl_denied(operation: str) -> ApiResponse:
    return failure(403, "Operation Failed", f"ACL Exception {operation} Failed due to security constraints")


class ServiceNowApi:
    """Serves one authenticated user's requests against the store."""

    def __init__(self, store: ServiceNowStore, ctx: SandboxContext, user: User):
        self.store, self.ctx, self.user = store, ctx, user

    # -- dispatch -------------------------------------------------------------------------
    def handle(self, req: ApiRequest, *, inner: bool = False) -> ApiResponse:
        if BATCH_PATH.match(req.path) and not inner:
            return self._batch(req) if req.method == "POST" else failure(405, "Method not Supported")
        match = TABLE_PATH.match(req.path)
        if match is None:
            return failure(400, "Requested URI does not represent any resource")
        table = self.store.catalog.tables.get(match["table"])
        if table is None:
            return failure(400, f"Invalid table {match['table']}")
        sys_id = match["sys_id"]
        with self.store.lock:
            if sys_id is None:
                if req.method == "GET":
                    return self._list(table, req)
                if req.method == "POST":
                    return self._insert(table, req)
                return failure(405, "Method not Supported")
            if req.method == "GET":
                return self._get(table, sys_id, req)
            if req.method in ("PATCH", "PUT"):
                return self._update(table, sys_id, req)
            if req.method == "DELETE":
                return self._delete(table, sys_id)
            return failure(405, "Method not Supported")

    def targets(self, req: ApiRequest) -> list[str]:
        """The incidents a request would read or write (for the ``conflict`` fault)."""
        if BATCH_PATH.match(req.path):
            return [t for inner in self._inner_requests(req)[0] for t in self.targets(inner[1])]
        match = TABLE_PATH.match(req.path)
        if match is None or match["table"] not in self.store.catalog.tables:
            return []
        table, sys_id = match["table"], match["sys_id"]
        with self.store.lock:
            if table == "incident" and sys_id:
                return [sys_id] if sys_id in self.store.incidents else []
            if table == "incident" and req.method == "GET":
                offset, limit = _paging(req.params)
                return [row.sys_id for row in self.store.select("incident", req.params.get("sysparm_query", ""))
                        [offset:offset + limit]]
            if table == "label_entry" and sys_id and sys_id in self.store.label_entries:
                return [self.store.label_entries[sys_id].table_key]
            if table == "label_entry" and req.method == "POST":
                key = as_text((_json_object(req.body) or {}).get("table_key"))
                return [key] if key in self.store.incidents else []
            if table in CHILD_KEYS and req.method == "GET":
                keys = equality_values(parse(req.params.get("sysparm_query", "")), CHILD_KEYS[table]) or set()
                return sorted(k for k in keys if k in self.store.incidents)
        return []

    # -- Table API ------------------------------------------------------------------------
    def _render(self, table: Table, row: Any, req: ApiRequest) -> dict[str, Any]:
        mode = req.params.get("sysparm_display_value", "false").lower()
        exclude = req.params.get("sysparm_exclude_reference_link", "false").lower() == "true"
        names = _fields(req.params.get("sysparm_fields"))
        return self.store.catalog.render(table, row, names, mode if mode in ("true", "all") else "false",
                                         exclude, req.base_url)

    def _list(self, table: Table, req: ApiRequest) -> ApiResponse:
        rows = self.store.select(table.name, req.params.get("sysparm_query", ""))
        offset, limit = _paging(req.params)
        result = [self._render(table, row, req) for row in rows[offset:offset + limit]]
        headers = {"X-Total-Count": str(len(rows))}
        if req.params.get("sysparm_suppress_pagination_header", "false").lower() != "true":
            headers["Link"] = _link_header(req, offset, limit, len(rows))
        return _ok({"result": result}, headers=headers)

    def _get(self, table: Table, sys_id: str, req: ApiRequest) -> ApiResponse:
        row = table.by_id(sys_id)
        return _not_found() if row is None else _ok({"result": self._render(table, row, req)})

    def _update(self, table: Table, sys_id: str, req: ApiRequest) -> ApiResponse:
        if table.name != "incident":
            return _acl_denied("Update")
        incident = self.store.incidents.get(sys_id)
        if incident is None:
            return _not_found()
        body = _json_object(req.body)
        if body is None:
            return failure(400, "Exception while reading request", "The payload is not valid JSON.")
        self._log(sys_id, apply_update(self.store, incident, body, self.user, self.ctx.clock.now()))
        return _ok({"result": self._render(table, incident, req)})

    def _insert(self, table: Table, req: ApiRequest) -> ApiResponse:
        body = _json_object(req.body)
        if body is None:
            return failure(400, "Exception while reading request", "The payload is not valid JSON.")
        if table.name == "label":
            return self._insert_label(table, body, req)
        if table.name == "label_entry":
            return self._insert_label_entry(table, body, req)
        return _acl_denied("Insert")

    def _insert_label(self, table: Table, body: dict[str, Any], req: ApiRequest) -> ApiResponse:
        name = as_text(body.get("name")).strip()
        if not name:
            return failure(403, "Operation Failed", "Data Policy Exception: Name is mandatory")
        if self.store.label_named(name) is not None:
            return failure(403, "Operation Failed", f"A tag named '{name}' already exists")
        label = self.store.ensure_label(name, self.ctx.clock.now(), self.user.user_name)
        return _ok({"result": self._render(table, label, req)}, status=201)

    def _insert_label_entry(self, table: Table, body: dict[str, Any], req: ApiRequest) -> ApiResponse:
        incident = self.store.incidents.get(as_text(body.get("table_key")))
        if as_text(body.get("table") or "incident") != "incident" or incident is None:
            return failure(403, "Operation Failed", "table/table_key must name an existing incident")
        wanted = as_text(body.get("label"))
        label = self.store.labels.get(wanted) or self.store.label_named(wanted)
        if label is None:
            return failure(403, "Operation Failed", f"No tag (label) '{wanted}': create it first")
        now = self.ctx.clock.now()
        entry, created = add_tag(self.store, incident, label.sys_id, self.user.user_name, now)
        if created:
            self._log(incident.sys_id, [Effect("tags_added", {"tags": [label.name]})])
        return _ok({"result": self._render(table, entry, req)}, status=201)

    def _delete(self, table: Table, sys_id: str) -> ApiResponse:
        if table.name != "label_entry":
            return _acl_denied("Delete")
        entry = self.store.label_entries.get(sys_id)
        if entry is None:
            return _not_found()
        label = self.store.labels.get(entry.label_id)
        remove_tag(self.store, entry)
        self._log(entry.table_key, [Effect("tags_removed", {"tags": [label.name if label else entry.label_id]})])
        return ApiResponse(204)

    def _log(self, sys_id: str, effects: list[Effect]) -> None:
        now = self.ctx.clock.now()
        for effect in effects:
            self.ctx.log.write(SYSTEM, sys_id, effect.kind, "api", now, **effect.detail)

    # -- Batch API ------------------------------------------------------------------------
    def _inner_requests(self, req: ApiRequest) -> tuple[list[tuple[dict, ApiRequest]], Any]:
        data = _json_object(req.body) or {}
        out = []
        for item in data.get("rest_requests") or []:
            if not isinstance(item, dict):
                continue
            url = urlsplit(str(item.get("url", "")))
            try:
                body = base64.b64decode(item.get("body") or "", validate=False)
            except (binascii.Error, ValueError):
                body = b""
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            out.append((item, ApiRequest(str(item.get("method", "GET")).upper(), url.path, params, body,
                                         req.base_url)))
        return out, data.get("batch_request_id")

    def _batch(self, req: ApiRequest) -> ApiResponse:
        if _json_object(req.body) is None:
            return failure(400, "Exception while reading request", "The payload is not valid JSON.")
        inner, batch_id = self._inner_requests(req)
        serviced = []
        for item, inner_req in inner:
            started = time.perf_counter()
            response = self.handle(inner_req, inner=True)
            headers = [] if item.get("exclude_response_headers") else [
                {"name": name, "value": value} for name, value in response.headers.items()]
            serviced.append({
                "id": str(item.get("id", "")), "body": base64.b64encode(response.body).decode(),
                "status_code": response.status, "status_text": HTTPStatus(response.status).phrase,
                "headers": headers, "execution_time": int((time.perf_counter() - started) * 1000),
            })
        return _ok({"batch_request_id": "" if batch_id is None else str(batch_id),
                    "serviced_requests": serviced, "unserviced_requests": []})


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _fields(text: str | None) -> list[str] | None:
    if not text:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    return names if "sys_id" in names else ["sys_id", *names]


def _paging(params: dict[str, str]) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        try:
            return max(0, int(params.get(name, default)))
        except ValueError:
            return default
    return number("sysparm_offset", 0), number("sysparm_limit", DEFAULT_LIMIT)


def _link_header(req: ApiRequest, offset: int, limit: int, total: int) -> str:
    """RFC 5988 links the instance sends unless sysparm_suppress_pagination_header=true."""
    def link(at: int, rel: str) -> str:
        params = {**req.params, "sysparm_offset": str(at), "sysparm_limit": str(limit)}
        return f'<{req.base_url}{req.path}?{urlencode(params)}>;rel="{rel}"'
    last = max(0, ((total - 1) // limit) * limit) if limit else 0
    links = [link(0, "first")]
    if offset > 0:
        links.append(link(max(0, offset - limit), "prev"))
    if limit and offset + limit < total:
        links.append(link(offset + limit, "next"))
    links.append(link(last, "last"))
    return ",".join(links)
