"""How long a month of stored history takes to replay: what issue 6's evaluation rate is for.

``deskbridge replay --since 30d`` re-evaluates every stored ticket that was open
during the window at each instant a change happened or time alone could have
changed the answer (core/replay.py). This benchmark stores a seeded world as a
sync would (ticket snapshots with their tier and segment, in a SQLite state
store), then times what the command does: read the inputs from the store
(``core.replay_load.load_replay_inputs``) and replay them
(``core.replay.run_replay``), with the shipped policy in force and, when
``--candidate`` names another policy file, that one too (the command's usual
use: what would a new policy have done). Nothing is written to the store.

    python -m benchmarks replay -- --tickets 20000
    python -m benchmarks replay -- --tickets 20000 --candidate my-policy.yaml
    python -m benchmarks replay -- --jobs 2          # on two worker processes, as `deskbridge replay --jobs 2`
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from itertools import islice
from pathlib import Path

from benchmarks.bench_evaluate import START, accounts_of, machine_info, ticket_dict
from cli.replay_pool import pooled_replayer
from core.model import Ticket
from core.policy import load_policy
from core.replay import run_replay
from core.replay_load import load_replay_inputs
from core.store import Store
from sandbox.seed import generate_world

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 1_000  # tickets per store transaction while seeding (not timed)


def seed_store(url: str, tickets: int, seed: int, default_tier: str) -> int:
    """Store the seeded world's tickets as a sync leaves them; returns how many were stored."""
    world = generate_world(seed, tickets, START)
    accounts = accounts_of(world)
    stored = 0
    with Store.open(url, clock=lambda: START) as store:
        iterator = iter(world.tickets)
        while chunk := list(islice(iterator, CHUNK)):
            with store.transaction() as tx:
                for seed_ticket in chunk:
                    ticket = Ticket.model_validate(ticket_dict(seed_ticket, world.users))
                    account = accounts.get(ticket.account_id or "")
                    tier = account.tier if account is not None else default_tier
                    tx.upsert_ticket(ticket, tier, account.segment if account is not None else None, None)
                    stored += 1
    return stored


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks replay", description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=20_000, help="seeded tickets stored (the window holds a share)")
    parser.add_argument("--days", type=int, default=30, help="the replay window, ending at the world's now")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--policy", type=Path, default=ROOT / "mapping" / "policy.yaml", help="the policy in force")
    parser.add_argument("--jobs", type=int, default=1,
                        help="worker processes, as `deskbridge replay --jobs` (default 1: the one-core figure)")
    parser.add_argument("--candidate", type=Path, default=None,
                        help="a policy to compare with the one in force (default: replay the one in force alone)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    for key, value in machine_info().items():
        print(f"  {key}: {value}")
    in_force = load_policy(args.policy)
    candidate = load_policy(args.candidate) if args.candidate else in_force
    since, until = START - timedelta(days=args.days), START
    with tempfile.TemporaryDirectory(prefix="deskbridge-replay-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'state.db'}"
        stored = seed_store(url, args.tickets, args.seed, in_force.settings.default_tier)
        print(f"  store: {stored:,} seeded tickets (seed {args.seed}), window {since:%Y-%m-%d} .. {until:%Y-%m-%d} "
              f"({args.days} days); policies: in force {args.policy.name}, "
              f"candidate {args.candidate.name if args.candidate else '(the same)'}; {args.jobs} process(es)")
        with Store.open(url) as store:
            w0, c0 = time.perf_counter(), time.process_time()
            inputs = load_replay_inputs(store, since, until, in_force.settings.default_tier)
            w1, c1 = time.perf_counter(), time.process_time()
            report = run_replay(inputs, candidate, in_force, since, until, replay_all=pooled_replayer(args.jobs))
            w2, c2 = time.perf_counter(), time.process_time()
    summary = report.summary
    runs = 1 if summary.same_policy else 2
    print(f"read from the store: {summary.tickets:,} tickets open during the window in {w1 - w0:.2f} s "
          f"({c1 - c0:.2f} s CPU)")
    if runs == 1:  # with workers, this process's CPU time leaves theirs out: the rate is then per wall second
        rate = summary.evaluations / (c2 - c1 if args.jobs == 1 else w2 - w1)
        print(f"replayed: {summary.evaluations:,} evaluations in {w2 - w1:.2f} s ({c2 - c1:.2f} s CPU here) = "
              f"{rate:,.0f} evaluations/s of {'CPU' if args.jobs == 1 else 'wall-clock'} time, "
              f"{summary.evaluations / max(summary.tickets, 1):.1f} per ticket")
    else:  # the summary counts the candidate's evaluations only; the policy in force is replayed as well
        print(f"replayed twice (candidate, then the policy in force) in {w2 - w1:.2f} s ({c2 - c1:.2f} s CPU); "
              f"the candidate's run alone made {summary.evaluations:,} evaluations")
    print(f"a {args.days}-day replay of {summary.tickets:,} tickets under {runs} "
          f"polic{'y' if runs == 1 else 'ies'} took {w2 - w0:.2f} s end to end "
          f"(wall clock; {c2 - c0:.2f} s CPU); candidate escalated {summary.candidate_escalated:,}, "
          f"proposed {summary.candidate_proposed:,}, in force escalated {summary.in_force_escalated:,}")
    return 0  # a report, not a gate


if __name__ == "__main__":
    raise SystemExit(main())
