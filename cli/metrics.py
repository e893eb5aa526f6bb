"""``deskbridge metrics``: escalation metrics from the state store, as rich tables, JSON or CSV.

Also holds what ``report`` and ``replay`` share with it: the window options,
opening the store and loading the policy in force. Definitions of every
figure: docs/metrics.md.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.main import app
from core.errors import ConfigError
from core.metrics_load import build_report
from core.metrics_models import Filters, MetricsReport, ScopeMetrics
from core.metrics_tables import COLUMNS, duration, number, percent, report_rows
from core.metrics_window import Window, make_window, parse_instant
from core.model import Priority, System
from core.settings import load_settings
from core.store import Store


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class PeriodOption(StrEnum):
    day = "day"
    week = "week"


SinceOpt = Annotated[str, typer.Option("--since", help="How far back: 7d, 12h, 2w, 90m, or an ISO date/instant.")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="End of the window (ISO); default now.")]
PeriodOpt = Annotated[PeriodOption, typer.Option("--period", help="Period of the trend rows (UTC days or weeks).")]
SystemOpt = Annotated[list[str] | None, typer.Option("--system", help="zendesk, servicenow or jira (repeatable).")]
TierOpt = Annotated[list[str] | None, typer.Option("--tier", help="Account tier (repeatable).")]
PriorityOpt = Annotated[list[str] | None, typer.Option("--priority", help="Priority before deskbridge raised it "
                                                                          "(repeatable).")]
GroupOpt = Annotated[list[str] | None, typer.Option("--group", help="Logical group before deskbridge moved the "
                                                                    "ticket (repeatable).")]
ReasonOpt = Annotated[list[str] | None, typer.Option("--reason", help="Reason code, trigger or rule id, e.g. "
                                                                      "at_risk, keyword:outage, sla_breached.")]
MappingOpt = Annotated[Path | None, typer.Option("--mapping-dir", help="Where policy.yaml lives (default: "
                                                                       "DESKBRIDGE_MAPPING_DIR or ./mapping).")]
StateOpt = Annotated[str | None, typer.Option("--state-url", help="State store URL (default: DESKBRIDGE_STATE_URL).",
                                              show_default=False)]


def fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)


def window_from(since: str, until: str | None, period: str) -> Window:
    """The window the options describe, or a clean exit naming the bad option."""
    try:
        end = parse_instant(until) if until else datetime.now(UTC)
        return make_window(since, end, period)  # type: ignore[arg-type]
    except ValueError as exc:
        raise fail(f"error: {exc}") from None


def filters_from(systems, tiers, priorities, groups, reasons) -> Filters:
    """Filters from the options, with systems and priorities checked against their closed lists."""
    for value in systems or []:
        if value not in System.__members__:
            raise fail(f"error: --system {value!r} is not one of {', '.join(System.__members__)}")
    for value in priorities or []:
        if value not in Priority.__members__:
            raise fail(f"error: --priority {value!r} is not one of {', '.join(Priority.__members__)}")
    return Filters(systems=tuple(systems or ()), tiers=tuple(tiers or ()), priorities=tuple(priorities or ()),
                   groups=tuple(groups or ()), reasons=tuple(reasons or ()))  # fmt: skip


def policy_in_force(mapping_dir: Path | None, policy_file: Path | None = None):
    """The policy file given, else ``<mapping dir>/policy.yaml``; problems are printed with file:line."""
    from core.policy import load_policy

    path = policy_file or (mapping_dir or load_settings().mapping_dir) / "policy.yaml"
    if not path.is_file():
        raise fail(f"error: no policy file at {path}")
    try:
        return load_policy(path, str(path))
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None


def open_store(state_url: str | None) -> Store:
    return Store.open(state_url or load_settings().state_url)


def load_report(since, until, period, system, tier, priority, group, reason, mapping_dir, state_url):
    """The metrics report the command options ask for, read from the state store (``metrics`` and ``report``)."""
    window = window_from(since, until, period.value)
    filters = filters_from(system, tier, priority, group, reason)
    policy = policy_in_force(mapping_dir)
    with open_store(state_url) as store:
        return build_report(store, policy, window, filters, generated_at=datetime.now(UTC))


@app.command()
def metrics(
    since: SinceOpt = "7d",
    until: UntilOpt = None,
    period: PeriodOpt = PeriodOption.day,
    system: SystemOpt = None,
    tier: TierOpt = None,
    priority: PriorityOpt = None,
    group: GroupOpt = None,
    reason: ReasonOpt = None,
    output: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
    mapping_dir: MappingOpt = None,
    state_url: StateOpt = None,
) -> None:
    """Escalation rate, time to escalate, resolution, touches, SLA breaches and recurring reasons."""
    report = load_report(since, until, period, system, tier, priority, group, reason, mapping_dir, state_url)
    if output is Format.json:
        typer.echo(report.model_dump_json(indent=2))
    elif output is Format.csv:
        typer.echo(to_csv(report), nl=False)
    else:
        print_report(report, Console(width=max(Console().width, 120)))


def to_csv(report: MetricsReport) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(report_rows(report))
    return buffer.getvalue()


def print_report(report: MetricsReport, console: Console) -> None:
    """The terminal view: overview per scope, trend per period, breaches per target, top reasons."""
    console.print(f"[bold]Escalation metrics[/bold] {report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC, "
                  f"per {report.period}; filters: {report.filters.describe()}")  # fmt: skip
    console.print(overview_table(report.scopes))
    console.print(trend_table(report.scopes))
    console.print(breach_table(report.scopes))
    console.print(reasons_table(report.scopes[0]))


def overview_table(scopes: list[ScopeMetrics]) -> Table:
    table = Table(title="Whole window")
    for column in ("scope", "active", "escalated", "rate", "proposed", "to escalate, business\nmedian / p90",
                   "to escalate, calendar\nmedian / p90", "resolved", "resolution h (median)\nescalated / not",
                   "touches (mean)\nescalated / not", "at-risk escalations\nstill breached"):  # fmt: skip
        table.add_column(column, justify="left" if column == "scope" else "right")
    for s in scopes:
        w = s.window
        b, c = w.time_to_escalate_business_minutes, w.time_to_escalate_minutes
        table.add_row(
            s.scope, str(w.active), str(w.escalated), percent(w.escalation_rate), str(w.proposed),
            f"{duration(b.median)} / {duration(b.p90)}", f"{duration(c.median)} / {duration(c.p90)}", str(w.resolved),
            f"{number(w.resolution_hours_escalated.median)} / {number(w.resolution_hours_not_escalated.median)}",
            f"{number(w.touches_escalated.mean)} / {number(w.touches_not_escalated.mean)}",
            f"{w.at_risk_breached.numerator} of {w.at_risk_breached.denominator}",
        )  # fmt: skip
    return table


def trend_table(scopes: list[ScopeMetrics]) -> Table:
    table = Table(title="Per period")
    for column in ("scope", "period", "active", "escalated", "rate", "to escalate, business median",
                   "any SLA breached", "top trigger"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("scope", "period", "top trigger") else "right")
    for s in scopes:
        if not s.window.active:
            continue
        for i, p in enumerate(s.periods):
            triggers = [(r.by_period[i], r.value) for r in s.reasons["trigger"] if r.by_period[i]]
            top = min(triggers, key=lambda t: (-t[0], t[1]))[1] if triggers else "-"
            table.add_row(s.scope, p.label, str(p.active), str(p.escalated), percent(p.escalation_rate),
                          duration(p.time_to_escalate_business_minutes.median), percent(p.breach_any.rate), top)
        table.add_section()
    return table


def breach_table(scopes: list[ScopeMetrics]) -> Table:
    targets = [t for t, ratio in scopes[0].window.breach.items() if ratio.denominator]  # targets some SLA sets
    table = Table(title="SLA breach rate per target (breached / eligible)")
    table.add_column("scope")
    for t in [*targets, "any"]:
        table.add_column(t, justify="right")
    for s in scopes:
        ratios = [*(s.window.breach[t] for t in targets), s.window.breach_any]
        table.add_row(s.scope, *(f"{percent(r.rate)} ({r.numerator}/{r.denominator})" for r in ratios))
    return table


def reasons_table(scope: ScopeMetrics, top: int = 5) -> Table:
    table = Table(title=f"Recurring reasons ({scope.scope}): escalated tickets")
    for column in ("dimension", "value", "window", "previous period", "last period", "change"):
        table.add_column(column, justify="left" if column in ("dimension", "value") else "right")
    for dimension, rows in scope.reasons.items():
        for r in rows[:top]:
            change = "-" if r.change is None else f"{r.change:+d}"
            table.add_row(dimension, r.value, str(r.total), number(r.previous), str(r.last), change)
        if rows:
            table.add_section()
    return table

