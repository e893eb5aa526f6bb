"""``python -m chaos``: a seeded, bounded chaos run; exits 1 when any invariant was violated."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--rounds", type=int, default=8, help="rounds of weather, syncs and checks (8)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the sandbox world and the chaos schedule (1)")
    parser.add_argument("--tickets", type=int, default=150, help="seeded tickets across the three helpdesks (150)")
    parser.add_argument("--kill-rate", type=float, default=0.4, help="share of syncs killed with SIGKILL (0.4)")
    parser.add_argument("--faults-per-round", type=int, default=3, help="fault kinds switched on per round (3)")
    parser.add_argument("--new-tickets", type=int, default=3, help="tickets that must escalate, created per round (3)")
    parser.add_argument("--humans-between", type=int, default=6, help="people's edits between syncs per round (6)")
    parser.add_argument("--humans-during", type=int, default=2, help="people's edits during each sync (2)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the state store and worker log here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # The settling syncs run in this process: their warnings (unknown accounts, retries) would break up the
    # report. Errors still show; the syncs under chaos log everything to <workdir>/worker.log.
    logging.getLogger("deskbridge").setLevel(logging.ERROR)
    from chaos.config import ChaosConfig
    from chaos.report import print_report
    from chaos.runner import run_chaos

    config = ChaosConfig(
        rounds=args.rounds, seed=args.seed, tickets=args.tickets, kill_rate=args.kill_rate,
        faults_per_round=args.faults_per_round, new_tickets=args.new_tickets,
        humans_between=args.humans_between, humans_during=args.humans_during, workdir=args.workdir,
    )  # fmt: skip
    report = run_chaos(config)
    print_report(report)
    return 0 if report.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
