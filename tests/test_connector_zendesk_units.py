"""The Zendesk connector's pure parts, and the HTTP edges the sandbox cannot produce (narrow ``responses`` tests).

Pure: the cursor format, plan -> update drafts, ticket events -> audits and the event
window's paging rule. ``responses``: job statuses that fail or never finish, results
without ids, a Retry-After that is an HTTP date, a non-JSON error page, a 403.
"""

from __future__ import annotations

import re

import pytest
import responses
from pydantic import SecretStr
from test_connector_zendesk import MAPPING

from connectors.calls import CallCounter
from connectors.credentials import ZendeskCredentials
from connectors.retry import RetryPolicy
from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.cursor import PullCursor
from connectors.zendesk.drafts import build_draft
from connectors.zendesk.events import EventWindow, as_audit
from connectors.zendesk.jobs import JobWait, run_updates
from connectors.zendesk.normalize import to_ticket
from core.actions import AddTags, AssignGroup, CustomerMessage, InternalNote, RaisePriority, WritePlan
from core.errors import FatalAPIError, RetryBudgetExceeded
from core.model import Priority

BASE = "https://acme.zendesk.com/api/v2"
CREDS = ZendeskCredentials(subdomain="acme", email="bot@acme.test", token=SecretStr("unit-test-token-123456"))


def plan(*actions, token: str = "2026-03-02T09:00:00Z") -> WritePlan:
    return WritePlan(system="zendesk", ticket_id="42", expected_token=token, idempotency_key="unit-key-0001",
                     actions=actions)


# -- cursor ---------------------------------------------------------------------------------------


def test_the_cursor_carries_the_export_cursor_and_the_position_and_reads_back():
    cursor = PullCursor("MTc3MjQyODI1OC4wfHwxOXw=", 1772428258)
    assert cursor.encode() == "zd1.1772428258.MTc3MjQyODI1OC4wfHwxOXw="
    assert PullCursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize("text", ["", "zd1", "zd1.abc.x", "zd2.1.x", "zd1.12.", "MTc3MjQy"])
def test_a_cursor_in_another_shape_is_refused(text):
    with pytest.raises(ValueError, match="not a deskbridge Zendesk cursor"):
        PullCursor.decode(text)


# -- drafts ---------------------------------------------------------------------------------------


def test_a_draft_sends_tags_only_as_additional_tags_and_the_stamp_as_the_given_string():
    draft = build_draft(plan(AddTags(tags=("a", "b")), AddTags(tags=("b", "c")), AssignGroup(group="tier2")),
                        MAPPING, assignees={}, current_priority="normal")
    update = draft.update(0, "2026-03-02T09:00:00Z")
    assert update == {"id": 42, "safe_update": True, "updated_stamp": "2026-03-02T09:00:00Z",
                      "additional_tags": ["a", "b", "c"], "group_id": 360000002}
    assert "tags" not in update and draft.rounds == 1 and draft.summary() is None


def test_a_note_and_a_message_make_two_rounds_note_first_fields_with_the_note():
    draft = build_draft(plan(CustomerMessage(body="public [deskbridge:unit-key-0001]"),
                             InternalNote(body="private [deskbridge:unit-key-0001]"), AssignGroup(group="tier3")),
                        MAPPING, assignees={}, current_priority=None)
    assert draft.rounds == 2
    first, second = draft.update(0, "S0"), draft.update(1, "S1")
    assert first["comment"] == {"body": "private [deskbridge:unit-key-0001]", "public": False}
    assert first["group_id"] == 360000003
    assert second == {"id": 42, "safe_update": True, "updated_stamp": "S1",
                      "comment": {"body": "public [deskbridge:unit-key-0001]", "public": True}}


@pytest.mark.parametrize(("current", "target", "sent", "note"), [
    ("low", Priority.high, "high", None),
    (None, Priority.high, "high", None),  # no priority counts as the mapping's missing_priority (normal)
    (None, Priority.normal, None, "already normal"),
    ("urgent", Priority.high, None, "already urgent"),
    ("high", Priority.high, None, "already high"),
    ("p0", Priority.urgent, None, "'p0' is not in the mapping"),
])
def test_priority_is_only_ever_raised(current, target, sent, note):
    draft = build_draft(plan(RaisePriority(priority=target)), MAPPING, assignees={}, current_priority=current)
    assert draft.fields.get("priority") == sent
    assert (note in draft.summary()) if note else draft.summary() is None


def test_unknown_groups_and_owners_are_problems_and_the_rest_stays():
    from core.actions import AssignOwner

    draft = build_draft(plan(AssignGroup(group="nowhere"), AssignOwner(email="Boss@Acme.test"), AddTags(tags=("x",))),
                        MAPPING, assignees={"boss@acme.test": (None, "no Zendesk user has the e-mail Boss@Acme.test")},
                        current_priority=None)
    assert draft.fields == {"additional_tags": ["x"]}
    assert draft.problems == ["assign_group: mapping/zendesk.yaml has no Zendesk group for 'nowhere'",
                              "assign_owner: no Zendesk user has the e-mail Boss@Acme.test"]


