"""Batch API edges the sandbox never produces, with ``responses`` standing in for the instance.

A real instance stops a batch that reaches its size or time limit and lists the rest under
``unserviced_requests`` (https://www.servicenow.com/docs/r/api-reference/rest-apis/batch-api.html);
the emulator always services everything. The real pysnc client and requests session are used; only
the HTTP answers are scripted.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from test_connector_servicenow import MAPPING

from connectors.credentials import ServiceNowCredentials
from connectors.retry import RetryPolicy
from connectors.servicenow.children import ChildQuery
from connectors.servicenow.connector import ServiceNowConnector
from core.actions import AddTags, AssignGroup, InternalNote, WriteOutcome, WritePlan
from core.errors import PayloadError
from core.markers import marker
from core.model import System

INSTANCE = "https://acme.service-now.com"
BATCH = f"{INSTANCE}/api/now/v1/batch"
SYS_ID = "a" * 32
CREDS = ServiceNowCredentials(instance=INSTANCE, username="deskbridge.integration", password="edge-secret")


class FakeInstance:
    """Answers batch POSTs; leaves chosen inner requests unserviced the first time it sees them."""

    def __init__(self, unserviced_once: set[str], page: list[dict] | None = None):
        self.unserviced_once = set(unserviced_once)
        self.page = page or []  # what every incident page query (ordered by sys_updated_on) answers
        self.mod_count = 1
        self.tags = ""
        self.posted: list[list[tuple[str, str]]] = []

    def __call__(self, request):
        body = json.loads(request.body)
        self.posted.append([(r["method"], urlsplit(r["url"]).path) for r in body["rest_requests"]])
        served, skipped = [], []
        for inner in body["rest_requests"]:
            kind = self._kind(inner)
            if kind in self.unserviced_once:
                self.unserviced_once.discard(kind)
                skipped = [r["id"] for r in body["rest_requests"][body["rest_requests"].index(inner):]]
                break
            served.append(self._serve(inner, kind))
        answer = {"batch_request_id": body["batch_request_id"], "serviced_requests": served,
                  "unserviced_requests": skipped}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)

    @staticmethod
    def _kind(inner) -> str:
        path = urlsplit(inner["url"]).path
        return f"{inner['method']} {path.rsplit('/', 1)[-1] if inner['method'] == 'PATCH' else path}"

    def _serve(self, inner, kind: str) -> dict:
        query = parse_qs(urlsplit(inner["url"]).query).get("sysparm_query", [""])[0]
        if kind == "GET /api/now/table/incident" and "ORDERBYsys_updated_on" in query:
            return _item(inner["id"], 200, {"result": self.page}, {"X-Total-Count": "10"})
        if kind == "GET /api/now/table/incident":
            rows = [{"sys_id": SYS_ID, "sys_mod_count": str(self.mod_count), "priority": "3", "sys_tags": self.tags}]
        elif kind == "GET /api/now/table/label":
            rows = [{"sys_id": "l" * 32, "name": "deskbridge_escalated"}]
        elif kind.startswith("GET"):
            rows = [{"n": n, "query": query} for n in range(3)]
        elif kind == f"PATCH {SYS_ID}":
            self.mod_count += 1
            return _item(inner["id"], 200, {"result": {"sys_id": SYS_ID, "sys_mod_count": str(self.mod_count)}})
        else:  # a label_entry insert: the incident shows the tag from now on
            self.tags = "deskbridge_escalated"
            return _item(inner["id"], 201, {"result": {"sys_id": "e" * 32}})
        return _item(inner["id"], 200, {"result": rows}, {"X-Total-Count": str(len(rows))})


def _item(request_id: str, status: int, body: dict, headers: dict | None = None) -> dict:
    return {"id": request_id, "status_code": status, "body": base64.b64encode(json.dumps(body).encode()).decode(),
            "headers": [{"name": k, "value": v} for k, v in (headers or {}).items()]}


def _connector() -> ServiceNowConnector:
    return ServiceNowConnector(CREDS, MAPPING, policy=RetryPolicy(max_attempts=3, base_delay=0.01),
                               sleep=lambda _s: None)


@responses.activate
def test_given_a_patch_left_unserviced_then_the_plan_is_read_again_and_sent_again():
    instance = FakeInstance({f"PATCH {SYS_ID}"})
    responses.add_callback(responses.POST, BATCH, callback=instance)
    plan = WritePlan(system=System.servicenow, ticket_id=SYS_ID, expected_token="1", idempotency_key="edge-key-01",
                     actions=(AssignGroup(group="tier2"), AddTags(tags=("deskbridge_escalated",)),
                              InternalNote(body=f"note\n{marker('edge-key-01')}")))

    [result] = _connector().apply([plan])

    assert (result.outcome, result.new_token) == (WriteOutcome.applied, "2")
    kinds = [[f"{m} {p.rsplit('/', 1)[-1]}" for m, p in batch] for batch in instance.posted]
    assert kinds == [
        ["GET incident", "GET label"],  # tokens + labels
        ["POST label_entry", f"PATCH {SYS_ID}"],  # the tag landed, the PATCH was not run
        ["GET incident"],  # token unchanged (nothing of the PATCH ran); the label is cached now
        [f"PATCH {SYS_ID}"],  # the tag is on the incident already: only the PATCH goes again
    ]


@responses.activate
def test_given_child_reads_left_unserviced_then_only_those_are_posted_again():
    instance = FakeInstance({"GET /api/now/table/sys_audit"})
    responses.add_callback(responses.POST, BATCH, callback=instance)
    reader = _connector()._children
    queries = [ChildQuery("journal", "sys_journal_field", "element_idINx", ("value",)),
               ChildQuery("audits", "sys_audit", "documentkeyINx", ("fieldname",)),
               ChildQuery("slas", "task_sla", "taskINx", ("stage",))]

    rows = reader.run(queries)

    assert {name: len(found) for name, found in rows.items()} == {"journal": 3, "audits": 3, "slas": 3}
    assert [[p.rsplit("/", 1)[-1] for _m, p in batch] for batch in instance.posted] == [
        ["sys_journal_field", "sys_audit", "task_sla"], ["sys_audit", "task_sla"]]


@responses.activate
def test_given_an_instance_that_ignores_the_keyset_condition_then_the_pull_stops_instead_of_looping():
    rows = [{"sys_id": {"value": s * 32, "display_value": s * 32},
             "sys_updated_on": {"value": "2026-03-02 09:00:00", "display_value": "2026-03-02 09:00:00"},
             "state": {"value": "1", "display_value": "New"}, "sys_mod_count": {"value": "0", "display_value": "0"},
             "number": {"value": f"INC{s}", "display_value": f"INC{s}"}} for s in "ab"]
    responses.add(responses.GET, f"{INSTANCE}/api/now/table/incident", json={"result": rows},
                  headers={"X-Total-Count": "10"})
    instance = FakeInstance(set(), page=rows)
    responses.add_callback(responses.POST, BATCH, callback=instance)
    connector = _connector()
    connector.page_size = 2
    pages = []

    with pytest.raises(PayloadError, match="paging made no progress"):
        for page in connector.pull_changes(None, start=datetime(2026, 3, 1, tzinfo=UTC)):
            pages.append(page)

    assert len(pages) == 1 and len(responses.calls) == 2  # the page, then its children with the repeated page
    assert [p for _m, p in instance.posted[0]].count("/api/now/table/incident") == 1
