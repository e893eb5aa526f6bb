"""Latency from a ticket crossing its at-risk threshold to the escalation being visible in the helpdesk.

Model (what the figures mean):

* A sandbox with ``--open-tickets`` open tickets (10,000 by default) seeded over
  Zendesk, ServiceNow and Jira (40/30/30, plus their solved and closed ones), and a
  fresh state store. A first full sync per helpdesk builds the state.
* The deployment cadence is simulated: every ``--cadence`` virtual seconds (120)
  the sandbox clock moves and :func:`flows.pipeline.run_sync` runs once per
  helpdesk, one after the other, each with a context built by
  :func:`flows.wiring.build_context` as the Prefect flow builds it.
* Between ticks, probe tickets are created through the admin API: premier
  urgent tickets nobody touches. Their at-risk instant is computed from the
  policy (the ``sla_at_risk`` rule's percent of the premier-urgent first-response
  target on its calendar), and their creation instants are spread so those
  instants fall at different phases of the cadence.
* The sandbox clock is frozen while a run works, so a write is stamped with the
  tick's instant. **Virtual latency** = the probe's last escalation write in the
  sandbox write log minus its at-risk instant: it shows whether the first run
  at or after the threshold escalated it (bounded by the cadence).
* **Run wall time** is measured per run. In a deployment a run starts at its
  tick, so the escalation becomes visible (tick - at-risk) + (time into the run
  until the write). The **modelled latency** adds to the virtual latency the
  wall time from the start of the flow run (context built) to the end of the
  pipeline stage that wrote the probe: an upper bound for that run.

    python -m benchmarks latency                       # ~10,000 open tickets, a few minutes
    python -m benchmarks latency -- --open-tickets 50000 --probe-ticks 20
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from benchmarks.bench_evaluate import machine_info
from core.model import Priority, System, Status
from core.policy import Policy, load_policy
from core.policy_sla import TargetName
from core.settings import Settings
from flows.pipeline import run_sync
from flows.wiring import build_context
from sandbox.admin_client import SandboxAdmin
from sandbox.runner import DEFAULT_START, Sandbox
from sandbox.seed import SYSTEMS, generate_world

ROOT = Path(__file__).resolve().parent.parent
OPEN = {s.value for s in Status if s.is_open}
PROBE_RULE = "sla_at_risk"
PROBE_TIER_VALUE = "Premier Support"  # Salesforce picklist value of the premier tier


@dataclass
class RunTiming:
    """One run of one helpdesk at one tick."""

    system: str
    tick: int
    build_s: float
    run_s: float
    pulled: int
    duplicates: int  # pulled again by an overlapping window, dropped unevaluated
    time_based: int
    escalated: int
    proposed: int
    writes: int
    stages: list[tuple[str, float, int]] = field(default_factory=list)  # (stage, wall s since start, last seq)

    @property
    def total_s(self) -> float:
        return self.build_s + self.run_s


@dataclass
class Probe:
    """An untouched premier urgent ticket and what became of it."""

    system: str
    ticket_id: str
    created_at: datetime
    at_risk_at: datetime
    written_at: datetime | None = None  # its first escalation, from the sandbox write log (virtual time)
    write_seq: int | None = None
    in_run_s: float | None = None  # wall s from the flow run's start to the end of the stage that wrote it
    tags: tuple[str, ...] = ()

    @property
    def virtual_latency_s(self) -> float | None:
        return None if self.written_at is None else (self.written_at - self.at_risk_at).total_seconds()

    @property
    def modelled_latency_s(self) -> float | None:
        v = self.virtual_latency_s
        return None if v is None or self.in_run_s is None else v + self.in_run_s


def open_count(seed: int, tickets: int, start: datetime) -> int:
    """Open tickets (new, open, pending, on hold) in a seeded world of ``tickets`` tickets."""
    return sum(1 for t in generate_world(seed, tickets, start).tickets if t.status in OPEN)


def world_size_for(open_target: int, seed: int, start: datetime) -> tuple[int, int]:
    """The seeded ticket count whose world holds about ``open_target`` open tickets, and that open count."""
    sample = max(1_000, min(open_target, 5_000))
    fraction = open_count(seed, sample, start) / sample
    total = max(50, math.ceil(open_target / fraction))
    found = open_count(seed, total, start)
    total = max(50, round(total * open_target / found))  # one correction step: the sample's mix is not exact
    return total, open_count(seed, total, start)


def at_risk_instant(policy: Policy, created: datetime) -> datetime:
    """When an untouched premier urgent ticket created at ``created`` crosses the probe rule's threshold."""
    rule = next(r for r in policy.rules if r.id == PROBE_RULE)
    row = policy.sla.row_for("premier", Priority.urgent, None, System.zendesk)
    minutes = row.minutes()[TargetName.first_response] * rule.when.percent_used / 100.0
    calendar = policy.calendar(row.calendar)
    return datetime.fromtimestamp(calendar.add_business_seconds(created.timestamp(), minutes * 60.0), created.tzinfo)


