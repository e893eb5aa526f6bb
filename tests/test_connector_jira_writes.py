"""JiraConnector.apply against the Jira emulator with the real jira client: writes read back, humans win,
replays land once, comment POSTs are never re-sent blindly.

Set-up helpers come from test_connector_jira.py (same session sandbox, same clock discipline).
"""

from __future__ import annotations

from core.actions import (AddTags, AssignGroup, AssignOwner, CustomerMessage, InternalNote, RaisePriority,
                          WriteOutcome, WritePlan)
from core.markers import marker
from core.model import Priority, System
from test_connector_jira import SEARCH, connector, fresh_hour, fresh_site_facts  # noqa: F401 (autouse)

PUT = "PUT /rest/api/2/issue/{id}"
POST_COMMENT = "POST /rest/api/2/issue/{id}/comment"
USER_SEARCH = "GET /rest/api/2/user/search"


def agent(sandbox, group: str):
    """A seeded agent of ``group`` (user key and e-mail)."""
    users = sandbox.emulators["jira"].store.users.values()
    return next(u for u in users if u.account_type == "atlassian" and u.group == group)


def plan(ticket, key: str, *actions, token: str | None = None) -> WritePlan:
    return WritePlan(system=System.jira, ticket_id=ticket.id, expected_token=token or ticket.concurrency_token,
                     idempotency_key=key, actions=actions)


def note(key: str, text: str = "Handoff: SLA at risk.") -> InternalNote:
    return InternalNote(body=f"{text}\n\n{marker(key)}")


def api_writes(admin, since: int, ticket_id: str) -> list[tuple[str, dict]]:
    writes = admin.writes("jira", since=since, actor="api")
    return [(w["kind"], w["detail"]) for w in writes if w["ticket_id"] == ticket_id]


def new_ticket(admin, **fields):
    fresh_hour(admin)
    ticket_id = admin.create_ticket("jira", "Checkout fails", **fields)
    jira = connector()
    [ticket], _ = jira.fetch_tickets([ticket_id])
    jira.calls.reset()
    return jira, ticket


def test_a_plan_is_one_put_with_the_customer_message_and_one_post_for_the_note_and_reads_back(sandbox, sandbox_admin):
    admin = sandbox_admin
    owner = agent(sandbox, "tier2")
    jira, ticket = new_ticket(admin, tags=["vip"], group="l1", priority="normal")
    key = "jira-write-readback-1"
    mark = admin.mark()
    [result] = jira.apply([plan(ticket, key, AssignGroup(group="tier2"), AssignOwner(email=owner.email.upper()),
                                AddTags(tags=("deskbridge_escalated", "sla_risk")),
                                RaisePriority(priority=Priority.high), note(key),
                                CustomerMessage(body=f"We have escalated your request.\n{marker(key)}"))])
    assert (result.outcome, result.detail) == (WriteOutcome.applied, None)
    view = admin.view("jira", ticket.id)
    assert (view["group"], view["assignee"], view["priority"]) == ("tier2", owner.email, "high")
    assert view["tags"] == ["vip", "deskbridge_escalated", "sla_risk"]  # added, the person's label kept
    # the customer message went in the edit (public, as JSM makes platform comments), the note by POST (internal)
    assert [(c["public"], c["author_email"], c["body"].split("\n")[0]) for c in view["comments"][-2:]] == [
        (True, "deskbridge@acme.test", "We have escalated your request."),
        (False, "deskbridge@acme.test", "Handoff: SLA at risk.")]
    writes = api_writes(admin, mark, ticket.id)
    assert sorted(kind for kind, _ in writes) == ["assignee", "comment", "comment", "group", "priority", "tags_added"]
    # bulk pre-check, one user search, one PUT (fields + message, no reload GET), one POST for the internal note
    assert jira.calls.by_endpoint() == {SEARCH: 1, USER_SEARCH: 1, PUT: 1, POST_COMMENT: 1}

    [back], _ = connector().fetch_tickets([ticket.id], full_history=True)  # the real client reads it back
    assert (back.group, back.priority, back.assignee_id) == ("tier2", Priority.high, owner.account_id)
    assert [(c.public, c.by_deskbridge) for c in back.comments[-2:]] == [(True, True), (False, True)]
    # one edit: the message and the field changes share its changelog instant; the note came after it
    [edit] = [h for h in back.history if h.kind == "group_change" and h.to_value == "tier2"]
    assert back.comments[-2].created_at == edit.at < back.comments[-1].created_at


