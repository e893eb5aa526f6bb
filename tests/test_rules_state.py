"""Decisions over time: cooldowns, the ladder, humans win, proposals, next check, determinism."""

from __future__ import annotations

from datetime import timedelta

import pytest
from engine_builders import account, at, comment, policy, reassigned, ticket

from core.actions import AddTags, AssignGroup
from core.decision import Decision, EscalationState
from core.markers import ESCALATED_TAG, PROPOSED_TAG
from core.rules import evaluate

BREACH_LADDER = "- id: late\n  when: {trigger: breached, targets: [resolution]}\n  route: {to: ladder}\n  cooldown: 60\n"
FLAG_TO_TIER2 = "- id: flag\n  when: {trigger: agent_flag}\n  route: {to: group, group: tier2}\n"


def test_a_rule_in_cooldown_does_not_act_again_and_says_until_when(tmp_path):
    pol = policy(tmp_path, rules=FLAG_TO_TIER2)
    t = ticket(agent_escalation_flag=True, comments=[comment("1", "agent", at(1), "hello")])
    first = evaluate(t, account(), pol, at(5))
    assert first.escalate and first.new_state.cooldowns == {"flag": at(65)}
    second = evaluate(t, account(), pol, at(30), first.new_state)
    assert not second.escalate and second.actions == ()
    assert second.skipped_because == ("rule flag: cooldown until 2025-03-03 10:05 UTC",)
    assert second.next_check_at == at(65)  # the cooldown ends before the resolution due time (480)


def test_after_the_cooldown_a_rule_with_nothing_new_to_do_stays_quiet(tmp_path):
    pol = policy(tmp_path, rules=FLAG_TO_TIER2)
    first = evaluate(ticket(agent_escalation_flag=True), account(), pol, at(5))
    # the helpdesk now shows our writes: the group and the tag
    after = ticket(agent_escalation_flag=True, group="tier2", tags=[ESCALATED_TAG])
    later = evaluate(after, account(), pol, at(120), first.new_state)
    assert not later.escalate and later.actions == ()
    assert later.skipped_because == ("rule flag: already routed to tier2 at 2025-03-03 09:05 UTC",
                                     "already escalated for flag; nothing new to do")
    assert later.new_state.escalations == first.new_state.escalations


def test_the_ladder_climbs_one_step_per_cooldown_then_stops_at_the_top(tmp_path):
    pol = policy(tmp_path, rules=BREACH_LADDER)
    state, groups, levels = None, [], []
    group, tags = "l1", []
    for minutes in range(500, 1200, 30):  # breached from 480 on; evaluated every 30 minutes
        t = ticket(group=group, tags=tags)
        decision = evaluate(t, account(), pol, at(minutes), state)
        assigned = [a.group for a in decision.actions if isinstance(a, AssignGroup)]
        groups += assigned
        levels.append(decision.level)
        state = decision.new_state
        group = assigned[0] if assigned else group
        tags = [ESCALATED_TAG]
    assert groups == ["tier2", "tier3", "management"]
    assert levels == sorted(levels) and levels[-1] == 3
    assert "already at the top of the ladder (management)" in decision.skipped_because[0]


def test_a_fixed_route_below_the_current_level_is_refused(tmp_path):
    pol = policy(tmp_path, rules=FLAG_TO_TIER2)
    decision = evaluate(ticket(agent_escalation_flag=True), account(), pol, at(5), EscalationState(level=2))
    assert not any(isinstance(a, AssignGroup) for a in decision.actions)
    assert decision.skipped_because == (
        "rule flag: tier2 is not above the current level tier3; the ladder never goes down",)
    assert decision.level == 2


def test_a_human_reassignment_after_our_escalation_wins(tmp_path):
    pol = policy(tmp_path, rules=BREACH_LADDER)
    state = EscalationState(level=1, routed_group="tier2", routed_at=at(500), last_escalated_at=at(500),
                            escalations={}, cooldowns={})
    ours = reassigned(at(501), "tier2", by_deskbridge=True)
    theirs = reassigned(at(530), "l1")
    decision = evaluate(ticket(history=[ours, theirs], group="l1"), account(), pol, at(600), state)
    assert not any(isinstance(a, AssignGroup) for a in decision.actions)
    assert decision.skipped_because == (
        "a person reassigned the ticket to l1 at 2025-03-03 17:50 UTC, after deskbridge's last escalation at "
        "2025-03-03 17:20 UTC; not reassigning it again",)
    # our own echoed reassignment is not a human one
    echo_only = evaluate(ticket(history=[ours], group="tier2"), account(), pol, at(600), state)
    assert AssignGroup(group="tier3") in echo_only.actions


