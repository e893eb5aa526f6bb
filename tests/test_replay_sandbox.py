"""Replay against a store filled from the sandbox: the helpdesks receive nothing while it runs.

The store is filled by the real sync pipeline (flows.pipeline.run_sync with the real connectors and clients, no
Prefect needed) over the session sandbox, twice three hours apart so that time-based escalations are logged too.
Then ``deskbridge replay`` tries a candidate policy (the shipped one without the keyword rule and with the
at-risk threshold lowered from 75% to 50%) while the sandbox's request and write logs are watched.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.main import app
from core.model import System
from core.replay_models import ReplayReport
from core.settings import load_settings
from core.store import Store
from core.store.tables import metadata
from flows.pipeline import run_sync
from flows.wiring import build_context

pytest_plugins = ["sandbox_fixtures"]
ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = ("zendesk", "servicenow", "jira")


def candidate_policy(path: Path) -> Path:
    """The shipped policy without ``critical_keywords`` and with ``sla_at_risk`` at 50% instead of 75%."""
    text = (ROOT / "mapping" / "policy.yaml").read_text()
    start, end = text.index("  - id: critical_keywords"), text.index("  - id: billing_specialists")
    edited = text[:start] + text[end:]
    at_risk = "targets: [first_response, next_response, resolution], percent_used: 75}"
    assert at_risk in edited
    path.write_text(edited.replace(at_risk, at_risk.replace("75", "50"), 1))
    return path


def row_counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as connection:
        return {name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in metadata.tables.items()}  # fmt: skip


def sync_all(store: Store, admin, run: str) -> None:
    admin.advance(2)  # exports hold back the current second
    now = admin.now()
    for system in SYSTEMS:
        run_sync(build_context(System(system), load_settings(), now, store=store), now, f"{run}-{system}")


def test_replay_over_the_sandbox_history_sends_nothing_to_any_helpdesk(sandbox, sandbox_admin, tmp_path, monkeypatch):
    monkeypatch.setenv("DESKBRIDGE_MAPPING_DIR", str(ROOT / "mapping"))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    outage = sandbox_admin.create_ticket("zendesk", "Checkout outage in all stores",
                                         description="Card payments fail everywhere: an outage.", priority="normal")
    with Store.open(url, clock=sandbox_admin.now) as store:
        sync_all(store, sandbox_admin, "first")
        sandbox_admin.advance(3 * 3600)
        sync_all(store, sandbox_admin, "second")
        until = sandbox_admin.advance(1)
        before = row_counts(store)
    assert before["decisions"] > 0 and before["outbox"] > 0  # the sync really escalated and wrote

    mark = sandbox_admin.mark()
    result = CliRunner().invoke(app, [
        "replay", "--since", "30d", "--until", until.isoformat(), "--policy", str(candidate_policy(tmp_path / "c.yaml")),
        "--mapping-dir", str(ROOT / "mapping"), "--state-url", url, "--format", "json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output

    # Nothing reached any emulator while the replay ran: no request at all, so no write either.
    assert sandbox_admin.requests(since=mark) == []
    assert sandbox_admin.writes(since=mark) == []
    with Store.open(url) as store:
        assert row_counts(store) == before  # and nothing was written to the store

    report = ReplayReport.model_validate_json(result.stdout[result.stdout.index("{"):])
    s = report.summary
    assert s.tickets >= 30 and s.logged_escalated >= 5
    # The replay of the policy in force finds every escalation deskbridge really made.
    assert (s.agreement.only_logged, s.agreement.both) == (0, s.logged_escalated)
    diff = {d.ticket_id: d for d in report.diff}
    assert diff[outage].change == "dropped" and "keyword:outage" in diff[outage].in_force_reasons
    assert s.changes["dropped"] >= 1
    for d in report.diff:
        # Gone or later: the keyword rule no longer fires. New or earlier: the lower at-risk threshold.
        if d.change in ("dropped", "later"):
            assert any(code.startswith("keyword:") for code in d.in_force_reasons), d
        if d.change in ("new", "earlier"):
            assert any(code.startswith("at_risk:") for code in d.candidate_reasons), d
