"""The Prefect artifacts built from the store: published to a real (temporary) Prefect API and read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from test_metrics import END, POLICY_YAML, populate

from core.metrics_tables import COLUMNS
from core.policy import load_policy
from core.store import Store
from flows.metrics_artifact import artifact_key, publish_metrics_artifacts


@pytest.fixture
def store_and_policy(tmp_path: Path):
    (tmp_path / "policy.yaml").write_text(POLICY_YAML)
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}", clock=lambda: END) as store:
        populate(store)
        yield store, load_policy(tmp_path / "policy.yaml", "policy.yaml")


def read_artifacts(key: str) -> list:
    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))


def test_published_from_inside_a_flow_run_and_read_back(prefect_api, store_and_policy):
    store, policy = store_and_policy

    @flow
    def after_sync():  # what the sync flow does at its end
        return publish_metrics_artifacts(store, policy, END, system="zendesk", since="2026-03-02")

    published = after_sync()
    [table] = [a for a in read_artifacts("deskbridge-metrics-zendesk") if a.id == published.table_id]
    assert table.type == "table" and table.flow_run_id is not None
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert len(rows) == 16  # 4 scopes x (window + 3 days), as the CLI's CSV
    window = next(r for r in rows if r["scope"] == "all" and r["period"] == "window")
    assert tuple(window) == COLUMNS
    assert (window["active"], window["escalated"], window["escalation_rate"]) == (7, 4, 0.5714)
    [summary] = [a for a in read_artifacts("deskbridge-metrics-zendesk-summary") if a.id == published.markdown_id]
    assert summary.type == "markdown"
    assert "| all | 7 | 4 | 57.1% | 2h 30m / 8h 00m | 42.9% | 2 of 3 |" in summary.data
    assert "| zendesk | 3 | 3 | 100.0% |" in summary.data


def test_keys_are_valid_prefect_keys():
    assert artifact_key("servicenow") == "deskbridge-metrics-servicenow"
    assert artifact_key(None) == "deskbridge-metrics"
