"""The Jira emulator's edit with a comment (``PUT /issue`` with ``update.comment.add``), driven by the real client.

Jira documents adding a comment as part of editing an issue, with a body and an optional role/group
``visibility``; the comment property ``sd.public.comment`` (a JSM internal note) is documented for
``POST /issue/{id}/comment`` only. The emulator does exactly that, and these tests pin it.
"""

from __future__ import annotations

import json

import pytest
from jira import JIRAError

from test_sandbox_jira import emu, jira, last_seq, no_faults_left, sandbox, writes  # noqa: F401 (fixtures)


def put(jira, key: str, body: dict) -> None:
    jira._session.put(f"{jira._options['server']}/rest/api/2/issue/{key}", data=json.dumps(body))


def test_an_edit_with_a_comment_is_one_change_and_the_comment_is_public(jira, emu):
    before = jira.issue("SUP-60", expand="changelog")
    since = last_seq(emu)
    put(jira, "SUP-60", {"fields": {"priority": {"name": "Highest"}},
                         "update": {"labels": [{"add": "deskbridge_escalated"}],
                                    "comment": [{"add": {"body": "We have escalated your request."}}]}})
    after = jira.issue("SUP-60", expand="changelog")
    # one edit: one history (fields only; comments are not in the changelog), one step of `updated`
    assert after.changelog.total == before.changelog.total + 1
    assert {i.field for i in after.changelog.histories[-1].items} == {"priority", "labels"}
    [comment] = [c for c in jira.comments("SUP-60", expand="properties") if c.body.startswith("We have")]
    assert comment.jsdPublic is True and comment.properties == []
    assert comment.created == after.fields.updated  # the comment carries the edit's instant
    embedded = jira.enhanced_search_issues("key = SUP-60", fields=["comment"], json_result=True)
    assert embedded["issues"][0]["fields"]["comment"]["comments"][-1]["jsdPublic"] is True
    assert [(w["kind"], w["detail"].get("public")) for w in writes(emu, "10060", since)] == [
        ("priority", None), ("tags_added", None), ("comment", True)]
    assert emu.view("10060")["comments"][-1]["public"] is True


def test_comment_properties_in_an_edit_are_not_honoured_so_an_internal_note_cannot_go_that_way(jira, emu):
    since = last_seq(emu)
    put(jira, "SUP-61", {"update": {"comment": [{"add": {
        "body": "meant to be internal", "properties": [{"key": "sd.public.comment", "value": {"internal": True}}]}}]}})
    assert [(w["kind"], w["detail"]["public"]) for w in writes(emu, "10061", since)] == [("comment", True)]


def test_an_edit_comment_with_a_role_visibility_is_not_public(jira, emu):
    since = last_seq(emu)
    put(jira, "SUP-62", {"update": {"comment": [{"add": {
        "body": "for the team", "visibility": {"type": "role", "value": "Service Desk Team"}}}]}})
    assert [(w["kind"], w["detail"]["public"]) for w in writes(emu, "10062", since)] == [("comment", False)]


@pytest.mark.parametrize("add", [{"body": "  "}, {"body": "x", "visibility": {"type": "team", "value": 7}}, "text"])
def test_a_bad_comment_add_rejects_the_whole_edit(jira, emu, add):
    since = last_seq(emu)
    with pytest.raises(JIRAError) as err:
        put(jira, "SUP-63", {"fields": {"priority": {"name": "Highest"}}, "update": {"comment": [{"add": add}]}})
    assert err.value.status_code == 400 and "comment" in err.value.response.json()["errors"]
    assert writes(emu, "10063", since) == []
