"""``deskbridge metrics`` on the hand-computed history of test_metrics: table, JSON and CSV agree with it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from test_metrics import END, POLICY_YAML, populate
from typer.testing import CliRunner

from cli.main import app
from core.metrics_tables import COLUMNS, duration, to_markdown
from core.metrics_models import MetricsReport
from core.store import Store

runner = CliRunner()
WINDOW_ARGS = ["--since", "2026-03-02", "--until", END.isoformat()]


@pytest.fixture
def setup(tmp_path: Path) -> list[str]:
    """A populated store and a mapping dir holding the test policy; returns the common options."""
    (tmp_path / "mapping").mkdir()
    (tmp_path / "mapping" / "policy.yaml").write_text(POLICY_YAML)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with Store.open(url, clock=lambda: END) as store:
        populate(store)
    return [*WINDOW_ARGS, "--mapping-dir", str(tmp_path / "mapping"), "--state-url", url]


def run(*args: str):
    return runner.invoke(app, ["metrics", *args], env={"COLUMNS": "180"})


def test_json_carries_the_hand_computed_figures(setup):
    result = run(*setup, "--format", "json")
    assert result.exit_code == 0, result.output
    report = MetricsReport.model_validate_json(result.output)
    window = report.scope("all").window
    assert (window.active, window.escalated, window.escalation_rate) == (7, 4, 0.5714)
    assert [p.label for p in report.scope("all").periods] == ["2026-03-02", "2026-03-03", "2026-03-04"]


def test_csv_has_one_row_per_scope_and_period(setup):
    result = run(*setup, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert tuple(rows[0]) == COLUMNS
    # 4 scopes (all + 3 helpdesks) x (window + 3 days)
    assert len(rows) == 16
    window = next(r for r in rows if r["scope"] == "all" and r["period"] == "window")
    assert (window["active"], window["escalated"], window["escalation_rate"]) == ("7", "4", "0.5714")
    tuesday = next(r for r in rows if r["scope"] == "all" and r["period"] == "2026-03-03")
    assert (tuesday["tte_median_min"], tuesday["breach_rate_first_response"]) == ("742.5", "0.25")


def test_table_shows_rates_durations_breaches_and_reasons(setup):
    result = run(*setup)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "57.1%" in out  # 4 of 7 escalated
    assert "2h 30m / 8h 00m" in out  # business time to escalate, median 150 min / p90 480 min
    assert "2 of 3" in out  # at-risk escalations still breached
    assert "28.6% (2/7)" in out  # first_response breach rate over the window
    assert "at_risk" in out and "outage" in out and "acct-1" in out
    assert "periodic_update" not in out  # no SLA row sets it
    tuesday = next(line for line in out.splitlines() if "│ all" in line and "2026-03-03" in line)
    assert tuesday.rstrip(" │").endswith("at_risk")  # Tuesday ties 1-1-1 (at_risk, breached, keyword): first name



def test_filters_reach_the_report(setup):
    result = run(*setup, "--priority", "normal", "--format", "json")
    window = json.loads(result.output)["scopes"][0]["window"]
    assert (window["active"], window["escalated"]) == (3, 1)
    result = run(*setup, "--reason", "sla_breached", "--system", "jira", "--format", "json")
    report = json.loads(result.output)
    assert [s["scope"] for s in report["scopes"]] == ["all", "jira"]
    assert report["scopes"][0]["window"]["escalated"] == 1


@pytest.mark.parametrize("args, message", [
    (["--system", "freshdesk"], "--system 'freshdesk' is not one of zendesk, servicenow, jira"),
    (["--priority", "critical"], "--priority 'critical' is not one of low, normal, high, urgent"),
    (["--since", "yesterday"], "'yesterday' is not a duration"),
])  # fmt: skip
def test_bad_options_exit_2_naming_the_problem(setup, args, message):
    result = run(*setup, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_missing_policy_is_reported(tmp_path):
    result = run(*WINDOW_ARGS, "--mapping-dir", str(tmp_path), "--state-url", f"sqlite:///{tmp_path / 's.db'}")
    assert result.exit_code == 2 and "no policy file" in result.output


def test_markdown_summary(setup, tmp_path):
    report = MetricsReport.model_validate_json(run(*setup, "--format", "json").output)
    text = to_markdown(report)
    assert "| all | 7 | 4 | 57.1% | 2h 30m / 8h 00m | 42.9% | 2 of 3 |" in text
    assert "| first_response | 2 | 7 | 28.6% |" in text
    assert "| trigger | at_risk | 3 | 1 | 1 | +0 |" in text
    assert (duration(None), duration(45), duration(1500)) == ("-", "45m", "1d 1h")
