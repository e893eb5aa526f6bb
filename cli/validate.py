"""``deskbridge validate``: check every admin file of a mapping directory at once.

Exit 0 with a one-line summary when everything is valid; exit 1 listing every
problem as ``file:line: key.path: message`` (one per line), then a count.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.main import app
from core.config import load_mappings
from core.errors import ConfigError
from core.settings import load_settings


def display_root(mapping_dir: Path) -> str:
    """How the directory appears in messages: relative to the working directory when inside it."""
    try:
        return str(mapping_dir.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(mapping_dir)


@app.command()
def validate(
    mapping_dir: Annotated[
        Path | None,
        typer.Option("--mapping-dir", help="Directory with shared.yaml, the system files and policy.yaml "
                                           "(default: DESKBRIDGE_MAPPING_DIR or ./mapping)."),
    ] = None,
) -> None:
    """Check the mapping files and the policy; print every problem with its file and line."""
    directory = mapping_dir or load_settings().mapping_dir
    root = display_root(directory)
    try:
        mappings = load_mappings(directory, display_root=root)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(str(problem))
        files = len({p.file for p in exc.problems})
        count = len(exc.problems)
        typer.echo(f"{count} problem{'s' if count != 1 else ''} in {files} file{'s' if files != 1 else ''}.")
        raise typer.Exit(1) from None
    names = ", ".join(Path(f).name for f in mappings.files)
    note = "" if mappings.policy is not None else " (policy not checked: core.policy is not installed)"
    typer.echo(f"{root}: all {len(mappings.files)} files valid ({names}){note}.")
