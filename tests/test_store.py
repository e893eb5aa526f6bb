"""The state store's repository verbs, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from pg_fixture import postgres_server, postgres_url  # noqa: F401  (fixtures)
from sqlalchemy.exc import IntegrityError

from core.actions import AddTags, AssignGroup, InternalNote, RaisePriority, WriteOutcome, WritePlan, WriteResult
from core.model import Comment, EventKind, HistoryEvent, Priority, Quarantined, Role, Status, System, Ticket
from core.store import DecisionRecord, OutboxStatus, Store
from sandbox.context import VirtualClock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_ticket(ticket_id: str = "101", system: System = System.zendesk, **changes) -> Ticket:
    base = dict(
        system=system, id=ticket_id, key=f"#{ticket_id}", subject="Checkout fails with 502",
        status=Status.open, native_status="open", priority=Priority.high, account_id="001ACME",
        group_id="g1", group_name="Tier 1", product_area="payments",
        created_at=T0 - timedelta(hours=5), updated_at=T0 - timedelta(minutes=10),
        first_agent_reply_at=T0 - timedelta(hours=4), concurrency_token="2026-03-02T08:50:00Z",
        tags=("vip",), custom_fields={"plan": "enterprise"},
        comments=(
            Comment(id="c1", role=Role.customer, public=True, body="It fails again", created_at=T0 - timedelta(hours=5)),
            Comment(id="c2", role=Role.agent, public=True, body="Looking into it", created_at=T0 - timedelta(hours=4)),
        ),
        history=(
            HistoryEvent(kind=EventKind.created, at=T0 - timedelta(hours=5)),
            HistoryEvent(kind=EventKind.group_change, at=T0 - timedelta(hours=3), from_value="L1", to_value="L2"),
            HistoryEvent(kind=EventKind.reopen, at=T0 - timedelta(hours=2)),
        ),
    )  # fmt: skip
    return Ticket(**(base | changes))


def make_plan(key: str, ticket_id: str = "101", system: System = System.zendesk) -> WritePlan:
    return WritePlan(
        system=system, ticket_id=ticket_id, expected_token="tok-1", idempotency_key=key,
        actions=(AssignGroup(group="tier2"), AddTags(tags=("deskbridge_escalated",)), InternalNote(body="note")),
    )  # fmt: skip


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path, clock):
    url = f"sqlite:///{tmp_path}/state.db" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    opened = Store.open(url, clock=clock.now)
    yield opened
    opened.close()


def test_cursor_is_none_before_the_first_run_then_round_trips_per_stream(store):
    with store.transaction() as tx:
        assert tx.get_cursor(System.zendesk, "tickets") is None
        tx.set_cursor(System.zendesk, "tickets", "c1")
        tx.set_cursor(System.jira, "tickets", "j1")
    with store.transaction() as tx:
        tx.set_cursor(System.zendesk, "tickets", "c2")
    with store.transaction() as tx:
        assert tx.get_cursor(System.zendesk, "tickets") == "c2"
        assert tx.get_cursor(System.jira, "tickets") == "j1"
        assert tx.get_cursor(System.servicenow, "tickets") is None


def test_a_transaction_that_fails_keeps_neither_its_outcomes_nor_its_cursor(store):
    with store.transaction() as tx:
        tx.set_cursor(System.zendesk, "tickets", "c1")
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.upsert_ticket(make_ticket(), "enterprise", "emea", None)
        tx.outbox_add(make_plan("zd-l1-aaaaaaaa"))
        tx.set_cursor(System.zendesk, "tickets", "c2")
        raise RuntimeError("crash before commit")
    with store.transaction() as tx:
        assert tx.get_cursor(System.zendesk, "tickets") == "c1"
        assert tx.ticket_record(System.zendesk, "101") is None
        assert tx.outbox_get("zd-l1-aaaaaaaa") is None


def test_upsert_ticket_keeps_metric_fields_and_the_whole_normalized_ticket(store):
    ticket = make_ticket()
    with store.transaction() as tx:
        assert tx.upsert_ticket(ticket, "enterprise", "emea", T0 + timedelta(minutes=30)) is True
    with store.transaction() as tx:
        record = tx.ticket_record(System.zendesk, "101")
        assert tx.get_ticket(System.zendesk, "101") == ticket
    assert (record.key, record.status, record.priority) == ("#101", Status.open, Priority.high)
    assert (record.tier, record.segment, record.account_id) == ("enterprise", "emea", "001ACME")
    assert (record.group_id, record.group_name, record.product_area) == ("g1", "Tier 1", "payments")
    assert (record.reopen_count, record.reassignment_count, record.agent_reply_count) == (1, 1, 1)
    assert record.first_reply_at == T0 - timedelta(hours=4)
    assert record.next_check_at == T0 + timedelta(minutes=30)
    assert record.next_check_at.tzinfo is not None
    assert record.is_open and record.concurrency_token == "2026-03-02T08:50:00Z"
    assert record.first_seen_at == record.last_seen_at == T0
    assert record.breach_times == {} and record.first_escalated_at is None


def test_upsert_never_moves_a_ticket_back_in_time(store, clock):
    newer = make_ticket(updated_at=T0, status=Status.pending, native_status="pending")
    older = make_ticket(updated_at=T0 - timedelta(hours=1))
    with store.transaction() as tx:
        tx.upsert_ticket(newer, "enterprise", None, None)
    clock.advance(60)
    with store.transaction() as tx:
        assert tx.upsert_ticket(older, "enterprise", None, None) is False
        assert tx.upsert_ticket(newer.model_copy(update={"priority": Priority.urgent}), "gold", None, None) is True
        record = tx.ticket_record(System.zendesk, "101")
    assert (record.status, record.priority, record.tier) == (Status.pending, Priority.urgent, "gold")
    assert record.first_seen_at == T0 and record.last_seen_at == T0 + timedelta(seconds=60)


def test_is_duplicate_on_ticket_id_and_updated_time(store):
    with store.transaction() as tx:
        assert tx.is_duplicate(System.zendesk, "101", T0) is False
        tx.upsert_ticket(make_ticket(updated_at=T0), None, None, None)
        assert tx.is_duplicate(System.zendesk, "101", T0) is True
        assert tx.is_duplicate(System.zendesk, "101", T0 - timedelta(seconds=1)) is True
        assert tx.is_duplicate(System.zendesk, "101", T0 + timedelta(microseconds=1)) is False
        assert tx.is_duplicate(System.jira, "101", T0) is False


def test_due_for_check_lists_open_tickets_whose_time_has_come_most_overdue_first(store):
    solved = dict(status=Status.solved, native_status="solved", solved_at=T0)
    with store.transaction() as tx:
        tx.upsert_ticket(make_ticket("1"), None, None, T0 - timedelta(minutes=5))
        tx.upsert_ticket(make_ticket("2"), None, None, T0 - timedelta(minutes=50))
        tx.upsert_ticket(make_ticket("3"), None, None, T0)
        tx.upsert_ticket(make_ticket("4"), None, None, T0 + timedelta(seconds=1))
        tx.upsert_ticket(make_ticket("5"), None, None, None)
        tx.upsert_ticket(make_ticket("6", **solved), None, None, T0 - timedelta(hours=1))
        tx.upsert_ticket(make_ticket("7", system=System.jira), None, None, T0 - timedelta(hours=1))
    with store.transaction() as tx:
        assert tx.due_for_check(System.zendesk, T0, limit=10) == ["2", "1", "3"]
        assert tx.due_for_check(System.zendesk, T0, limit=2) == ["2", "1"]
        assert tx.ticket_record(System.zendesk, "6").next_check_at is None  # closed: never by time
        tx.set_next_check(System.zendesk, "2", T0 + timedelta(hours=1))
        assert tx.due_for_check(System.zendesk, T0) == ["1", "3"]
        assert tx.get_tickets(System.zendesk, ["1", "3", "missing"]).keys() == {"1", "3"}


def test_first_escalation_and_first_breach_times_are_kept(store):
    with store.transaction() as tx:
        tx.upsert_ticket(make_ticket(), None, None, None)
        assert tx.mark_escalated(System.zendesk, "101", T0) == T0
        assert tx.mark_escalated(System.zendesk, "101", T0 + timedelta(hours=1)) == T0
        tx.record_breaches(System.zendesk, "101", {"first_response": T0})
        merged = tx.record_breaches(
            System.zendesk, "101",
            {"first_response": T0 + timedelta(hours=1), "resolution": T0 + timedelta(hours=2)},
        )  # fmt: skip
        tx.upsert_ticket(make_ticket(updated_at=T0), None, None, None)  # a refresh keeps deskbridge's history
        record = tx.ticket_record(System.zendesk, "101")
        with pytest.raises(KeyError):
            tx.mark_escalated(System.zendesk, "nope", T0)
    assert merged == {"first_response": T0, "resolution": T0 + timedelta(hours=2)}
    assert record.breach_times == merged and record.first_escalated_at == T0


def test_escalation_state_round_trips_and_needs_a_stored_ticket(store, clock):
    document = {"level": 2, "reasons": ["sla_at_risk"], "cooldowns": {"customer_message": "2026-03-02T10:00:00Z"}}
    with store.transaction() as tx:
        assert tx.get_state(System.zendesk, "101") is None
        tx.upsert_ticket(make_ticket(), None, None, None)
        tx.save_state(System.zendesk, "101", {"level": 1}, level=1)
    clock.advance(120)
    with store.transaction() as tx:
        tx.save_state(System.zendesk, "101", document, level=2)
    with store.transaction() as tx:
        state = tx.get_state(System.zendesk, "101")
    assert (state.level, state.document, state.updated_at) == (2, document, T0 + timedelta(seconds=120))
    with pytest.raises(IntegrityError), store.transaction() as tx:
        tx.save_state(System.zendesk, "unknown-ticket", document, level=1)


def test_open_escalations_for_account_across_helpdesks(store):
    closed = dict(status=Status.closed, native_status="closed")
    with store.transaction() as tx:
        for system, tid, extra, level in [
            (System.zendesk, "1", {}, 1),
            (System.jira, "2", {"key": "SUP-2"}, 2),
            (System.zendesk, "3", {}, 0),  # state kept but not escalated
            (System.zendesk, "4", closed, 1),  # escalated, but closed
            (System.servicenow, "5", {"account_id": "001OTHER"}, 1),
            (System.zendesk, "6", {}, None),  # never evaluated
        ]:
            tx.upsert_ticket(make_ticket(tid, system=system, **extra), "enterprise", None, None)
            if level is not None:
                tx.save_state(system, tid, {"level": level}, level=level)
        tx.mark_escalated(System.jira, "2", T0 - timedelta(hours=1))
        found = tx.open_escalations_for_account("001ACME")
        others = tx.open_escalations_for_account("001ACME", exclude=(System.zendesk, "1"))
    # earliest escalation first; one never marked escalated sorts last on both backends
    assert [(e.system, e.ticket_id, e.level) for e in found] == [(System.jira, "2", 2), (System.zendesk, "1", 1)]
    assert found[0].first_escalated_at == T0 - timedelta(hours=1) and found[1].first_escalated_at is None
    assert [(e.key, e.level) for e in others] == [("SUP-2", 2)]


def test_decision_log_round_trips_with_typed_actions(store):
    record = DecisionRecord(
        system=System.zendesk, ticket_id="101", evaluated_at=T0, policy_version="2026-03", policy_hash="sha256:ab12",
        escalate=True, level=2, rule_ids=("sla_at_risk", "vip_tier"),
        reasons=[{"code": "sla_at_risk", "text": "first response 85% used"}],
        inputs={"tier": "enterprise", "percent_used": 85.0},
        actions=(AssignGroup(group="tier2"), RaisePriority(priority=Priority.urgent)),
        explanation="Escalated: first response at 85% of its target.", run_id="run-1", idempotency_key="zd-l2-abcdef",
    )  # fmt: skip
    with store.transaction() as tx:
        tx.upsert_ticket(make_ticket(), None, None, None)
        first = tx.record_decision(record)
        second = tx.record_decision(record.model_copy(update={"evaluated_at": T0 + timedelta(hours=1), "escalate": False}))
    with store.transaction() as tx:
        logged = tx.decisions_for(System.zendesk, "101")
        window = tx.decisions_between(T0 + timedelta(minutes=1), system=System.zendesk)
        assert tx.decisions_between(T0, system=System.jira) == []
    assert first.id is not None and second.id != first.id
    assert logged == [first, second]
    assert logged[0].actions[1] == RaisePriority(priority=Priority.urgent)
    assert window == [second]


def test_outbox_add_is_idempotent_on_the_key(store, clock):
    with store.transaction() as tx:
        tx.upsert_ticket(make_ticket(), None, None, None)
        entry = tx.outbox_add(make_plan("zd-l1-aaaaaaaa"))
    clock.advance(30)
    other_plan = make_plan("zd-l1-aaaaaaaa").model_copy(update={"expected_token": "tok-2"})
    with store.transaction() as tx:
        again = tx.outbox_add(other_plan)
    assert entry.status is OutboxStatus.pending and entry.attempts == 0
    assert again == entry  # a no-op that returns the first row, plan included
    assert again.plan == make_plan("zd-l1-aaaaaaaa")


def test_outbox_pending_lists_unpushed_entries_per_helpdesk_oldest_first(store, clock):
    with store.transaction() as tx:
        for tid, system in [("1", System.zendesk), ("2", System.zendesk), ("3", System.jira)]:
            tx.upsert_ticket(make_ticket(tid, system=system), None, None, None)
        tx.outbox_add(make_plan("zd-l1-bbbbbbbb", "2"))
        clock.advance(1)
        tx.outbox_add(make_plan("zd-l1-aaaaaaaa", "1"))
        tx.outbox_add(make_plan("jr-l1-cccccccc", "3", System.jira))
    with store.transaction() as tx:
        assert [e.idempotency_key for e in tx.outbox_pending(System.zendesk)] == ["zd-l1-bbbbbbbb", "zd-l1-aaaaaaaa"]
        tx.outbox_mark(WriteResult(system=System.zendesk, ticket_id="2", idempotency_key="zd-l1-bbbbbbbb",
                                   outcome=WriteOutcome.applied, new_token="tok-9"))  # fmt: skip
        assert [e.idempotency_key for e in tx.outbox_pending(System.zendesk)] == ["zd-l1-aaaaaaaa"]
        assert [e.idempotency_key for e in tx.outbox_pending(System.jira, limit=5)] == ["jr-l1-cccccccc"]
        assert [e.idempotency_key for e in tx.outbox_for_ticket(System.zendesk, "2")] == ["zd-l1-bbbbbbbb"]


def test_outbox_mark_records_outcomes_and_a_landed_write_never_changes(store, clock):
    key = "zd-l1-aaaaaaaa"

    def result(outcome: WriteOutcome, detail: str | None = None) -> WriteResult:
        return WriteResult(system=System.zendesk, ticket_id="101", idempotency_key=key, outcome=outcome, detail=detail)

    with store.transaction() as tx:
        tx.upsert_ticket(make_ticket(), None, None, None)
        tx.outbox_add(make_plan(key))
        clock.advance(5)
        conflicted = tx.outbox_mark(result(WriteOutcome.conflict, "ticket changed since evaluation"))
        requeued = tx.outbox_requeue(make_plan(key).model_copy(update={"expected_token": "tok-2"}))
        landed = tx.outbox_mark(result(WriteOutcome.already_applied))
        after = tx.outbox_mark(result(WriteOutcome.failed, "confused retry"))
        assert tx.outbox_requeue(make_plan(key)) == landed
        with pytest.raises(KeyError):
            tx.outbox_mark(result(WriteOutcome.applied).model_copy(update={"idempotency_key": "zd-l1-unknown"}))
        with pytest.raises(ValueError, match="does not match"):
            tx.outbox_mark(result(WriteOutcome.applied).model_copy(update={"ticket_id": "999"}))
    assert (conflicted.status, conflicted.attempts, conflicted.detail) == (
        OutboxStatus.conflict, 1, "ticket changed since evaluation")  # fmt: skip
    assert conflicted.updated_at == T0 + timedelta(seconds=5) and conflicted.created_at == T0
    assert (requeued.status, requeued.plan.expected_token, requeued.attempts) == (OutboxStatus.pending, "tok-2", 1)
    assert (landed.status, landed.attempts) == (OutboxStatus.already_applied, 2)
    assert after == landed


def test_quarantine_counts_repeats_redacts_payloads_and_resolves(store, clock):
    payload = {"id": 7, "status": None, "via": {"source": {"password": "hunter2"}}, "api_token": "tok-SECRET"}
    bad = Quarantined(system=System.zendesk, ticket_id="7", field="status", reason="status is null")
    with store.transaction() as tx:
        first = tx.quarantine(bad, payload)
        clock.advance(60)
        again = tx.quarantine(bad, payload)
        other = tx.quarantine(bad.model_copy(update={"field": None, "reason": "no id"}), "token=abc123 broken")
        listed = tx.quarantined(System.zendesk)
        assert tx.resolve_quarantine(System.zendesk, "7") == 2
        assert tx.quarantined() == []
        assert len(tx.quarantined(include_resolved=True)) == 2
    assert again.id == first.id and again.count == 2 and again.first_seen == T0
    assert again.last_seen == T0 + timedelta(seconds=60)
    assert "hunter2" not in again.payload_excerpt and "tok-SECRET" not in again.payload_excerpt
    assert '"status": null' in again.payload_excerpt
    assert other.id != first.id and other.payload_excerpt == "token=*** broken"
    assert [e.id for e in listed] == [other.id, first.id]


def test_runs_are_recorded_at_start_and_updated_at_finish(store):
    with store.transaction() as tx:
        started = tx.record_run("run-1", System.jira, T0)
        tx.record_run("run-0", System.zendesk, T0 - timedelta(minutes=2), T0 - timedelta(minutes=1), {"pulled": 1})
        finished = tx.record_run("run-1", System.jira, T0, T0 + timedelta(seconds=40), {"pulled": 12, "escalated": 2})
        assert [r.run_id for r in tx.runs()] == ["run-0", "run-1"]
        assert [r.run_id for r in tx.runs(system=System.jira, since=T0)] == ["run-1"]
    assert started.finished_at is None and started.counts == {}
    assert finished.finished_at == T0 + timedelta(seconds=40) and finished.counts == {"pulled": 12, "escalated": 2}


def test_ticket_records_for_metrics(store):
    with store.transaction() as tx:
        tx.upsert_ticket(make_ticket("1", updated_at=T0 - timedelta(days=3)), "enterprise", None, None)
        tx.upsert_ticket(make_ticket("2", updated_at=T0), "standard", None, None)
        tx.upsert_ticket(make_ticket("3", system=System.jira, updated_at=T0), None, None, None)
        assert [r.ticket_id for r in tx.ticket_records()] == ["3", "1", "2"]
        assert [r.ticket_id for r in tx.ticket_records(System.zendesk, updated_since=T0 - timedelta(days=1))] == ["2"]


def test_sqlite_writers_queue_instead_of_failing(tmp_path):
    url = f"sqlite:///{tmp_path}/state.db"
    first, second = Store.open(url), Store.open(url)
    holding, errors = threading.Event(), []

    def hold_the_write_lock() -> None:
        with first.transaction() as tx:
            tx.set_cursor(System.zendesk, "tickets", "from-first")
            holding.set()
            time.sleep(0.3)

    worker = threading.Thread(target=hold_the_write_lock)
    worker.start()
    holding.wait(5)
    try:
        with second.transaction() as tx:  # waits for the first writer, then sees its commit
            assert tx.get_cursor(System.zendesk, "tickets") == "from-first"
            tx.set_cursor(System.zendesk, "tickets", "from-second")
    except Exception as exc:  # pragma: no cover - reported below
        errors.append(exc)
    worker.join()
    assert errors == []
    with first.transaction() as tx:
        assert tx.get_cursor(System.zendesk, "tickets") == "from-second"


def test_same_second_with_another_token_is_a_new_version(store):
    """A person's edit in the same second as deskbridge's write (seconds-resolution helpdesks) is not dropped."""
    with store.transaction() as tx:
        tx.upsert_ticket(make_ticket(updated_at=T0, concurrency_token="7"), None, None, None)
        assert tx.is_duplicate(System.zendesk, "101", T0, "7") is True
        assert tx.is_duplicate(System.zendesk, "101", T0, "8") is False
        assert tx.is_duplicate(System.zendesk, "101", T0 - timedelta(seconds=1), "8") is True


def test_a_salesforce_length_segment_is_stored(store):
    long_segment = "Enterprise – " + "x" * 240  # picklist values reach 255 characters
    with store.transaction() as tx:
        tx.upsert_ticket(make_ticket(), "gold", long_segment, None)
        assert tx.ticket_record(System.zendesk, "101").segment == long_segment
