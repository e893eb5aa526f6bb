"""ServiceNowConnector against the sandbox's ServiceNow emulator, driven by the real pysnc client over HTTPS.

Reads: a full pull, keyset paging across equal timestamps, resuming from a saved cursor, edits during a
pull, the bulk call shape, a quarantined incident. Writes: read back from the emulator, a human's
reassignment answered ``conflict`` without clobbering, a replay answered ``already_applied`` with no
second note. Rate limits, bad credentials, garbage bodies, lost answers and the secret scan are in
``test_connector_servicenow_failures.py``, which imports the fixtures below.

The session sandbox's clock is frozen: everything a test creates shares one virtual second unless it
advances the clock. Each test first moves the clock past the pull overlap, so a pull that starts at
"now" sees only that test's incidents.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path

import pytest
from pysnc import ServiceNowClient

from connectors.base import HelpdeskConnector
from connectors.retry import RetryPolicy
from connectors.servicenow.connector import ServiceNowConnector
from connectors.servicenow.children import child_queries
from connectors.servicenow.queries import Cursor
from core.actions import (
    AddTags,
    AssignGroup,
    AssignOwner,
    CustomerMessage,
    InternalNote,
    RaisePriority,
    WriteOutcome,
    WritePlan,
)
from core.config import load_mappings
from core.markers import marker
from core.model import Priority, Role, System, Ticket

MAPPING = load_mappings(Path(__file__).resolve().parent.parent / "mapping", with_policy=False).servicenow
FAST = RetryPolicy(max_attempts=4, max_total_wait=5.0, base_delay=0.01, max_delay=0.05)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
INCIDENT_GET = "GET /api/now/table/incident"
BATCH_POST = "POST /api/now/v1/batch"


@pytest.fixture
def connector(sandbox) -> ServiceNowConnector:
    made = ServiceNowConnector.from_env(MAPPING, policy=FAST, page_size=5)
    yield made
    made.close()


@pytest.fixture
def now(sandbox_admin) -> datetime:
    """The virtual now, moved past the pull overlap so a pull from here sees only this test's changes."""
    return sandbox_admin.advance(120)


def pull_all(connector: ServiceNowConnector, cursor: str | None, start: datetime) -> list:
    return list(connector.pull_changes(cursor, start=start))


def tickets_of(pages) -> list[Ticket]:
    return [t for page in pages for t in page.tickets]


def create(admin, n: int, **fields) -> list[str]:
    return [admin.create_ticket("servicenow", f"Connector test incident {k}", **fields) for k in range(n)]


def plan_for(ticket: Ticket, key: str, *actions, note: str = "deskbridge handoff") -> WritePlan:
    return WritePlan(system=System.servicenow, ticket_id=ticket.id, expected_token=ticket.concurrency_token,
                     idempotency_key=key, actions=(*actions, InternalNote(body=f"{note}\n{marker(key)}")))


def api_writes(admin, ticket_id: str, since: int = 0) -> list[dict]:
    return [w for w in admin.writes("servicenow", since=since, actor="api") if w["ticket_id"] == ticket_id]


# -- reading ------------------------------------------------------------------------------------------


def test_the_connector_has_the_helpdesk_shape(connector):
    assert isinstance(connector, HelpdeskConnector)
    assert connector.system is System.servicenow


def test_given_a_first_run_when_pulling_from_long_ago_then_every_incident_comes_once_at_one_call_per_page_plus_one(
        connector, sandbox_admin):
    ids = sandbox_admin.ticket_ids("servicenow")
    connector.calls.reset()

    pages = pull_all(connector, None, LONG_AGO)

    pulled = [t.id for t in tickets_of(pages)]
    assert sorted(pulled) == sorted(ids) and len(pulled) == len(set(pulled))
    assert all(len(p.tickets) + len(p.quarantined) <= 5 for p in pages)
    expected_pages = math.ceil(len(ids) / 5)
    assert len(pages) == expected_pages
    # The bulk shape, pipelined: the first page is one incident GET; each batch carries a page's journal, audit
    # and task_sla queries and the next page's query, so P pages cost P + 1 calls — never a call per incident.
    assert connector.calls.by_endpoint() == {INCIDENT_GET: 1, BATCH_POST: expected_pages}
    keys = [(Cursor.decode(p.cursor).updated_on, Cursor.decode(p.cursor).sys_id) for p in pages]
    assert keys == sorted(keys)


