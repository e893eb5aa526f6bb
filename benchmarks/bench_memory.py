"""Peak memory of one sync as the number of tickets grows: flat, because pages are streamed.

For each size N, ``deskbridge sandbox up --tickets N --frozen-clock --env-file F``
runs in a subprocess of its own (the emulators hold the world, not deskbridge).
Then, per helpdesk, a fresh Python subprocess builds the run's context with
:func:`flows.wiring.build_context` and runs :func:`flows.pipeline.run_sync` once:
a first sync of the whole backlog (a 90-day look-back, so every seeded ticket of
that helpdesk is pulled, evaluated, stored and, where due, escalated), against its
own fresh SQLite state store. Prefect is not involved: the figure is deskbridge's
pipeline alone.

Measured in the sync subprocess: the RSS high-water mark, ``resource.getrusage
(RUSAGE_SELF).ru_maxrss`` at the end of the run (the kernel's VmHWM: every byte the
process ever had resident, imports included), and the RSS right before the run
(``VmRSS`` after the context was built), so the growth during the sync shows on
its own. The sandbox process's own RSS is printed beside it for contrast.

    python -m benchmarks memory                                        # 1k, 2.5k, 5k: a few minutes
    python -m benchmarks memory -- --sizes 10000,50000,100000          # the full run: 23 to 52 min on 2 shared cores
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = ("zendesk", "servicenow", "jira")
DEFAULT_SIZES = "1000,2500,5000"
FULL_SIZES = "10000,50000,100000"
FLAT_TOLERANCE = 1.25  # "flat": the largest size's peak within 25 % of the smallest's


@dataclass
class Sample:
    """One sync subprocess: one helpdesk at one world size."""

    size: int
    system: str
    tickets: int  # distinct tickets the state store holds after the run
    pulled: int  # records pulled: echoes of the run's own writes that come back in later pages count again
    evaluated: int
    written: int
    seconds: float
    rss_before_mib: float
    peak_mib: float
    sandbox_rss_mib: float | None = None

    @property
    def growth_mib(self) -> float:
        return self.peak_mib - self.rss_before_mib


def rss_mib(pid: int | str = "self") -> float | None:
    """Current resident set size of a process in MiB (Linux /proc), None when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def peak_mib() -> float:
    """This process's RSS high-water mark in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the sync subprocess --------------------------------------------------------------------------


def child(system: str, now: datetime) -> dict:
    """One run of one helpdesk in this (fresh) process; settings and credentials from the environment."""
    from core.model import System
    from core.settings import load_settings
    from flows.pipeline import run_sync
    from flows.wiring import build_context

    logging.getLogger("deskbridge").setLevel(logging.ERROR)  # per-ticket warnings are not the point here
    ctx = build_context(System(system), load_settings(), now)
    before = rss_mib() or 0.0
    began = time.perf_counter()
    try:
        summary = run_sync(ctx, now, str(uuid.uuid4()))
        seconds, peak = time.perf_counter() - began, peak_mib()
        with ctx.store.transaction() as tx:
            tickets = len(tx.ticket_records(System(system)))
    finally:
        ctx.store.close()
    return {"system": system, "tickets": tickets, "pulled": summary.pulled, "evaluated": summary.evaluated,
            "written": sum(summary.writes.values()), "seconds": seconds, "rss_before_mib": before, "peak_mib": peak}


# -- the parent: sandbox and sync subprocesses ----------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """The KEY=value lines ``deskbridge sandbox up --env-file`` writes (shell-quoted values)."""
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            env[key] = shlex.split(value)[0] if value else ""
    return env


def deskbridge_command() -> list[str]:
    """The installed ``deskbridge`` script beside this interpreter, or the typer app through Python."""
    script = Path(sys.executable).with_name("deskbridge")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from cli.main import app; app()"]


class SandboxProcess:
    """``deskbridge sandbox up`` in a subprocess, stopped with SIGTERM on exit."""

    def __init__(self, tickets: int, seed: int, workdir: Path, timeout: float):
        self.env_file = workdir / "sandbox.env"
        self.log_file = workdir / "sandbox.log"
        self.command = [*deskbridge_command(), "sandbox", "up", "--tickets", str(tickets), "--seed", str(seed),
                        "--frozen-clock", "--env-file", str(self.env_file)]
        self.timeout = timeout
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> dict[str, str]:
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the sandbox exited ({self.process.returncode}): {self.log_file.read_text()}")
            if self.env_file.exists() and "DESKBRIDGE_SANDBOX_ADMIN_URL" in self.env_file.read_text():
                return read_env_file(self.env_file)
            time.sleep(0.5)
        self.__exit__()
        raise TimeoutError(f"the sandbox did not come up within {self.timeout:.0f} s")

    def __exit__(self, *exc_info: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def rss_mib(self) -> float | None:
        return rss_mib(self.process.pid) if self.process else None


def run_child(system: str, now: datetime, env: dict[str, str], state_url: str) -> dict:
    """One sync subprocess; its JSON figures."""
    child_env = {**os.environ, **env, "DESKBRIDGE_STATE_URL": state_url, "DESKBRIDGE_INITIAL_LOOKBACK_DAYS": "90",
                 "DESKBRIDGE_MAPPING_DIR": str(ROOT / "mapping"), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "benchmarks.bench_memory", "--child", system, "--now", now.isoformat()]
    done = subprocess.run(command, cwd=ROOT, env=child_env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the {system} sync subprocess failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_size(size: int, systems: list[str], seed: int, startup_timeout: float) -> list[Sample]:
    """A sandbox of ``size`` tickets, then one fresh sync subprocess per helpdesk."""
    from sandbox.admin_client import SandboxAdmin

    samples = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        sandbox = SandboxProcess(size, seed, Path(tmp), startup_timeout)
        with sandbox as env:
            admin = SandboxAdmin(env["DESKBRIDGE_SANDBOX_ADMIN_URL"], verify=env["REQUESTS_CA_BUNDLE"])
            try:
                for system in systems:
                    now = admin.advance(2)  # exports hold back the current second
                    figures = run_child(system, now, env, f"sqlite:///{Path(tmp) / f'{system}.db'}")
                    samples.append(Sample(size=size, sandbox_rss_mib=sandbox.rss_mib, **figures))
                    print_sample(samples[-1])
            finally:
                admin.close()
    return samples


# -- report ---------------------------------------------------------------------------------------


def print_sample(s: Sample) -> None:
    sandbox = f"{s.sandbox_rss_mib:,.0f}" if s.sandbox_rss_mib is not None else "?"
    print(f"  {s.size:>7,} {s.system:<10} {s.tickets:>7,} {s.pulled:>7,} {s.evaluated:>7,} {s.written:>6,} "
          f"{s.seconds:>7.1f} {s.rss_before_mib:>9.1f} {s.peak_mib:>8.1f} {s.growth_mib:>7.1f} {sandbox:>8}", flush=True)


def print_flatness(samples: list[Sample]) -> bool:
    """Per helpdesk: the peak at the largest size against the smallest; True when all stay flat."""
    flat = True
    for system in dict.fromkeys(s.system for s in samples):
        mine = sorted((s for s in samples if s.system == system), key=lambda s: s.size)
        if len(mine) < 2:
            continue
        small, large = mine[0], mine[-1]
        ratio = large.peak_mib / small.peak_mib
        extra = (large.peak_mib - small.peak_mib) / max(large.tickets - small.tickets, 1) * 1000
        ok = ratio <= FLAT_TOLERANCE
        flat &= ok
        print(f"  {system}: peak {small.peak_mib:.1f} MiB at {small.tickets:,} tickets -> {large.peak_mib:.1f} MiB at "
              f"{large.tickets:,} ({ratio:.2f}x for {large.tickets / max(small.tickets, 1):.0f}x the tickets; "
              f"{extra:+.2f} MiB per 1,000 more tickets): {'flat' if ok else 'NOT flat'} "
              f"(flat = within {FLAT_TOLERANCE:.2f}x)")
    return flat


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks memory", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"world sizes (tickets over all helpdesks); "
                        f"the full run is {FULL_SIZES}")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--startup-timeout", type=float, default=1800.0, help="seconds to wait for the sandbox")
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)  # internal: the sync subprocess
    parser.add_argument("--now", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.child:
        print(json.dumps(child(args.child, datetime.fromisoformat(args.now))))
        return 0
    from benchmarks.bench_evaluate import machine_info

    for key, value in machine_info().items():
        print(f"  {key}: {value}")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    print(f"  sizes {', '.join(f'{n:,}' for n in sizes)} tickets (40/30/30 over Zendesk/ServiceNow/Jira), seed "
          f"{args.seed}; one fresh sync subprocess per helpdesk and size; peak = ru_maxrss of that subprocess")
    if args.sizes != FULL_SIZES:
        print(f"  full run: python -m benchmarks memory -- --sizes {FULL_SIZES}")
    print(f"  {'world':>7} {'helpdesk':<10} {'tickets':>7} {'pulled':>7} {'evald':>7} {'writes':>6} {'sync s':>7} "
          f"{'RSS0 MiB':>9} {'peak MiB':>8} {'growth':>7} {'sandbox':>8}")
    samples = [s for size in sizes for s in measure_size(size, systems, args.seed, args.startup_timeout)]
    print("flatness (RSS high-water mark of the sync subprocess):")
    print_flatness(samples)
    return 0  # a report, not a gate: the verdict is in the output


if __name__ == "__main__":
    raise SystemExit(main())
