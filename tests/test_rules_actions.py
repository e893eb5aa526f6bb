"""One test per action: routes, ladder, owner, tags, priority, notes, customer messages, propose mode."""

from __future__ import annotations

import pytest
from engine_builders import account, at, policy, ticket

from core.actions import AddTags, AssignGroup, AssignOwner, RaisePriority
from core.decision import EscalationState
from core.markers import ESCALATED_TAG, PROPOSED_TAG
from core.rules import evaluate

FLAG = "when: {trigger: agent_flag}"


def decide(tmp_path, rule: str, state: EscalationState | None = None, minutes: float = 5, acct=None, **fields):
    pol = policy(tmp_path, rules=rule)
    fields.setdefault("agent_escalation_flag", True)
    return evaluate(ticket(**fields), acct or account(), pol, at(minutes), state)


def kinds(decision) -> list[str]:
    return [a.kind for a in decision.actions]


@pytest.mark.parametrize(
    "route, fields, expected_group, level",
    [
        ("{to: group, group: tier3}", {}, "tier3", 2),
        ("{to: group, group: security}", {}, "security", 0),  # a specialist queue is off the ladder
        ("{to: ladder}", {}, "tier2", 1),
        ("{to: ladder}", {"group": "tier2"}, "tier3", 2),  # one step up from where the ticket sits
        ("{to: product_area, queues: {billing: billing, api: tier2}}", {"product_area": "billing"}, "billing", 0),
        ("{to: product_area, queues: {billing: billing, api: tier2}}", {"product_area": "api"}, "tier2", 1),
    ],
)
def test_route_to_a_group(tmp_path, route, fields, expected_group, level):
    decision = decide(tmp_path, f"- id: r\n  {FLAG}\n  route: {route}\n", **fields)
    assert decision.actions[0] == AssignGroup(group=expected_group)
    assert decision.level == level
    assert decision.new_state.routed_group == expected_group
    assert decision.new_state.routed_at == at(5)


def test_route_to_the_account_owner(tmp_path):
    decision = decide(tmp_path, f"- id: r\n  {FLAG}\n  route: {{to: account_owner}}\n")
    assert decision.actions[0] == AssignOwner(email="olive@acme.test", name="Olive Owner")
    assert decision.new_state.routed_group == "owner:olive@acme.test"


def test_route_to_an_unknown_owner_is_skipped_and_said(tmp_path):
    decision = decide(tmp_path, f"- id: r\n  {FLAG}\n  route: {{to: account_owner}}\n",
                      acct=account(owner_email=None))
    assert kinds(decision) == ["add_tags"]
    assert decision.skipped_because == ("rule r: the account owner is unknown",)


def test_product_area_without_a_queue_is_not_rerouted(tmp_path):
    decision = decide(tmp_path, f"- id: r\n  {FLAG}\n  route: {{to: product_area, queues: {{billing: billing}}}}\n",
                      product_area="mobile")
    assert kinds(decision) == ["add_tags"]
    assert decision.skipped_because == ("rule r: no queue for product area 'mobile'",)


def test_the_first_matching_rule_with_a_usable_route_wins(tmp_path):
    rules = (f"- id: a\n  {FLAG}\n  route: {{to: product_area, queues: {{billing: billing}}}}\n"
             f"- id: b\n  {FLAG}\n  route: {{to: group, group: tier3}}\n"
             f"- id: c\n  {FLAG}\n  route: {{to: group, group: security}}\n")
    decision = decide(tmp_path, rules, product_area="api")
    assert decision.actions[0] == AssignGroup(group="tier3")
    assert decision.rule_ids == ("a", "b", "c")


def test_tags_are_only_added_and_always_include_the_escalated_tag(tmp_path):
    decision = decide(tmp_path, f"- id: r\n  {FLAG}\n  tags: [vip_watch, sla_risk]\n", tags=["sla_risk", "human"])
    assert decision.actions == (AddTags(tags=(ESCALATED_TAG, "vip_watch")),)


def test_priority_is_raised_never_lowered(tmp_path):
    rule = f"- id: r\n  {FLAG}\n  raise_priority: high\n"
    assert RaisePriority(priority="high") in decide(tmp_path, rule, priority="normal").actions
    assert "raise_priority" not in kinds(decide(tmp_path, rule, priority="urgent"))
    assert "raise_priority" not in kinds(decide(tmp_path, rule, priority="high"))


def test_the_highest_requested_priority_wins(tmp_path):
    rules = (f"- id: a\n  {FLAG}\n  raise_priority: high\n"
             f"- id: b\n  {FLAG}\n  raise_priority: urgent\n")
    assert RaisePriority(priority="urgent") in decide(tmp_path, rules, priority="low").actions


def test_note_template_from_the_rule_or_the_default(tmp_path):
    assert decide(tmp_path, f"- id: r\n  {FLAG}\n  note: security_handoff\n").note_template == "security_handoff"
    assert decide(tmp_path, f"- id: r\n  {FLAG}\n").note_template == "handoff_note"


def test_customer_message_only_where_the_rule_says_so(tmp_path):
    assert decide(tmp_path, f"- id: r\n  {FLAG}\n").customer_template is None
    decision = decide(tmp_path, f"- id: r\n  {FLAG}\n  customer_message: escalation_notice\n")
    assert decision.customer_template == "escalation_notice"
    assert decision.new_state.last_customer_message_at == at(5)