# -- ticket events --------------------------------------------------------------------------------


def _event(event_id: int, ticket_id: int, at: int, *children: dict) -> dict:
    return {"id": event_id, "ticket_id": ticket_id, "timestamp": at, "created_at": f"2026-03-02T09:{at % 60:02d}:00Z",
            "updater_id": 7, "via": "Web form", "event_type": "Audit", "child_events": list(children)}


def test_events_in_either_change_shape_become_audits_the_normalizer_reads():
    ticket = {"id": 9, "status": "open", "priority": "high", "requester_id": 5, "created_at": "2026-03-02T09:00:00Z",
              "updated_at": "2026-03-02T09:05:00Z", "subject": "s"}
    events = [
        _event(1, 9, 5, {"id": 2, "event_type": "Change", "field_name": "status", "value": "open",
                         "previous_value": "new"}),
        _event(3, 9, 5, {"id": 4, "event_type": "Change", "priority": "high", "previous_value": "normal"},
               {"id": 5, "type": "Comment", "event_type": "Comment", "author_id": 7, "body": "On it",
                "public": True, "via": {"channel": "web"}}),
    ]
    audits = [as_audit(e) for e in events]
    assert audits[0]["via"] == {"channel": "web"} and audits[1]["events"][0]["field_name"] == "priority"
    normalized = to_ticket(ticket, MAPPING, audits=audits)
    assert [(e.kind.value, e.to_value) for e in normalized.history] == [("status_change", "open"),
                                                                         ("priority_change", "high")]
    assert [c.body for c in normalized.comments] == ["On it"]


def test_the_event_window_reads_forward_once_dedupes_repeated_seconds_and_cuts_at_each_ticket():
    pages = {
        100: {"ticket_events": [_event(1, 1, 100), _event(2, 2, 101)], "end_time": 101, "end_of_stream": False},
        101: {"ticket_events": [_event(2, 2, 101), _event(3, 1, 103)], "end_time": 103, "end_of_stream": False},
        103: {"ticket_events": [_event(3, 1, 103), _event(4, 1, 104)], "end_time": 104, "end_of_stream": True},
        104: {"ticket_events": [_event(4, 1, 104), _event(5, 2, 150)], "end_time": 150, "end_of_stream": True},
    }
    asked: list[int] = []
    window = EventWindow(lambda start: asked.append(start) or pages[start], 100)
    first = window.hand_out([("1", 100), ("2", 101)])
    assert asked == [100, 101]  # events at end_time 101 are only complete once a later page was read
    assert [a["id"] for a in first["1"].audits] == [1] and [a["id"] for a in first["2"].audits] == [2]
    assert first["1"].since is None and window.waiting == 1  # event 3 (ticket 1 at 103) waits for its ticket
    later = window.hand_out([("1", 103)])
    # a newer version of ticket 1 gets only what came after its first hand-out, and says from when
    assert asked == [100, 101, 103] and [a["id"] for a in later["1"].audits] == [3] and later["1"].since == 100
    assert window.hand_out([("1", 103), ("2", 90)]) == {}  # repeats and older versions are left out
    assert window.hand_out([("2", 103)])["2"].audits == [] and asked == [100, 101, 103]  # read already
    # a version newer than the end of the stream: the window reads on, once per ask, from end_time
    last = window.hand_out([("1", 200)])
    assert [a["id"] for a in last["1"].audits] == [4] and asked == [100, 101, 103, 104]
    assert window.waiting == 1 and window.repeatable_ids == {5}  # ticket 2's event at 150 waits


def test_the_event_window_stops_when_the_export_makes_no_progress():
    stuck = {"ticket_events": [_event(1, 1, 50)], "end_time": 50, "end_of_stream": False}
    asked: list[int] = []
    window = EventWindow(lambda start: asked.append(start) or stuck, 50)
    assert [a["id"] for a in window.hand_out([("1", 60)])["1"].audits] == [1]
    assert asked == [50, 50]  # the second page brought nothing new at the same end_time: stop


def test_the_event_window_keeps_only_ids_that_can_come_again_and_spools_events_until_handed_out():
    """Memory stays bounded: de-duplication ids only for the seconds a later page can repeat."""
    pages = {start: {"ticket_events": [_event(start * 10 + k, k, start) for k in range(5)],
                     "end_time": start + 1, "end_of_stream": start == 119} for start in range(100, 120)}
    window = EventWindow(lambda start: pages[start], 100)
    window.hand_out([("0", 119)])
    assert window.repeatable_ids == set()  # the stream ended at 120: nothing read can come again
    assert window.waiting == 80  # tickets 1..4 still wait, on disk, for their ticket pages
    assert [a["id"] for a in window.hand_out([("3", 119)])["3"].audits] == [s * 10 + 3 for s in range(100, 120)]
    assert window.waiting == 60
    window.close()


