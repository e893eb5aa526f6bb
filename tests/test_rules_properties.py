"""Properties of the engine over generated tickets, on the shipped policy's real calendars."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from engine_builders import T0, account, comment, reassigned, status_change, ticket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.actions import AssignGroup
from core.model import Ticket
from core.policy import load_policy
from core.rules import evaluate

POLICY = load_policy(Path(__file__).resolve().parent.parent / "mapping" / "policy.yaml")
LADDER = POLICY.settings.ladder
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

words = st.sampled_from(["hello", "outage", "please escalate", "data leak", "thanks", "Sécurité", "invoice"])


@st.composite
def tickets(draw) -> Ticket:
    """A ticket with a random conversation and status history, everything before ``T0 + 30 days``."""
    offsets = sorted(draw(st.lists(st.integers(1, 20 * 24 * 60), max_size=8)))
    comments, history, status = [], [], "new"
    for i, minutes in enumerate(offsets):
        when = T0 + timedelta(minutes=minutes)
        if draw(st.booleans()):
            role = draw(st.sampled_from(["customer", "agent"]))
            comments.append(comment(str(i), role, when, draw(words), public=draw(st.booleans()),
                                    by_deskbridge=role == "agent" and draw(st.booleans())))
        else:
            new = draw(st.sampled_from(["open", "pending", "on_hold", "solved", "open"]))
            history.append(status_change(when, status, new))
            status = new
    return ticket(
        subject=draw(words), priority=draw(st.sampled_from(["low", "normal", "high", "urgent"])),
        status=status if status != "new" else "open", native_status=status, comments=comments, history=history,
        product_area=draw(st.sampled_from([None, "billing", "api"])),
        agent_escalation_flag=draw(st.booleans()), group=draw(st.sampled_from(["l1", "tier2", None])),
    )


accounts = st.builds(lambda tier, segment: account(tier=tier, segment=segment),
                     st.sampled_from(["premier", "business", "standard", "unknown-tier"]),
                     st.sampled_from(["Enterprise", "SMB", None]))
later = st.integers(min_value=0, max_value=10 * 24 * 60)
LAST = T0 + timedelta(days=21)  # after every generated event


@SETTINGS
@given(t=tickets(), acct=accounts, extra=later)
def test_property_due_is_never_before_start(t, acct, extra):
    decision = evaluate(t, acct, POLICY, LAST + timedelta(minutes=extra))
    for clock in decision.inputs.sla:
        if clock.due_at is not None:
            assert clock.started_at is not None and clock.due_at >= clock.started_at
        if clock.breached_at is not None:
            assert clock.breached_at >= clock.started_at


@SETTINGS
@given(t=tickets(), acct=accounts, first=later, more=st.integers(min_value=1, max_value=5 * 24 * 60))
def test_property_more_elapsed_time_never_lowers_percent_used(t, acct, first, more):
    now = LAST + timedelta(minutes=first)
    before = {c.target: c for c in evaluate(t, acct, POLICY, now).inputs.sla}
    after = {c.target: c for c in evaluate(t, acct, POLICY, now + timedelta(minutes=more)).inputs.sla}
    for target, clock in before.items():
        assert after[target].percent_used >= clock.percent_used
        assert after[target].elapsed_minutes >= clock.elapsed_minutes
        assert not clock.breached or after[target].breached


@SETTINGS
@given(t=tickets(), acct=accounts, steps=st.lists(st.tuples(st.integers(1, 600), st.booleans()), min_size=1,
                                                  max_size=25))
def test_property_the_ladder_only_goes_up_and_never_revisits_a_level(t, acct, steps):
    state, now, current = None, LAST, t
    levels, ladder_targets = [], []
    for minutes, human_moves_it_back in steps:
        now += timedelta(minutes=minutes)
        decision = evaluate(current, acct, POLICY, now, state)
        levels.append(decision.level)
        for action in decision.actions:
            if isinstance(action, AssignGroup) and action.group in LADDER:
                ladder_targets.append(LADDER.index(action.group))
                current = current.model_copy(update={"group": action.group})
        if human_moves_it_back:
            current = current.model_copy(update={"group": "l1", "history": (
                *current.history, reassigned(now + timedelta(seconds=1), "l1"))})
        state = decision.new_state
    assert levels == sorted(levels)
    assert ladder_targets == sorted(set(ladder_targets))  # strictly up: no repeats, no loops
    assert all(level < len(LADDER) for level in levels)


@SETTINGS
@given(t=tickets(), acct=accounts, extra=later)
def test_property_the_same_input_always_gives_the_same_decision(t, acct, extra):
    now = LAST + timedelta(minutes=extra)
    first = evaluate(t, acct, POLICY, now)
    again = evaluate(Ticket.model_validate_json(t.model_dump_json()), acct, POLICY, now)
    assert first == again
    assert first.model_dump_json() == again.model_dump_json()
    follow_up = evaluate(t, acct, POLICY, now + timedelta(hours=1), first.new_state)
    assert follow_up == evaluate(t, acct, POLICY, now + timedelta(hours=1), first.new_state.model_copy())