def test_priority_is_never_lowered_and_an_unknown_owner_skips_only_that_action(sandbox, sandbox_admin):
    admin = sandbox_admin
    jira, ticket = new_ticket(admin, priority="urgent")
    key = "jira-write-partial-1"
    [result] = jira.apply([plan(ticket, key, RaisePriority(priority=Priority.high),
                                AssignOwner(email="nobody@nowhere.example"), AssignGroup(group="security"), note(key))])
    assert result.outcome is WriteOutcome.applied
    assert "nobody@nowhere.example" in result.detail and "never lowered" in result.detail
    view = admin.view("jira", ticket.id)
    assert (view["priority"], view["group"], view["assignee"]) == ("urgent", "security", None)
    assert view["comments"][-1]["body"].endswith(marker(key))


def test_a_human_reassignment_after_evaluation_is_a_conflict_and_nothing_is_written(sandbox, sandbox_admin):
    admin = sandbox_admin
    jira, ticket = new_ticket(admin)
    admin.advance(20)
    person = agent(sandbox, "tier3")
    admin.human("jira", ticket.id, "reassign", group="tier3", assignee=person.key)
    mark = admin.mark()
    key = "jira-conflict-1"
    [result] = jira.apply([plan(ticket, key, AssignGroup(group="tier2"), AddTags(tags=("deskbridge_escalated",)),
                                note(key))])
    assert result.outcome is WriteOutcome.conflict and result.new_token != ticket.concurrency_token
    view = admin.view("jira", ticket.id)
    assert (view["group"], view["assignee"]) == ("tier3", person.email)  # the person's choice stands
    assert api_writes(admin, mark, ticket.id) == []
    assert jira.calls.by_endpoint() == {SEARCH: 1}

    [again], _ = jira.fetch_tickets([ticket.id], full_history=True)  # the flow re-reads and re-plans
    [result] = jira.apply([plan(again, key, AddTags(tags=("deskbridge_escalated",)), note(key))])
    assert result.outcome is WriteOutcome.applied
    assert admin.view("jira", ticket.id)["group"] == "tier3"


def test_a_person_labelling_the_issue_just_before_the_put_keeps_their_label(sandbox, clean_faults):
    admin = clean_faults
    jira, ticket = new_ticket(admin, tags=["billing_dispute"])
    admin.add_fault("conflict", system="jira", method="PUT", path=r"/issue/\d+$", count=1)
    key = "jira-race-1"
    [result] = jira.apply([plan(ticket, key, AddTags(tags=("deskbridge_escalated",)), note(key))])
    assert result.outcome is WriteOutcome.applied  # Jira has no locking: the PUT lands after the person's edit
    assert admin.view("jira", ticket.id)["tags"] == ["billing_dispute", "human_edit", "deskbridge_escalated"]


def test_a_replayed_plan_whose_marker_is_in_the_issue_is_already_applied_with_no_second_note(sandbox, sandbox_admin):
    admin = sandbox_admin
    jira, ticket = new_ticket(admin)
    key = "jira-replay-1"
    written = plan(ticket, key, AssignGroup(group="tier2"), AddTags(tags=("deskbridge_escalated",)), note(key))
    mark = admin.mark()
    assert [r.outcome for r in jira.apply([written])] == [WriteOutcome.applied]
    for attempt in (jira, connector()):  # a retry in the same run, and a restart after a crash
        [result] = attempt.apply([written])
        assert result.outcome is WriteOutcome.already_applied
        assert result.new_token == admin.view("jira", ticket.id)["token"]
    comments = [d for kind, d in api_writes(admin, mark, ticket.id) if kind == "comment"]
    assert len(comments) == 1 and comments[0]["body"].endswith(marker(key))


