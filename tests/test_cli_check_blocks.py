"""``deskbridge check --block SYSTEM=NAME``: credentials from a Prefect block, on Prefect's test API."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from flows.blocks import ServiceNowCredentialsBlock

pytestmark = pytest.mark.slow
MAPPING = Path(__file__).resolve().parent.parent / "mapping"
ENV = "DESKBRIDGE_SERVICENOW_"
runner = CliRunner()


@pytest.fixture
def servicenow_from_blocks_only(sandbox, prefect_api, monkeypatch):
    """The sandbox's ServiceNow credentials in two blocks (one with a wrong password), none in the environment."""
    env = sandbox.env()
    ServiceNowCredentialsBlock(instance=env[f"{ENV}INSTANCE"], username=env[f"{ENV}USERNAME"],
                               password=env[f"{ENV}PASSWORD"]).save("sn-good", overwrite=True)  # fmt: skip
    ServiceNowCredentialsBlock(instance=env[f"{ENV}INSTANCE"], username=env[f"{ENV}USERNAME"],
                               password="wrong-pa55word-from-block").save("sn-bad", overwrite=True)  # fmt: skip
    for name in ("INSTANCE", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"{ENV}{name}")


def test_a_block_named_for_a_system_supplies_its_credentials(servicenow_from_blocks_only):
    result = runner.invoke(app, ["check", "--block", "servicenow=sn-good", "--mapping-dir", str(MAPPING)])
    assert result.exit_code == 0, result.output
    assert "servicenow: ok: connected as Deskbridge Integration" in result.output
    assert "zendesk: ok" in result.output  # the others still come from the environment


def test_a_block_with_a_wrong_password_fails_naming_the_block_never_the_password(servicenow_from_blocks_only):
    result = runner.invoke(app, ["check", "--block", "servicenow=sn-bad", "--mapping-dir", str(MAPPING)])
    assert result.exit_code == 1, result.output
    assert "servicenow: FAILED" in result.output and "Prefect block 'sn-bad'" in result.output
    assert "wrong-pa55word-from-block" not in result.output


def test_a_block_that_does_not_exist_fails_that_system(servicenow_from_blocks_only):
    result = runner.invoke(app, ["check", "--block", "servicenow=no-such-block", "--mapping-dir", str(MAPPING)])
    assert result.exit_code == 1, result.output
    assert "servicenow: FAILED" in result.output and "no-such-block" in result.output


def test_a_malformed_block_option_is_refused():
    result = runner.invoke(app, ["check", "--block", "servicenow", "--mapping-dir", str(MAPPING)])
    assert result.exit_code == 2
    assert "SYSTEM=NAME" in result.output
