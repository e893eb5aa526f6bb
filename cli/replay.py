"""``deskbridge replay``: what a policy would have done over the stored history, without writing anything.

Reads the state store and the policy files only: no helpdesk or Salesforce
connector is built, nothing is written to any helpdesk or to the store. The
method and its limits: core/replay.py and docs/metrics.md.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cli.main import app
from cli.metrics import MappingOpt, SinceOpt, StateOpt, SystemOpt, UntilOpt, filters_from, open_store, \
    policy_in_force, window_from  # fmt: skip
from cli.replay_pool import pooled_replayer, usable_cpus
from core.calendar import utc_iso
from core.metrics_tables import duration
from core.replay import run_replay
from core.replay_load import load_replay_inputs
from core.replay_models import ReplayReport

PROGRESS_FROM = 50  # tickets: a progress bar for replays at least this long


class ReplayFormat(StrEnum):
    table = "table"
    json = "json"


@app.command()
def replay(
    since: SinceOpt = "30d",
    until: UntilOpt = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="The policy file to try (default: the policy "
                                                                 "in force, to check the replay itself).")] = None,
    system: SystemOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows per table.")] = 30,
    output: Annotated[ReplayFormat, typer.Option("--format", help="table or json.")] = ReplayFormat.table,
    jobs: Annotated[int | None, typer.Option("--jobs", min=1, help="Worker processes for large replays "
                                                                   "(default: one per usable CPU).")] = None,
    mapping_dir: MappingOpt = None,
    state_url: StateOpt = None,
) -> None:
    """Replay a policy over the stored history: what would escalate, when, how long before breach, what changes."""
    window = window_from(since, until, "day")
    systems = filters_from(system, None, None, None, None).systems
    in_force = policy_in_force(mapping_dir)
    candidate = policy_in_force(None, policy) if policy is not None else in_force
    with open_store(state_url) as store:
        inputs = load_replay_inputs(store, window.start, window.end, in_force.settings.default_tier, systems)
    err = Console(stderr=True)
    with Progress(TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=len(inputs) < PROGRESS_FROM) as bar:  # fmt: skip
        task = bar.add_task("replay", total=None)
        report = run_replay(inputs, candidate, in_force, window.start, window.end, systems=systems,
                            progress=lambda done, total: bar.update(task, completed=done, total=total),
                            replay_all=pooled_replayer(jobs or usable_cpus()))
    if output is ReplayFormat.json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        print_replay(report, Console(width=max(Console().width, 120)), limit)


def print_replay(report: ReplayReport, console: Console, limit: int) -> None:
    s = report.summary
    a = s.agreement
    policies = "the policy in force" if s.same_policy else f"candidate {s.candidate_digest} vs in force {s.in_force_digest}"
    console.print(f"[bold]Replay[/bold] {utc_iso(s.since)} to {utc_iso(s.until)}, {policies}; "
                  f"{s.tickets} tickets, {s.evaluations} evaluations; nothing was written.")  # fmt: skip
    console.print(
        f"Would escalate {s.candidate_escalated} tickets (and propose {s.candidate_proposed}); the policy in force "
        f"{s.in_force_escalated} in replay, {s.logged_escalated} in the decision log. Median escalation "
        f"relative to the first breach: {_lead(s.median_lead_minutes)}."
    )  # fmt: skip
    console.print(f"Changes: {', '.join(f'{n} {kind}' for kind, n in s.changes.items())}. Replay vs log for the "
                  f"policy in force: {a.both} agree, {a.only_logged} only logged, {a.only_replayed} only replayed"
                  f"{'' if a.median_shift_minutes is None else f', median shift {a.median_shift_minutes:+g} min'}.")
    truncated = [r.key for r in report.candidate if r.truncated]
    if truncated:
        console.print(f"[yellow]{len(truncated)} tickets stopped at the evaluation limit (their later escalations "
                      f"are missing): {', '.join(truncated[:10])}[/yellow]")  # fmt: skip
    console.print(would_table(report, limit))
    if not s.same_policy:
        console.print(diff_table(report, limit))
    for limit_text in report.limits:
        console.print(f"[dim]limit: {limit_text}[/dim]")


def _lead(minutes: float | None) -> str:
    if minutes is None:
        return "no breach"
    return f"{duration(minutes)} before" if minutes >= 0 else f"{duration(-minutes)} after"


def would_table(report: ReplayReport, limit: int) -> Table:
    table = Table(title="Would escalate (first escalation per ticket in the window)")
    for column in ("ticket", "system", "at", "mode", "level", "reasons", "actions", "nearest due", "breach"):
        table.add_column(column)
    rows = sorted((r for r in report.candidate if r.escalations), key=lambda r: r.escalations[0].at)
    for r in rows[:limit]:
        e = r.escalations[0]
        table.add_row(r.key, r.system, utc_iso(e.at), e.mode, e.level_name, ", ".join(e.reasons),
                      "; ".join(e.actions), utc_iso(e.nearest_due_at) if e.nearest_due_at else "-", _lead(e.lead_minutes))
    if len(rows) > limit:
        table.caption = f"{len(rows) - limit} more: --limit or --format json"
    return table


def diff_table(report: ReplayReport, limit: int) -> Table:
    table = Table(title="Difference from the policy in force (first auto escalation)")
    for column in ("ticket", "change", "candidate", "in force", "shift", "logged", "candidate reasons",
                   "in-force reasons"):  # fmt: skip
        table.add_column(column)
    changed = [d for d in report.diff if d.change != "same"]
    for d in changed[:limit]:
        shift = "-" if d.delta_minutes is None else f"{d.delta_minutes:+g} min"
        table.add_row(d.key, d.change, utc_iso(d.candidate_at) if d.candidate_at else "-",
                      utc_iso(d.in_force_at) if d.in_force_at else "-", shift,
                      utc_iso(d.logged_at) if d.logged_at else "-", ", ".join(d.candidate_reasons),
                      ", ".join(d.in_force_reasons))  # fmt: skip
    if len(changed) > limit:
        table.caption = f"{len(changed) - limit} more: --limit or --format json"
    return table