def test_two_plans_for_one_issue_in_one_batch_write_once_then_conflict(sandbox, sandbox_admin):
    admin = sandbox_admin
    fresh_hour(admin)
    ids = [admin.create_ticket("jira", f"Batch {k}") for k in range(3)]
    jira = connector()
    tickets, _ = jira.fetch_tickets(ids)
    jira.calls.reset()
    plans = [plan(t, f"jira-batch-{k}", AddTags(tags=("deskbridge_escalated",)), note(f"jira-batch-{k}"))
             for k, t in enumerate(tickets)]
    plans.append(plan(tickets[0], "jira-batch-extra", note("jira-batch-extra")))
    results = jira.apply(plans)
    assert [r.outcome for r in results] == [WriteOutcome.applied] * 3 + [WriteOutcome.conflict]
    assert [r.idempotency_key for r in results] == [p.idempotency_key for p in plans]
    assert jira.calls.by_endpoint() == {SEARCH: 1, PUT: 3, POST_COMMENT: 3}  # one pre-write read for all


def test_a_comment_post_whose_connection_dropped_is_not_resent_and_the_next_attempt_writes_it_once(
        sandbox, clean_faults):
    admin = clean_faults
    jira, ticket = new_ticket(admin)
    key = "jira-reset-1"
    only_note = plan(ticket, key, note(key))
    admin.add_fault("reset", system="jira", method="POST", path="/comment$", count=1)
    mark = admin.mark()
    [result] = jira.apply([only_note])
    assert result.outcome is WriteOutcome.failed and "may have landed" in result.detail
    posts = [r for r in admin.requests("jira", since=mark) if r["method"] == "POST"]
    assert [p["fault"] for p in posts] == ["reset"]  # sent once, never re-sent blindly
    [result] = jira.apply([only_note])  # the outbox's next push: the marker decides
    assert result.outcome is WriteOutcome.applied
    assert [kind for kind, _ in api_writes(admin, mark, ticket.id)] == ["comment"]


def test_a_comment_post_answered_503_was_not_processed_and_is_retried(sandbox, clean_faults):
    admin = clean_faults
    jira, ticket = new_ticket(admin)
    key = "jira-503-1"
    admin.add_fault("5xx", system="jira", method="POST", path="/comment$", count=1, status=503, retry_after=1)
    mark = admin.mark()
    waits: list[float] = []
    jira = connector(waits)
    [result] = jira.apply([plan(ticket, key, note(key))])
    assert result.outcome is WriteOutcome.applied and waits == [1.0]
    assert [kind for kind, _ in api_writes(admin, mark, ticket.id)] == ["comment"]


def test_a_plan_for_an_issue_jira_no_longer_has_fails_alone(sandbox, sandbox_admin):
    jira, ticket = new_ticket(sandbox_admin)
    ghost = WritePlan(system=System.jira, ticket_id="999999", expected_token="x", idempotency_key="jira-ghost-1",
                      actions=(note("jira-ghost-1"),))
    key = "jira-ghost-2"
    results = jira.apply([ghost, plan(ticket, key, note(key))])
    assert [r.outcome for r in results] == [WriteOutcome.failed, WriteOutcome.applied]
    assert "999999" in results[0].detail


def message(key: str) -> CustomerMessage:
    return CustomerMessage(body=f"We have escalated your request.\n\n{marker(key)}")