def _propose_policy(tmp_path):
    return policy(tmp_path, rules="- id: ask\n  mode: propose\n  when: {trigger: agent_flag}\n"
                                  "  route: {to: group, group: tier3}\n  tags: [approved_escalation]\n")


def test_an_approved_proposal_acts_on_the_next_run(tmp_path):
    pol = _propose_policy(tmp_path)
    proposed = evaluate(ticket(agent_escalation_flag=True), account(), pol, at(5))
    waiting = evaluate(ticket(agent_escalation_flag=True, tags=[PROPOSED_TAG]), account(), pol, at(10),
                       proposed.new_state)
    assert waiting.mode == "none" and waiting.actions == ()
    assert waiting.skipped_because == (
        "rule ask: proposed at 2025-03-03 09:05 UTC; awaiting the supervisor's approve or reject tag",)
    approved = ticket(agent_escalation_flag=True, tags=[PROPOSED_TAG, "deskbridge_approved"])
    decision = evaluate(approved, account(), pol, at(20), waiting.new_state)
    assert decision.escalate and decision.mode == "auto"
    assert decision.actions[0] == AssignGroup(group="tier3")
    assert decision.actions[1] == AddTags(tags=(ESCALATED_TAG, "approved_escalation"))
    assert decision.new_state.proposals == {} and list(decision.new_state.approved) == ["ask"]


def test_a_rejected_proposal_is_never_proposed_again(tmp_path):
    pol = _propose_policy(tmp_path)
    proposed = evaluate(ticket(agent_escalation_flag=True), account(), pol, at(5))
    rejected = ticket(agent_escalation_flag=True, tags=[PROPOSED_TAG, "deskbridge_rejected"])
    decision = evaluate(rejected, account(), pol, at(20), proposed.new_state)
    assert not decision.escalate and decision.actions == ()
    assert decision.skipped_because[0] == (
        "rule ask: a supervisor rejected the proposal made at 2025-03-03 09:05 UTC; it will not be proposed again")
    state = decision.new_state
    for minutes in (60, 600, 6000):
        again = evaluate(ticket(agent_escalation_flag=True, tags=[PROPOSED_TAG]), account(), pol, at(minutes), state)
        assert again.mode == "none" and again.actions == () and again.new_state.proposals == {}
        assert again.skipped_because == (
            "rule ask: a supervisor rejected this escalation at 2025-03-03 09:20 UTC; not proposing it again",)


def test_a_verdict_tag_left_from_before_the_proposal_does_not_count(tmp_path):
    pol = _propose_policy(tmp_path)
    old_tags = [PROPOSED_TAG, "deskbridge_approved"]
    proposed = evaluate(ticket(agent_escalation_flag=True, tags=old_tags), account(), pol, at(5))
    assert proposed.new_state.proposals["ask"].approve_seen_before
    later = evaluate(ticket(agent_escalation_flag=True, tags=old_tags), account(), pol, at(30), proposed.new_state)
    assert not later.escalate
    # the supervisor removes and re-adds the tag: now it is a fresh verdict
    removed = evaluate(ticket(agent_escalation_flag=True, tags=[PROPOSED_TAG]), account(), pol, at(40),
                       later.new_state)
    again = evaluate(ticket(agent_escalation_flag=True, tags=old_tags), account(), pol, at(50), removed.new_state)
    assert again.escalate and again.actions[0] == AssignGroup(group="tier3")


def test_next_check_is_the_at_risk_point(tmp_path):
    pol = policy(tmp_path, rules="- id: r\n  when: {trigger: at_risk, targets: [resolution], percent_used: 75}\n")
    decision = evaluate(ticket(comments=[comment("1", "agent", at(1), "hi")]), account(), pol, at(100))
    assert decision.next_check_at == at(360)
    assert not decision.escalate
    assert evaluate(ticket(comments=[comment("1", "agent", at(1), "hi")]), account(), pol, at(360)).escalate


