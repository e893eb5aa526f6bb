"""ZendeskConnector.apply against the Zendesk emulator with the real zenpy: what lands, what never does.

Every write is read back from the emulator (its neutral view and its write log). Plans
are made the way the flow makes them: from a ticket the connector has just read, with
the ticket's ``updated_at`` as ``expected_token`` and the marker at the end of each body.
"""

from __future__ import annotations

from itertools import count

import pytest
from test_connector_zendesk import MAPPING, make_connector, settle

from core.actions import (AddTags, AssignGroup, AssignOwner, CustomerMessage, InternalNote, RaisePriority,
                          WriteOutcome, WritePlan)
from core.markers import ESCALATED_TAG, marker
from core.model import Priority, Ticket
from sandbox.world import SeedTicket

UPDATE_MANY = "PUT /api/v2/tickets/update_many.json"
JOBS = "GET /api/v2/job_statuses/show_many.json"
_keys = count(1)


@pytest.fixture
def zendesk(sandbox, clean_faults):
    connector = make_connector([])
    yield connector
    connector.close()


def fresh(admin, connector, subject: str = "Checkout fails", **fields) -> Ticket:
    """A new ticket, as the connector reads it right before planning (fetch_tickets)."""
    tid = admin.create_ticket("zendesk", subject, **fields)
    settle(admin)
    (ticket,), _ = connector.fetch_tickets([tid], full_history=True)
    return ticket


def plan_for(ticket: Ticket, *actions, note: bool = True, message: bool = False, key: str | None = None) -> WritePlan:
    key = key or f"zdtest-{next(_keys):05d}"
    extra = []
    if note:
        extra.append(InternalNote(body=f"Handoff for {ticket.key}: SLA at risk.\n\n{marker(key)}"))
    if message:
        extra.append(CustomerMessage(body=f"We have escalated your request.\n\n{marker(key)}"))
    return WritePlan(system="zendesk", ticket_id=ticket.id, expected_token=ticket.concurrency_token,
                     idempotency_key=key, actions=(*actions, *extra))


def owner_email(sandbox) -> str:
    return next(a.owner.email for a in sandbox.world.accounts if a.owner is not None)


def api_writes(admin, since: int, ticket_id: str) -> list[tuple[str, dict]]:
    return [(w["kind"], w["detail"]) for w in admin.writes("zendesk", since=since, actor="api")
            if w["ticket_id"] == ticket_id]


def test_an_escalation_is_written_in_one_job_and_reads_back_from_the_emulator(zendesk, sandbox, sandbox_admin):
    ticket = fresh(sandbox_admin, zendesk, tags=["vip"])
    plan = plan_for(ticket, AssignGroup(group="tier2"), AssignOwner(email=owner_email(sandbox)),
                    AddTags(tags=(ESCALATED_TAG,)), RaisePriority(priority=Priority.high))
    mark = sandbox_admin.mark()
    zendesk.calls.reset()
    (result,) = zendesk.apply([plan])
    assert result.outcome is WriteOutcome.applied and result.detail is None
    view = sandbox_admin.view("zendesk", ticket.id)
    assert view["group"] == "tier2" and view["assignee"] == owner_email(sandbox) and view["priority"] == "high"
    assert view["tags"] == ["vip", ESCALATED_TAG]  # the human tag stays: tags are only added
    assert view["comments"][-1] == {"public": False, "body": plan.actions[-1].body,
                                    "author_email": "deskbridge@acme.test", "at": view["updated_at"]}
    writes = dict(api_writes(sandbox_admin, mark, ticket.id))
    assert sorted(writes) == ["assignee", "comment", "group", "priority", "status", "tags_added"]  # one note
    assert writes["status"] == {"from": "new", "to": "open"}  # Zendesk opens a new ticket on assignment
    assert writes["tags_added"] == {"tags": [ESCALATED_TAG]}  # nothing removed
    calls = zendesk.calls.by_endpoint()
    assert calls[UPDATE_MANY] == 1 and calls[JOBS] == 2  # the first poll answers "working"
    assert "GET /api/v2/tickets/show_many.json" not in calls  # the priority was known from the read


