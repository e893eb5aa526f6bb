"""``deskbridge explain``: what the engine decides for a ticket payload, and why.

Reads a payload as the helpdesk API returns it (one ticket, or a page of
them), normalizes it with the system's real normalizer and mapping,
evaluates the policy at ``--now`` with no prior escalation state, and prints
the decision: verdict, actions, reasons, keyword matches, SLA clocks, what
was deliberately not done, the explanation paragraph and the next check.

A payload file may also be a bundle: the ticket payload plus side lists the
normalizer accepts, e.g. ``{"ticket": {...}, "audits": [...]}`` for Zendesk,
``{"result": {...}, "journal": [...], "slas": [...]}`` for ServiceNow or
``{"key": "SUP-1", "fields": {...}, "changelog": [...]}`` for Jira.
``deskbridge explain SYSTEM:ID`` answers from the decision log instead (cli/explain_log.py).
"""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.explain_log import explain_from_log
from cli.main import app
from cli.validate import display_root
from core.calendar import utc_iso
from core.config import load_mappings
from core.decision import Decision
from core.errors import ConfigError, PayloadError
from core.model import Account, System, Ticket
from core.rules import evaluate
from core.settings import load_settings

# Side lists each normalizer accepts as keyword arguments, and where a page keeps its tickets.
SIDE_KEYS = {
    System.zendesk: ("comments", "audits", "users", "groups", "organizations"),
    System.servicenow: ("journal", "audits", "slas", "users"),
    System.jira: ("comments", "changelog", "slas"),
}
PAGE_KEYS = {System.zendesk: "tickets", System.servicenow: "result", System.jira: "issues"}


def split_payload(system: System, payload: Any) -> list[tuple[Any, dict[str, Any]]]:
    """(raw ticket, side lists) for every ticket in the payload: a page, a bundle or a single ticket."""
    page = payload.get(PAGE_KEYS[system]) if isinstance(payload, dict) else None
    if isinstance(page, list):
        return [(raw, {}) for raw in page]
    if not isinstance(payload, dict):
        return [(payload, {})]
    sides = {k: payload[k] for k in SIDE_KEYS[system] if isinstance(payload.get(k), list)}
    raw = {k: v for k, v in payload.items() if k not in sides}
    if system is System.jira and "comments" in sides and "fields" not in raw:
        sides.pop("comments")  # not a Jira bundle: leave the payload untouched
        raw = payload
    return [(raw, sides)]


def normalize(system: System, payload: Any, mapping: Any) -> list[Ticket]:
    """Every ticket of the payload through ``connectors.<system>.normalize.to_ticket``."""
    module = importlib.import_module(f"connectors.{system.value}.normalize")
    return [module.to_ticket(raw, mapping, **sides) for raw, sides in split_payload(system, payload)]


def parse_now(value: str | None) -> datetime:
    """``--now`` as an aware UTC instant (naive input is read as UTC); the wall clock when omitted."""
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 instant, e.g. 2025-03-03T14:00:00Z") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def account_for(ticket: Ticket, tier: str | None, segment: str | None) -> Account | None:
    """The account the ticket is evaluated for; None means 'unknown': the policy's default tier."""
    if tier is None:
        return None
    return Account(id=ticket.account_id or "explain", tier=tier, segment=segment)


