"""Partitioned runs of the real pipeline against the session sandbox: one store, N runs, no ticket shared.

The partitions run one after the other here (the Prefect-server test runs them on two workers at once);
what is checked is the split itself: which run decided, escalated, re-checked by time and pushed what.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.markers import find_markers
from core.model import System
from core.settings import load_settings
from core.store import OutboxStatus, Store
from flows.partition import WHOLE, Partition
from flows.pipeline import SyncContext, evaluate_batch, record_batch, run_sync
from flows.summary import RunSummary
from flows.wiring import build_context

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
HALVES = [Partition(0, 2), Partition(1, 2)]


@pytest.fixture
def state_url(tmp_path, monkeypatch, sandbox) -> str:
    monkeypatch.setenv("DESKBRIDGE_MAPPING_DIR", str(ROOT / "mapping"))
    return f"sqlite:///{tmp_path / 'state.db'}"


def _context(system: str, state_url: str, now: datetime, partition: Partition) -> SyncContext:
    ctx = build_context(System(system), load_settings(), now, store=Store.open(state_url, clock=lambda: now))
    ctx.partition = partition
    return ctx


def _run(system: str, state_url: str, now: datetime, partition: Partition, run_id: str) -> RunSummary:
    ctx = _context(system, state_url, now, partition)
    try:
        return run_sync(ctx, now, run_id)
    finally:
        ctx.store.close()


def _now(admin) -> datetime:
    admin.advance(2)  # exports hold back the current second
    return admin.now()


def _decided_by(state_url: str, system: System) -> dict[str, set[str]]:
    """run id -> ticket ids it decided."""
    with Store.open(state_url) as store, store.transaction() as tx:
        decisions = tx.decisions_between(datetime(2000, 1, 1, tzinfo=UTC), system=system)
    runs: dict[str, set[str]] = {}
    for d in decisions:
        runs.setdefault(d.run_id, set()).add(d.ticket_id)
    return runs


def _one_per_half(admin, system: str, subject: str, limit: int = 16, **fields) -> dict[int, str]:
    """Create tickets until each half owns one; the first of each half, by partition index."""
    found: dict[int, str] = {}
    for n in range(limit):
        ticket = admin.create_ticket(system, f"{subject} #{n}", **fields)
        found.setdefault(next(p.index for p in HALVES if p.owns(ticket)), ticket)
        if len(found) == len(HALVES):
            return found
    pytest.fail(f"{limit} new {system} tickets all fell into one half: {found}")


def _notes(view: dict) -> list[dict]:
    return [c for c in view["comments"] if find_markers(c["body"]) and not c["public"]]


def _account(sandbox, tier: str) -> str:
    return next(a.id for a in sandbox.world.accounts if a.tier_value == tier)


def test_halves_decide_disjoint_owned_sets_that_together_cover_every_pulled_ticket(state_url, sandbox, sandbox_admin):
    outages = _one_per_half(
        sandbox_admin, "zendesk", "Checkout outage", description="Payments down everywhere: an outage.",
        priority="high", account_id=_account(sandbox, "Standard Support"),
    )  # fmt: skip
    now = _now(sandbox_admin)
    probe = _context("zendesk", state_url, now, WHOLE)
    try:
        pulled = {t.id for page in probe.connector.pull_changes(None, start=probe.start) for t in page.tickets}
    finally:
        probe.store.close()

    summaries = [_run("zendesk", state_url, now, half, f"half-{half.index}") for half in HALVES]

    decided = _decided_by(state_url, System.zendesk)
    assert not decided["half-0"] & decided["half-1"]
    assert decided["half-0"] | decided["half-1"] == pulled
    for half in HALVES:
        assert all(half.owns(t) for t in decided[f"half-{half.index}"])
    assert sum(s.pulled for s in summaries) == len(pulled)
    for ticket in outages.values():
        assert len(_notes(sandbox_admin.view("zendesk", ticket))) == 1
    with Store.open(state_url) as store, store.transaction() as tx:
        assert tx.get_cursor(System.zendesk, "tickets") is None  # each half commits its own stream
        assert all(tx.get_cursor(System.zendesk, h.cursor_stream("tickets")) for h in HALVES)


def test_each_half_rechecks_by_time_only_its_own_untouched_tickets(state_url, sandbox, sandbox_admin):
    quiet = _one_per_half(
        sandbox_admin, "jira", "SSO login loop", description="Every login loops back.", priority="urgent",
        account_id=_account(sandbox, "Premier Support"),
    )  # fmt: skip
    now = _now(sandbox_admin)
    for half in HALVES:
        _run("jira", state_url, now, half, f"first-{half.index}")
    assert not any(_notes(sandbox_admin.view("jira", t)) for t in quiet.values())

    sandbox_admin.advance(12 * 60)  # nobody touches them: 80 % of the 15 min first-response target is used
    now = _now(sandbox_admin)
    second = {half.index: _run("jira", state_url, now, half, f"second-{half.index}") for half in HALVES}

    decided = _decided_by(state_url, System.jira)
    for index, ticket in quiet.items():
        assert second[index].time_based >= 1
        assert ticket in decided[f"second-{index}"] and ticket not in decided[f"second-{1 - index}"]
        assert len(_notes(sandbox_admin.view("jira", ticket))) == 1
    for half in HALVES:
        assert all(half.owns(t) for t in decided[f"second-{half.index}"])


def test_leftover_plans_are_pushed_only_by_the_half_that_owns_the_ticket(state_url, sandbox, sandbox_admin):
    ticket = sandbox_admin.create_ticket(
        "zendesk", "Region down", description="A full outage of the EU region.", priority="high",
        account_id=_account(sandbox, "Standard Support"),
    )  # fmt: skip
    owner = next(h for h in HALVES if h.owns(ticket))
    other = next(h for h in HALVES if h is not owner)
    now = _now(sandbox_admin)
    crashed = _context("zendesk", state_url, now, WHOLE)  # a run that died between commit and push
    try:
        fresh, _ = crashed.connector.fetch_tickets([ticket])
        summary = RunSummary(run_id="crashed", system="zendesk", now=now)
        record_batch(crashed, evaluate_batch(crashed, fresh, now), now, summary)  # committed, never pushed
    finally:
        crashed.store.close()

    def status() -> list[OutboxStatus]:
        with Store.open(state_url) as store, store.transaction() as tx:
            return [e.status for e in tx.outbox_for_ticket(System.zendesk, ticket)]

    assert status() == [OutboxStatus.pending]
    _run("zendesk", state_url, now, other, "other-half")
    assert status() == [OutboxStatus.pending] and not _notes(sandbox_admin.view("zendesk", ticket))
    _run("zendesk", state_url, now, owner, "owning-half")
    assert status() != [OutboxStatus.pending] and all(s.landed for s in status())
    assert len(_notes(sandbox_admin.view("zendesk", ticket))) == 1
