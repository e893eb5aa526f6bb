"""Recovery end to end: a sync killed after its write landed, and a ticket whose payload cannot be used.

Real processes, real clients, the sandbox; no mocks of deskbridge code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from pysnc import ServiceNowClient

from core.markers import find_markers
from core.model import System
from core.settings import load_settings
from core.store import Store
from flows.pipeline import run_sync
from flows.wiring import build_context

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SYNC_ONE = """
import sys
from datetime import datetime
from core.model import System
from core.settings import load_settings
from flows.pipeline import run_sync
from flows.wiring import build_context
now = datetime.fromisoformat(sys.argv[2])
ctx = build_context(System(sys.argv[1]), load_settings(), now)
run_sync(ctx, now, "killed-run")
"""


@pytest.fixture
def state_url(tmp_path, monkeypatch, sandbox):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("DESKBRIDGE_STATE_URL", url)
    monkeypatch.setenv("DESKBRIDGE_MAPPING_DIR", os.path.join(ROOT, "mapping"))
    return url


def _standard_account(sandbox) -> str:
    return next(a.id for a in sandbox.world.accounts if a.tier_value == "Standard Support")


def _notes(view: dict) -> list[dict]:
    return [c for c in view["comments"] if find_markers(c["body"]) and not c["public"]]


def _run(system: System, now) -> dict:
    ctx = build_context(system, load_settings(), now)
    try:
        return run_sync(ctx, now, f"restart-{system.value}").model_dump(mode="json")
    finally:
        ctx.store.close()


def test_sync_killed_after_its_write_landed_then_restarted_posts_no_duplicate(state_url, sandbox, sandbox_admin):
    ticket_id = sandbox_admin.create_ticket(
        "zendesk", "Outage of the reporting API", description="A total outage since 08:00.",
        account_id=_standard_account(sandbox),
    )  # fmt: skip
    sandbox_admin.advance(2)
    now = sandbox_admin.now()
    mark = sandbox_admin.mark()
    # update_many applies at submit; hold the job-status poll so the process dies before it records the outcome.
    sandbox_admin.add_fault("latency", system="zendesk", method="GET", path="job_statuses", count=1, delay_ms=30_000)
    process = subprocess.Popen([sys.executable, "-c", SYNC_ONE, "zendesk", now.isoformat()], cwd=ROOT,
                               env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not _notes(sandbox_admin.view("zendesk", ticket_id)):
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "the sync never wrote its note"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)  # the note is in Zendesk; deskbridge has not seen the answer
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        sandbox_admin.clear_faults()

    with Store.open(state_url) as store, store.transaction() as tx:
        [entry] = tx.outbox_for_ticket(System.zendesk, ticket_id)
    assert entry.status.value == "pending"  # recorded before the push, outcome never seen

    sandbox_admin.advance(2)
    summary = _run(System.zendesk, sandbox_admin.now())

    view = sandbox_admin.view("zendesk", ticket_id)
    assert len(_notes(view)) == 1  # the restart found its marker instead of writing again
    notes_written = [w for w in sandbox_admin.writes("zendesk", since=mark, actor="api")
                     if w["ticket_id"] == ticket_id and w["kind"] == "comment"]
    assert len(notes_written) == 1
    with Store.open(state_url) as store, store.transaction() as tx:
        [entry] = tx.outbox_for_ticket(System.zendesk, ticket_id)
    assert entry.status.value == "already_applied"
    assert summary["writes"].get("already_applied", 0) >= 1


def test_unusable_ticket_is_quarantined_while_the_rest_escalate_and_is_picked_up_once_fixed(
    state_url, sandbox, sandbox_admin
):
    account = _standard_account(sandbox)
    good = sandbox_admin.create_ticket("servicenow", "Payments outage", description="An outage for everyone.",
                                       account_id=account)
    bad = sandbox_admin.create_ticket("servicenow", "Database outage", description="Another outage.",
                                      account_id=account)
    env = sandbox.env()
    client = ServiceNowClient(env["DESKBRIDGE_SERVICENOW_INSTANCE"],
                              (env["DESKBRIDGE_SERVICENOW_USERNAME"], env["DESKBRIDGE_SERVICENOW_PASSWORD"]))
    record = client.GlideRecord("incident")
    assert record.get(bad)
    record.state = "8"  # "Canceled": a state an admin added that mapping/servicenow.yaml does not map
    record.update()
    try:
        sandbox_admin.advance(2)
        summary = _run(System.servicenow, sandbox_admin.now())
    finally:
        record.state = "2"  # the admin fixes it: In Progress
        record.update()

    assert sandbox_admin.view("servicenow", good)["group"] == "tier3"
    assert not _notes(sandbox_admin.view("servicenow", bad))
    [quarantined] = [q for q in summary["quarantined"] if q["ticket_id"] == bad]
    assert quarantined["field"] == "state" and "'8'" in quarantined["reason"]
    with Store.open(state_url) as store, store.transaction() as tx:
        assert [q.ticket_id for q in tx.quarantined(System.servicenow)] == [bad]

    sandbox_admin.advance(2)
    _run(System.servicenow, sandbox_admin.now())  # nothing was lost: the fixed ticket comes back and escalates
    view = sandbox_admin.view("servicenow", bad)
    assert view["group"] == "tier3" and len(_notes(view)) == 1
    with Store.open(state_url) as store, store.transaction() as tx:
        assert tx.quarantined(System.servicenow) == []  # resolved once it normalized again


def test_due_ticket_returned_unchanged_by_an_overlapping_pull_still_gets_its_time_check(
    state_url, sandbox, sandbox_admin
):
    premier = next(a.id for a in sandbox.world.accounts if a.tier_value == "Premier Support")
    ticket_id = sandbox_admin.create_ticket(
        "servicenow", "Bulk import stuck", description="Nothing imports since 08:00.", priority="urgent",
        account_id=premier,
    )  # fmt: skip
    sandbox_admin.advance(2)
    first = _run(System.servicenow, sandbox_admin.now())
    assert f"servicenow:{ticket_id}" not in {e["ticket"] for e in first["escalations"]}

    sandbox_admin.advance(11 * 60 + 20)  # past 75% of the 15 min first-response target; nobody touched it
    second = _run(System.servicenow, sandbox_admin.now())

    assert second["duplicates"] >= 1  # ServiceNow's overlap window hands the unchanged ticket back
    assert f"servicenow:{ticket_id}" in {e["ticket"] for e in second["escalations"]}
    assert "sla_at_risk" in sandbox_admin.view("servicenow", ticket_id)["tags"]