# Instants off the hundredth of a minute the SLA figures are shown in (0.6 s): the re-check must
# be at or just before the real crossing (never after it), and a re-check there must see it.
_SEC = 1 / 60  # a second, in the builders' minutes
_OFF_GRID = [
    # (rule, ticket overrides, evaluated at, the real crossing)
    ("{trigger: at_risk, targets: [resolution], percent_used: 75}", {}, at(100 + 0.2 * _SEC), at(360)),
    ("{trigger: at_risk, targets: [resolution], percent_used: 33.33}", {}, at(50 + 0.25 * _SEC),
     at(480 * 0.3333)),  # 159.984 minutes: between two hundredths
    ("{trigger: breached, targets: [first_response]}", {"created_at": at(0.3 * _SEC), "comments": []}, at(10),
     at(60 + 0.3 * _SEC)),
    ("{trigger: inactivity, minutes: 30, of: agent}",
     {"comments": [comment("2", "agent", at(2 + 0.4 * _SEC), "looking", public=False)]}, at(10),
     at(32 + 0.4 * _SEC)),
]


@pytest.mark.parametrize("when, overrides, now, crossing", _OFF_GRID)
def test_the_re_check_is_at_the_crossing_never_after_it(tmp_path, when, overrides, now, crossing):
    pol = policy(tmp_path, rules=f"- id: r\n  when: {when}\n")
    t = ticket(**{"comments": [comment("1", "agent", at(1), "hi")], **overrides})
    decision = evaluate(t, account(), pol, now)
    assert not decision.escalate
    assert crossing - timedelta(milliseconds=1) <= decision.next_check_at <= crossing
    assert evaluate(t, account(), pol, decision.next_check_at).escalate
    assert not evaluate(t, account(), pol, crossing - timedelta(milliseconds=2)).escalate


def test_next_check_is_the_breach_when_no_threshold_comes_first(tmp_path):
    pol = policy(tmp_path, rules="- id: r\n  when: {trigger: breached, targets: [first_response]}\n")
    assert evaluate(ticket(), account(), pol, at(10)).next_check_at == at(60)


def test_next_check_is_the_inactivity_deadline(tmp_path):
    pol = policy(tmp_path, rules="- id: r\n  when: {trigger: inactivity, minutes: 30, of: agent}\n")
    t = ticket(comments=[comment("1", "agent", at(2), "looking", public=False)])
    assert evaluate(t, account(), pol, at(10)).next_check_at == at(32)


def test_an_unknown_account_uses_the_default_tier_and_says_so(tmp_path):
    pol = policy(tmp_path, rules="- id: r\n  when: {trigger: tier, in: [standard]}\n")
    decision = evaluate(ticket(), None, pol, at(5))
    assert decision.escalate and decision.inputs.tier == "standard" and decision.inputs.tier_source == "default"
    assert "standard tier by default" in decision.explanation


def test_the_same_input_gives_the_same_decision_and_it_survives_json(tmp_path):
    pol = policy(tmp_path, rules=BREACH_LADDER + FLAG_TO_TIER2.replace("group: tier2", "group: security"))
    t = ticket(agent_escalation_flag=True, subject="outage")
    one = evaluate(t, account(), pol, at(700))
    two = evaluate(t, account(), pol, at(700))
    assert one == two
    assert one.model_dump_json() == two.model_dump_json()
    assert Decision.model_validate_json(one.model_dump_json()) == one
    assert EscalationState.model_validate_json(one.new_state.model_dump_json()) == one.new_state


def test_the_explanation_says_what_why_and_what_not(tmp_path):
    pol = policy(tmp_path, rules=BREACH_LADDER)
    decision = evaluate(ticket(), account(), pol, at(500))
    assert decision.explanation == (
        "#1 (zendesk, business tier, normal, open) escalates (level tier2) by rule late. "
        "Because: resolution breached at 2025-03-03 17:00 UTC (20 business minutes over). "
        "Actions: assign to tier2; add tags deskbridge_escalated; internal note 'handoff_note'. "
        "SLA (always): first_response breached at 2025-03-03 10:00 UTC, running; next_response not started; "
        "resolution breached at 2025-03-03 17:00 UTC, running. Next check 2025-03-03 18:20 UTC."
    )
