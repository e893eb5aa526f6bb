"""The Jira connector's pure parts: the cursor and its JQL window (time zones, DST), the edit a plan becomes,
the translation of the client's exceptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from hypothesis import given, strategies as st
from jira.exceptions import JIRAError

from connectors.credentials import JiraCredentials
from connectors.jira.cursor import PullCursor, changes_jql, ids_jql, jql_date, to_millis
from connectors.jira.edits import check_fields, edit_for, native_priority
from connectors.jira.translate import translate
from core.actions import AddTags, AssignGroup, AssignOwner, CustomerMessage, InternalNote, RaisePriority, WritePlan
from core.errors import ConflictError, FatalAPIError, PayloadError, RetriableAPIError
from core.model import Priority, System
from test_connector_jira import MAPPING

T = datetime(2026, 3, 2, 9, 0, 30, 250000, tzinfo=UTC)
MS = to_millis(T)


# -- cursor ---------------------------------------------------------------------------------------


def test_the_cursor_round_trips_and_reads_like_json():
    cursor = PullCursor(T, {"10061": MS, "10062": MS - 5})
    text = cursor.encode()
    assert text == '{"v":1,"watermark":"2026-03-02T09:00:30.250Z","seen":{"10061":1772442030250,"10062":1772442030245}}'
    assert PullCursor.decode(text) == cursor


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"v":2,"watermark":"2026-03-02T09:00:00Z"}',
                                  '{"v":1}', '{"v":1,"watermark":"2026-03-02T09:00:00"}',
                                  '{"v":1,"watermark":"2026-03-02T09:00:00Z","seen":{"1":"x"}}'])
def test_a_cursor_deskbridge_did_not_write_is_refused_clearly(text):
    with pytest.raises(ValueError, match="not a Jira pull cursor deskbridge wrote"):
        PullCursor.decode(text)


def test_the_window_starts_a_minute_before_the_watermarks_minute():
    assert PullCursor(T).window_start(timedelta(0)) == datetime(2026, 3, 2, 8, 59, tzinfo=UTC)
    assert PullCursor(T).window_start(timedelta(minutes=5)) == datetime(2026, 3, 2, 8, 55, tzinfo=UTC)


def test_after_moves_the_watermark_to_the_last_returned_and_keeps_only_what_the_next_window_rereads():
    old = to_millis(T - timedelta(minutes=10))
    cursor = PullCursor(T - timedelta(minutes=10), {"1": old}).after([("2", MS), ("3", MS + 1)], timedelta(minutes=1))
    assert cursor.watermark == T + timedelta(milliseconds=1)
    assert cursor.seen == {"2": MS, "3": MS + 1}  # "1" is older than the window: never re-read


def test_already_returned_is_exact_on_id_and_updated():
    cursor = PullCursor(T, {"7": MS})
    assert cursor.already_returned("7", MS) and cursor.already_returned("7", MS - 1)
    assert not cursor.already_returned("7", MS + 1) and not cursor.already_returned("8", MS)


@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 300_000)), max_size=40))
def test_after_never_moves_the_watermark_backwards_and_remembers_the_latest_update(pairs):
    start = PullCursor(datetime(1970, 1, 1, 0, 2, tzinfo=UTC))
    moved = start.after(pairs, timedelta(minutes=1))
    assert moved.watermark >= start.watermark
    for ident, ms in pairs:
        assert moved.already_returned(ident, ms) or ms < to_millis(moved.window_start(timedelta(minutes=1)))


# -- JQL dates ------------------------------------------------------------------------------------


def test_jql_dates_are_written_in_the_users_time_zone_to_the_minute():
    assert jql_date(T, UTC) == "2026/03/02 09:00"
    assert jql_date(T, ZoneInfo("America/New_York")) == "2026/03/02 04:00"
    assert jql_date(T, ZoneInfo("Asia/Kolkata")) == "2026/03/02 14:30"


def test_a_wall_time_that_happens_twice_at_a_dst_fall_back_is_written_an_hour_earlier():
    berlin = ZoneInfo("Europe/Berlin")
    second_pass = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, the second 02:30 of that night
    assert jql_date(second_pass, berlin) == "2026/10/25 01:30"  # 01:30 CEST = 23:30 UTC: a re-read, never a gap
    assert jql_date(datetime(2026, 10, 25, 3, 0, tzinfo=UTC), berlin) == "2026/10/25 04:00"


def test_the_search_jql_is_bounded_ordered_and_takes_ids_only():
    assert changes_jql("SUP", T, UTC) == 'project = SUP AND updated >= "2026/03/02 09:00" ORDER BY updated ASC, key ASC'
    assert ids_jql(["10001", "10002"]) == "id in (10001, 10002) ORDER BY key ASC"


# -- edits ----------------------------------------------------------------------------------------


def current(**fields):
    return {"id": "10001", "fields": {"labels": ["vip"], "priority": {"name": "Medium"},
                                      "customfield_10050": {"value": "L1 Support"}, "assignee": None, **fields}}


def plan(*actions) -> WritePlan:
    return WritePlan(system=System.jira, ticket_id="10001", expected_token="t", idempotency_key="k-000001",
                     actions=actions)


def test_a_plan_becomes_one_put_with_labels_added_never_set_and_the_customer_message_the_note_a_post():
    edit = edit_for(plan(AssignGroup(group="tier2"), AddTags(tags=("vip", "deskbridge_escalated")),
                         RaisePriority(priority=Priority.urgent), AssignOwner(email="Ann@Acme.test"),
                         InternalNote(body="note"), CustomerMessage(body="reply")),
                    current(), MAPPING, {"ann@acme.test": "acc-1"})
    assert edit.body == {
        "fields": {"customfield_10050": {"value": "Tier 2 Support"}, "priority": {"name": "Highest"},
                   "assignee": {"accountId": "acc-1"}},
        "update": {"labels": [{"add": "deskbridge_escalated"}]},
    }
    assert (edit.internal, edit.public, edit.skipped) == (["note"], ["reply"], [])
    assert edit.put_body == {**edit.body, "update": {"labels": [{"add": "deskbridge_escalated"}],
                                                     "comment": [{"add": {"body": "reply"}}]}}
    rest = edit.only_comments({"internal note"})  # an earlier attempt landed the PUT (fields and message)
    assert (rest.put_body, rest.internal, rest.public) == ({}, ["note"], [])


def test_what_is_already_so_is_left_out_and_what_cannot_be_done_is_skipped_with_a_reason():
    edit = edit_for(plan(AssignGroup(group="l1"), AddTags(tags=("vip",)), RaisePriority(priority=Priority.low),
                         AssignOwner(email="ghost@acme.test"), AssignGroup(group="nonexistent")),
                    current(priority={"name": "High"}), MAPPING, {"ghost@acme.test": None})
    assert edit.body == {} and not edit.changes_fields
    assert [s.split(":")[0].split(" ")[0] for s in edit.skipped] == ["raise_priority", "assign_owner", "assign_group"]


def test_a_missing_priority_counts_as_the_mappings_missing_priority():
    assert edit_for(plan(RaisePriority(priority=Priority.normal)), current(priority=None), MAPPING, {}).body == {}
    assert edit_for(plan(RaisePriority(priority=Priority.high)), current(priority=None), MAPPING, {}).body == {
        "fields": {"priority": {"name": "High"}}}


def test_native_priority_prefers_the_name_that_reads_like_the_level():
    assert [native_priority(MAPPING, p) for p in Priority] == ["Low", "Medium", "High", "Highest"]


def test_the_pre_write_read_asks_for_the_token_comments_and_compared_fields():
    assert check_fields(MAPPING) == ["updated", "comment", "labels", "priority", "assignee", "customfield_10050"]


# -- error translation ---------------------------------------------------------------------------


def jira_error(status: int, text: str, **headers) -> JIRAError:
    response = requests.Response()
    response.status_code, response.headers = status, requests.structures.CaseInsensitiveDict(headers)
    return JIRAError(text, status_code=status, url="https://x/rest/api/2/search/jql", response=response)


def test_errors_are_typed_by_status_with_the_integer_retry_after():
    creds = JiraCredentials(url="https://x", email="e@x", token="tok-123456")
    limited = translate(jira_error(429, "Rate limit exceeded", **{"Retry-After": "7"}), "GET /s", creds)
    assert isinstance(limited, RetriableAPIError) and limited.retry_after == 7.0 and limited.status == 429
    assert translate(jira_error(503, "busy", **{"Retry-After": "1.5"}), "GET /s", creds).retry_after is None
    assert isinstance(translate(jira_error(409, "conflict"), "PUT /i", creds), ConflictError)
    assert type(translate(jira_error(400, "Field 'x' cannot be set"), "PUT /i", creds)) is FatalAPIError
    assert isinstance(translate(requests.ConnectionError("reset"), "GET /s", creds), RetriableAPIError)
    assert isinstance(translate(requests.exceptions.JSONDecodeError("x", "doc", 0), "GET /s", creds), PayloadError)
    unknown = KeyError("x")
    assert translate(unknown, "GET /s", creds) is unknown


def test_a_token_a_server_echoes_is_scrubbed_from_the_message():
    creds = JiraCredentials(url="https://x", email="e@x", token="tok-123456")
    error = translate(jira_error(401, "bad token tok-123456 for e@x"), "GET /myself", creds)
    assert "tok-123456" not in str(error) and "bad token *** for e@x" in str(error)
    assert "check DESKBRIDGE_JIRA_EMAIL and DESKBRIDGE_JIRA_TOKEN" in str(error)
