"""``deskbridge explain`` on the recorded real payloads, through the real normalizers and mappings."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from cli.explain import split_payload
from cli.main import app
from core.decision import Decision
from core.model import System

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def explain(*args: str):
    return runner.invoke(app, ["explain", *args], catch_exceptions=False)


def test_explain_a_zendesk_ticket_prints_the_decision_and_why(payloads_dir):
    result = explain("--payload", str(payloads_dir / "zendesk" / "ticket_show_captured.json"), "--system", "zendesk",
                     "--account-tier", "premier", "--now", "2026-01-05T15:00:00Z",
                     "--mapping-dir", str(ROOT / "mapping"))
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "#4017 (zendesk) - ESCALATE" in text
    assert "because [sla_breached] breached:first_response" in text
    assert "#4017 (zendesk, premier tier, normal, new) escalates (level tier2) by rule sla_breached" in text
    assert "next check: 2026-01-05 17:00 UTC" in text


def test_explain_json_is_a_decision(payloads_dir):
    result = explain("--payload", str(payloads_dir / "jira" / "issue_get_v3_captured.json"), "--system", "jira",
                     "--account-tier", "business", "--now", "2026-05-06T12:00:00Z", "--json")
    assert result.exit_code == 0, result.output
    decision = Decision.model_validate_json(result.output)
    assert decision.ticket_ref == "jira:10002"
    assert decision.escalate and decision.rule_ids == ("sla_breached", "stalled")
    assert decision.inputs.tier == "business" and decision.inputs.tier_source == "account"


def test_explain_without_an_account_uses_the_default_tier(payloads_dir):
    result = explain("--payload", str(payloads_dir / "servicenow" / "incident_table_plain_values.json"),
                     "--system", "servicenow", "--now", "2025-06-02T12:00:00Z", "--json")
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    assert decision["inputs"]["tier"] == "standard" and decision["inputs"]["tier_source"] == "default"


def test_a_page_is_split_into_tickets_and_a_bundle_into_ticket_and_side_lists():
    page = {"tickets": [{"id": 1}, {"id": 2}], "next_page": None}
    assert split_payload(System.zendesk, page) == [({"id": 1}, {}), ({"id": 2}, {})]
    bundle = {"ticket": {"id": 1}, "audits": [{"id": 9}]}
    assert split_payload(System.zendesk, bundle) == [({"ticket": {"id": 1}}, {"audits": [{"id": 9}]})]
    snow = {"result": {"sys_id": "x"}, "journal": [], "slas": [{"a": 1}]}
    assert split_payload(System.servicenow, snow) == [({"result": {"sys_id": "x"}}, {"journal": [], "slas": [{"a": 1}]})]


def test_an_unusable_payload_exits_2_naming_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"ticket": "not a ticket"}')
    result = explain("--payload", str(bad), "--system", "zendesk", "--now", "2025-01-01T00:00:00Z")
    assert result.exit_code == 2
    assert "cannot be normalized" in result.output and "bad.json" in result.output


def test_a_broken_policy_exits_1_with_file_and_line(tmp_path, payloads_dir):
    mapping = tmp_path / "mapping"
    shutil.copytree(ROOT / "mapping", mapping)
    policy = mapping / "policy.yaml"
    policy.write_text(policy.read_text().replace("route: {to: group, group: tier2}", "route: {to: group, group: tier9}"))
    result = explain("--payload", str(payloads_dir / "zendesk" / "ticket_show_captured.json"), "--system", "zendesk",
                     "--mapping-dir", str(mapping), "--now", "2025-01-01T00:00:00Z")
    line = policy.read_text().splitlines().index("    route: {to: group, group: tier9}") + 1
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{mapping}/policy.yaml:{line}: rules[8].route.group: 'tier9' is not one of the policy's groups: "
        "l1, tier2, tier3, security, billing, management"
    ]


def test_the_installed_command_runs(payloads_dir):
    completed = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "deskbridge"), "explain", "--payload",
         str(payloads_dir / "zendesk" / "ticket_show_captured.json"), "--system", "zendesk", "--now",
         "2026-01-05T15:00:00Z", "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["ticket_ref"] == "zendesk:4017"
