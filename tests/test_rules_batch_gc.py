"""core.collector: the collector's thresholds during a batch of evaluations, and after it."""

from __future__ import annotations

import gc
import threading

import pytest
from engine_builders import account, at, policy, ticket

from core.collector import YOUNG_PASSES, batch_collection
from core.rules import evaluate


@pytest.fixture(autouse=True)
def default_thresholds():
    found = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*found)


def test_a_batch_raises_only_the_middle_threshold_and_restores_all_three():
    with batch_collection():
        assert gc.get_threshold() == (700, YOUNG_PASSES, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_the_thresholds_are_restored_when_the_batch_fails():
    with pytest.raises(RuntimeError), batch_collection():
        raise RuntimeError("boom")
    assert gc.get_threshold() == (700, 10, 10)


def test_nested_batches_restore_only_when_the_outer_one_ends():
    with batch_collection():
        with batch_collection(young_passes=50):
            assert gc.get_threshold() == (700, YOUNG_PASSES, 10)
        assert gc.get_threshold() == (700, YOUNG_PASSES, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_batches_in_threads_leave_the_thresholds_as_found():
    inside, release = threading.Barrier(3), threading.Event()

    def batch():
        with batch_collection():
            inside.wait()
            release.wait()

    threads = [threading.Thread(target=batch) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait()
    assert gc.get_threshold() == (700, YOUNG_PASSES, 10)
    release.set()
    for t in threads:
        t.join()
    assert gc.get_threshold() == (700, 10, 10)


def test_a_higher_middle_threshold_is_kept_and_a_disabled_collector_left_alone():
    gc.set_threshold(700, 5_000, 10)
    with batch_collection():
        assert gc.get_threshold() == (700, 5_000, 10)
    gc.set_threshold(0, 10, 10)
    with batch_collection():
        assert gc.get_threshold() == (0, 10, 10)
    assert gc.get_threshold() == (0, 10, 10)


def test_usable_as_a_decorator_and_decisions_are_the_same(tmp_path):
    pol = policy(tmp_path, rules="- id: r\n  when: {trigger: at_risk, targets: [resolution], percent_used: 75}\n")

    @batch_collection()
    def decide(now):
        assert gc.get_threshold()[1] == YOUNG_PASSES
        return evaluate(ticket(), account(), pol, now)

    for minutes in (10, 200, 400):
        assert decide(at(minutes)) == evaluate(ticket(), account(), pol, at(minutes))
    assert gc.get_threshold() == (700, 10, 10)


def test_young_passes_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        batch_collection(young_passes=0)
