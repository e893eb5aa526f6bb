"""Replaying on worker processes gives the same report as replaying in this process."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from benchmarks.bench_replay import START, seed_store
from cli.replay_pool import pooled_replayer
from core.policy import load_policy
from core.replay import run_replay
from core.replay_load import load_replay_inputs
from core.store import Store

MAPPING = Path(__file__).resolve().parent.parent / "mapping"
SINCE, UNTIL = START - timedelta(days=30), START


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('replay-pool') / 'state.db'}"
    seed_store(url, 90, 5, "standard")
    with Store.open(url) as store:
        return load_replay_inputs(store, SINCE, UNTIL, "standard")


@pytest.fixture(scope="module")
def policies(tmp_path_factory):
    in_force = load_policy(MAPPING / "policy.yaml")
    candidate_dir = tmp_path_factory.mktemp("candidate")
    for path in MAPPING.rglob("*"):
        if path.is_file():
            target = candidate_dir / path.relative_to(MAPPING)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    text = (candidate_dir / "policy.yaml").read_text()
    (candidate_dir / "policy.yaml").write_text(text.replace("percent_used: 75}", "percent_used: 40}"))
    return load_policy(candidate_dir / "policy.yaml"), in_force


def test_two_workers_give_the_in_process_report_and_count_every_ticket(inputs, policies):
    candidate, in_force = policies
    assert candidate.digest != in_force.digest
    here = run_replay(inputs, candidate, in_force, SINCE, UNTIL)
    seen: list[tuple[int, int]] = []
    pooled = run_replay(inputs, candidate, in_force, SINCE, UNTIL, progress=lambda d, t: seen.append((d, t)),
                        replay_all=pooled_replayer(2, in_process_below=0))
    assert pooled.model_dump() == here.model_dump()
    assert here.summary.candidate_escalated > 0 and here.summary.changes.get("earlier", 0) + \
        here.summary.changes.get("new", 0) > 0  # the candidate differs, so both policy runs matter  # fmt: skip
    assert seen[-1] == (2 * len(inputs), 2 * len(inputs))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_small_replay_stays_in_this_process(inputs, policies, monkeypatch):
    candidate, in_force = policies

    def no_pool(*args, **kwargs):
        raise AssertionError("a worker pool was started for a small replay")

    monkeypatch.setattr("cli.replay_pool.ProcessPoolExecutor", no_pool)
    report = run_replay(inputs, in_force, in_force, SINCE, UNTIL, replay_all=pooled_replayer(4))  # 90 < 1,000
    assert report.summary.tickets == len(inputs)