def test_a_human_reassignment_between_evaluation_and_apply_is_a_conflict_and_is_not_clobbered(
        zendesk, sandbox_admin):
    ticket = fresh(sandbox_admin, zendesk)
    plan = plan_for(ticket, AssignGroup(group="tier2"), AddTags(tags=(ESCALATED_TAG,)))
    sandbox_admin.human("zendesk", ticket.id, "reassign", group="billing")  # a person acts first
    mark = sandbox_admin.mark()
    (result,) = zendesk.apply([plan])
    assert result.outcome is WriteOutcome.conflict and "UpdateConflict" in result.detail
    view = sandbox_admin.view("zendesk", ticket.id)
    assert view["group"] == "billing" and ESCALATED_TAG not in view["tags"]
    assert api_writes(sandbox_admin, mark, ticket.id) == []


def test_the_conflict_fault_on_update_many_is_answered_conflict_and_the_human_edit_stands(
        zendesk, sandbox_admin, clean_faults):
    first, second = fresh(sandbox_admin, zendesk, "One"), fresh(sandbox_admin, zendesk, "Two")
    clean_faults.add_fault("conflict", system="zendesk", method="PUT", path="update_many", count=1)
    results = zendesk.apply([plan_for(first, AddTags(tags=(ESCALATED_TAG,))),
                             plan_for(second, AddTags(tags=(ESCALATED_TAG,)))])
    assert [r.outcome for r in results] == [WriteOutcome.conflict, WriteOutcome.conflict]  # a person tagged both
    for ticket in (first, second):
        assert sandbox_admin.view("zendesk", ticket.id)["tags"] == ["human_edit"]


def test_a_replayed_plan_whose_marker_is_in_the_ticket_is_already_applied_and_writes_nothing(
        zendesk, sandbox_admin):
    ticket = fresh(sandbox_admin, zendesk)
    plan = plan_for(ticket, AssignGroup(group="tier2"), AddTags(tags=(ESCALATED_TAG,)))
    assert zendesk.apply([plan])[0].outcome is WriteOutcome.applied
    mark = sandbox_admin.mark()
    restarted = make_connector([])  # a new process after a crash: no memory of the first push
    (again,) = restarted.apply([plan])
    assert again.outcome is WriteOutcome.already_applied
    assert api_writes(sandbox_admin, mark, ticket.id) == []
    comments = sandbox_admin.view("zendesk", ticket.id)["comments"]
    assert len([c for c in comments if marker(plan.idempotency_key) in c["body"]]) == 1


def test_a_plan_without_a_note_has_no_marker_so_a_stale_token_is_a_conflict(zendesk, sandbox_admin):
    ticket = fresh(sandbox_admin, zendesk)
    plan = plan_for(ticket, AddTags(tags=(ESCALATED_TAG,)), note=False)
    assert zendesk.apply([plan])[0].outcome is WriteOutcome.applied
    assert zendesk.apply([plan])[0].outcome is WriteOutcome.conflict  # nothing in Zendesk says it was ours


def test_note_and_customer_message_go_as_two_updates_private_first(zendesk, sandbox_admin):
    ticket = fresh(sandbox_admin, zendesk)
    plan = plan_for(ticket, AssignGroup(group="tier2"), message=True)
    mark = sandbox_admin.mark()
    zendesk.calls.reset()
    (result,) = zendesk.apply([plan])
    assert result.outcome is WriteOutcome.applied
    comments = sandbox_admin.view("zendesk", ticket.id)["comments"]
    assert [(c["public"], c["body"]) for c in comments[-2:]] == [(False, plan.actions[1].body),
                                                                 (True, plan.actions[2].body)]
    assert [k for k, _ in api_writes(sandbox_admin, mark, ticket.id)] == ["comment", "group", "comment"]
    calls = zendesk.calls.by_endpoint()
    assert calls[UPDATE_MANY] == 2 and calls["GET /api/v2/tickets/show_many.json"] == 1  # a fresh stamp for round 2


