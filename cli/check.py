"""``deskbridge check``: connect to each system with its credentials and check the mapping against it.

``validate`` checks the admin files on their own; this checks them against the
live systems, with a few read calls each and no write: the credentials are
accepted, they belong to the mapping's integration user, and the groups and
fields the mapping names exist there (what each system's check covers is in
``connectors/<system>/check.py``). A wrong group id would otherwise surface
only when the first escalation tries to use it.

Exit 0 when every checked system answered and nothing is missing, 1 otherwise.
A system whose credentials are not in the environment is skipped as not
configured; that fails the check when ``--system`` names it, or when no
system at all is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli.main import app
from cli.validate import display_root
from connectors.base import SetupCheck, SetupProblem
from core.config import Mappings, load_mappings
from core.errors import ConfigError, DeskbridgeError
from core.model import System
from core.settings import Settings, load_settings
from core.yamlconf import LocatedYaml, format_loc, read_yaml
from flows.wiring import build_accounts, build_connector

SYSTEMS = ("zendesk", "servicenow", "jira", "salesforce")
CHECK_MAX_WAIT_SECONDS = 10.0  # the most one check call waits on retries (a sync allows more)


@dataclass(frozen=True)
class Outcome:
    """One system's line in the report."""

    system: str
    status: str  # ok | FAILED | skipped
    summary: str
    problems: tuple[SetupProblem, ...] = ()
    not_checked: tuple[str, ...] = ()


class MappingLines:
    """``file:line: key: message`` for problems about mapping keys, as ``deskbridge validate`` prints them.

    Each mapping file is read once, for the lines of its keys.
    """

    def __init__(self, directory: Path, root: str):
        self._directory, self._root = directory, root
        self._sources: dict[str, LocatedYaml | None] = {}

    def __call__(self, problem: SetupProblem) -> str:
        if problem.file is None:
            return problem.message
        if problem.file not in self._sources:
            try:
                self._sources[problem.file] = read_yaml(self._directory / problem.file,
                                                        display_name=f"{self._root}/{problem.file}")
            except ConfigError:  # the file was valid a moment ago; say what we can
                self._sources[problem.file] = None
        source = self._sources[problem.file]
        if source is None:
            return f"{self._root}/{problem.file}: {format_loc(problem.key)}: {problem.message}"
        return str(source.problem(problem.key, problem.message))


def check_system(name: str, mappings: Mappings, settings: Settings, *, required: bool,
                 block: str | None = None) -> Outcome:
    """Build the system's connector (credentials from ``block``, else the environment) and run its check.

    Never raises for the system's faults: they become the outcome.
    """
    try:
        source = build_accounts(mappings, settings, block) if name == "salesforce" else \
            build_connector(System(name), mappings, settings, block)  # fmt: skip
    except ConfigError as exc:
        unset = all(p.message == "is not set" for p in exc.problems)
        if unset and not required:
            names = ", ".join(p.key for p in exc.problems)
            return Outcome(name, "skipped", f"not configured ({names} not set)")
        return Outcome(name, "FAILED", "credentials are incomplete",
                       tuple(SetupProblem(str(p)) for p in exc.problems))
    except (DeskbridgeError, ValueError) as exc:  # ValueError: Prefect has no block of that name
        return Outcome(name, "FAILED", str(exc))
    try:
        result: SetupCheck = source.check_setup()
    except DeskbridgeError as exc:  # typed errors name the system, the endpoint and the credential's source only
        return Outcome(name, "FAILED", str(exc))
    finally:
        source.close()
    if result.problems:
        return Outcome(name, "FAILED", f"connected as {result.identity}", result.problems, result.not_checked)
    return Outcome(name, "ok", f"connected as {result.identity}; the mapping matches", (), result.not_checked)


@app.command()
def check(
    system: Annotated[list[str] | None, typer.Option("--system", help="Check only this system (repeatable): "
                                                                      + ", ".join(SYSTEMS) + ".")] = None,
    mapping_dir: Annotated[Path | None, typer.Option("--mapping-dir", help="Directory with the mapping files "
                                                     "(default: DESKBRIDGE_MAPPING_DIR or ./mapping).")] = None,
    block: Annotated[list[str] | None, typer.Option("--block", help="SYSTEM=NAME: take that system's credentials "
                                                    "from the Prefect block NAME (repeatable).")] = None,
) -> None:
    """Connect to each system with its credentials and check the mapping against it (read calls only)."""
    unknown = [s for s in system or () if s not in SYSTEMS]
    if unknown:
        raise typer.BadParameter(f"{', '.join(unknown)}: not one of {', '.join(SYSTEMS)}", param_hint="--system")
    blocks = _blocks(block or [])
    settings = load_settings()
    # Interactive: give up on an unreachable or throttling system sooner than a sync would.
    settings = settings.model_copy(update={"retry_max_wait_seconds": min(settings.retry_max_wait_seconds,
                                                                         CHECK_MAX_WAIT_SECONDS)})
    directory = mapping_dir or settings.mapping_dir
    root = display_root(directory)
    try:
        mappings = load_mappings(directory, display_root=root, with_policy=False)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(str(problem))
        typer.echo("The mapping is not valid (see `deskbridge validate`); nothing was checked against the systems.")
        raise typer.Exit(1) from None
    console = Console(highlight=False)
    outcomes = [check_system(name, mappings, settings, required=bool(system) or name in blocks, block=blocks.get(name))
                for name in system or SYSTEMS]
    colours = {"ok": "green", "FAILED": "red", "skipped": "yellow"}
    located = MappingLines(directory, root)
    for outcome in outcomes:
        mark = f"[{colours[outcome.status]}]{outcome.status}[/{colours[outcome.status]}]"
        console.print(f"{outcome.system}: {mark}: {outcome.summary}", soft_wrap=True)
        for problem in outcome.problems:
            console.print(f"  - {located(problem)}", soft_wrap=True)
        for what in outcome.not_checked:
            console.print(f"  not checked: {what}", soft_wrap=True)
    failed = [o.system for o in outcomes if o.status == "FAILED"]
    if failed:
        console.print(f"{len(failed)} of {len(outcomes)} systems failed the check: {', '.join(failed)}.")
        raise typer.Exit(1)
    if all(o.status == "skipped" for o in outcomes):
        console.print("No system is configured: set the DESKBRIDGE_* credentials (README, Configuration).")
        raise typer.Exit(1)


def _blocks(pairs: list[str]) -> dict[str, str]:
    """``--block zendesk=prod-zendesk`` options as system -> block name."""
    blocks = {}
    for pair in pairs:
        name, sep, block = pair.partition("=")
        if not sep or name not in SYSTEMS or not block:
            raise typer.BadParameter(f"{pair!r}: expected SYSTEM=NAME with SYSTEM one of {', '.join(SYSTEMS)}",
                                     param_hint="--block")
        blocks[name] = block
    return blocks