def comments_by_second(ticket):
    """The ticket's comments grouped by their (whole-second) time, each group sorted."""
    return [(at, sorted((c.public, c.body) for c in group))
            for at, group in groupby(ticket.comments, key=lambda c: c.created_at)]


def test_a_pulled_incident_agrees_with_the_emulator_view(connector, sandbox_admin):
    tickets = {t.id: t for t in tickets_of(pull_all(connector, None, LONG_AGO))}

    for ticket_id in sandbox_admin.ticket_ids("servicenow")[:8]:
        view, ticket = sandbox_admin.view("servicenow", ticket_id), tickets[ticket_id]
        assert (ticket.key, ticket.status.value, ticket.priority.value, ticket.group, ticket.concurrency_token) == (
            view["key"], view["status"], view["priority"], view["group"], view["token"])
        # ServiceNow keeps journal times to the second, so entries of one second have no order: compare each
        # second's entries as a set, and the seconds in order (an escalation writes its note and its customer
        # message in the same second).
        assert comments_by_second(ticket) == [
            (at, sorted((c["public"], c["body"]) for c in group))
            for at, group in groupby(view["comments"], key=lambda c: datetime.fromisoformat(c["at"]))]
        assert ticket.url and ticket.url.endswith(f"/incident.do?sys_id={ticket_id}")
    all_comments = [c for t in tickets.values() for c in t.comments]
    assert {c.role for c in all_comments} >= {Role.customer, Role.agent}
    assert any(t.native_slas for t in tickets.values()) and any(t.history for t in tickets.values())


def test_given_seven_incidents_in_one_second_when_paging_by_three_then_none_is_lost_or_repeated(
        connector, sandbox_admin, now):
    created = create(sandbox_admin, 7)
    connector.page_size = 3

    pages = pull_all(connector, None, now)

    assert [len(p.tickets) for p in pages] == [3, 3, 1]
    assert sorted(t.id for t in tickets_of(pages)) == sorted(created)
    assert len({Cursor.decode(p.cursor).updated_on for p in pages}) == 1  # one second, split by sys_id


def test_given_a_saved_cursor_when_resuming_then_the_rest_comes_and_only_the_overlap_is_seen_again(
        sandbox, sandbox_admin, now):
    first_second = create(sandbox_admin, 4)
    sandbox_admin.advance(30)
    second_second = create(sandbox_admin, 4)
    first = ServiceNowConnector.from_env(MAPPING, policy=FAST, page_size=3)
    run = first.pull_changes(None, start=now)
    page = next(run)  # the run dies after committing its first page
    seen_first = {t.id for t in page.tickets}
    first.close()

    resumed = ServiceNowConnector.from_env(MAPPING, policy=FAST, page_size=3)
    pages = pull_all(resumed, page.cursor, now)
    resumed.close()

    again = [t.id for t in tickets_of(pages)]
    assert len(again) == len(set(again))  # nothing repeats within the resumed run
    assert set(again) | seen_first == set(first_second + second_second)  # no gap
    # What the resumed run sees again lies inside the 60 s overlap, at the same (id, updated) as before:
    # the flow's store drops exactly those as duplicates.
    repeated = seen_first & set(again)
    assert repeated == seen_first
    stamp = Cursor.decode(page.cursor).updated_on
    assert all(t.updated_at.strftime("%Y-%m-%d %H:%M:%S") == stamp for t in tickets_of(pages) if t.id in repeated)


