"""The ServiceNow connector's pure parts: cursor, queries, write preparation, batch payloads, error translation.

No sandbox here. The keyset query is checked with the emulator's encoded-query engine (which follows
ServiceNow's documented ``^OR`` precedence) on hand-made rows; the client construction is checked
against the installed pysnc, including what pysnc would have retried on its own.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from pysnc import ServiceNowClient
from pysnc.exceptions import AuthenticationException, NotFoundException, RequestException, RoleException
from test_connector_servicenow import MAPPING

from connectors.calls import CallCounter
from connectors.credentials import ServiceNowCredentials
from connectors.servicenow.apply import _outcome, _rounds, _write_groups
from connectors.servicenow.batch import MAX_INNER, InnerRequest, InnerResponse, batch_body, parse_batch
from connectors.servicenow.client import build_client
from connectors.servicenow.queries import (
    Cursor,
    after_query,
    chunks,
    in_query,
    incident_columns,
    since_query,
    table_path,
    window_start,
)
from connectors.servicenow.translate import LastResponse, translate
from connectors.servicenow.writes import is_higher, prepare
from core.actions import (
    AddTags,
    AssignGroup,
    AssignOwner,
    CustomerMessage,
    InternalNote,
    RaisePriority,
    WriteOutcome,
    WritePlan,
)
from core.errors import ConflictError, FatalAPIError, PayloadError, RetriableAPIError
from core.model import Priority, System
from sandbox.servicenow.query import matches, order_rows, parse

CREDS = ServiceNowCredentials(instance="https://acme.service-now.com", username="deskbridge.integration",
                              password="unit-secret-value")


# -- cursor and queries -------------------------------------------------------------------------------


def test_a_cursor_round_trips_and_refuses_what_is_not_one():
    cursor = Cursor("2026-03-02 09:00:00", "a" * 32)
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("", "sn1|2026-03-02|abc", "zd|2026-03-02 09:00:00|abc", "sn1|2026-03-02 09:00:00|"):
        with pytest.raises(ValueError, match="not a ServiceNow cursor|does not match"):
            Cursor.decode(bad)


def test_the_window_starts_at_start_or_the_overlap_before_the_cursor():
    start = datetime(2026, 3, 1, 10, 0, 0, 750000, tzinfo=UTC)
    assert window_start(None, start, timedelta(seconds=60)) == "2026-03-01 10:00:00"
    assert window_start(Cursor("2026-03-02 09:00:30", "x"), start, timedelta(seconds=60)) == "2026-03-02 08:59:30"


def _rows() -> list[dict[str, str]]:
    stamps = ["2026-03-02 09:00:00", "2026-03-02 09:00:01", "2026-03-02 09:00:01", "2026-03-02 09:00:01",
              "2026-03-02 09:00:02"]
    ids = ["c" * 32, "b" * 32, "a" * 32, "d" * 32, "0" * 32]
    return [{"sys_updated_on": t, "sys_id": i} for t, i in zip(stamps, ids)]


def _select(query: str) -> list[tuple[str, str]]:
    parsed = parse(query + "^ORDERBYsys_id")  # pysnc appends its default order
    rows = [r for r in _rows() if matches(parsed, r.__getitem__)]
    return [(r["sys_updated_on"], r["sys_id"]) for r in order_rows(rows, parsed.order, lambda r, n: r[n])]


def test_the_keyset_query_continues_strictly_after_the_last_row_even_inside_one_second():
    everything = _select(since_query("2026-03-02 09:00:00"))
    assert everything == sorted(everything) and len(everything) == 5
    for k, (stamp, sys_id) in enumerate(everything):
        assert _select(after_query(Cursor(stamp, sys_id))) == everything[k + 1:]


def test_in_lists_are_chunked_and_paths_are_encoded():
    assert list(chunks(["a", "b", "c"], 2)) == [["a", "b"], ["c"]]
    assert in_query("task", ["x", "y"], "ORDERBYsys_id") == "taskINx,y^ORDERBYsys_id"
    path = table_path("sys_audit", "documentkeyINa,b^fieldname=state", columns=("documentkey",), limit=10, offset=20)
    assert path.startswith("/api/now/table/sys_audit?sysparm_query=documentkeyINa%2Cb%5Efieldname%3Dstate")
    assert "sysparm_limit=10&sysparm_offset=20" in path and "sysparm_display_value=false" in path


def test_incident_columns_include_the_mappings_custom_columns_and_not_the_journal():
    columns = incident_columns(MAPPING)
    assert columns[0] == "sys_id" and {"u_product_area", "u_sf_account_id", "approval", "sys_mod_count"} <= set(columns)
    assert not {"comments", "work_notes"} & set(columns)


# -- preparing writes ---------------------------------------------------------------------------------


def _plan(*actions) -> WritePlan:
    return WritePlan(system=System.servicenow, ticket_id="t" * 32, expected_token="3", idempotency_key="unit-key-1",
                     actions=actions)


def test_a_plan_becomes_a_patch_of_raw_values_and_the_new_tags():
    fresh = {"sys_id": "t" * 32, "sys_mod_count": "3", "priority": "4", "sys_tags": "VIP, billing_dispute"}
    plan = _plan(AssignGroup(group="tier2"), AssignOwner(email="Owner@Acme.test"),
                 RaisePriority(priority=Priority.high),
                 AddTags(tags=("vip", "deskbridge_escalated")), InternalNote(body="note [deskbridge:unit-key-1]"),
                 CustomerMessage(body="hello [deskbridge:unit-key-1]"))

    out = prepare(0, plan, fresh, MAPPING, {"owner@acme.test": "u" * 32})

    assert out.patch == {"assignment_group": MAPPING.groups["tier2"], "assigned_to": "u" * 32, "priority": "2",
                         "impact": "1", "urgency": "2", "work_notes": "note [deskbridge:unit-key-1]",
                         "comments": "hello [deskbridge:unit-key-1]"}
    assert out.tags == ["deskbridge_escalated"] and out.failed == [] and out.notes == []


@pytest.mark.parametrize(("target", "current", "higher"), [
    ("1", "2", True), ("2", "2", False), ("3", "1", False), ("2", None, True), ("4", "5", True), ("4", "x", False),
])
def test_priority_is_only_ever_raised(target, current, higher):
    assert is_higher(target, current, MAPPING) is higher


def test_what_cannot_be_written_is_named_and_a_lower_priority_is_left_alone():
    fresh = {"sys_id": "t" * 32, "priority": {"value": "1", "display_value": "1 - Critical"}}
    out = prepare(3, _plan(AssignGroup(group="nowhere"), AssignOwner(email="ghost@x.example"),
                           RaisePriority(priority=Priority.high)), fresh, MAPPING, {})
    assert out.patch == {} and not out.writes_anything
    assert [f.split(":")[0] for f in out.failed] == ["assign_group", "assign_owner"]
    assert out.notes == ["raise_priority: left at 1 (not lowered to 2)"]


# -- batch payloads and answers -----------------------------------------------------------------------


def _answer(request_id: str, status: int, body: dict | None = None, headers: dict | None = None) -> dict:
    return {"id": request_id, "status_code": status, "body": base64.b64encode(json.dumps(body or {}).encode()).decode(),
            "headers": [{"name": k, "value": v} for k, v in (headers or {}).items()]}


def test_a_batch_body_carries_base64_json_and_answers_come_back_by_id():
    sent = [InnerRequest("1", "PATCH", "/api/now/table/incident/x", {"work_notes": "é"}),
            InnerRequest("2", "GET", "/p")]
    body = batch_body("deskbridge-7", sent)
    assert json.loads(base64.b64decode(body["rest_requests"][0]["body"])) == {"work_notes": "é"}
    assert "body" not in body["rest_requests"][1]

    answers = parse_batch("deskbridge-7", {"batch_request_id": "deskbridge-7", "serviced_requests": [
        _answer("1", 200, {"result": {"sys_mod_count": "4"}}, {"X-Total-Count": "9"})], "unserviced_requests": ["2"]},
        sent)

    assert answers["1"].status == 200 and answers["1"].total() == 9 and answers["2"].status == 0
    with pytest.raises(PayloadError, match="names batch"):
        parse_batch("deskbridge-8", {"batch_request_id": "deskbridge-7", "serviced_requests": []}, sent)
    with pytest.raises(PayloadError, match="not valid JSON"):
        InnerResponse("3", 200, body=b'{"result": [').rows()


def test_inner_answers_map_to_one_result_per_plan():
    plan = _plan(AddTags(tags=("a", "b")), InternalNote(body="n [deskbridge:unit-key-1]"))
    fresh = {"sys_id": "t" * 32, "sys_mod_count": "3"}
    prepared = prepare(0, plan, fresh, MAPPING, {})
    [([], [(_p, requests_)])] = _write_groups([prepared], {"a": "la", "b": "lb"}, {})
    assert [r.method for r in requests_] == ["POST", "POST", "PATCH"]  # tags first, the marker last
    ok = InnerResponse(requests_[2].id, 200, body=json.dumps({"result": {"sys_mod_count": "4"}}).encode())
    tag_ok, tag_refused = InnerResponse(requests_[0].id, 201), InnerResponse(
        requests_[1].id, 403, body=b'{"error": {"message": "Operation Failed", "detail": "ACL"}}')

    applied = _outcome(prepared, requests_, {r.id: r for r in (ok, tag_ok, tag_refused)}, fresh)
    failed = _outcome(prepared, requests_, {r.id: r for r in (tag_ok, tag_refused, InnerResponse(ok.id, 0))}, fresh)

    assert (applied.outcome, applied.new_token) == (WriteOutcome.applied, "4")
    assert applied.detail == "add_tags: HTTP 403: Operation Failed: ACL"
    assert failed.outcome is WriteOutcome.failed and "not serviced by the batch" in failed.detail


def test_write_groups_never_split_a_plan_and_stay_within_the_inner_limit():
    fresh = {"sys_id": "t" * 32, "sys_mod_count": "3"}
    tags = tuple(f"t{n}" for n in range(4))
    prepared = [prepare(i, _plan(AddTags(tags=tags), InternalNote(body="x")), fresh, MAPPING, {}) for i in range(30)]
    groups = _write_groups(prepared, {t: f"l-{t}" for t in tags}, {})
    assert all(not c and sum(len(r) for _p, r in g) <= MAX_INNER for c, g in groups)
    assert [p.index for _c, g in groups for p, _r in g] == list(range(30)) and len(groups) == 3


def test_a_new_tag_is_created_at_the_head_of_the_first_batch_and_used_by_name():
    fresh = {"sys_id": "t" * 32, "sys_mod_count": "3"}
    prepared = [prepare(i, _plan(AddTags(tags=("Known", "Fresh_Tag")), InternalNote(body="x")), fresh, MAPPING, {})
                for i in range(20)]

    groups = _write_groups(prepared, {"known": "l-known"}, {"fresh_tag": "Fresh_Tag"})

    (creations, first), *rest = groups
    assert [(r.method, r.path.split("?")[0], r.body) for r in creations] == [
        ("POST", "/api/now/table/label", {"name": "Fresh_Tag"})]
    assert len(creations) + sum(len(r) for _p, r in first) <= MAX_INNER and all(not c for c, _g in rest)
    entries = [r for _c, g in groups for _p, requests_ in g for r in requests_ if "label_entry" in r.path]
    by_label = {r.body["label"]: r.path for r in entries}
    assert set(by_label) == {"l-known", "Fresh_Tag"} and len(entries) == 40
    assert "sysparm_input_display_value=true" in by_label["Fresh_Tag"]  # a display value: the new label's name
    assert "sysparm_input_display_value" not in by_label["l-known"]


def test_plans_for_one_incident_go_in_separate_rounds():
    a, b = _plan(), _plan().model_copy(update={"ticket_id": "b" * 32})
    assert _rounds([a, b, a, a, b]) == [[0, 1], [2, 4], [3]]


# -- client construction and error translation ----------------------------------------------------------


def test_the_client_has_no_retries_of_its_own_where_pysnc_would_have_four():
    client = build_client(CREDS, CallCounter("servicenow"), LastResponse())
    ours = client.session.get_adapter(f"{client.instance}/api/now/table/incident").max_retries
    default = ServiceNowClient(CREDS.instance, ("u", "p")).session.get_adapter(
        f"{CREDS.instance}/api/now/table/incident").max_retries
    assert ours.total == 0 and not ours.status_forcelist
    assert (default.total, sorted(default.status_forcelist)) == (4, [429, 500, 502, 503])


def test_an_http_instance_is_refused_naming_where_to_fix_it():
    plain = CREDS.model_copy(update={"instance": "http://127.0.0.1:8080"})
    with pytest.raises(FatalAPIError, match="not http://; check DESKBRIDGE_SERVICENOW_INSTANCE"):
        build_client(plain, CallCounter("servicenow"), LastResponse())


def _seen(status: int, retry_after: str | None = None) -> LastResponse:
    response = requests.Response()
    response.status_code = status
    if retry_after:
        response.headers["Retry-After"] = retry_after
    last = LastResponse()
    last.hook(response)
    return last


def test_pysnc_exceptions_become_typed_errors_with_status_and_retry_after():
    body = {"error": {"message": "Rate limit exceeded", "detail": "100 per hour"}, "status": "failure"}
    limited = translate(RequestException(body), "GET /x", CREDS, _seen(429, "7"))
    assert isinstance(limited, RetriableAPIError) and limited.retry_after == 7.0 and limited.status == 429
    assert "Rate limit exceeded: 100 per hour" in str(limited)

    denied = translate(AuthenticationException({"error": {"message": "User Not Authenticated"}}), "GET /x", CREDS,
                       _seen(401))
    assert isinstance(denied, FatalAPIError) and "DESKBRIDGE_SERVICENOW_PASSWORD" in str(denied)
    assert "unit-secret-value" not in str(denied)
    assert isinstance(translate(RoleException({}), "GET /x", CREDS, _seen(403)), FatalAPIError)
    assert translate(NotFoundException({}), "GET /x", CREDS, _seen(404)).status == 404
    assert isinstance(translate(RequestException({}), "PATCH /x", CREDS, _seen(409)), ConflictError)
    assert isinstance(translate(requests.ConnectionError("reset"), "GET /x", CREDS, LastResponse()), RetriableAPIError)
    assert isinstance(translate(requests.exceptions.JSONDecodeError("x", "doc", 0), "GET /x", CREDS, LastResponse()),
                      PayloadError)
    odd = ValueError("not ours")
    assert translate(odd, "GET /x", CREDS, LastResponse()) is odd
