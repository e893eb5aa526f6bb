"""Evaluations per second on one core: normalize + SLA clocks + rules over seeded tickets.

The tickets come from the sandbox's deterministic seed generator (the same
world the emulators serve), turned into plain normalized dicts outside the
timed region. The timed region is what a sync does per ticket after the
pull: build the :class:`~core.model.Ticket` from its dict (pydantic
validation), then :func:`core.rules.evaluate` with the shipped policy. A
decision's explanation paragraph is written when first read (the sync's
decision log reads it, replays do not), so it is timed apart and printed on
its own line with the rate that includes it.
Tickets are generated and timed in chunks so 100,000 never sit in memory at
once. The rate is computed from this process's CPU time on one pinned core
(the wall-clock rate is printed too: on a shared machine it is lower).

    python -m benchmarks evaluate -- --tickets 100000
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from core.collector import batch_collection
from core.model import Account, Ticket
from core.policy import Policy, load_policy
from core.rules import evaluate
from sandbox.seed import generate_world
from sandbox.vocab import SALESFORCE
from sandbox.world import SeedTicket, SeedUser, World

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2025, 3, 12, 15, 0, tzinfo=UTC)  # the world's "now": a Wednesday afternoon
TARGET_PER_SECOND = 20_000
_KEYS = {"zendesk": "#{n}", "servicenow": "INC{n:07d}", "jira": "SUP-{n}"}
_EVENT_KINDS = {"status": "status_change", "group": "group_change", "assignee": "assignee_change",
                "priority": "priority_change"}
_ROLES = {"customer": "customer", "agent": "agent", "admin": "agent"}


def machine_info() -> dict[str, str]:
    """What the figures were measured on (this machine may be shared: the load average says how busy)."""
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "cpu": f"{model} ({os.cpu_count()} logical CPUs; this process pinned to {affinity})",
        "load average (1/5/15 min)": load,
    }


def accounts_of(world: World) -> dict[str, Account]:
    """The world's Salesforce accounts as enrichment would deliver them."""
    tiers = SALESFORCE["tiers"]
    return {
        a.id: Account(id=a.id, name=a.name, tier=tiers.get(a.tier_value, SALESFORCE["default_tier"]),
                      segment=a.segment, owner_id=a.owner.key, owner_name=a.owner.name, owner_email=a.owner.email)
        for a in world.accounts
    }


def ticket_dict(seed: SeedTicket, users: dict[str, SeedUser]) -> dict:
    """A seeded ticket as the plain normalized dict a connector hands to the model."""
    opening = {"id": f"{seed.n}-0", "author_id": seed.requester, "role": "customer", "public": True,
               "body": seed.description, "created_at": seed.created_at}
    comments = [opening] + [
        {"id": f"{seed.n}-{i}", "author_id": c.author, "role": c.role, "public": c.public, "body": c.body,
         "created_at": c.at}
        for i, c in enumerate(seed.comments, start=1)
    ]
    history = []
    for e in seed.events:
        role = _ROLES.get(users[e.actor].role, "system") if e.actor in users else "system"
        event = {"kind": _EVENT_KINDS[e.kind], "at": e.at, "from_value": e.from_value, "to_value": e.to_value,
                 "actor_id": e.actor, "actor_role": role}
        history.append(event)
        if e.kind == "status" and e.from_value in ("solved", "closed") and e.to_value not in ("solved", "closed"):
            history.append({**event, "kind": "reopen"})
    first_reply = next((c.at for c in seed.comments if c.role == "agent" and c.public), None)
    return {
        "system": seed.system, "id": str(seed.n), "key": _KEYS[seed.system].format(n=seed.n),
        "subject": seed.subject, "description": seed.description, "status": seed.status,
        "native_status": seed.status, "priority": seed.priority, "native_priority": seed.priority,
        "product_area": seed.product_area, "requester_id": seed.requester, "account_id": seed.account_id,
        "assignee_id": seed.assignee, "group": seed.group, "tags": list(seed.tags),
        "agent_escalation_flag": seed.agent_flag, "customer_escalation_request": seed.customer_requested,
        "created_at": seed.created_at, "updated_at": seed.updated_at, "solved_at": seed.solved_at,
        "first_agent_reply_at": first_reply, "comments": comments, "history": history,
        "concurrency_token": seed.updated_at.isoformat(),
    }


def chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def run(policy: Policy, world: World, chunk_size: int, plain_gc: bool = False) -> dict:
    """Time normalize + evaluate over the whole world; returns the figures.

    Each batch runs inside :func:`core.collector.batch_collection`, as the sync's
    ``evaluate_batch`` does; ``plain_gc`` times it with the collector's own thresholds.
    """
    accounts = accounts_of(world)
    normalize_s = evaluate_s = explain_s = wall_s = 0.0
    outcome: Counter[str] = Counter()
    count = 0
    for seeds in chunks(world.tickets, chunk_size):
        dicts = [ticket_dict(s, world.users) for s in seeds]  # not timed: stands in for the pull
        # Long-lived data (policy, accounts, this chunk's pulled dicts) is frozen out of the cyclic GC,
        # as a sync process would after loading; what the timed code allocates is collected as usual.
        gc.collect()
        gc.freeze()
        w0, t0 = time.perf_counter(), time.process_time()
        with nullcontext() if plain_gc else batch_collection():
            tickets = [Ticket.model_validate(d) for d in dicts]
            t1 = time.process_time()
            decisions = [evaluate(t, accounts.get(t.account_id or ""), policy, START) for t in tickets]
        t2, w2 = time.process_time(), time.perf_counter()
        # The explanation paragraph is written when first read (after the batch: a collection the
        # batch put off would land here and show): the sync's decision log reads it,
        # replays and scheduling do not. Timed apart so both figures are visible.
        for d in decisions:
            d.explanation  # noqa: B018 - reading it writes it
        t3 = time.process_time()
        normalize_s += t1 - t0
        evaluate_s += t2 - t1
        explain_s += t3 - t2
        wall_s += w2 - w0
        count += len(tickets)
        outcome.update(d.mode for d in decisions)
        outcome.update("with next check" for d in decisions if d.next_check_at is not None)
        del dicts, tickets, decisions
        gc.unfreeze()
    return {"tickets": count, "normalize_s": normalize_s, "evaluate_s": evaluate_s, "explain_s": explain_s,
            "wall_s": wall_s, "outcome": outcome}


def print_report(title: str, figures: dict) -> bool:
    """Print one result block; True when it meets the target."""
    n = figures["tickets"]
    total = figures["normalize_s"] + figures["evaluate_s"]
    rate = n / total if total else float("inf")
    print(f"{title}: {n:,} tickets in {total:.2f} s of CPU time = {rate:,.0f} tickets/s "
          f"(target >= {TARGET_PER_SECOND:,}: {'met' if rate >= TARGET_PER_SECOND else 'NOT met'})")
    print(f"  normalize {figures['normalize_s'] / n * 1e6:.1f} us/ticket, "
          f"SLA + rules {figures['evaluate_s'] / n * 1e6:.1f} us/ticket (CPU time of this process)")
    explained = total + figures["explain_s"]
    print(f"  explanation paragraphs, written when first read (the sync's decision log does; replays do not): "
          f"{figures['explain_s'] / n * 1e6:.1f} us/ticket more = {n / explained:,.0f} tickets/s with them")
    wall = figures["wall_s"]
    print(f"  wall clock {wall:.2f} s = {n / wall:,.0f} tickets/s (lower when other processes share the core)")
    print("  decisions: " + ", ".join(f"{k} {v:,}" for k, v in sorted(figures["outcome"].items())))
    return rate >= TARGET_PER_SECOND


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=1_000, help="tickets per batch (like a sync's page batch)")
    parser.add_argument("--policy", type=Path, default=ROOT / "mapping" / "policy.yaml")
    parser.add_argument("--plain-gc", action="store_true",
                        help="without core.collector.batch_collection (to see what it saves)")
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU (default: the first allowed one)")
    return parser.parse_args(argv)


def _pin(cpu: int | None) -> set[int] | None:
    """One core: pin the process so the figure is a single-core figure; returns the previous CPU set."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu if cpu is not None else min(allowed)})
    return allowed


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    previous = _pin(args.cpu)
    try:
        return _run(args)
    finally:
        if previous is not None:
            os.sched_setaffinity(0, previous)


def _run(args: argparse.Namespace) -> int:
    for key, value in machine_info().items():
        print(f"  {key}: {value}")
    policy = load_policy(args.policy)
    world = generate_world(args.seed, args.tickets, START)
    print(f"  world: seed {args.seed}, {args.tickets:,} tickets, now = {START.isoformat()}, "
          f"policy {args.policy.name} ({policy.digest})")
    title = "normalize (model_validate) + SLA + rules" + (" (plain gc)" if args.plain_gc else "")
    print_report(title, run(policy, world, args.chunk, args.plain_gc))
    return 0  # a report, not a gate: the verdict against the target is in the output


if __name__ == "__main__":
    raise SystemExit(main())