def test_given_edits_while_paging_then_the_edited_incidents_come_again_at_their_new_time_and_none_is_skipped(
        connector, sandbox_admin, now):
    created = create(sandbox_admin, 6)
    connector.page_size = 2
    run = connector.pull_changes(None, start=now)
    first = next(run)
    sandbox_admin.advance(5)
    # An offset-paged pull would skip an incident here: the first page's incident moves to the end.
    sandbox_admin.human("servicenow", first.tickets[0].id, "comment", body="Any news?")
    late = create(sandbox_admin, 1)

    rest = list(run)

    keys = [(t.id, t.updated_at) for t in tickets_of([first, *rest])]
    assert len(keys) == len(set(keys))
    assert {t.id for t in tickets_of(rest)} == (set(created) - {t.id for t in first.tickets}) | {
        first.tickets[0].id, *late}


def test_given_an_incident_in_a_state_the_mapping_lacks_then_it_is_quarantined_and_the_rest_proceed(
        connector, sandbox, sandbox_admin, now):
    good, bad, also_good = create(sandbox_admin, 3)
    client = ServiceNowClient(sandbox.env()["DESKBRIDGE_SERVICENOW_INSTANCE"],
                              (sandbox.env()["DESKBRIDGE_SERVICENOW_USERNAME"],
                               sandbox.env()["DESKBRIDGE_SERVICENOW_PASSWORD"]))
    record = client.GlideRecord("incident")
    assert record.get(bad)
    record.state = "8"  # Canceled: a state an admin added that mapping/servicenow.yaml does not know
    record.update()

    try:
        pages = pull_all(connector, None, now)
    finally:  # later tests sharing the sandbox pull everything: leave no unmappable incident behind
        record.state = "7"
        record.update()

    assert {t.id for t in tickets_of(pages)} == {good, also_good}
    [quarantined] = [q for p in pages for q in p.quarantined]
    assert (quarantined.ticket_id, quarantined.field) == (bad, "state")
    assert "'8' is not in the ServiceNow mapping's status_map" in quarantined.reason
    last = Cursor.decode(pages[-1].cursor)
    newest = max([good, bad, also_good], key=lambda i: (sandbox_admin.view("servicenow", i)["updated_at"], i))
    assert last.sys_id == newest


def test_a_child_answer_longer_than_one_inner_page_is_followed_to_the_last_entry(connector, sandbox_admin, now):
    [ticket_id] = create(sandbox_admin, 1)
    for n in range(5):
        sandbox_admin.human("servicenow", ticket_id, "comment", body=f"Still broken ({n})")
    [journal, *_rest] = child_queries([ticket_id])
    connector.calls.reset()

    rows = connector._children.run([replace(journal, limit=2)])  # two entries per inner answer

    bodies = [r["value"] for r in rows["journal"]]
    assert sorted(b for b in bodies if b.startswith("Still broken")) == [f"Still broken ({n})" for n in range(5)]
    assert len(bodies) == len(set(bodies)) == rows.totals["journal"]  # every entry once, none lost at the edges
    assert connector.calls.by_endpoint() == {BATCH_POST: math.ceil(len(bodies) / 2)}


def test_fetch_tickets_reads_the_given_incidents_in_bulk_and_names_authors_only_for_full_history(
        connector, sandbox_admin):
    ids = sandbox_admin.ticket_ids("servicenow")[:12]
    connector.calls.reset()

    tickets, quarantined = connector.fetch_tickets(ids)
    plain_calls = connector.calls.by_endpoint()
    full, _ = connector.fetch_tickets(ids, full_history=True)

    assert quarantined == [] and sorted(t.id for t in tickets) == sorted(ids)
    assert plain_calls == {BATCH_POST: 1}  # the incidents and their children in one batch
    named = [c for t in full for c in t.comments if c.role is Role.agent and not c.by_deskbridge]
    assert named and all(c.author_name for c in named)


# -- writing ------------------------------------------------------------------------------------------


def _owner_email(admin) -> str:
    views = (admin.view("servicenow", i) for i in admin.ticket_ids("servicenow"))
    return next(v["assignee"] for v in views if v["assignee"])


