"""The ``deskbridge`` command line: one typer app, one module per command group.

Each command module registers itself on :data:`app` when imported; the import
list at the bottom is the table of contents.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="deskbridge",
    help="Escalate at-risk support tickets inside Zendesk, ServiceNow and Jira Service Management.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def version() -> None:
    """Print deskbridge's version."""
    from importlib.metadata import version as _version

    typer.echo(_version("deskbridge"))


# Command modules (each adds its commands to `app`).
from sandbox import cli as _sandbox_cli  # noqa: E402,F401  deskbridge sandbox ...
from cli import validate as _validate_cli  # noqa: E402,F401  deskbridge validate
from cli import sync as _sync_cli  # noqa: E402,F401  deskbridge sync
from cli import explain as _explain_cli  # noqa: E402,F401  deskbridge explain
from cli import metrics as _metrics_cli  # noqa: E402,F401  deskbridge metrics
from cli import report as _report_cli  # noqa: E402,F401  deskbridge report
from cli import replay as _replay_cli  # noqa: E402,F401  deskbridge replay
from cli import check as _check_cli  # noqa: E402,F401  deskbridge check
