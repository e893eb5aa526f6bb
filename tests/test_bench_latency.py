"""The latency benchmark: its at-risk instants agree with the engine, and a tiny run adds up."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

import pytest

from benchmarks.bench_latency import (
    PROBE_RULE, at_risk_instant, measure, open_count, percentile, print_report, world_size_for,
)  # fmt: skip
from core.model import Account, Priority, Role, Status, System, Ticket
from core.policy import load_policy
from core.rules import evaluate
from sandbox.runner import DEFAULT_START
from sandbox.seed import SYSTEMS

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "mapping" / "policy.yaml"


def _probe_ticket(created) -> Ticket:
    return Ticket(
        system=System.jira, id="1", key="SUP-1", subject="Reports page times out", status=Status.new,
        native_status="new", priority=Priority.urgent, account_id="acc", created_at=created, updated_at=created,
        concurrency_token="1", comments=[{"id": "c1", "role": Role.customer, "public": True, "body": "Timeout.",
                                          "created_at": created}],
    )  # fmt: skip


def test_the_probe_threshold_is_where_the_engine_escalates():
    policy = load_policy(POLICY)
    created = DEFAULT_START + timedelta(minutes=7)
    at_risk = at_risk_instant(policy, created)
    premier = Account(id="acc", tier="premier")
    assert at_risk - created == timedelta(minutes=15 * 0.75)  # 75 % of the 15-minute premier urgent first response
    assert not evaluate(_probe_ticket(created), premier, policy, at_risk - timedelta(seconds=1)).escalate
    after = evaluate(_probe_ticket(created), premier, policy, at_risk)
    assert after.escalate and PROBE_RULE in after.rule_ids
    # What the pipeline schedules from the first evaluation. The engine rounds elapsed minutes to 0.01 min,
    # so its next check may land up to a second after the exact instant.
    first = evaluate(_probe_ticket(created), premier, policy, created + timedelta(minutes=1))
    assert timedelta(0) <= first.next_check_at - at_risk <= timedelta(seconds=1)


def test_the_world_is_sized_by_its_open_tickets():
    total, found = world_size_for(400, 7, DEFAULT_START)
    assert found == open_count(7, total, DEFAULT_START)
    assert abs(found - 400) <= 20 and total > found  # solved and closed tickets come on top


def test_percentiles_interpolate_between_ranks():
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert percentile(values, 50) == 30.0
    assert percentile(values, 95) == pytest.approx(48.0)
    assert percentile([7.0], 95) == 7.0


@pytest.mark.slow
def test_a_tiny_run_measures_every_probe_consistently(capsys):
    args = argparse.Namespace(seed=7, cadence=120, probe_ticks=2, open_tickets=60)
    policy = load_policy(POLICY)
    total, _ = world_size_for(args.open_tickets, args.seed, DEFAULT_START)
    result = measure(args, policy, total)

    probes = result["probes"]
    assert len(probes) == 2 * len(SYSTEMS)
    for probe in probes:
        assert probe.written_at is not None, probe  # every untouched probe escalated
        assert PROBE_RULE in probe.tags
        assert probe.virtual_latency_s >= 0  # never before its threshold
        # written at a tick: the first sync at start + 2 s, then every cadence
        assert (probe.written_at - DEFAULT_START).total_seconds() % args.cadence == 2
        assert probe.in_run_s is not None and probe.modelled_latency_s >= probe.virtual_latency_s
    assert [r.system for r in result["first"]] == list(SYSTEMS)
    assert sum(r.pulled for r in result["first"]) > args.open_tickets  # every open ticket, plus recent solved ones
    ticks = result["ticks"]
    assert len(ticks) % len(SYSTEMS) == 0 and all(r.build_s > 0 and r.run_s > 0 and r.stages for r in ticks)
    assert sum(r.time_based for r in ticks) >= 1  # untouched probes escalate by time

    print_report(result, args.cadence)
    out = capsys.readouterr().out
    assert f"probes: {len(probes)} untouched premier urgent tickets; escalated {len(probes)}" in out
    late = sum(1 for p in probes if p.virtual_latency_s >= args.cadence)
    assert f"later than the first run at or after their threshold: {late}" in out