def test_a_crash_between_note_and_message_is_completed_without_a_second_note(zendesk, sandbox_admin):
    ticket = fresh(sandbox_admin, zendesk)
    full = plan_for(ticket, AssignGroup(group="tier2"), message=True)
    first_half = full.model_copy(update={"actions": full.actions[:2]})  # what landed before the crash
    assert zendesk.apply([first_half])[0].outcome is WriteOutcome.applied
    mark = sandbox_admin.mark()
    (result,) = make_connector([]).apply([full])
    assert result.outcome is WriteOutcome.applied and "completed an earlier attempt" in result.detail
    assert api_writes(sandbox_admin, mark, ticket.id) == [("comment", {"public": True, "body": full.actions[2].body})]


def test_priority_is_raised_never_lowered(zendesk, sandbox_admin):
    low = fresh(sandbox_admin, zendesk, "Low one", priority="low")
    urgent = fresh(sandbox_admin, zendesk, "Urgent one", priority="urgent")
    results = zendesk.apply([plan_for(low, RaisePriority(priority=Priority.high)),
                             plan_for(urgent, RaisePriority(priority=Priority.high))])
    assert [r.outcome for r in results] == [WriteOutcome.applied, WriteOutcome.applied]
    assert sandbox_admin.view("zendesk", low.id)["priority"] == "high"
    assert sandbox_admin.view("zendesk", urgent.id)["priority"] == "urgent"
    assert "already urgent" in results[1].detail


def test_priority_of_a_ticket_not_read_by_this_connector_is_read_in_bulk_first(zendesk, sandbox_admin):
    ticket = fresh(sandbox_admin, zendesk, "Read elsewhere", priority="urgent")
    other = make_connector([])  # a process that never read the ticket (outbox leftovers after a restart)
    (result,) = other.apply([plan_for(ticket, RaisePriority(priority=Priority.high))])
    assert result.outcome is WriteOutcome.applied and "already urgent" in result.detail
    assert other.calls.by_endpoint()["GET /api/v2/tickets/show_many.json"] == 1
    assert sandbox_admin.view("zendesk", ticket.id)["priority"] == "urgent"


def test_an_unknown_owner_email_fails_that_action_and_the_rest_still_applies(zendesk, sandbox_admin):
    ticket = fresh(sandbox_admin, zendesk)
    plan = plan_for(ticket, AssignGroup(group="tier2"), AssignOwner(email="nobody@nowhere.example"))
    (result,) = zendesk.apply([plan])
    assert result.outcome is WriteOutcome.applied
    assert "assign_owner: no Zendesk user has the e-mail nobody@nowhere.example" in result.detail
    view = sandbox_admin.view("zendesk", ticket.id)
    assert view["group"] == "tier2" and view["assignee"] is None


def test_a_customer_email_is_not_an_agent_to_assign(zendesk, sandbox, sandbox_admin):
    ticket = fresh(sandbox_admin, zendesk)
    customer = next(u.email for u in sandbox.world.users.values() if u.role == "customer")
    (result,) = zendesk.apply([plan_for(ticket, AssignOwner(email=customer.upper()))])
    assert result.outcome is WriteOutcome.applied and "is not an active agent" in result.detail
    assert sandbox_admin.view("zendesk", ticket.id)["assignee"] is None


def test_moving_to_a_group_the_assignee_is_not_in_unassigns_as_zendesk_does(zendesk, sandbox, sandbox_admin):
    l1_agent = next(k for k, u in sandbox.world.users.items() if u.role == "agent" and u.group == "l1")
    ticket = fresh(sandbox_admin, zendesk, group="l1", assignee=l1_agent, status="open")
    (result,) = zendesk.apply([plan_for(ticket, AssignGroup(group="tier3"))])
    assert result.outcome is WriteOutcome.applied
    view = sandbox_admin.view("zendesk", ticket.id)
    assert view["group"] == "tier3" and view["assignee"] is None