class Harness:
    """A running sandbox, one state store, and the timed runs against them."""

    def __init__(self, sandbox: Sandbox, state_dir: Path, policy: Policy):
        self.sandbox = sandbox
        self.admin = SandboxAdmin(sandbox.admin_url)
        self.policy = policy
        # A long first look-back so the first sync pulls every open ticket of the seeded world.
        self.settings = Settings(mapping_dir=ROOT / "mapping", state_url=f"sqlite:///{state_dir / 'state.db'}",
                                 initial_lookback_days=90)
        self.runs: list[RunTiming] = []

    def sync_all(self, tick: int) -> list[RunTiming]:
        now = self.admin.now()
        return [self.sync_one(system, tick, now) for system in SYSTEMS]

    def sync_one(self, system: str, tick: int, now: datetime) -> RunTiming:
        """One flow run's work: build the context, then run_sync, with each stage's end recorded."""
        log = self.sandbox.ctx.log
        began = time.perf_counter()
        stages: list[tuple[str, float, int]] = []

        def timed(fn):
            def stage(*args, **kwargs):
                try:
                    return fn(*args, **kwargs)
                finally:
                    stages.append((fn.__name__, time.perf_counter() - began, log.last_seq()))
            return stage

        ctx = build_context(System(system), self.settings, now)
        built = time.perf_counter()
        try:
            summary = run_sync(ctx, now, str(uuid.uuid4()), step=timed)
        finally:
            ctx.store.close()
        ended = time.perf_counter()
        run = RunTiming(system, tick, built - began, ended - built, summary.pulled, summary.duplicates,
                        summary.time_based, summary.escalated, summary.proposed, sum(summary.writes.values()), stages)
        self.runs.append(run)
        return run

    def create_probe(self, system: str, account_id: str) -> Probe:
        created = self.admin.now()
        ticket_id = self.admin.create_ticket(
            system, "Reports page times out for every user", priority="urgent", account_id=account_id,
            description="Since this morning the reports page spins and then shows a timeout.",
        )
        return Probe(system, ticket_id, created, at_risk_instant(self.policy, created))


def resolve_probes(harness: Harness, probes: list[Probe], since_seq: int) -> None:
    """Read each probe's escalation from the sandbox write log and place it in the run that wrote it."""
    writes = harness.admin.writes(since=since_seq, actor="api")
    for probe in probes:
        mine = [w for w in writes if w["system"] == probe.system and w["ticket_id"] == probe.ticket_id]
        if mine:  # the first escalation's writes; later ones (e.g. the breach 15 minutes in) do not count
            first_at = min(datetime.fromisoformat(w["at"]) for w in mine)
            last = max((w for w in mine if datetime.fromisoformat(w["at"]) == first_at), key=lambda w: w["seq"])
            probe.written_at, probe.write_seq = first_at, last["seq"]
            probe.in_run_s = _stage_end(harness.runs, probe.system, last["seq"])
        probe.tags = tuple(harness.admin.view(probe.system, probe.ticket_id)["tags"])