@app.command()
def explain(
    ticket_ref: Annotated[str | None, typer.Argument(
        metavar="[SYSTEM:ID]", help="A ticket from the decision log, e.g. zendesk:123 or jira:SUP-12.")] = None,
    payload: Annotated[Path | None, typer.Option("--payload", exists=True, dir_okay=False,
                                                 help="A ticket payload (or page, or bundle) as the API returns it.")]
    = None,
    system: Annotated[System | None, typer.Option("--system", help="Which helpdesk the payload comes from.")] = None,
    account_tier: Annotated[str | None, typer.Option("--account-tier",
                                                     help="The account's tier (default: unknown account).")] = None,
    segment: Annotated[str | None, typer.Option("--segment", help="The account's segment.")] = None,
    now: Annotated[str | None, typer.Option("--now", help="Evaluate at this instant (ISO 8601; default: now).")]
    = None,
    mapping_dir: Annotated[Path | None, typer.Option("--mapping-dir",
                                                     help="Mapping directory (default: DESKBRIDGE_MAPPING_DIR "
                                                          "or ./mapping).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON instead.")] = False,
    last: Annotated[int, typer.Option("--last", help="With SYSTEM:ID: how many recorded evaluations to show.")] = 5,
    state_url: Annotated[str | None, typer.Option("--state-url", help="State store URL (default: "
                                                  "DESKBRIDGE_STATE_URL).")] = None,
) -> None:
    """Why a ticket escalated: from the decision log (SYSTEM:ID) or for a payload file (--payload, --system)."""
    console = Console(highlight=False)
    if ticket_ref is not None:
        try:
            found = explain_from_log(console, ticket_ref, state_url, last)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="SYSTEM:ID") from None
        raise typer.Exit(0 if found else 1)
    if payload is None or system is None:
        raise typer.BadParameter("give SYSTEM:ID, or --payload FILE with --system")
    at = parse_now(now)
    directory = mapping_dir or load_settings().mapping_dir
    try:
        mappings = load_mappings(directory, display_root=display_root(directory))
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(str(problem))
        raise typer.Exit(1) from None
    if mappings.policy is None:
        typer.echo(f"{directory}: policy.yaml could not be loaded")
        raise typer.Exit(1)
    try:
        tickets = normalize(system, json.loads(payload.read_text(encoding="utf-8")), mappings.for_system(system))
    except (PayloadError, json.JSONDecodeError) as exc:
        typer.echo(f"{payload}: cannot be normalized: {exc}")
        raise typer.Exit(2) from None
    for ticket in tickets:
        decision = evaluate(ticket, account_for(ticket, account_tier, segment), mappings.policy, at)
        if as_json:
            typer.echo(decision.model_dump_json(indent=2))
        else:
            show(console, ticket, decision)


def show(console: Console, ticket: Ticket, decision: Decision) -> None:
    """The decision as a short report: verdict, actions, reasons, evidence, clocks, explanation."""
    verdict = {"auto": "[bold red]ESCALATE[/]", "propose": "[bold yellow]PROPOSE[/]", "none": "[green]no escalation[/]"}
    console.rule(f"{ticket.key} ({ticket.system}) - {verdict[decision.mode]}")
    console.print(f"evaluated at {utc_iso(decision.evaluated_at)}; tier {decision.inputs.tier} "
                  f"({decision.inputs.tier_source}); level {decision.level_name}; policy {decision.policy_digest}",
                  markup=False)
    if decision.actions or decision.note_template or decision.customer_template:
        console.print(_actions_table(decision))
    for reason in decision.reasons:
        console.print(f"  because [{reason.rule_id}] {reason.code}: {reason.text}", markup=False)
    for match in decision.inputs.keywords:
        console.print(f"  matched {match.phrase!r} in {match.field} at offset {match.offset}: {match.matched!r}"
                      + (f" -> {match.route}" if match.route else ""), markup=False)
    for why in decision.skipped_because:
        console.print(f"  not done: {why}", markup=False)
    if decision.inputs.sla:
        console.print(_sla_table(decision))
    for disagreement in decision.inputs.sla_disagreements:
        console.print(f"  native SLA disagrees: {disagreement}", markup=False)
    console.print(decision.explanation, markup=False)
    console.print(f"next check: {utc_iso(decision.next_check_at)}", markup=False)


def _actions_table(decision: Decision) -> Table:
    table = Table(title="Actions", show_header=True)
    table.add_column("action")
    table.add_column("detail")
    for action in decision.actions:
        detail = action.model_dump(exclude={"kind"})
        table.add_row(action.kind, ", ".join(f"{k}={_plain(v)}" for k, v in detail.items() if v is not None))
    if decision.note_template:
        table.add_row("internal_note", f"template {decision.note_template}")
    if decision.customer_template:
        table.add_row("customer_message", f"template {decision.customer_template}")
    return table


def _sla_table(decision: Decision) -> Table:
    table = Table(title=f"SLA clocks ({decision.inputs.sla_calendar})")
    for column in ("target", "state", "started", "due", "used", "remaining (min)", "breached"):
        table.add_column(column)
    for c in decision.inputs.sla:
        table.add_row(str(c.target), str(c.state), utc_iso(c.started_at), utc_iso(c.due_at) if c.due_at else "-",
                      f"{c.percent_used:g}%", f"{c.remaining_minutes:g}",
                      utc_iso(c.breached_at) if c.breached else "no")
    return table


def _plain(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