def test_given_a_plan_when_applied_then_the_emulator_shows_every_action_and_human_tags_survive(
        connector, sandbox_admin, now):
    [ticket_id] = create(sandbox_admin, 1, priority="low", tags=["vip"])
    [ticket], _ = connector.fetch_tickets([ticket_id])
    owner = _owner_email(sandbox_admin)
    mark = sandbox_admin.mark()
    plan = plan_for(ticket, "sn-write-0001", AssignGroup(group="tier2"), AssignOwner(email=owner),
                    AddTags(tags=("deskbridge_escalated",)), RaisePriority(priority=Priority.high),
                    CustomerMessage(body=f"We are on it.\n{marker('sn-write-0001')}"))

    [result] = connector.apply([plan])

    view = sandbox_admin.view("servicenow", ticket_id)
    assert result.outcome is WriteOutcome.applied and result.detail is None
    assert result.new_token == view["token"] != ticket.concurrency_token
    assert (view["group"], view["assignee"], view["priority"]) == ("tier2", owner, "high")
    assert set(view["tags"]) == {"vip", "deskbridge_escalated"}
    assert [(c["public"], c["body"]) for c in view["comments"]] == [
        (False, f"deskbridge handoff\n{marker('sn-write-0001')}"), (True, f"We are on it.\n{marker('sn-write-0001')}")]
    kinds = sorted(w["kind"] for w in api_writes(sandbox_admin, ticket_id, mark))
    assert kinds == ["assignee", "comment", "comment", "group", "priority", "tags_added"]
    [echo] = connector.fetch_tickets([ticket_id])[0]
    assert all(c.by_deskbridge for c in echo.comments) and echo.group == "tier2"


def test_priority_is_never_lowered_and_an_unknown_owner_fails_only_that_action(connector, sandbox_admin, now):
    [ticket_id] = create(sandbox_admin, 1, priority="urgent")
    [ticket], _ = connector.fetch_tickets([ticket_id])
    plan = plan_for(ticket, "sn-write-0002", RaisePriority(priority=Priority.high),
                    AssignOwner(email="nobody@unknown.example"), AssignGroup(group="tier3"))

    [result] = connector.apply([plan])

    view = sandbox_admin.view("servicenow", ticket_id)
    assert result.outcome is WriteOutcome.applied
    assert "nobody@unknown.example" in result.detail and "not lowered" in result.detail
    assert (view["priority"], view["group"], view["assignee"]) == ("urgent", "tier3", None)


def test_given_a_human_reassignment_after_evaluation_then_apply_answers_conflict_and_writes_nothing(
        connector, sandbox_admin, now):
    [ticket_id] = create(sandbox_admin, 1)
    [ticket], _ = connector.fetch_tickets([ticket_id])
    sandbox_admin.advance(10)
    sandbox_admin.human("servicenow", ticket_id, "reassign", group="tier3")
    mark = sandbox_admin.mark()

    [result] = connector.apply([plan_for(ticket, "sn-conflict-01", AssignGroup(group="tier2"))])

    assert result.outcome is WriteOutcome.conflict
    assert result.new_token == sandbox_admin.view("servicenow", ticket_id)["token"]
    assert sandbox_admin.view("servicenow", ticket_id)["group"] == "tier3"
    assert api_writes(sandbox_admin, ticket_id, mark) == []


def test_given_the_conflict_fault_then_the_edit_made_meanwhile_wins(connector, sandbox_admin, clean_faults, now):
    [ticket_id] = create(sandbox_admin, 1)
    [ticket], _ = connector.fetch_tickets([ticket_id])
    mark = sandbox_admin.mark()
    clean_faults.add_fault("conflict", system="servicenow", method="POST", path="/api/now/v1/batch", count=1)

    [result] = connector.apply([plan_for(ticket, "sn-conflict-02", AssignGroup(group="tier2"))])

    view = sandbox_admin.view("servicenow", ticket_id)
    assert result.outcome is WriteOutcome.conflict
    assert view["group"] == "l1" and "human_edit" in view["tags"] and view["comments"] == []
    assert api_writes(sandbox_admin, ticket_id, mark) == []


