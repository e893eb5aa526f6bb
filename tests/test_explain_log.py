"""deskbridge explain SYSTEM:ID answers from the decision log and the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from typer.testing import CliRunner

from cli.main import app
from core.actions import AddTags, InternalNote, WriteOutcome, WritePlan, WriteResult
from core.model import Priority, Status, System, Ticket
from core.store import Store
from core.store.records import DecisionRecord

AT = datetime(2026, 3, 2, 9, 1, tzinfo=UTC)


def _store_with_one_escalation(url: str) -> None:
    ticket = Ticket(system=System.jira, id="10012", key="SUP-12", status=Status.open, native_status="Open",
                    priority=Priority.high, created_at=AT, updated_at=AT, concurrency_token="t1")
    plan = WritePlan(system=System.jira, ticket_id="10012", expected_token="t1", idempotency_key="jr-l1-abcdef123456",
                     actions=(AddTags(tags=("critical_keyword",)), InternalNote(body="note")))
    with Store.open(url) as store, store.transaction() as tx:
        tx.upsert_ticket(ticket, "standard", None, None)
        tx.outbox_add(plan)
        tx.outbox_mark(WriteResult(system=System.jira, ticket_id="10012", idempotency_key=plan.idempotency_key,
                                   outcome=WriteOutcome.applied))
        tx.record_decision(DecisionRecord(
            system=System.jira, ticket_id="10012", evaluated_at=AT, policy_version="1", policy_hash="p",
            escalate=True, level=1, rule_ids=("critical_keywords",),
            reasons=[{"code": "keyword:data leak", "rule_id": "critical_keywords", "text": 'keywords "data leak" matched'}],
            inputs={"mode": "auto", "skipped_because": ["rule stalled: cooldown until later"]},
            explanation="SUP-12 escalates to security.", idempotency_key=plan.idempotency_key,
        ))  # fmt: skip


def test_explain_by_key_shows_the_decision_the_reasons_and_the_write(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _store_with_one_escalation(url)
    for ref in ("jira:SUP-12", "jira:10012"):
        result = CliRunner().invoke(app, ["explain", ref, "--state-url", url], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        out = result.output
        assert "ESCALATE, level 1, rules critical_keywords" in out
        assert 'because keywords "data leak" matched' in out
        assert "not done: rule stalled: cooldown until later" in out
        assert "SUP-12 escalates to security." in out
        assert "jr-l1-abcdef123456" in out and "applied" in out


def test_explain_unknown_ticket_or_system_fails_clearly(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _store_with_one_escalation(url)
    missing = CliRunner().invoke(app, ["explain", "zendesk:999", "--state-url", url], env={"COLUMNS": "200"})
    assert missing.exit_code == 1 and "no decision recorded for zendesk:999" in missing.output
    wrong = CliRunner().invoke(app, ["explain", "freshdesk:1", "--state-url", url], env={"COLUMNS": "200"})
    assert wrong.exit_code == 2 and "is not one of: zendesk, servicenow, jira" in wrong.output
