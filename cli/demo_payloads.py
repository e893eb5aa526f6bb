"""``python -m cli.demo_payloads``: the real recorded API payloads, normalized.

Validates the shipped mapping directory, then normalizes the recorded real API
payloads (``../shared/reference/payloads``) with the real normalizers and
prints them as tables. Nothing is simulated; a payload that fails to normalize
is shown as quarantined with its reason. ``make demo`` (cli/demo.py) runs the
whole loop against the sandbox.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from connectors.jira import normalize as jira
from connectors.salesforce import normalize as salesforce
from connectors.servicenow import normalize as servicenow
from connectors.zendesk import normalize as zendesk
from core.config import Mappings, load_mappings
from core.errors import ConfigError, PayloadError
from core.model import Account, Ticket

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PAYLOADS = ROOT.parent / "shared" / "reference" / "payloads"
# The display_value=true incident was recorded by a user in this time zone (its display times are local).
PDI_TIMEZONE = "America/Los_Angeles"


def ticket_sources(m: Mappings) -> list[tuple[str, Callable[[Callable[[str], Any]], list[Ticket]]]]:
    """(file, how to normalize it) for every reference payload that holds tickets."""
    la = m.servicenow.model_copy(update={"display_timezone": PDI_TIMEZONE})
    return [
        ("zendesk/ticket_show_captured.json", lambda read: [zendesk.to_ticket(read(), m.zendesk)]),
        ("zendesk/incremental_tickets_cursor_page.json",
         lambda read: [zendesk.to_ticket(t, m.zendesk) for t in read()["tickets"]]),
        ("zendesk/ticket_object_doc_example.json", lambda read: [zendesk.to_ticket(read(), m.zendesk)]),
        ("servicenow/incident_table_plain_values.json",
         lambda read: [servicenow.to_ticket(r, m.servicenow) for r in read()["result"]]),
        ("servicenow/incident_table_display_value_all.json",
         lambda read: [servicenow.to_ticket(r, m.servicenow) for r in read()["result"]]),
        ("servicenow/incident_get_display_value_true.json", lambda read: [servicenow.to_ticket(read(), la)]),
        ("jira/issue_get_v3_captured.json", lambda read: [jira.to_ticket(read(), m.jira)]),
    ]


def tickets_table(m: Mappings, read_file: Callable[[str], Any]) -> tuple[Table, list[str]]:
    table = Table(title="Reference tickets, normalized", show_lines=False)
    table.add_column("system")
    table.add_column("reference file", overflow="fold")
    table.add_column("key", overflow="fold", max_width=12)
    for column in ("status (native)", "priority (native)", "group", "comments pub/int", "events", "first reply"):
        table.add_column(column)
    table.add_column("concurrency token", overflow="fold", max_width=22)
    problems: list[str] = []
    for name, normalize in ticket_sources(m):
        try:
            tickets = normalize(lambda name=name: read_file(name))
        except PayloadError as exc:
            problems.append(f"{name}: quarantined: {exc}")
            continue
        for t in tickets:
            public = sum(1 for c in t.comments if c.public)
            table.add_row(
                t.system.value, Path(name).stem, t.key, f"{t.status.value} ({t.native_status})",
                f"{t.priority.value} ({t.native_priority or 'none'})",
                t.group or t.group_name or t.group_id or "-",
                f"{public}/{len(t.comments) - public}",
                str(len(t.history)),
                f"{t.first_agent_reply_at:%Y-%m-%d %H:%M}" if t.first_agent_reply_at else "-",
                t.concurrency_token,
            )
    return table, problems


def pieces_table(m: Mappings, read_file: Callable[[str], Any]) -> Table:
    """Comments, journals and SLAs normalized on their own (they belong to other tickets than the files above)."""
    table = Table(title="Reference comments, journal entries and SLAs, normalized")
    table.add_column("source")
    table.add_column("normalized")
    for c in (jira.to_comment(raw, m.jira) for raw in read_file("jira/issue_comments_v3.json")["comments"]):
        table.add_row("jira/issue_comments_v3.json", f"comment {c.id}: {c.role.value}, "
                      f"{'public' if c.public else 'internal'}, {c.created_at:%Y-%m-%d %H:%M}Z: {c.body[:50]!r}")
    audits = read_file("zendesk/ticket_audits_page.json")["audits"]
    for c in zendesk.comments_from_audits(audits, m.zendesk):
        table.add_row("zendesk/ticket_audits_page.json", f"comment {c.id}: {c.role.value}, "
                      f"{'public' if c.public else 'internal'}: {c.body[:50]!r}")
    for e in zendesk.history_from_audits(audits, m.zendesk):
        table.add_row("zendesk/ticket_audits_page.json", f"{e.kind.value} at {e.at:%Y-%m-%d %H:%M}Z by {e.actor_id}")
    for raw in read_file("zendesk/ticket_comments_list.json")["comments"]:
        c = zendesk.to_comment(raw, m.zendesk)
        table.add_row("zendesk/ticket_comments_list.json", f"comment {c.id}: {c.role.value}: {c.body[:50]!r}")
    for sla in jira.native_slas({}, m.jira, read_file("jira/jsm_request_sla_doc_example.json")):
        table.add_row("jira/jsm_request_sla_doc_example.json",
                      f"SLA {sla.name!r} -> {sla.target or 'unmapped'}, breached={sla.breached}, "
                      f"remaining {sla.remaining_seconds:.0f}s")
    return table


def quarantine_example(m: Mappings, read_file: Callable[[str], Any]) -> str:
    """One page where a copy of ticket 28 carries a status the mapping does not know: it alone is set aside."""
    [ticket] = read_file("zendesk/incremental_tickets_cursor_page.json")["tickets"]
    page = [ticket, dict(ticket, id=29, status="archived"), dict(ticket, id=30)]
    tickets, quarantined = zendesk.normalize_many(page, m.zendesk)
    lines = [f"One bad ticket never stops the page: ticket 28 plus two copies (29 with status 'archived', 30 as is) "
             f"-> {len(tickets)} normalized ({', '.join(t.key for t in tickets)}), {len(quarantined)} quarantined:"]
    lines += [f"  {q.reason}" for q in quarantined]
    return "\n".join(lines)


def accounts_table(m: Mappings, read_file: Callable[[str], Any]) -> Table:
    table = Table(title="Reference Salesforce accounts, normalized")
    for column in ("id", "name", "tier", "known", "why"):
        table.add_column(column, overflow="fold")
    records = read_file("salesforce/query_account_first_page_next_records_url.json")["records"]
    accounts, errors = salesforce.to_accounts(records, m.salesforce, wanted=["001000000000000AAA"])
    for a in accounts.values():
        _account_row(table, a)
    for exc in errors:
        table.add_row("?", "-", "-", "-", f"quarantined: {exc}")
    return table


def _account_row(table: Table, a: Account) -> None:
    why = a.tier_note or ("not in Salesforce: default tier" if not a.known else "tier_map")
    table.add_row(a.id, a.name or "-", a.tier, "yes" if a.known else "no", why)


def main() -> int:
    console = Console(width=max(Console().width, 140))
    console.rule("deskbridge: admin mappings and the recorded real payloads, normalized")
    try:
        mappings = load_mappings(ROOT / "mapping", display_root="mapping")
    except ConfigError as exc:
        for problem in exc.problems:
            console.print(str(problem), markup=False)
        console.print(f"[red]{len(exc.problems)} mapping problem(s): fix them, then run make demo again.[/red]")
        return 1
    console.print(f"[green]mapping: all {len(mappings.files)} files valid[/green] "
                  f"({', '.join(Path(f).name for f in mappings.files)})")
    payloads = Path(os.environ.get("DESKBRIDGE_REFERENCE_PAYLOADS", DEFAULT_PAYLOADS))
    if not payloads.is_dir():
        console.print(f"Reference payloads not found at {payloads}: nothing to normalize.")
        return 0

    def read_file(name: str) -> Any:
        return json.loads((payloads / name).read_text(encoding="utf-8"))

    table, problems = tickets_table(mappings, read_file)
    console.print(table)
    for line in problems:
        console.print(line, markup=False)
    console.print(quarantine_example(mappings, read_file), markup=False)
    console.print(f"servicenow/incident_get_display_value_true.json holds display times of a user in {PDI_TIMEZONE}; "
                  "it is read with that display_timezone, so its instants match the plain record's.", markup=False)
    console.print(pieces_table(mappings, read_file))
    console.print(accounts_table(mappings, read_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
