"""``deskbridge check`` against the sandbox: real clients, real HTTP, read calls only."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

MAPPING = Path(__file__).resolve().parent.parent / "mapping"
runner = CliRunner()


@pytest.fixture
def mapping_copy(tmp_path: Path) -> Path:
    target = tmp_path / "mapping"
    shutil.copytree(MAPPING, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def test_every_system_connects_and_the_shipped_mapping_matches(sandbox, fresh_logs):
    result = runner.invoke(app, ["check", "--mapping-dir", str(MAPPING)])
    assert result.exit_code == 0, result.output
    for system in ("zendesk", "servicenow", "jira", "salesforce"):
        assert re.search(rf"^{system}: ok: connected as .+; the mapping matches$", result.output, re.M), result.output
    assert "deskbridge@acme.test" in result.output  # Zendesk and Jira name the integration user
    assert sandbox.ctx.log.query_writes() == []
    requests = sandbox.ctx.log.query_requests()
    assert {r["system"] for r in requests} == {"zendesk", "servicenow", "jira", "salesforce"}
    # read calls only; the one POST is Salesforce's SOAP login
    assert [(r["system"], r["method"]) for r in requests if r["method"] != "GET"] == [("salesforce", "POST")]
    calls = Counter(r["system"] for r in requests)  # a few per system, none per ticket
    assert (calls["zendesk"], calls["servicenow"], calls["salesforce"]) == (3, 3, 2), calls
    assert calls["jira"] <= 7, calls  # myself, field, team and product-area contexts and options (+ connect)


def test_a_group_the_helpdesk_lacks_and_a_wrong_integration_user_are_named_with_their_keys(sandbox, mapping_copy):
    edit(mapping_copy / "zendesk.yaml", "tier3: 360000003", "tier3: 360000999")
    edit(mapping_copy / "servicenow.yaml", "login: deskbridge.integration", "login: someone.else")
    edit(mapping_copy / "jira.yaml", "email: deskbridge@acme.test", "email: bot@acme.test")
    result = runner.invoke(app, ["check", "--mapping-dir", str(mapping_copy)])
    assert result.exit_code == 1, result.output
    out = result.output
    line = next(i for i, text in enumerate((mapping_copy / "zendesk.yaml").read_text().splitlines(), 1)
                if "tier3: 360000999" in text)
    assert f"mapping/zendesk.yaml:{line}: groups.tier3: Zendesk has no group 360000999" in out, out
    assert re.search(r"mapping/servicenow\.yaml:\d+: integration_user\.login: is 'someone\.else', but the "
                     r"credentials are 'deskbridge\.integration'", out), out
    assert re.search(r"mapping/jira\.yaml:\d+: integration_user\.email: is 'bot@acme\.test'", out), out
    assert "salesforce: ok" in out
    assert "3 of 4 systems failed the check: zendesk, servicenow, jira." in out


def test_a_salesforce_field_that_does_not_exist_is_reported(sandbox, mapping_copy):
    text = (mapping_copy / "salesforce.yaml").read_text()
    tier_field = re.search(r"^\s+tier: (\S+)", text, re.M).group(1)
    edit(mapping_copy / "salesforce.yaml", f"tier: {tier_field}", "tier: Support_Teir__c")
    result = runner.invoke(app, ["check", "--system", "salesforce", "--mapping-dir", str(mapping_copy)])
    assert result.exit_code == 1, result.output
    assert re.search(r"mapping/salesforce\.yaml:\d+: fields: Salesforce refused a query", result.output)
    assert "Support_Teir__c" in result.output


def test_a_jira_field_the_site_lacks_is_reported(sandbox, mapping_copy):
    text = (mapping_copy / "jira.yaml").read_text()
    team = re.search(r"team:\s*\n\s+field: (\S+)", text).group(1)
    edit(mapping_copy / "jira.yaml", f"field: {team}", "field: customfield_99999")
    result = runner.invoke(app, ["check", "--system", "jira", "--mapping-dir", str(mapping_copy)])
    assert result.exit_code == 1, result.output
    assert re.search(r"mapping/jira\.yaml:\d+: fields\.team\.field: the site has no field customfield_99999",
                     result.output), result.output


def test_wrong_credentials_fail_with_where_they_came_from_and_never_the_secret(sandbox, monkeypatch):
    monkeypatch.setenv("DESKBRIDGE_ZENDESK_TOKEN", "not-the-token-s3cr3t")
    result = runner.invoke(app, ["check", "--system", "zendesk", "--mapping-dir", str(MAPPING)])
    assert result.exit_code == 1, result.output
    assert "zendesk: FAILED" in result.output and "DESKBRIDGE_ZENDESK_TOKEN" in result.output
    assert "not-the-token-s3cr3t" not in result.output


def test_unset_credentials_skip_a_system_unless_it_is_named(sandbox, monkeypatch):
    monkeypatch.delenv("DESKBRIDGE_JIRA_TOKEN")
    everything = runner.invoke(app, ["check", "--mapping-dir", str(MAPPING)])
    assert everything.exit_code == 0, everything.output
    assert "jira: skipped: not configured (DESKBRIDGE_JIRA_TOKEN not set)" in everything.output
    named = runner.invoke(app, ["check", "--system", "jira", "--mapping-dir", str(MAPPING)])
    assert named.exit_code == 1, named.output
    assert "jira: FAILED: credentials are incomplete" in named.output


def test_nothing_configured_is_a_failure(monkeypatch):
    for name in [n for n in __import__("os").environ if n.startswith("DESKBRIDGE_")]:
        monkeypatch.delenv(name)
    result = runner.invoke(app, ["check", "--mapping-dir", str(MAPPING)])
    assert result.exit_code == 1, result.output
    assert "No system is configured" in result.output


def test_a_zendesk_ticket_field_and_a_drop_down_value_the_instance_lacks_are_reported(sandbox, mapping_copy):
    edit(mapping_copy / "zendesk.yaml", "field: 360010002", "field: 360010099")
    edit(mapping_copy / "zendesk.yaml", "pa_mobile: mobile", "pa_mobil: mobile")
    result = runner.invoke(app, ["check", "--system", "zendesk", "--mapping-dir", str(mapping_copy)])
    assert result.exit_code == 1, result.output
    assert re.search(r"mapping/zendesk\.yaml:\d+: fields\.escalation_flag\.field: Zendesk has no ticket field "
                     r"360010099", result.output), result.output
    lines = (mapping_copy / "zendesk.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "pa_mobil: mobile" in text)
    assert (f"mapping/zendesk.yaml:{line}: fields.product_area.values.pa_mobil: 'pa_mobil' is not an option of "
            f"ticket field 360010001 ('Product area')") in result.output


def test_a_jira_group_that_is_no_option_of_the_team_field_is_reported(sandbox, mapping_copy):
    edit(mapping_copy / "jira.yaml", "tier2: Tier 2 Support", "tier2: Tier Two Support")
    result = runner.invoke(app, ["check", "--system", "jira", "--mapping-dir", str(mapping_copy)])
    assert result.exit_code == 1, result.output
    lines = (mapping_copy / "jira.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "tier2: Tier Two Support" in text)
    assert f"mapping/jira.yaml:{line}: groups.tier2: 'Tier Two Support' is not an enabled option of" in result.output
    assert "Tier 2 Support" in result.output  # the options it has are listed


def test_without_the_admin_permission_the_team_options_are_not_checked_and_that_is_said(sandbox, clean_faults):
    clean_faults.add_fault("403", system="jira", path="/context", count=5)
    result = runner.invoke(app, ["check", "--system", "jira", "--mapping-dir", str(MAPPING)])
    assert result.exit_code == 0, result.output
    assert "jira: ok" in result.output
    assert "not checked: the options of customfield_10050 (fields.team.field): listing them needs the Administer " \
           "Jira permission" in result.output  # fmt: skip


def test_a_servicenow_column_the_incident_table_lacks_is_reported(sandbox, mapping_copy):
    edit(mapping_copy / "servicenow.yaml", "field: u_escalation_flag", "field: u_escalation_flg")
    result = runner.invoke(app, ["check", "--system", "servicenow", "--mapping-dir", str(mapping_copy)])
    assert result.exit_code == 1, result.output
    assert re.search(r"mapping/servicenow\.yaml:\d+: fields\.escalation_flag\.field: incident has no column "
                     r"u_escalation_flg", result.output), result.output


def test_a_throttling_system_fails_the_check_within_its_short_retry_budget(sandbox, clean_faults):
    clean_faults.add_fault("429", system="zendesk", retry_after=4, count=10)
    result = runner.invoke(app, ["check", "--system", "zendesk", "--mapping-dir", str(MAPPING)])
    assert result.exit_code == 1, result.output
    assert "zendesk: FAILED" in result.output and "GET /api/v2/users/me.json" in result.output
    assert "(budget 10s," in result.output  # not the sync's 60 s: the check gives up sooner