def test_a_closed_ticket_refuses_the_update_and_the_other_tickets_of_the_job_still_apply(zendesk, sandbox_admin):
    open_one = fresh(sandbox_admin, zendesk, "Still open")
    closed = fresh(sandbox_admin, zendesk, "Long closed", status="closed", assignee=None)
    results = zendesk.apply([plan_for(closed, AddTags(tags=(ESCALATED_TAG,))),
                             plan_for(open_one, AddTags(tags=(ESCALATED_TAG,)))])
    assert results[0].outcome is WriteOutcome.failed and "RecordInvalid" in results[0].detail
    assert results[1].outcome is WriteOutcome.applied
    assert ESCALATED_TAG in sandbox_admin.view("zendesk", open_one.id)["tags"]


def test_a_plan_with_an_unmapped_group_and_nothing_else_fails_clearly(zendesk, sandbox_admin):
    ticket = fresh(sandbox_admin, zendesk)
    mark = sandbox_admin.mark()
    (result,) = zendesk.apply([plan_for(ticket, AssignGroup(group="nonexistent_team"), note=False)])
    assert result.outcome is WriteOutcome.failed and "no Zendesk group for 'nonexistent_team'" in result.detail
    assert api_writes(sandbox_admin, mark, ticket.id) == []


def test_two_plans_for_one_ticket_go_in_turn_and_the_second_is_a_conflict(zendesk, sandbox_admin):
    ticket = fresh(sandbox_admin, zendesk)
    first = plan_for(ticket, AddTags(tags=("first",)))
    second = plan_for(ticket, AddTags(tags=("second",)))
    results = zendesk.apply([first, second])
    assert [r.outcome for r in results] == [WriteOutcome.applied, WriteOutcome.conflict]
    assert [r.idempotency_key for r in results] == [first.idempotency_key, second.idempotency_key]


def test_more_than_a_hundred_plans_are_split_into_jobs_of_at_most_a_hundred(sandbox, sandbox_admin, clean_faults):
    emulator = sandbox.emulators["zendesk"]
    ids = [emulator.create(SeedTicket(n=0, system="zendesk", subject=f"Bulk {k}", description="bulk", status="new",
                                      priority="normal", requester=_customer(sandbox), account_id=None, group="l1",
                                      assignee=None, product_area=None))
           for k in range(103)]
    settle(sandbox_admin)
    connector = make_connector([])
    tickets, _ = connector.fetch_tickets(ids)
    assert connector.calls.by_endpoint()["GET /api/v2/tickets/show_many.json"] == 2  # 100 + 3
    results = connector.apply([plan_for(t, AddTags(tags=(ESCALATED_TAG,)), note=False) for t in tickets])
    assert {r.outcome for r in results} == {WriteOutcome.applied} and len(results) == 103
    calls = connector.calls.by_endpoint()
    # both jobs polled together: one show_many per round (the emulator answers "working" at a job's first poll)
    assert calls[UPDATE_MANY] == 2 and calls[JOBS] == 2 and "GET /api/v2/job_statuses/{id}.json" not in calls
    assert all(ESCALATED_TAG in sandbox_admin.view("zendesk", i)["tags"] for i in (ids[0], ids[99], ids[102]))


def test_a_429_on_the_submit_is_retried_and_the_update_lands_once(sandbox, sandbox_admin, clean_faults):
    waits: list[float] = []
    connector = make_connector(waits)
    ticket = fresh(sandbox_admin, connector)
    clean_faults.add_fault("429", system="zendesk", method="PUT", path="update_many", count=2, retry_after=1)
    mark = sandbox_admin.mark()
    (result,) = connector.apply([plan_for(ticket, AssignGroup(group="tier2"))])
    assert result.outcome is WriteOutcome.applied
    assert [w for w in waits if w >= 1] == [1.0, 1.0]  # deskbridge waited; zenpy's own loop did not
    assert [k for k, _ in api_writes(sandbox_admin, mark, ticket.id)].count("comment") == 1


def _customer(sandbox) -> str:
    return next(k for k, u in sandbox.world.users.items() if u.role == "customer")
