"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

# The running sandbox (all four emulators on 127.0.0.1): fixtures `sandbox`, `sandbox_admin`,
# `fresh_logs`, `clean_faults` (tests/sandbox_fixtures.py); Prefect's test API: `prefect_api`
# (tests/prefect_fixtures.py).
pytest_plugins = ["sandbox_fixtures", "prefect_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = ROOT.parent / "shared" / "reference" / "payloads"


@pytest.fixture(scope="session")
def payloads_dir() -> Path:
    """The recorded real API payloads (../shared/reference/payloads)."""
    if not PAYLOADS.is_dir():
        pytest.fail(f"reference payloads not found at {PAYLOADS}: CI clones main with shared/ beside it")
    return PAYLOADS
