"""The handoff note's history against the sandbox: whole, and read with as few calls as that allows.

A Zendesk pull carries only the activity inside its event window. An escalating
ticket older than the window is read whole (its audits) so the note tells what was
tried; a ticket whose stored snapshot already reaches the window is not read again.
Real pipeline, real zenpy, the Zendesk emulator; each test has its own state store.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from cli.demo import ROOT
from core.markers import find_markers
from core.model import System
from core.settings import Settings
from flows.pipeline import run_sync
from flows.wiring import build_context

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(mapping_dir=ROOT / "mapping", state_url=f"sqlite:///{tmp_path / 'state.db'}",
                    initial_lookback_days=14)


def _sync(settings: Settings, admin) -> None:
    admin.advance(2)  # exports hold back the current second
    now = admin.now()
    ctx = build_context(System.zendesk, settings, now)
    try:
        run_sync(ctx, now, str(uuid.uuid4()))
    finally:
        ctx.store.close()


def _users(sandbox, role: str) -> list[str]:
    return [u.key for u in sandbox.world.users.values() if u.role == role]


def _note(admin, ticket_id: str) -> str:
    notes = [c["body"] for c in admin.view("zendesk", ticket_id)["comments"]
             if find_markers(c["body"]) and not c["public"]]
    assert len(notes) == 1, notes
    return notes[0]


def _audit_reads(admin, ticket_id: str, since: int) -> int:
    return sum(f"/tickets/{ticket_id}/audits" in r["path"] for r in admin.requests("zendesk", since=since))


def test_a_ticket_older_than_the_pull_window_is_read_whole_for_its_note(settings, sandbox, sandbox_admin):
    now = sandbox_admin.now()
    created = now - timedelta(days=20)  # the 14-day look-back starts after it
    agent, customer = _users(sandbox, "agent")[0], _users(sandbox, "customer")[0]
    ticket_id = sandbox_admin.create_ticket(
        "zendesk", "Invoices fail to sync", description="Since Monday no invoice reaches our ERP.",
        requester=customer, status="open", created_at=created, updated_at=created + timedelta(hours=1),
        comments=[{"author": agent, "role": "agent", "public": False, "at": created + timedelta(hours=1),
                   "body": "Restarted the ERP connector for this account, no change."}],
    )  # fmt: skip
    sandbox_admin.human("zendesk", ticket_id, "comment", body="This is now a full outage for us.", public=True)
    mark = sandbox_admin.mark()

    _sync(settings, sandbox_admin)

    assert _audit_reads(sandbox_admin, ticket_id, mark) == 1  # the window lacked its first weeks
    assert "Restarted the ERP connector" in _note(sandbox_admin, ticket_id)


def test_a_stored_ticket_escalating_later_needs_no_full_read(settings, sandbox, sandbox_admin):
    agent = _users(sandbox, "agent")[0]
    ticket_id = sandbox_admin.create_ticket("zendesk", "Reports load slowly", description="Dashboards take a minute.")
    sandbox_admin.human("zendesk", ticket_id, "comment", body="Cleared the report cache, watching it.",
                        public=False, author=agent)
    sandbox_admin.advance(600)  # another ticket, changed later, carries the cursor well past this one
    sandbox_admin.create_ticket("zendesk", "Password reset link expired", description="Please send a new one.")
    _sync(settings, sandbox_admin)  # stored, nothing to escalate yet
    sandbox_admin.advance(60)
    sandbox_admin.human("zendesk", ticket_id, "comment", body="Now the whole portal is down: an outage.", public=True)
    mark = sandbox_admin.mark()

    _sync(settings, sandbox_admin)

    # The snapshot's version is older than this run's event window, but it was stored after the
    # cursor had passed it: nothing happened to the ticket in between, so its history is complete.
    assert _audit_reads(sandbox_admin, ticket_id, mark) == 0
    note = _note(sandbox_admin, ticket_id)
    assert "Cleared the report cache" in note  # from the snapshot, merged with the pull
