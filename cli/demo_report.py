"""What the demo prints, and the checks that decide its exit code.

Everything shown is read back: escalations from the flow runs' summaries, the
tickets from the emulators (as support staff would see them), writes from the
sandbox's write log.
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from cli.demo_scenario import Case
from core.markers import find_markers
from sandbox import vocab

NATIVE_GROUP_NAMES = {
    "zendesk": {k: v[1] for k, v in vocab.ZENDESK["groups"].items()},
    "servicenow": {k: v[1] for k, v in vocab.SERVICENOW["groups"].items()},
    "jira": dict(vocab.JIRA["groups"]),
}


def escalations_table(number: int, title: str, now: datetime, summaries: list[dict], api_writes: list[dict]) -> Table:
    """One row per ticket escalated or proposed in this round, with the reasons."""
    table = Table(title=f"Round {number} at {now:%H:%M:%S} UTC: {title}", title_justify="left", expand=True)
    for column in ("helpdesk", "ticket", "mode", "level", "why", "push"):
        table.add_column(column, overflow="fold")
    for summary in summaries:
        for line in summary["escalations"]:
            table.add_row(
                summary["system"], line["key"], line["mode"], line["level_name"], "; ".join(line["reasons"]),
                line["outcome"] or "-",
            )
    counts = ", ".join(
        f"{s['system']}: pulled {s['pulled']}, by time {s['time_based']}, escalated {s['escalated']}, "
        f"proposed {s['proposed']}"
        for s in summaries
    )
    table.caption = f"{counts}. Writes the helpdesks received: {len(api_writes)}."
    return table


def _notes(view: dict) -> tuple[list[dict], list[dict]]:
    """deskbridge's internal notes and customer messages on a ticket (they carry its marker)."""
    mine = [c for c in view["comments"] if find_markers(c["body"])]
    return [c for c in mine if not c["public"]], [c for c in mine if c["public"]]


def staff_view(admin, scenario: list[Case]) -> Group:
    """Each scenario ticket as an agent sees it in the helpdesk: group, priority, tags, the note."""
    panels = []
    for case in scenario:
        view = admin.view(case.system, case.ticket_id)
        notes, messages = _notes(view)
        group = NATIVE_GROUP_NAMES[case.system].get(view["group"], view["group"])
        head = (f"group [bold]{group}[/bold] · priority [bold]{view['priority']}[/bold] · status {view['status']}\n"
                f"tags: {', '.join(view['tags']) or '-'}")  # fmt: skip
        body = notes[-1]["body"] if notes else "(no deskbridge note)"
        text = f"{head}\n\n[dim]internal note:[/dim]\n{_trim(body, 22)}"
        if messages:
            text += f"\n\n[dim]public reply to the customer:[/dim]\n{_trim(messages[-1]['body'], 6)}"
        panels.append(Panel(text, title=f"{case.system} {view['key']}: {case.shows}", title_align="left"))
    return Group(*panels)


def _trim(text: str, lines: int) -> str:
    rows = text.splitlines()
    return "\n".join(rows[:lines] + ([f"... ({len(rows) - lines} more lines)"] if len(rows) > lines else []))


def check_cases(admin, scenario: list[Case], rounds: list[tuple]) -> list[str]:
    """Every scenario outcome, each note once, and a repeat run that writes nothing."""
    failures: list[str] = []
    escalated_in: dict[str, int] = {}
    for number, _title, _now, summaries, _writes in rounds:
        for summary in summaries:
            for line in summary["escalations"]:
                escalated_in.setdefault(line["ticket"], number)
    for case in scenario:
        failures += _check_case(admin, case, escalated_in.get(f"{case.system}:{case.ticket_id}"))
    last_writes = rounds[-1][4]
    if last_writes:
        failures.append(f"the repeat run wrote {len(last_writes)} change(s): {last_writes[:3]}")
    removed = [w for _n, _t, _now, _s, writes in rounds for w in writes if w["kind"] == "tags_removed"]
    if removed:
        failures.append(f"deskbridge removed tags: {removed[:3]}")
    return failures


def _check_case(admin, case: Case, escalated_round: int | None) -> list[str]:
    view = admin.view(case.system, case.ticket_id)
    where = f"{case.system} {view['key']} ({case.shows})"
    problems = []
    if escalated_round is None or escalated_round > case.by_round:
        problems.append(f"{where}: expected to escalate by round {case.by_round}, got {escalated_round}")
    elif case.by_round > 1 and escalated_round < case.by_round:
        problems.append(f"{where}: escalated in round {escalated_round}, before its SLA was at risk")
    if view["group"] != case.group:
        problems.append(f"{where}: group is {view['group']}, expected {case.group}")
    if case.tag not in view["tags"]:
        problems.append(f"{where}: tag {case.tag} missing from {view['tags']}")
    if case.priority and view["priority"] != case.priority:
        problems.append(f"{where}: priority is {view['priority']}, expected {case.priority}")
    notes, messages = _notes(view)
    keys = [k for c in notes for k in find_markers(c["body"])]
    if len(notes) != 1 or len(set(keys)) != len(keys):
        problems.append(f"{where}: {len(notes)} deskbridge notes, expected exactly 1")
    if case.customer_message != bool(messages) or len(messages) > 1:
        problems.append(f"{where}: {len(messages)} customer messages, expected {int(case.customer_message)}")
    return problems