def test_a_note_lost_after_the_put_landed_is_written_alone_by_the_next_attempt(sandbox, clean_faults):
    admin = clean_faults
    jira, ticket = new_ticket(admin)
    key = "jira-partial-1"
    both = plan(ticket, key, AddTags(tags=("deskbridge_escalated",)), note(key), message(key))
    admin.add_fault("reset", system="jira", method="POST", path="/comment$", count=1)
    mark = admin.mark()
    [result] = jira.apply([both])
    assert result.outcome is WriteOutcome.failed
    assert "written before the failure: fields, customer message" in result.detail
    jira.calls.reset()
    [result] = connector().apply([both])  # the outbox's next push (a restart): the marker says what landed
    assert result.outcome is WriteOutcome.applied
    assert result.detail == "an earlier attempt had written the customer message; written now: internal note"
    writes = api_writes(admin, mark, ticket.id)
    assert [(k, d.get("public")) for k, d in writes] == [("tags_added", None), ("comment", True), ("comment", False)]
    [result] = connector().apply([both])  # and once everything is there, nothing more
    assert result.outcome is WriteOutcome.already_applied and len(api_writes(admin, mark, ticket.id)) == 3


def test_a_message_missing_beside_a_landed_note_is_added_without_touching_the_fields(sandbox, sandbox_admin):
    admin = sandbox_admin
    jira, ticket = new_ticket(admin, group="l1")
    key = "jira-partial-2"
    [first] = jira.apply([plan(ticket, key, note(key))])  # an attempt that wrote the note only
    mark = admin.mark()
    jira.calls.reset()
    [result] = jira.apply([plan(ticket, key, AssignGroup(group="tier2"), note(key), message(key))])
    assert (first.outcome, result.outcome) == (WriteOutcome.applied, WriteOutcome.applied)
    assert "written now: customer message" in result.detail  # though the token moved: only a comment is added
    assert [(k, d["public"]) for k, d in api_writes(admin, mark, ticket.id)] == [("comment", True)]
    assert admin.view("jira", ticket.id)["group"] == "l1"
    assert jira.calls.by_endpoint() == {SEARCH: 1, PUT: 1}


def test_a_put_carrying_the_message_is_not_resent_after_a_server_error_and_lands_once(sandbox, clean_faults):
    admin = clean_faults
    jira, ticket = new_ticket(admin)
    key = "jira-put500-message"
    admin.add_fault("5xx", system="jira", method="PUT", path=r"/issue/\d+$", count=1, status=500)
    mark = admin.mark()
    [result] = jira.apply([plan(ticket, key, AddTags(tags=("deskbridge_escalated",)), message(key))])
    assert result.outcome is WriteOutcome.failed and "may have landed" in result.detail
    puts = [r for r in admin.requests("jira", since=mark) if r["method"] == "PUT"]
    assert [p["fault"] for p in puts] == ["5xx"]  # a comment add is not idempotent: sent once
    [result] = jira.apply([plan(ticket, key, AddTags(tags=("deskbridge_escalated",)), message(key))])
    assert result.outcome is WriteOutcome.applied
    assert [k for k, _ in api_writes(admin, mark, ticket.id)] == ["tags_added", "comment"]


def test_owners_are_searched_once_per_connector(sandbox, sandbox_admin):
    admin = sandbox_admin
    owner = agent(sandbox, "tier2")
    fresh_hour(admin)
    ids = [admin.create_ticket("jira", f"Owner {k}") for k in range(2)]
    jira = connector()
    tickets, _ = jira.fetch_tickets(ids)
    jira.calls.reset()
    for k, ticket in enumerate(tickets):  # two apply calls, as the flow pushes page after page
        [result] = jira.apply([plan(ticket, f"jira-owner-{k}", AssignOwner(email=owner.email), note(f"jira-owner-{k}"))])
        assert result.outcome is WriteOutcome.applied
    assert [admin.view("jira", i)["assignee"] for i in ids] == [owner.email] * 2
    assert jira.calls.by_endpoint()[USER_SEARCH] == 1
