"""Contract: the Zendesk emulator's records have the keys and value types of real API payloads.

Compared with the recorded responses in shared/reference/payloads/zendesk: every
key of the reference must be present, and where both sides hold a value, the
JSON types must agree (recursively, through objects and the first list item).
Free-form objects (metadata, *_fields, satisfaction_rating) are only type-checked.
"""

from __future__ import annotations

import json

import pytest
from test_sandbox_zendesk import ACCOUNT, box, certs, sandbox_factory  # noqa: F401  (shared fixtures)

from sandbox.zendesk import organization_id, user_id

FREE_FORM = {"metadata", "system", "custom", "organization_fields", "user_fields", "satisfaction_rating", "source"}


def json_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "null")


def assert_same_shape(reference, actual, path: str = "$") -> None:
    if reference is None or actual is None:
        return
    assert json_type(actual) == json_type(reference), f"{path}: {json_type(actual)} where Zendesk sends {json_type(reference)}"
    if isinstance(reference, dict):
        missing = set(reference) - set(actual)
        assert not missing, f"{path}: missing keys {sorted(missing)}"
        for key, value in reference.items():
            if key not in FREE_FORM:
                assert_same_shape(value, actual[key], f"{path}.{key}")
    elif isinstance(reference, list) and reference and actual:
        assert_same_shape(reference[0], actual[0], f"{path}[0]")


def load(payloads_dir, name: str) -> dict:
    return json.loads((payloads_dir / "zendesk" / name).read_text())


@pytest.fixture
def edited(box):
    """An emulator where ticket 1 has an API note and a status change, so audits hold both kinds of event."""
    box.http.put(f"{box.server.url}/api/v2/tickets/1.json",
                 json={"ticket": {"status": "pending", "comment": {"body": "Escalating", "public": False}}}).raise_for_status()
    box.tick(1)
    return box


@pytest.mark.parametrize("reference", ["ticket_show_captured.json", "ticket_object_doc_example.json"])
def test_ticket_matches(edited, payloads_dir, reference):
    ref = load(payloads_dir, reference)
    ticket = edited.get("tickets/1.json").json()
    assert_same_shape(ref.get("ticket", ref), ticket["ticket"])
    assert ticket["ticket"]["url"] == f"{edited.server.url}/api/v2/tickets/1.json"
    assert {f["id"] for f in ticket["ticket"]["custom_fields"]} == {360010001, 360010002, 360010003, 360010004}


def test_cursor_export_page_matches(edited, payloads_dir):
    ref = load(payloads_dir, "incremental_tickets_cursor_page.json")
    page = edited.get("incremental/tickets/cursor.json", start_time=0, per_page=1).json()
    assert_same_shape(ref, page)
    assert set(page) == set(ref) and page["end_of_stream"] is False


def test_comments_list_matches(edited, payloads_dir):
    ref = load(payloads_dir, "ticket_comments_list.json")
    page = edited.get("tickets/1/comments.json", include_inline_images="false", **{"page[size]": 100}).json()
    assert_same_shape(ref, page)
    assert page["comments"][-1]["author_id"] == user_id("deskbridge-integration")


def test_audits_page_matches(edited, payloads_dir):
    ref = load(payloads_dir, "ticket_audits_page.json")
    page = edited.get("tickets/1/audits.json", **{"page[size]": 1}).json()
    assert_same_shape(ref, page)
    create_events = {e["type"] for e in page["audits"][0]["events"]}
    assert create_events == {"Comment", "Create"}
    last = edited.get("tickets/1/audits.json", sort_order="desc", **{"page[size]": 1}).json()["audits"][0]
    change = next(e for e in last["events"] if e["type"] == "Change")
    assert_same_shape(ref["audits"][0]["events"][1] | {"previous_value": "x"}, change)


def test_job_status_matches(edited, payloads_dir):
    ref = load(payloads_dir, "job_status_update_many_completed.json")
    submitted = edited.http.put(f"{edited.server.url}/api/v2/tickets/update_many.json",
                                json={"tickets": [{"id": 2, "priority": "high"}, {"id": 3, "priority": "low"}]}).json()
    job_id = submitted["job_status"]["id"]
    edited.get(f"job_statuses/{job_id}.json")  # the first poll answers "working"
    done = edited.get(f"job_statuses/{job_id}.json").json()
    assert_same_shape(ref, done)
    assert done["job_status"]["status"] == "completed" and done["job_status"]["progress"] == 2


def test_organization_user_and_groups_match(box, payloads_dir):
    org = box.get(f"organizations/{organization_id(ACCOUNT)}.json").json()
    assert_same_shape(load(payloads_dir, "organization_show.json"), org)
    user = box.get(f"users/{user_id('agent-1')}.json").json()
    assert_same_shape(load(payloads_dir, "user_show.json"), user)
    groups = box.get("groups.json", **{"page[size]": 1}).json()
    assert_same_shape(load(payloads_dir, "groups_list_page.json"), groups)


def test_ticket_metric_matches(edited, payloads_dir):
    ref = load(payloads_dir, "ticket_metric_object_doc_example.json")
    metric = edited.get("tickets/1/metrics.json").json()["ticket_metric"]
    assert_same_shape(ref, metric)


def test_not_found_body_matches(box, payloads_dir):
    response = box.get("tickets/424242.json")
    assert response.status_code == 404
    assert response.json() == load(payloads_dir, "error_404_ticket_not_found.json")


def test_the_shape_check_itself_catches_missing_keys_and_wrong_types():
    reference = {"id": 1, "tags": ["a"], "via": {"channel": "web"}, "priority": None}
    assert_same_shape(reference, {"id": 2, "tags": [], "via": {"channel": "api"}, "priority": "high"})
    for broken in ({"tags": [], "via": {"channel": "api"}, "priority": None},
                   {"id": "2", "tags": [], "via": {"channel": "api"}, "priority": None},
                   {"id": True, "tags": [], "via": {"channel": "api"}, "priority": None},
                   {"id": 2, "tags": [], "via": {}, "priority": None}):
        with pytest.raises(AssertionError):
            assert_same_shape(reference, broken)
