"""``deskbridge sandbox up``: the four emulated APIs and the admin API, in the foreground.

Prints each base URL and the credentials to use, and with ``--env-file``
writes the exact ``KEY=value`` lines deskbridge reads, so
``set -a; . FILE; set +a`` points deskbridge at the sandbox. Heavy imports
(uvicorn, the emulators) happen only when the command runs.
"""

from __future__ import annotations

import shlex
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.main import app

sandbox_app = typer.Typer(
    help="The local sandbox: Zendesk, ServiceNow, Jira and Salesforce on 127.0.0.1.", no_args_is_help=True
)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("up")
def up(
    seed: Annotated[int, typer.Option(help="Seed of the generated world (same seed, same tickets).")] = 7,
    tickets: Annotated[int, typer.Option(min=0, help="Tickets across the three helpdesks (40/30/30).")] = 300,
    env_file: Annotated[Path | None, typer.Option(help="Write KEY=value lines for deskbridge here.")] = None,
    port_base: Annotated[
        int | None, typer.Option(help="Zendesk on P, ServiceNow P+1, Jira P+2, Salesforce P+3, admin P+4.")
    ] = None,
    start: Annotated[str | None, typer.Option(help='Virtual start instant, ISO 8601 with offset, or "now".')] = None,
    frozen_clock: Annotated[bool, typer.Option(help="Keep virtual time still until the admin API moves it.")] = False,
) -> None:
    """Seed a world and serve the four emulators and the admin API until Ctrl-C."""
    from sandbox.runner import DEFAULT_START, Sandbox

    instant = _parse_start(start, DEFAULT_START)
    typer.echo(f"Seeding {tickets} tickets (seed {seed}, start {instant.isoformat()}) ...")
    sandbox = Sandbox(seed, tickets, instant, port_base=port_base, follow_wall_clock=not frozen_clock)
    try:
        sandbox.start()
    except RuntimeError as error:
        raise typer.BadParameter(str(error), param_hint="--port-base") from None
    try:
        _report(sandbox)
        if env_file is not None:
            write_env_file(env_file, sandbox.env())
            typer.echo(f"\nEnvironment written to {env_file}: run `set -a; . {env_file}; set +a`.")
        typer.echo("\nRunning. Ctrl-C to stop.")
        signal.signal(signal.SIGTERM, _raise_interrupt)
        signal.signal(signal.SIGINT, _raise_interrupt)  # also when started from a script that ignores SIGINT
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        typer.echo("\nStopping the sandbox.")
    finally:
        sandbox.stop()


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """``KEY=value`` lines, shell-quoted where needed, readable by ``set -a; . FILE``."""
    lines = [f"{key}={shlex.quote(value)}" for key, value in sorted(env.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def resident_memory_mb() -> float:
    """This process's resident set size in MiB (Linux /proc; peak RSS elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _report(sandbox) -> None:  # noqa: ANN001 - a running Sandbox
    typer.echo(f"Started in {sandbox.timings['total']:.1f} s; resident memory {resident_memory_mb():.0f} MiB.")
    seeded = {key.removeprefix("seed_"): value for key, value in sandbox.timings.items() if key.startswith("seed_")}
    seeding = ", ".join(f"{system} {seconds:.1f} s" for system, seconds in seeded.items())
    typer.echo(f"Seeding per emulator: {seeding}")
    typer.echo("\nBase URLs:")
    for name, url in sandbox.urls.items():
        typer.echo(f"  {name:<11} {url}")
    typer.echo("\nCredentials (sandbox only):")
    for system, emulator in sandbox.emulators.items():
        pairs = ", ".join(f"{key}={value}" for key, value in emulator.credentials.items())
        typer.echo(f"  {system:<11} {pairs}")
    typer.echo(f"\nCA bundle: {sandbox.certs.bundle_file}")


def _parse_start(text: str | None, default: datetime) -> datetime:
    if text is None:
        return default
    if text == "now":
        return datetime.now(UTC).replace(microsecond=0)
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 instant", param_hint="--start") from None
    if instant.tzinfo is None:
        example = "2026-03-02T09:00:00+00:00"
        raise typer.BadParameter(f"give the instant with an offset, e.g. {example}", param_hint="--start")
    return instant


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
