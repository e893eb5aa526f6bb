"""Breach rate on a seeded 30-day workload: deskbridge vs hourly automations vs no escalation.

A discrete-event simulation in virtual time (benchmarks/simulation/, every
assumption in params.py and docs/benchmarks.md): tickets arrive with the
sandbox seed's tier and priority mix, agents in l1, tier2, tier3, billing,
security and management work their queues on shifts, customers answer, and a
supervisor answers proposals. Every arm replays the same arrivals with the same
random draws per ticket; they differ only in who escalates:

* none: only agents, by hand, after two touches their group cannot finish;
* automation:<set>: plus Zendesk-style automations evaluated once an hour;
* deskbridge: plus the real engine (core.rules.evaluate with mapping/policy.yaml
  on core.model.Ticket objects built from the simulated state), run every
  2 virtual minutes on the changed and due tickets, as the sync flow does.

Breaches are measured with deskbridge's own SLA clocks (core.sla) against the
row of the priority each ticket arrived with.

    python -m benchmarks breach_rate
    python -m benchmarks breach_rate -- --tickets-per-weekday 120 --arms none,deskbridge
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.bench_evaluate import machine_info
from benchmarks.simulation import ARMS, ArmResult, ModelParams, generate_workload, run_arm
from benchmarks.simulation.measure import TARGETS
from benchmarks.simulation.workload import TicketSpec
from core.policy import load_policy

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, 00:00 UTC (the sandbox's default start day)
TIERS = ("premier", "business", "standard")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks breach_rate", description=__doc__.split("\n")[0])
    defaults = ModelParams()
    parser.add_argument("--days", type=int, default=defaults.days, help="days with arrivals")
    parser.add_argument("--tickets-per-weekday", type=float, default=defaults.tickets_per_weekday)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cadence", type=float, default=defaults.deskbridge_cadence_minutes,
                        help="virtual minutes between deskbridge runs")
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, from: {', '.join(ARMS)}")
    parser.add_argument("--policy", type=Path, default=ROOT / "mapping" / "policy.yaml")
    return parser.parse_args(argv)


def simulate(args: argparse.Namespace) -> tuple[ModelParams, list[TicketSpec], list[ArmResult]]:
    """The workload and one result per requested arm."""
    params = replace(ModelParams(), days=args.days, tickets_per_weekday=args.tickets_per_weekday,
                     deskbridge_cadence_minutes=args.cadence)
    policy = load_policy(args.policy)
    specs, _accounts = generate_workload(params, args.seed, START)
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    return params, specs, [run_arm(arm, specs, params, START, policy) for arm in arms]


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    for key, value in machine_info().items():
        print(f"  {key}: {value}")
    params, specs, results = simulate(args)
    print_workload(args, params, specs)
    print_results(results)
    return 0  # a report, not a gate


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:5.1f}%" if whole else "    -"


def print_workload(args: argparse.Namespace, params: ModelParams, specs: list[TicketSpec]) -> None:
    tiers = Counter(s.tier for s in specs)
    priorities = Counter(s.priority for s in specs)
    staff = Counter()
    for shift in params.shifts:
        staff[shift.group] += shift.agents
    print(f"  workload: seed {args.seed}, {params.days} days from {START.date()} "
          f"(+{params.drain_days} days to finish), "
          f"{len(specs):,} tickets ({params.tickets_per_weekday:g} per weekday on average, "
          f"weekends x{params.weekend_factor:g})")
    print("  tiers: " + ", ".join(f"{t} {tiers[t]:,}" for t in TIERS)
          + "; priorities: " + ", ".join(f"{p} {priorities[p]:,}" for p in ("urgent", "high", "normal", "low")))
    print("  agents: " + ", ".join(f"{g} {n}" for g, n in staff.items())
          + f"; deskbridge every {params.deskbridge_cadence_minutes:g} min, automations every "
            f"{params.automation_cadence_minutes:g} min")


def print_results(results: list[ArmResult]) -> None:
    width = max(len(r.name) for r in results) + 2
    print("breach rate (tickets with at least one target breached), per target (breached / clocks started):")
    print(f"  {'arm':<{width}}{'overall':>9}" + "".join(f"{t:>17}" for t in TARGETS))
    for r in results:
        cells = "".join(f"{_pct(*r.by_target[t]):>7} ({r.by_target[t][0]:>4}/{r.by_target[t][1]:>4})" for t in TARGETS)
        print(f"  {r.name:<{width}}{_pct(r.breached_tickets, r.tickets):>9}{cells}")
    print("breach rate per tier (tickets with a breach / tickets):")
    print(f"  {'arm':<{width}}" + "".join(f"{t:>21}" for t in TIERS))
    for r in results:
        print(f"  {r.name:<{width}}" + "".join(
            f"{_pct(*r.by_tier.get(t, [0, 0])):>9} ({r.by_tier.get(t, [0, 0])[0]:>4}/{r.by_tier.get(t, [0, 0])[1]:>4})"
            for t in TIERS))
    for r in results:
        print(f"{r.name}: {r.tickets:,} tickets, solved {r.solved:,}; median first reply "
              f"{_median(r.first_reply_minutes):.0f} min, median resolution {_median(r.resolution_hours):.1f} h; "
              f"simulated in {r.wall_s:.1f} s")
        main = {k: v for k, v in r.escalations.items() if not k.startswith(" ")}
        detail = {k.strip(): v for k, v in r.escalations.items() if k.startswith(" ")}
        print("  escalations: " + (", ".join(f"{k} {v:,}" for k, v in sorted(main.items())) or "none"))
        if detail:
            print("    of which " + ", ".join(f"{k} {v:,}" for k, v in sorted(detail.items())))
        print("  agent utilisation over the arrival days: "
              + ", ".join(f"{g} {u:.0%}" for g, u in sorted(r.utilisation.items())))
        if r.engine.get("evaluations"):
            n, cpu = r.engine["evaluations"], r.engine["engine_cpu_s"]
            print(f"  engine: {n:,.0f} evaluations, {cpu:.1f} s CPU in core.rules.evaluate "
                  f"({cpu / n * 1e6:.0f} us each)")


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


if __name__ == "__main__":
    raise SystemExit(main())
