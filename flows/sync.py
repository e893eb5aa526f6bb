"""The Prefect flow: one sync of one helpdesk, scheduled per deployment in prefect.yaml.

The flow is thin: it loads settings and credentials, builds the run's context
and hands it to :func:`flows.pipeline.run_sync`, whose stages run as Prefect
tasks. Task retries stay at 0: deskbridge's own retry policy handles API
errors, and the next scheduled run resumes from the committed cursor and the
outbox (see connectors/retry.py for the layering).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from core.model import System
from core.settings import load_settings
from flows.partition import Partition, hold_partition
from flows.metrics_artifact import publish_metrics_artifacts
from flows.pipeline import run_sync
from flows.wiring import build_context

HelpdeskName = Literal["zendesk", "servicenow", "jira"]


def _as_task(fn):
    """A pipeline stage as a Prefect task: named, never cached, never retried by Prefect."""
    return task(fn, name=fn.__name__.replace("_", "-"), cache_policy=NO_CACHE, retries=0)


@flow(name="deskbridge-sync", flow_run_name="sync-{system}", retries=0, log_prints=False)
def sync_helpdesk(
    system: HelpdeskName,
    credentials_block: str | None = None,
    salesforce_block: str | None = None,
    now: datetime | None = None,
    partition: str | None = None,
) -> dict:
    """Pull changed tickets, escalate the ones at risk inside the helpdesk, and report what happened.

    Args:
        system: which helpdesk this deployment syncs.
        credentials_block: a Prefect block with the helpdesk's credentials; environment variables when empty.
        salesforce_block: a Prefect block with Salesforce credentials; environment variables when empty.
        now: the instant to evaluate at (replays and the sandbox's virtual clock); the wall clock when empty.
        partition: "k/N" to handle only the tickets whose stable id hash % N == k (one deployment per
            partition, see flows/partition.py and docs/scale-out.md); the whole helpdesk when empty.
    """
    logger = get_run_logger()
    at = (now or datetime.now(UTC)).astimezone(UTC)
    settings = load_settings()
    share = Partition.parse(partition)
    ctx = build_context(
        System(system), settings, at, credentials_block=credentials_block, salesforce_block=salesforce_block
    )
    ctx.partition = share
    run_id = str(flow_run.id or uuid.uuid4())
    try:
        with hold_partition(ctx.store.engine, system, share):  # safety net under Prefect's concurrency limit
            summary = run_sync(ctx, at, run_id, step=_as_task)
    finally:
        ctx.store.close()
    create_markdown_artifact(
        summary.to_markdown(), key=f"deskbridge-sync-{system}{share.artifact_suffix()}",
        description=f"deskbridge sync of {system}" + ("" if share.whole else f", partition {share.label}"),
    )
    logger.info(
        "%s: pulled %d, evaluated %d (%d by time), escalated %d, proposed %d, quarantined %d, writes %s",
        system, summary.pulled, summary.evaluated, summary.time_based, summary.escalated, summary.proposed,
        len(summary.quarantined), dict(summary.writes),
    )
    return summary.model_dump(mode="json")


def _publish_metrics(ctx, at: datetime, system: str, logger) -> None:
    """The helpdesk's escalation metrics as an artifact; a metrics problem never fails a sync."""
    try:
        publish_metrics_artifacts(ctx.store, ctx.policy, at, system=system)
    except Exception as exc:  # noqa: BLE001 - reported, and the sync's own work is already committed
        logger.warning("%s: escalation metrics artifact not published: %s", system, exc)
