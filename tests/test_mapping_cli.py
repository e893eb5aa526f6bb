"""`deskbridge validate`: exit 0 with one summary line when valid, exit 1 listing every problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from broken_mappings.corpus import expected, mapping_with

ROOT = Path(__file__).resolve().parent.parent
DESKBRIDGE = Path(sys.executable).parent / "deskbridge"
runner = CliRunner()


def test_valid_shipped_mapping_exits_0_with_one_line(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, ["validate", "--mapping-dir", "mapping"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("mapping: all ") and "zendesk.yaml" in lines[0] and "salesforce.yaml" in lines[0]


def test_broken_mapping_exits_1_printing_every_problem(tmp_path, monkeypatch):
    mapping_with("two_files", tmp_path / "mapping")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["validate", "--mapping-dir", "mapping"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [*expected("two_files"), "2 problems in 2 files."]


def test_default_directory_comes_from_settings(tmp_path, monkeypatch):
    mapping_with("wrong_enum", tmp_path / "admin")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DESKBRIDGE_MAPPING_DIR", "admin")
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == expected("wrong_enum")[0].replace("mapping/", "admin/")


def test_missing_directory_is_one_problem(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["validate", "--mapping-dir", "nowhere"])
    assert result.exit_code == 1
    assert result.output.splitlines() == ["nowhere: mapping directory not found", "1 problem in 1 file."]


def test_installed_console_script(tmp_path):
    """The real `deskbridge` entry point of the venv, as an admin runs it."""
    ok = subprocess.run([str(DESKBRIDGE), "validate"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("mapping: all ")
    mapping_with("syntax_error", tmp_path / "mapping")
    bad = subprocess.run([str(DESKBRIDGE), "validate", "--mapping-dir", "mapping"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert bad.stdout.splitlines() == [*expected("syntax_error"), "1 problem in 1 file."]


def test_payload_demo_validates_and_normalizes_the_reference_payloads(payloads_dir):
    """The real mapping check and the real normalizers on recorded payloads, nothing simulated."""
    run = subprocess.run([sys.executable, "-m", "cli.demo_payloads"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "COLUMNS": "200", "DESKBRIDGE_REFERENCE_PAYLOADS": str(payloads_dir)})
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "mapping: all " in out and "files valid" in out
    for key in ("#4017", "#28", "#35436", "INC0000060", "KAN-2", "001dM00003jU9GyQAK"):
        assert key in out
    assert "zendesk ticket 29 field 'status': 'archived' is not in the Zendesk mapping's status_map" in out
