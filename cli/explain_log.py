"""``deskbridge explain SYSTEM:ID``: what deskbridge decided about a ticket, from the decision log.

Shows the latest evaluations (verdict, rules, reasons, what was deliberately not
done, the explanation) and every write planned for the ticket with its outcome,
so a support lead can answer "why did this escalate?" without reading code.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from core.calendar import utc_iso
from core.model import System
from core.store import Store
from core.store.records import DecisionRecord

HELPDESKS = ", ".join(s.value for s in System)


def parse_ref(ref: str) -> tuple[System, str]:
    """``zendesk:123`` -> (System.zendesk, "123"); the id may also be the human key (``jira:SUP-12``)."""
    system, sep, ticket = ref.partition(":")
    if not sep or not ticket:
        raise ValueError(f"{ref!r}: expected SYSTEM:ID, e.g. zendesk:123 ({HELPDESKS})")
    try:
        return System(system.strip().lower()), ticket.strip()
    except ValueError:
        raise ValueError(f"{system!r} is not one of: {HELPDESKS}") from None


def explain_from_log(console: Console, ref: str, state_url: str | None, last: int) -> bool:
    """Print the ticket's recorded decisions and writes; False when the log knows nothing of it."""
    system, wanted = parse_ref(ref)
    with Store.open(state_url) as store, store.transaction() as tx:
        ticket_id = _resolve(tx, system, wanted)
        decisions = tx.decisions_for(system, ticket_id)
        writes = tx.outbox_for_ticket(system, ticket_id)
        record = tx.ticket_record(system, ticket_id)
    if not decisions:
        console.print(f"no decision recorded for {system.value}:{wanted} in {store!r}", markup=False)
        return False
    key = record.key if record else wanted
    console.rule(f"{key} ({system.value}): {len(decisions)} evaluation(s), showing the last {min(last, len(decisions))}")
    for decision in decisions[-last:]:
        _show(console, decision)
    if writes:
        console.print(_writes_table(writes))
    return True


def _resolve(tx, system: System, wanted: str) -> str:
    """The native id for ``wanted``, which may be the id itself or the key people use."""
    if tx.ticket_record(system, wanted) is not None:
        return wanted
    match = next((r for r in tx.ticket_records(system) if r.key.lstrip("#") == wanted.lstrip("#")), None)
    return match.ticket_id if match else wanted


def _show(console: Console, d: DecisionRecord) -> None:
    mode = d.inputs.get("mode", "auto" if d.escalate else "none")
    verdict = {"auto": "ESCALATE", "propose": "PROPOSE"}.get(mode, "no escalation")
    console.print(f"\n[bold]{utc_iso(d.evaluated_at)}[/bold]: {verdict}, level {d.level}"
                  + (f", rules {', '.join(d.rule_ids)}" if d.rule_ids else ""))
    for reason in d.reasons:
        text = reason.get("text") if isinstance(reason, dict) else str(reason)
        console.print(f"  because {text}", markup=False)
    for why in d.inputs.get("skipped_because", []):
        console.print(f"  not done: {why}", markup=False)
    console.print(f"  {d.explanation}", markup=False)
    if d.idempotency_key:
        console.print(f"  write plan {d.idempotency_key} (marker [deskbridge:{d.idempotency_key}])", markup=False)


def _writes_table(writes) -> Table:
    table = Table(title="Writes planned for this ticket")
    for column in ("planned", "key", "status", "attempts", "detail"):
        table.add_column(column, overflow="fold")
    for entry in writes:
        table.add_row(utc_iso(entry.created_at), entry.idempotency_key, entry.status.value, str(entry.attempts),
                      entry.detail or "")
    return table