def test_given_a_replayed_plan_then_the_marker_answers_already_applied_and_no_second_note_is_written(
        connector, sandbox_admin, now):
    [ticket_id] = create(sandbox_admin, 1)
    [ticket], _ = connector.fetch_tickets([ticket_id])
    plan = plan_for(ticket, "sn-replay-001", AssignGroup(group="tier2"))
    mark = sandbox_admin.mark()
    [first] = connector.apply([plan])

    [again] = connector.apply([plan])  # a restart pushes the same outbox entry
    other = ServiceNowConnector.from_env(MAPPING, policy=FAST)
    [third] = other.apply([plan])
    other.close()

    assert (first.outcome, again.outcome, third.outcome) == (
        WriteOutcome.applied, WriteOutcome.already_applied, WriteOutcome.already_applied)
    comments = [w for w in api_writes(sandbox_admin, ticket_id, mark) if w["kind"] == "comment"]
    assert len(comments) == 1


def test_several_plans_with_a_tag_no_label_exists_for_are_written_in_one_batch_after_one_read(
        connector, sandbox_admin, now):
    ids = create(sandbox_admin, 6)
    tickets, _ = connector.fetch_tickets(ids)
    tag = f"sntag{uuid.uuid4().hex[:10]}"  # no label of that name exists: the write batch creates it first
    plans = [plan_for(t, f"sn-many-{n:04d}", AssignGroup(group="tier2"), AddTags(tags=(tag,)))
             for n, t in enumerate(sorted(tickets, key=lambda t: t.id))]
    connector.calls.reset()

    results = connector.apply(plans[:5])
    first_calls = connector.calls.by_endpoint()
    connector.calls.reset()
    [last] = connector.apply(plans[5:])

    assert [r.outcome for r in results] == [WriteOutcome.applied] * 5 and last.outcome is WriteOutcome.applied
    assert [r.ticket_id for r in results] == [p.ticket_id for p in plans[:5]]
    assert first_calls == {BATCH_POST: 2}  # one read batch; one write batch: the label, the entries, the PATCHes
    assert connector.calls.by_endpoint() == {BATCH_POST: 2}  # the label is known now: nothing to create
    views = [sandbox_admin.view("servicenow", p.ticket_id) for p in plans]
    assert all(v["group"] == "tier2" and tag in v["tags"] for v in views)


def test_two_plans_for_one_incident_are_applied_in_turn(connector, sandbox_admin, now):
    [ticket_id] = create(sandbox_admin, 1)
    [ticket], _ = connector.fetch_tickets([ticket_id])
    first = plan_for(ticket, "sn-twice-0001", AssignGroup(group="tier2"))
    second = plan_for(ticket, "sn-twice-0002", AssignGroup(group="tier3"))

    results = connector.apply([first, second])

    assert [r.outcome for r in results] == [WriteOutcome.applied, WriteOutcome.conflict]
    assert sandbox_admin.view("servicenow", ticket_id)["group"] == "tier2"


def test_apply_on_a_missing_incident_fails_that_plan_only(connector, sandbox_admin, now):
    [ticket_id] = create(sandbox_admin, 1)
    [ticket], _ = connector.fetch_tickets([ticket_id])
    ghost = plan_for(ticket, "sn-ghost-0001").model_copy(update={"ticket_id": "0" * 32})

    results = connector.apply([ghost, plan_for(ticket, "sn-ghost-0002", AssignGroup(group="billing"))])

    assert [r.outcome for r in results] == [WriteOutcome.failed, WriteOutcome.applied]
    assert "not found" in results[0].detail


def test_timestamps_of_pulled_tickets_follow_the_virtual_clock(connector, sandbox_admin, now):
    [ticket_id] = create(sandbox_admin, 1)
    [ticket] = tickets_of(pull_all(connector, None, now))
    assert ticket.id == ticket_id and ticket.updated_at == now.replace(microsecond=0)
    assert ticket.updated_at - ticket.created_at == timedelta(0)
