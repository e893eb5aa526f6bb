"""``make demo``: the whole loop, end to end, against the local sandbox.

1. Validate the admin files.
2. Start the sandbox (Zendesk, ServiceNow, Jira and Salesforce emulators on
   127.0.0.1, seeded) and add the scenario tickets of :mod:`cli.demo_scenario`.
3. Run the Prefect sync flow for each helpdesk (embedded Prefect API), move the
   sandbox clock, run again: escalations by content at once, by time later.
4. Run once more: nothing new may be written.
5. Show what was escalated where and why, then each scenario ticket as support
   staff see it in their helpdesk (read back from the emulator).
6. Check the scenario's outcomes; exit 0 only if every one happened.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKDIR = ROOT / ".deskbridge" / "demo"
SYSTEMS = ("zendesk", "servicenow", "jira")


def _prepare_environment() -> None:
    """A clean state store and Prefect home for the demo, before Prefect is imported."""
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir(parents=True)
    os.environ["DESKBRIDGE_STATE_URL"] = f"sqlite:///{WORKDIR / 'state.db'}"
    os.environ["DESKBRIDGE_MAPPING_DIR"] = str(ROOT / "mapping")
    os.environ["PREFECT_HOME"] = str(WORKDIR / "prefect")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def main() -> int:
    _prepare_environment()
    from rich.console import Console

    from cli.demo_report import check_cases, escalations_table, staff_view
    from cli.demo_scenario import cases
    from core.config import load_mappings
    from core.errors import ConfigError
    from sandbox.admin_client import SandboxAdmin
    from sandbox.runner import Sandbox

    console = Console(width=max(Console().width, 150))
    began = time.monotonic()
    console.rule("deskbridge demo")
    try:
        mappings = load_mappings(ROOT / "mapping", display_root="mapping")
    except ConfigError as exc:
        console.print(str(exc), markup=False)
        return 1
    console.print(f"mapping: all {len(mappings.files)} files valid")

    with Sandbox(seed=7, tickets=50) as sandbox, sandbox.environment():
        admin = SandboxAdmin(sandbox.admin_url)
        start = admin.now()
        scenario = [_create(admin, case) for case in cases(sandbox.world, start)]
        console.print(f"sandbox: 4 emulators on 127.0.0.1, 50 seeded tickets + {len(scenario)} scenario tickets, "
                      f"clock at {start:%a %Y-%m-%d %H:%M} UTC")
        if not _check_setup(console, mappings):
            return 1
        from flows.sync import sync_helpdesk

        rounds = []
        for number, advance, title in ((1, 60, "first sync"), (2, 11 * 60, "11 minutes later, nobody touched them"),
                                       (3, 2, "again at once: nothing new may be written")):  # fmt: skip
            admin.advance(advance)
            mark = admin.mark()
            now = admin.now()
            summaries = [sync_helpdesk(system=s, now=now) for s in SYSTEMS]
            api_writes = admin.writes(since=mark, actor="api")
            rounds.append((number, title, now, summaries, api_writes))
            console.print(escalations_table(number, title, now, summaries, api_writes))
        console.print(staff_view(admin, scenario))
        failures = check_cases(admin, scenario, rounds)
        _report(console, rounds[-1][2])
    elapsed = time.monotonic() - began
    if failures:
        console.print(f"[red]{len(failures)} scenario check(s) failed:[/red]")
        for line in failures:
            console.print(f"  - {line}", markup=False)
        return 1
    console.print(f"[green]All {len(scenario)} scenario escalations happened, each note written once, the repeat "
                  f"run wrote nothing[/green] ({elapsed:.0f} s).")
    return 0


def _check_setup(console, mappings) -> bool:
    """``deskbridge check`` against the sandbox: credentials, integration user, groups and fields."""
    from cli.check import SYSTEMS as CHECKED, MappingLines, check_system
    from core.settings import load_settings

    outcomes = [check_system(name, mappings, load_settings(), required=True) for name in CHECKED]
    console.print("check: " + ", ".join(f"{o.system} {o.status}" for o in outcomes)
                  + " (deskbridge check: credentials, integration user, mapped groups and fields)")
    located = MappingLines(ROOT / "mapping", "mapping")
    for o in outcomes:
        if o.status != "ok":
            console.print(f"  {o.system}: {o.summary}; {'; '.join(located(p) for p in o.problems)}", markup=False)
    return all(o.status == "ok" for o in outcomes)


def _report(console, now) -> None:
    """The escalation metrics of the demo's state store, as the static HTML page ops would open."""
    from typer.testing import CliRunner

    from cli.main import app

    page = WORKDIR / "report.html"
    result = CliRunner().invoke(app, ["report", "--html", str(page), "--since", "7d", "--until", now.isoformat()])
    console.print(result.output.strip() if result.exit_code == 0 else f"[red]report failed:[/red] {result.output}")
    if result.exit_code == 0:
        console.print(f"open it in a browser: file://{page}")


def _create(admin, case):
    from dataclasses import replace

    ticket_id = admin.create_ticket(case.system, **case.fields)
    for action in case.then:  # the comment's author defaults to the requester: the customer
        admin.human(case.system, ticket_id, action)
    return replace(case, ticket_id=ticket_id)


if __name__ == "__main__":
    sys.exit(main())
