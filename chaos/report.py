"""What a chaos run tells: runs, faults injected by kind, kills, people's edits and every violation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from chaos.invariants import INVARIANTS, Violation
from chaos.process import RunResult


@dataclass
class RoundLog:
    """One round: its instant, weather, runs, settling and what the checks found."""

    number: int
    now: str
    faults: list[str] = field(default_factory=list)
    runs: list[RunResult] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    settle_runs: int = 0
    settle_writes: int = 0
    tickets_checked: int = 0
    expected_escalations: int = 0
    violations: list[Violation] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class ChaosReport:
    """The whole run; ``violations`` holds each distinct violation once, from the round it first appeared."""

    seed: int
    rounds: list[RoundLog] = field(default_factory=list)
    injected: Counter = field(default_factory=Counter)
    humans: Counter = field(default_factory=Counter)
    humans_refused: int = 0
    worker_starts: int = 0
    seconds: float = 0.0
    violations: list[Violation] = field(default_factory=list)

    @property
    def runs(self) -> list[RunResult]:
        return [r for rnd in self.rounds for r in rnd.runs]

    @property
    def kills(self) -> int:
        return sum(r.killed for r in self.runs)

    @property
    def failed_runs(self) -> Counter:
        """Runs that ended with an error, by error class (typed errors are the expected way to fail)."""
        return Counter((r.error or "").split(":")[0] + ("" if r.typed_error else " (untyped)")
                       for r in self.runs if not r.ok and not r.killed)  # fmt: skip

    def ok(self) -> bool:
        return not self.violations


def print_report(report: ChaosReport, console: Console | None = None) -> None:
    console = console or Console(width=max(Console().width, 150))
    console.print(rounds_table(report))
    runs = report.runs
    console.print(f"runs: {len(runs)} chaos syncs ({sum(r.ok for r in runs)} completed, {report.kills} killed with "
                  f"SIGKILL and restarted, {sum(report.failed_runs.values())} failed cleanly), "
                  f"{sum(r.settle_runs for r in report.rounds)} settling syncs, "
                  f"{report.worker_starts} worker processes")
    console.print("faults injected: " + (", ".join(f"{k} {v}" for k, v in sorted(report.injected.items())) or "none"))
    planned = sum(r.kill_planned is not None for r in runs)
    console.print(f"kills: {report.kills} SIGKILLs landed ({planned} drawn; {planned - report.kills} syncs finished "
                  "before their kill point)")
    for run in (r for r in runs if r.killed):
        console.print(f"  - {run.system}: {run.kill_point} at {run.seconds:.2f} s", markup=False)
    console.print("people: " + ", ".join(f"{k} {v}" for k, v in sorted(report.humans.items()))
                  + f" ({report.humans_refused} refused by the helpdesk)")
    if report.failed_runs:
        console.print("failed runs by error: " + ", ".join(f"{k} {v}" for k, v in report.failed_runs.most_common()),
                      markup=False)
    by_kind = Counter(v.invariant for v in report.violations)
    console.print("violations: " + str(len(report.violations)) + " ("
                  + ", ".join(f"{name} {by_kind.get(name, 0)}" for name in (*INVARIANTS, "settled", "hung")) + ")")
    for violation in report.violations:
        console.print(f"  - {violation}", markup=False)
    console.print(f"took {report.seconds:.0f} s, seed {report.seed}")


def rounds_table(report: ChaosReport) -> Table:
    table = Table(title=f"deskbridge chaos, seed {report.seed}", title_justify="left")
    columns = ("round", "virtual now", "faults", "syncs", "killed", "settle", "checked", "expected", "new violations")
    for column in columns:
        table.add_column(column, overflow="fold")
    for rnd in report.rounds:
        table.add_row(
            str(rnd.number), rnd.now[:16].replace("T", " "), "\n".join(rnd.faults), str(len(rnd.runs)),
            str(sum(r.killed for r in rnd.runs)), f"{rnd.settle_runs} ({rnd.settle_writes} writes)",
            str(rnd.tickets_checked), str(rnd.expected_escalations), str(len(rnd.violations)),
        )  # fmt: skip
    return table