def _stage_end(runs: list[RunTiming], system: str, seq: int) -> float | None:
    """Wall seconds from the start of the run that made write ``seq`` to the end of the stage that made it."""
    for run in runs:
        if run.system != system:
            continue
        for _name, end_s, last_seq in run.stages:
            if last_seq >= seq:
                return end_s
    return None


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile, linear between closest ranks (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * p / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks latency", description=__doc__.split("\n")[0])
    parser.add_argument("--open-tickets", "--tickets", dest="open_tickets", type=int, default=10_000,
                        help="open tickets the seeded sandbox holds (its solved/closed ones come on top)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cadence", type=int, default=120, help="virtual seconds between scheduled runs")
    parser.add_argument("--probe-ticks", type=int, default=10,
                        help="ticks after each of which one probe per helpdesk is created")
    parser.add_argument("--policy", type=Path, default=ROOT / "mapping" / "policy.yaml")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    for key, value in machine_info().items():
        print(f"  {key}: {value}")
    policy = load_policy(args.policy)
    total, open_tickets = world_size_for(args.open_tickets, args.seed, DEFAULT_START)
    print(f"  world: seed {args.seed}, {total:,} seeded tickets of which {open_tickets:,} open, "
          f"start {DEFAULT_START.isoformat()}; cadence {args.cadence} s; policy {args.policy.name} ({policy.digest})")
    result = measure(args, policy, total)
    print_report(result, args.cadence)
    return 0  # a report, not a gate


def measure(args: argparse.Namespace, policy: Policy, total: int) -> dict:
    """Seed, first sync, then the probe ticks; returns every timing and probe."""
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as state_dir, \
            Sandbox(seed=args.seed, tickets=total) as sandbox, sandbox.environment():
        seeded_s = time.perf_counter() - began
        harness = Harness(sandbox, Path(state_dir), policy)
        premier = next(a.id for a in sandbox.world.accounts if a.tier_value == PROBE_TIER_VALUE)
        harness.admin.advance(2)  # exports hold back the current second
        first = harness.sync_all(tick=0)
        mark = harness.admin.mark()
        probes: list[Probe] = []
        lag_ticks = math.ceil((at_risk_instant(policy, DEFAULT_START) - DEFAULT_START).total_seconds() / args.cadence)
        for tick in range(1, args.probe_ticks + lag_ticks + 2):
            if tick <= args.probe_ticks:
                offset = 1 + (tick * 47) % (args.cadence - 2)  # spread over the cadence, whole seconds
                harness.admin.advance(offset)
                probes += [harness.create_probe(system, premier) for system in SYSTEMS]
                harness.admin.advance(args.cadence - offset)
            else:
                harness.admin.advance(args.cadence)
            harness.sync_all(tick)
        resolve_probes(harness, probes, mark)
        return {"seeded_s": seeded_s, "first": first, "ticks": [r for r in harness.runs if r.tick > 0],
                "probes": probes, "elapsed_s": time.perf_counter() - began}


def _line(name: str, values: list[float], unit: str = "s") -> str:
    if not values:
        return f"  {name}: none"
    return (f"  {name}: p50 {percentile(values, 50):.2f} {unit}, p95 {percentile(values, 95):.2f} {unit}, "
            f"max {max(values):.2f} {unit} (n={len(values)})")


def print_report(result: dict, cadence: int) -> None:
    print(f"sandbox seeded and serving in {result['seeded_s']:.1f} s")
    for run in result["first"]:
        print(f"  first full sync {run.system}: {run.total_s:.1f} s wall (context {run.build_s:.2f} s), "
              f"pulled {run.pulled:,}, escalated {run.escalated:,}, proposed {run.proposed:,}, writes {run.writes:,}")
    ticks = result["ticks"]
    print(f"scheduled runs after the first sync: {len(ticks)} "
          f"({len(ticks) // len(SYSTEMS)} ticks x {len(SYSTEMS)} helpdesks)")
    print(_line("run wall time, all helpdesks", [r.total_s for r in ticks]))
    for system in SYSTEMS:
        mine = [r for r in ticks if r.system == system]
        print(_line(f"run wall time, {system}", [r.total_s for r in mine])
              + f"; pulled {sum(r.pulled for r in mine):,} (duplicates {sum(r.duplicates for r in mine):,}), "
                f"by time {sum(r.time_based for r in mine):,}, "
                f"escalated {sum(r.escalated for r in mine):,}, proposed {sum(r.proposed for r in mine):,}")
    probes = result["probes"]
    written = [p for p in probes if p.written_at is not None]
    print(f"probes: {len(probes)} untouched premier urgent tickets; escalated {len(written)}, "
          f"tagged {PROBE_RULE}: {sum(1 for p in probes if PROBE_RULE in p.tags)}")
    print(_line("virtual latency (write log - at-risk instant)", [p.virtual_latency_s for p in written]))
    print(_line("modelled latency (virtual + wall time into the run until the write)",
                [p.modelled_latency_s for p in written if p.modelled_latency_s is not None]))
    late = [p for p in written if p.virtual_latency_s >= cadence]
    print(f"  probes escalated later than the first run at or after their threshold: {len(late)}")
    print(f"  mean virtual latency {statistics.fmean([p.virtual_latency_s for p in written]):.1f} s "
          f"(a uniform phase gives cadence/2 = {cadence / 2:.0f} s)" if written else "")
    print(f"total benchmark wall time {result['elapsed_s']:.0f} s")


if __name__ == "__main__":
    raise SystemExit(main())
