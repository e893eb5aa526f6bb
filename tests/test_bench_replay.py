"""The replay benchmark stays runnable and replays what it stored."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from benchmarks.bench_replay import main, seed_store
from core.store import Store


def test_the_seeded_store_holds_every_ticket_with_its_tier(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    assert seed_store(url, 30, 3, "standard") == 30
    with Store.open(url) as store, store.transaction() as tx:
        records = list(tx.ticket_records())
    assert len(records) == 30
    assert {r.tier for r in records} <= {"premier", "business", "standard"}
    assert len({r.tier for r in records}) > 1


def test_the_benchmark_replays_the_month_and_prints_its_figures(capsys):
    assert main(["--tickets", "40", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "load average" in out
    read = re.search(r"read from the store: (\d+) tickets open during the window", out)
    replayed = re.search(r"replayed: ([\d,]+) evaluations in", out)
    assert read and replayed
    assert 0 < int(read.group(1)) <= 40
    assert int(replayed.group(1).replace(",", "")) > int(read.group(1))  # at least one instant per ticket, and more
    escalated = re.search(r"under 1 policy took .* candidate escalated (\d+), proposed \d+, in force escalated (\d+)", out)
    assert escalated and escalated.group(1) == escalated.group(2)  # the same policy replayed against itself


def test_a_candidate_policy_is_replayed_next_to_the_one_in_force(tmp_path, capsys):
    shipped = Path(__file__).resolve().parent.parent / "mapping"
    mapping = tmp_path / "mapping"
    shutil.copytree(shipped, mapping)
    policy = mapping / "policy.yaml"
    policy.write_text(policy.read_text().replace("percent_used: 75}", "percent_used: 40}"))
    assert main(["--tickets", "40", "--seed", "3", "--candidate", str(policy)]) == 0
    out = capsys.readouterr().out
    assert "replayed twice (candidate, then the policy in force)" in out
    assert "under 2 policies took" in out
