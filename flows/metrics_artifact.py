"""Escalation metrics as Prefect artifacts, so ops see them in the Prefect UI after each sync run.

The sync flow calls :func:`publish_metrics_artifacts` once its run is
recorded: a table artifact (one row per helpdesk and period, the columns of
:data:`core.metrics_tables.COLUMNS`) and a markdown artifact (the overview,
breach rates per target and the top recurring reasons). Both are built from
the state store, across all three helpdesks, so every deployment's run shows
the whole picture; the key names the helpdesk whose run published them.
Artifacts carry figures, ticket counts, reason codes and account ids only,
never credentials or ticket text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from core.metrics_load import build_report
from core.metrics_models import Filters, MetricsReport
from core.metrics_tables import report_rows, to_markdown
from core.metrics_window import PeriodKind, make_window
from core.store import Store


@dataclass(frozen=True)
class PublishedMetrics:
    """What was published: the report and the two artifact ids."""

    report: MetricsReport
    table_id: UUID
    markdown_id: UUID


def artifact_key(system: str | None) -> str:
    """Prefect artifact keys are lowercase letters, digits and dashes."""
    return f"deskbridge-metrics-{system}" if system else "deskbridge-metrics"


def publish_metrics_artifacts(
    store: Store,
    policy: Any,
    now: datetime,
    *,
    system: str | None = None,
    since: str = "7d",
    period: PeriodKind = "day",
) -> PublishedMetrics:
    """Compute the last ``since`` of metrics at ``now`` and publish them as a table and a markdown artifact.

    Args:
        store: the state store the run wrote to.
        policy: the policy in force (``core.policy.Policy``), for SLA calendars and targets.
        now: the run's instant (the flow's clock), the end of the window.
        system: the helpdesk whose run publishes (names the artifact keys); None for a stand-alone call.
        since: how far back the window reaches (``7d``, ``2w``, an ISO date).
        period: the rows' period, ``day`` or ``week``.
    """
    window = make_window(since, now, period)
    report = build_report(store, policy, window, Filters(), generated_at=now)
    key = artifact_key(system)
    where = f" (published by the {system} sync)" if system else ""
    table_id = create_table_artifact(
        table=report_rows(report), key=key,
        description=f"deskbridge escalation metrics per helpdesk and {period}, last {since}{where}",
    )  # fmt: skip
    markdown_id = create_markdown_artifact(
        markdown=to_markdown(report, title=f"deskbridge escalation metrics, last {since}"),
        key=f"{key}-summary", description=f"deskbridge escalation metrics summary{where}",
    )  # fmt: skip
    return PublishedMetrics(report, _uuid(table_id), _uuid(markdown_id))


def _uuid(value: Any) -> UUID:
    """Prefect returns the artifact id (a UUID); older releases returned the artifact object."""
    return value if isinstance(value, UUID) else value.id
