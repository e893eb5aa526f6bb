"""``deskbridge replay`` over a store: the tables and JSON carry the replay of test_replay's history."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_builders import T0, at
from test_replay import CANDIDATE_RULES, IN_FORCE_RULES, store_with_history
from typer.testing import CliRunner

from cli.main import app
from core.replay_models import ReplayReport
from engine_builders import policy as write_policy

runner = CliRunner()


@pytest.fixture
def options(tmp_path: Path) -> list[str]:
    (tmp_path / "mapping").mkdir()
    (tmp_path / "candidate").mkdir()
    write_policy(tmp_path / "mapping", IN_FORCE_RULES)
    write_policy(tmp_path / "candidate", CANDIDATE_RULES)
    store_with_history(tmp_path / "state.db").close()
    return ["--since", T0.isoformat(), "--until", at(600).isoformat(), "--mapping-dir", str(tmp_path / "mapping"),
            "--state-url", f"sqlite:///{tmp_path / 'state.db'}"]  # fmt: skip


def test_json_report_of_a_candidate_policy(options, tmp_path):
    result = runner.invoke(app, ["replay", *options, "--policy", str(tmp_path / "candidate" / "policy.yaml"),
                                 "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = ReplayReport.model_validate_json(result.output)
    assert report.summary.changes == {"new": 1, "dropped": 0, "earlier": 0, "later": 1, "same": 0}
    assert (report.summary.logged_escalated, report.summary.agreement.both) == (1, 1)


def test_tables_name_what_would_escalate_and_what_changes(options, tmp_path):
    result = runner.invoke(app, ["replay", *options, "--policy", str(tmp_path / "candidate" / "policy.yaml")],
                           env={"COLUMNS": "220"})  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.output
    assert "3 tickets" in out and "nothing was written" in out
    assert "Would escalate 2 tickets" in out and "1 new, 0 dropped, 0 earlier, 1 later" in out
    # ticket #1: candidate at +45 (09:45), 15 minutes before its first-response breach at 10:00
    line = next(row for row in out.splitlines() if "│ #1 " in row and "Would" not in row)
    assert "2025-03-03 09:45 UTC" in line and "15m before" in line
    assert "keyword:outage" in out and "+15 min" in out
    assert "limit: Proposals are never approved" in out


def test_policy_in_force_alone_has_no_difference_table(options):
    result = runner.invoke(app, ["replay", *options], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    assert "the policy in force" in result.output and "Difference from the policy in force" not in result.output
    assert "1 agree, 0 only logged, 0 only replayed, median shift -1 min" in result.output


def test_a_broken_candidate_policy_is_reported_with_its_line(options, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((tmp_path / "candidate" / "policy.yaml").read_text().replace("percent_used: 75", "percent_used: 175"))
    result = runner.invoke(app, ["replay", *options, "--policy", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:" in result.output and "percent_used" in result.output