def test_the_event_window_prunes_repeatable_ids_as_it_reads_forward():
    pages = {100: {"ticket_events": [_event(1, 1, 100), _event(2, 1, 105)], "end_time": 105, "end_of_stream": False},
             105: {"ticket_events": [_event(2, 1, 105), _event(3, 1, 110)], "end_time": 110, "end_of_stream": False}}
    window = EventWindow(lambda start: pages[start], 100)
    window.hand_out([("1", 104)])
    assert window.repeatable_ids == {2}  # event 1 (second 100) can never come again; event 2 (105) can
    window.hand_out([("1", 109)])
    assert window.repeatable_ids == {3}


# -- HTTP edges the sandbox cannot produce ------------------------------------------------------------


@pytest.fixture
def client(monkeypatch):
    monkeypatch.delenv("ZENPY_FORCE_NETLOC", raising=False)
    monkeypatch.delenv("ZENPY_FORCE_SCHEME", raising=False)
    waits: list[float] = []
    made = ZendeskClient(CREDS, policy=RetryPolicy(max_attempts=3, max_total_wait=5, base_delay=0.01),
                         calls=CallCounter("zendesk"), sleep=waits.append)
    made.waits = waits
    return made


def _job(status: str, results=None) -> dict:
    return {"job_status": {"id": "V3-" + "a" * 32, "status": status, "results": results, "message": None}}


def _polled(status: str, results=None) -> dict:
    """The show_many answer for that one job."""
    return {"job_statuses": [_job(status, results)["job_status"]]}


@responses.activate
def test_a_failed_job_and_a_job_that_never_finishes_fail_their_tickets(client):
    responses.put(f"{BASE}/tickets/update_many.json", json=_job("queued"))
    responses.get(re.compile(rf"{BASE}/job_statuses/.*"), json=_polled("failed"))
    failed = run_updates(client, [{"id": 1}, {"id": 2}], JobWait(first_delay=0.01), client.waits.append)
    assert {k: (v.success, v.code) for k, v in failed.items()} == {"1": (False, "JobFailed"), "2": (False, "JobFailed")}
    responses.replace(responses.GET, re.compile(rf"{BASE}/job_statuses/.*"), json=_polled("working"))
    slow = run_updates(client, [{"id": 3}], JobWait(first_delay=1, factor=2, max_delay=4, max_wait=10),
                       client.waits.append)
    assert slow["3"].code == "JobTimeout" and "still working" in slow["3"].details
    assert client.waits[1:] == [1, 2, 4]  # backed off, and bounded: one more 4 s wait would pass 10 s in all


@responses.activate
def test_job_results_map_by_id_or_by_position_and_missing_ones_are_named(client):
    responses.put(f"{BASE}/tickets/update_many.json", json=_job("queued"))
    results = [{"id": 1, "success": True, "status": "Updated"},
               {"index": 1, "error": "TicketUpdateFailed", "details": "Status: closed prevents ticket update"}]
    responses.get(re.compile(rf"{BASE}/job_statuses/.*"), json=_polled("completed", results))
    out = run_updates(client, [{"id": 1}, {"id": 2}, {"id": 3}], JobWait(first_delay=0.01), client.waits.append)
    assert out["1"].success and out["2"].code == "TicketUpdateFailed" and "closed" in out["2"].details
    assert out["3"].code == "NoResult"


@responses.activate
def test_a_retry_after_given_as_a_date_is_retriable_and_backs_off(client):
    responses.get(f"{BASE}/tickets/show_many.json", status=429, json={"error": "APIRateLimitExceeded"},
                  headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"})
    with pytest.raises(RetryBudgetExceeded, match="rate limited"):
        client.get("tickets/show_many.json", {"ids": "1"})
    assert len(responses.calls) == 3 and all(w < 1 for w in client.waits)


@responses.activate
def test_a_non_json_gateway_page_is_retriable_and_a_403_is_fatal(client):
    responses.get(f"{BASE}/users/show_many.json", status=502, body="<html>Bad gateway</html>")
    responses.get(f"{BASE}/users/show_many.json", json={"users": []})
    assert client.get("users/show_many.json", {"ids": "1"}) == {"users": []}
    responses.get(f"{BASE}/groups.json", status=403, json={"error": "Forbidden", "description": "No access"})
    with pytest.raises(FatalAPIError, match=r"\(HTTP 403\): permission denied; check DESKBRIDGE_ZENDESK_EMAIL"):
        client.get("groups.json")
    assert [c.request.url.rsplit("/", 1)[-1] for c in responses.calls] == [
        "show_many.json?ids=1", "show_many.json?ids=1", "groups.json"]  # 502 retried once, 403 never
