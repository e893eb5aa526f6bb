"""``deskbridge report --html FILE``: the metrics as a static page with charts, for browsers and e-mail.

The page is self-contained (inline CSS and SVG, no script): it opens from
``file://`` with no server and fetches nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.main import app
from cli.metrics import (
    GroupOpt,
    MappingOpt,
    PeriodOpt,
    PeriodOption,
    PriorityOpt,
    ReasonOpt,
    SinceOpt,
    StateOpt,
    SystemOpt,
    TierOpt,
    UntilOpt,
    load_report,
)
from core.report_html import render_html


@app.command()
def report(
    html: Annotated[Path, typer.Option("--html", help="Where to write the page (created or replaced).")],
    since: SinceOpt = "30d",
    until: UntilOpt = None,
    period: PeriodOpt = PeriodOption.day,
    system: SystemOpt = None,
    tier: TierOpt = None,
    priority: PriorityOpt = None,
    group: GroupOpt = None,
    reason: ReasonOpt = None,
    mapping_dir: MappingOpt = None,
    state_url: StateOpt = None,
) -> None:
    """Write the escalation report as one static HTML page with charts."""
    metrics = load_report(since, until, period, system, tier, priority, group, reason, mapping_dir, state_url)
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(render_html(metrics), encoding="utf-8")
    overall = metrics.scopes[0].window
    typer.echo(f"{html}: {overall.active} active tickets, {overall.escalated} escalated, "
               f"{metrics.start:%Y-%m-%d} to {metrics.end:%Y-%m-%d %H:%M} UTC")
