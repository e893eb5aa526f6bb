"""The Jira emulator's in-process surface: seeding, create, human edits and view (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.context import SandboxContext
from sandbox.jira import account_id, build
from sandbox.jira.store import AUTOMATION_ID
from sandbox.world import SeedComment, SeedEvent, SeedTicket, SeedUser, World

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
USERS = {u.key: u for u in [
    SeedUser("agent-1", "Ann Agent", "ann@acme.test", "agent", "l1"),
    SeedUser("agent-2", "Bob Builder", "bob@acme.test", "agent", "tier2"),
    SeedUser("cust-1", "Dana Customer", "dana@customer.test", "customer"),
]}


def ticket(n: int, system: str = "jira", **overrides) -> SeedTicket:
    fields = dict(
        n=n, system=system, subject=f"Ticket {n}", description="Broken", status="open", priority="normal",
        requester="cust-1", account_id="001xx000003DGb2AAG", group="l1", assignee="agent-1", product_area="api",
        tags=["seeded"], created_at=T0, updated_at=T0 + timedelta(minutes=n),
        comments=[SeedComment("cust-1", "customer", True, "Please help", T0)],
        events=[SeedEvent("status", T0 + timedelta(seconds=5), "new", "open", "agent-1"),
                SeedEvent("group", T0 + timedelta(seconds=6), "tier2", "l1", "robot-9")],
    )
    fields.update(overrides)
    return SeedTicket(**fields)


@pytest.fixture
def emu():
    tickets = (t for t in [ticket(1), ticket(2, system="zendesk"), ticket(2), ticket(3, status="solved",
                                                                                      solved_at=T0)])
    return build(SandboxContext(), World(3, dict(USERS), [], tickets))


def human_writes(emu) -> list[tuple[str, dict]]:
    return [(w["kind"], w["detail"]) for w in emu.ctx.log.query_writes("jira", actor="human")]


def test_native_ids_follow_the_seed_numbers_and_other_systems_are_ignored(emu):
    assert emu.ticket_ids() == ["10001", "10002", "10003"]
    view = emu.view("SUP-1")
    assert (view["id"], view["key"], view["status"], view["priority"]) == ("10001", "SUP-1", "open", "normal")
    assert (view["group"], view["assignee"], view["tags"]) == ("l1", "ann@acme.test", ["seeded"])
    assert view["comments"] == [{"public": True, "body": "Please help", "author_email": "dana@customer.test",
                                 "at": T0.isoformat()}]
    assert view["token"] == "2026-03-01T08:01:00.000+0000"
    assert emu.view("10003")["status"] == "solved"


def test_seeded_events_become_changelog_histories(emu):
    issue = emu.store.find("SUP-1")
    assert [(h.author, h.items[0][0], h.items[0][3], h.items[0][5]) for h in issue.histories] == [
        (account_id("agent-1"), "status", "Open", "Waiting for support"),
        (AUTOMATION_ID, "Support team", "Tier 2 Support", "L1 Support"),  # unknown actor: Jira automation
    ]
    assert emu.store.find("SUP-3").resolutiondate == T0
    assert emu.store.users[account_id("cust-1")].account_type == "customer"


def test_create_adds_a_predictable_issue_and_logs_it(emu):
    assert emu.create(ticket(7, created_at=None, updated_at=None)) == "10007"
    assert emu.ticket_ids()[-1] == "10007"
    assert emu.view("SUP-7")["updated_at"] == emu.ctx.clock.now().isoformat()
    assert [(w["kind"], w["actor"]) for w in emu.ctx.log.query_writes("jira")] == [("created", "human")]
    with pytest.raises(ValueError):
        emu.create(ticket(7))


def test_each_human_action_changes_state_and_logs_once(emu):
    emu.human("10001", {"action": "add_tags", "tags": ["vip", "seeded"]})
    emu.human("10001", {"action": "remove_tags", "tags": ["seeded"]})
    emu.human("10001", {"action": "reassign", "group": "tier2", "assignee": "agent-2"})
    emu.human("10001", {"action": "set_priority", "priority": "urgent"})
    emu.human("10001", {"action": "set_field", "field": "escalation_flag", "value": True})
    emu.human("10001", {"action": "set_field", "field": "product_area", "value": "billing"})
    view = emu.human("10001", {"action": "set_status", "status": "pending"})
    assert (view["tags"], view["group"], view["assignee"]) == (["vip"], "tier2", "bob@acme.test")
    assert (view["priority"], view["status"]) == ("urgent", "pending")
    assert human_writes(emu) == [
        ("tags_added", {"tags": ["vip"]}), ("tags_removed", {"tags": ["seeded"]}),
        ("group", {"from": "l1", "to": "tier2"}), ("assignee", {"from": "ann@acme.test", "to": "bob@acme.test"}),
        ("priority", {"from": "normal", "to": "urgent"}), ("field", {"name": "escalation_flag", "value": True}),
        ("field", {"name": "product_area", "value": "billing"}), ("status", {"from": "open", "to": "pending"}),
    ]
    authors = {h.author for h in emu.store.find("SUP-1").histories[2:]}
    assert emu.store.integration not in authors


def test_human_comments_default_to_the_requester_and_customers_are_always_public(emu):
    emu.human("10002", {"action": "comment", "public": False, "body": "Any news?"})
    view = emu.human("10002", {"action": "comment", "author": "agent-1", "public": False, "body": "Checking logs"})
    assert [(c["author_email"], c["public"]) for c in view["comments"][1:]] == [
        ("dana@customer.test", True), ("ann@acme.test", False)]
    assert human_writes(emu) == [("comment", {"public": True, "body": "Any news?"}),
                                 ("comment", {"public": False, "body": "Checking logs"})]


def test_the_token_moves_on_every_write_even_when_the_clock_stands_still(emu):
    tokens = [emu.view("10001")["token"]]
    for tag in ("a", "b", "c"):
        tokens.append(emu.human("10001", {"action": "add_tags", "tags": [tag]})["token"])
    assert tokens == sorted(set(tokens)) and len(tokens) == 4
    emu.ctx.clock.advance(3600)
    assert emu.human("10001", {"action": "add_tags", "tags": ["d"]})["updated_at"] == emu.ctx.clock.now().isoformat()


def test_resolving_and_reopening_set_and_clear_the_resolution(emu):
    emu.human("10001", {"action": "set_status", "status": "solved"})
    issue = emu.store.find("10001")
    assert issue.resolutiondate == issue.updated and issue.histories[-1].items[-1][0] == "resolution"
    emu.human("10001", {"action": "set_status", "status": "open"})
    assert issue.resolutiondate is None


@pytest.mark.parametrize("action", [
    {"action": "teleport"},
    {"action": "reassign", "group": "nowhere", "assignee": None},
    {"action": "reassign", "group": "tier2", "assignee": "nobody"},
    {"action": "set_status", "status": "frozen"},
    {"action": "set_field", "field": "colour", "value": "red"},
    {"action": "set_field", "field": "product_area", "value": "toasters"},
    {"action": "comment", "author": "nobody", "body": "hi"},
    {"action": "comment"},
    {"action": "add_tags"},
])
def test_invalid_human_actions_raise_and_change_nothing(emu, action):
    before = emu.view("10001")
    with pytest.raises(ValueError):
        emu.human("10001", action)
    assert emu.view("10001") == before and emu.ctx.log.query_writes() == []


def test_unknown_tickets_are_a_key_error(emu):
    with pytest.raises(KeyError):
        emu.view("SUP-404")
    with pytest.raises(KeyError):
        emu.human("10404", {"action": "add_tags", "tags": ["x"]})


def test_conflict_edit_labels_once_and_always_bumps_the_token(emu):
    issue = emu.store.find("10001")
    emu.store.human_edit(issue)
    first = issue.updated
    emu.store.human_edit(issue)  # already labelled: the token still moves, nothing else is logged
    assert issue.labels == ["seeded", "human_edit"] and issue.updated > first
    assert human_writes(emu) == [("tags_added", {"tags": ["human_edit"]})]
