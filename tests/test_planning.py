"""core.planning: from a Decision to the WritePlan a connector pushes (shipped policy and templates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.actions import AddTags, AssignGroup, CustomerMessage, InternalNote, RaisePriority
from core.decision import EscalationState
from core.markers import find_markers
from core.notes import NoteRenderer
from core.planning import needs_write, plan_for, respect_reassignment
from core.policy import load_policy
from core.rules import evaluate
from engine_builders import account, at, comment, reassigned, ticket

MAPPING = Path(__file__).resolve().parent.parent / "mapping"


@pytest.fixture(scope="module")
def shipped():
    return load_policy(MAPPING / "policy.yaml", "mapping/policy.yaml"), NoteRenderer(MAPPING / "templates")


def _outage():
    return ticket(subject="Checkout outage for every store", comments=(comment("c1", "customer", at(0), "help"),))


def test_keyword_escalation_becomes_one_plan_with_routing_tags_priority_and_a_marked_note(shipped):
    policy, renderer = shipped
    t, acct = _outage(), account("standard")
    decision = evaluate(t, acct, policy, at(5))
    plan = plan_for(decision, t, acct, policy, renderer)

    kinds = [type(a) for a in plan.actions]
    assert AssignGroup(group="tier3") in plan.actions and RaisePriority in kinds and AddTags in kinds
    assert CustomerMessage not in kinds  # the keyword rule sends nobody a message
    [note] = [a for a in plan.actions if isinstance(a, InternalNote)]
    assert find_markers(note.body) == {plan.idempotency_key} and "outage" in note.body
    assert plan.expected_token == t.concurrency_token and plan.ticket_id == t.id
    again = plan_for(evaluate(t, acct, policy, at(6)), t, acct, policy, renderer)
    assert again.idempotency_key == plan.idempotency_key  # the same step decided again keeps its key


def test_customer_request_adds_a_public_message_with_its_own_marker_and_no_internal_facts(shipped):
    policy, renderer = shipped
    t = ticket(comments=(comment("c1", "customer", at(0), "Please escalate this to your manager."),),
               requester_name="Ana")
    decision = evaluate(t, account("premier"), policy, at(5))
    plan = plan_for(decision, t, account("premier"), policy, renderer)
    [message] = [a for a in plan.actions if isinstance(a, CustomerMessage)]
    assert find_markers(message.body) == {plan.idempotency_key}
    assert "Ana" in message.body and "premier" not in message.body and "Olive" not in message.body


def test_respect_reassignment_keeps_tags_and_note_but_not_the_routing(shipped):
    policy, renderer = shipped
    t = _outage()
    prior = EscalationState()
    decision = evaluate(t, account("standard"), policy, at(5), prior)
    kept = respect_reassignment(decision, prior, reassigned(at(4), "billing"))
    assert not any(isinstance(a, AssignGroup) for a in kept.actions)
    assert any(isinstance(a, AddTags) for a in kept.actions) and needs_write(kept)
    assert kept.new_state.routed_group is None and kept.level == prior.level
    assert any("person reassigned the ticket to billing" in s for s in kept.skipped_because)
    assert respect_reassignment(kept, prior, reassigned(at(4), "billing")) is kept  # nothing left to drop


def test_a_quiet_ticket_needs_no_write(shipped):
    policy, _ = shipped
    assert not needs_write(evaluate(ticket(), account("standard"), policy, at(1)))
