"""``deskbridge sync``: run the sync flow with Prefect's embedded API, once or on a loop."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.main import app
from core.errors import ConfigError, DeskbridgeError

SYSTEMS = ("zendesk", "servicenow", "jira")


def _systems(choice: str) -> list[str]:
    if choice == "all":
        return list(SYSTEMS)
    if choice not in SYSTEMS:
        raise typer.BadParameter(f"{choice!r} is not one of: {', '.join(SYSTEMS)}, all")
    return [choice]


def run_once(systems: list[str], now: datetime | None = None) -> list[dict]:
    """One flow run per helpdesk, in order; a failing helpdesk does not stop the others."""
    from flows.sync import sync_helpdesk  # Prefect is imported only when a sync really runs

    summaries = []
    for system in systems:
        try:
            summaries.append(sync_helpdesk(system=system, now=now))
        except ConfigError:
            raise
        except DeskbridgeError as exc:
            summaries.append({"system": system, "error": str(exc)})
    return summaries


def summary_table(summaries: list[dict]) -> Table:
    table = Table(title="deskbridge sync")
    for column in ("helpdesk", "pulled", "evaluated", "by time", "escalated", "proposed", "human acted",
                   "writes", "quarantined"):  # fmt: skip
        table.add_column(column)
    for s in summaries:
        if "error" in s:
            table.add_row(s["system"], f"[red]failed: {s['error']}[/red]", *[""] * 7)
            continue
        writes = ", ".join(f"{k} {v}" for k, v in sorted(s["writes"].items())) or "-"
        table.add_row(
            s["system"], str(s["pulled"]), str(s["evaluated"]), str(s["time_based"]), str(s["escalated"]),
            str(s["proposed"]), str(s["skipped_because_human"]), writes, str(len(s["quarantined"])),
        )  # fmt: skip
    return table


@app.command()
def sync(
    system: Annotated[str, typer.Option(help="zendesk, servicenow, jira or all")] = "all",
    once: Annotated[bool, typer.Option("--once", help="run one sync per helpdesk and exit")] = False,
    interval: Annotated[int, typer.Option(help="seconds between syncs when looping")] = 120,
    now: Annotated[datetime | None, typer.Option(help="evaluate at this instant (ISO 8601, with offset)")] = None,
) -> None:
    """Pull, evaluate and escalate, with Prefect's embedded API (nothing else to start)."""
    console = Console()
    chosen = _systems(system)
    try:
        while True:
            summaries = run_once(chosen, now)
            console.print(summary_table(summaries))
            if once:
                raise typer.Exit(1 if any("error" in s for s in summaries) else 0)
            time.sleep(interval)
    except ConfigError as exc:
        console.print(f"[red]configuration error[/red]\n{exc}")
        raise typer.Exit(1) from None