def test_customer_message_at_most_once_per_interval(tmp_path):
    rule = f"- id: r\n  {FLAG}\n  tags: [x]\n  customer_message: escalation_notice\n"
    recent = EscalationState(last_customer_message_at=at(-60))
    decision = decide(tmp_path, rule, state=recent)
    assert decision.escalate and decision.customer_template is None
    assert decision.skipped_because == (
        "customer message 'escalation_notice': the customer was messaged at 2025-03-03 08:00 UTC; "
        "next allowed from 2025-03-04 08:00 UTC",)
    assert decision.new_state.last_customer_message_at == at(-60)
    old = EscalationState(last_customer_message_at=at(-2000))
    assert decide(tmp_path, rule, state=old).customer_template == "escalation_notice"


def test_propose_mode_tags_and_notes_for_a_supervisor_without_acting(tmp_path):
    decision = decide(tmp_path, f"- id: r\n  mode: propose\n  {FLAG}\n  route: {{to: ladder}}\n  tags: [x]\n")
    assert decision.escalate is False and decision.mode == "propose"
    assert decision.actions == (AddTags(tags=(PROPOSED_TAG,)),)
    assert decision.note_template == "escalation_proposal"
    assert decision.customer_template is None
    assert list(decision.new_state.proposals) == ["r"]
    assert decision.reasons[0].code == "proposed:agent_flag"


def test_auto_and_propose_in_one_decision(tmp_path):
    rules = (f"- id: auto\n  {FLAG}\n  route: {{to: group, group: tier2}}\n"
             f"- id: ask\n  mode: propose\n  {FLAG}\n  route: {{to: group, group: tier3}}\n")
    decision = decide(tmp_path, rules)
    assert decision.mode == "auto"
    assert decision.actions == (AssignGroup(group="tier2"), AddTags(tags=(ESCALATED_TAG, PROPOSED_TAG)))
    assert decision.note_template == "handoff_note"
    assert list(decision.new_state.proposals) == ["ask"]


def test_nothing_happens_to_a_solved_ticket(tmp_path):
    decision = decide(tmp_path, f"- id: r\n  {FLAG}\n  route: {{to: ladder}}\n", status="solved",
                      native_status="solved")
    assert not decision.escalate and decision.actions == () and decision.next_check_at is None
    assert "no longer open" in decision.explanation


def test_ladder_rules_leave_a_ticket_in_a_specialist_queue_where_it_is(tmp_path):
    """A security ticket whose SLA is at risk keeps its security team; tags and the note still go out."""
    from core.actions import AddTags, AssignGroup
    from engine_builders import at, comment, policy, ticket
    from core.rules import evaluate

    p = policy(tmp_path, rules="""\
        - id: at_risk
          when: {trigger: at_risk, targets: [first_response], percent_used: 75}
          route: {to: ladder}
          tags: [sla_at_risk]
        """)
    t = ticket(group="security", comments=(comment("c1", "customer", at(0), "help"),))
    decision = evaluate(t, None, p, at(50))  # 50 of 60 minutes used
    assert not any(isinstance(a, AssignGroup) for a in decision.actions)
    assert any(isinstance(a, AddTags) and "sla_at_risk" in a.tags for a in decision.actions)
    assert any("specialist queue security" in s for s in decision.skipped_because)


def test_a_message_only_rule_sends_a_progress_update_without_escalating(tmp_path):
    rule = f"- id: update\n  {FLAG}\n  customer_message: progress_update\n  cooldown: 2h\n"
    decision = decide(tmp_path, rule)
    assert decision.escalate is False and decision.mode == "none"
    assert decision.customer_template == "progress_update" and decision.note_template is None
    assert decision.actions == ()  # no tags, no routing, no priority
    state = decision.new_state
    assert state.last_customer_message_at == decision.evaluated_at and state.level == 0
    assert "update" in state.cooldowns and not state.escalations
    again = decide(tmp_path, rule, state=state)  # within the rule's cooldown: nothing
    assert again.customer_template is None


def test_an_escalation_message_wins_over_a_progress_update_in_the_same_decision(tmp_path):
    rules = (f"- id: update\n  {FLAG}\n  customer_message: progress_update\n"
             f"- id: esc\n  {FLAG}\n  tags: [x]\n  customer_message: escalation_notice\n")
    decision = decide(tmp_path, rules)
    assert decision.escalate and decision.customer_template == "escalation_notice"


def test_a_specialist_queue_escalates_to_its_own_escalation_group(tmp_path):
    """With specialist_escalation, a ladder route sends a billing ticket to billing's escalation group, once."""
    from engine_builders import at, comment, policy, ticket

    p = policy(tmp_path, extra="", rules="""\
        - id: at_risk
          when: {trigger: at_risk, targets: [first_response], percent_used: 75}
          route: {to: ladder}
        """, base=_with_specialists())
    t = ticket(group="billing", comments=(comment("c1", "customer", at(0), "help"),))
    decision = evaluate(t, None, p, at(50))
    assert decision.actions[0] == AssignGroup(group="management")
    assert decision.level == 3  # management is the top of the ladder: nothing climbs further
    moved = ticket(group="management", comments=t.comments)
    again = evaluate(moved, None, p, at(50 + 300), decision.new_state)  # after the cooldown
    assert not any(isinstance(a, AssignGroup) for a in again.actions)
    security = evaluate(ticket(group="security", comments=t.comments), None, p, at(50))
    assert not any(isinstance(a, AssignGroup) for a in security.actions)  # not named: keeps its ticket


def _with_specialists() -> str:
    from engine_builders import BASE_POLICY

    return BASE_POLICY.replace("settings:\n  cooldown: 60\n",
                               "settings:\n  cooldown: 60\n  specialist_escalation: {billing: management}\n")
