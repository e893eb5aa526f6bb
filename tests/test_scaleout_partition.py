"""Partitions of one helpdesk (flows/partition.py): the stable key, and the run lock on PostgreSQL and SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from core.errors import ConfigError
from core.store.engine import create_store_engine, resolve_state_url
from flows.partition import WHOLE, Partition, PartitionBusy, hold_partition, slot_of
from pg_fixture import postgres_server, postgres_url  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
IDS = [str(n) for n in range(1, 4001)] + [f"INC{n:07d}" for n in range(2000)] + [f"SUP-{n}" for n in range(2000)]


# -- the stable key -----------------------------------------------------------------------------


def test_parse_reads_k_of_n_and_empty_means_the_whole_helpdesk():
    assert Partition.parse(" 1 / 4 ") == Partition(1, 4)
    assert Partition.parse(None) == Partition.parse("") == WHOLE
    assert WHOLE.whole and not Partition(0, 2).whole
    assert Partition(1, 4).label == "1/4"


@pytest.mark.parametrize("spec", ["2/2", "0/0", "-1/2", "1", "a/b", "1/2/3", "0/1000"])
def test_parse_refuses_what_is_not_a_partition_and_names_the_parameter(spec):
    with pytest.raises(ConfigError) as caught:
        Partition.parse(spec)
    assert "partition" in str(caught.value) and repr(spec) in str(caught.value)


def test_every_ticket_belongs_to_exactly_one_partition_and_the_shares_are_even():
    partitions = [Partition(k, 4) for k in range(4)]
    owners = Counter()
    for ticket_id in IDS:
        owning = [p.index for p in partitions if p.owns(ticket_id)]
        assert len(owning) == 1, (ticket_id, owning)
        owners[owning[0]] += 1
    assert all(abs(count / len(IDS) - 0.25) < 0.02 for count in owners.values()), owners
    assert all(WHOLE.owns(ticket_id) for ticket_id in IDS[:50])


def test_the_key_is_the_same_in_every_process_whatever_its_hash_seed():
    """Python's hash() is salted per process; two workers must still agree on every ticket's partition."""
    here = [slot_of(ticket_id, 7) for ticket_id in IDS[:300]]
    program = f"from flows.partition import slot_of; print([slot_of(i, 7) for i in {IDS[:300]!r}])"
    for seed in ("1", "4242"):
        out = subprocess.run(
            [sys.executable, "-c", program], cwd=ROOT, env=os.environ | {"PYTHONHASHSEED": seed},
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip
        assert eval(out) == here  # noqa: S307 - our own subprocess's list of ints


def test_each_partition_keeps_a_cursor_stream_of_its_own():
    assert WHOLE.cursor_stream("tickets") == "tickets"
    streams = {Partition(k, 3).cursor_stream("tickets") for k in range(3)}
    assert streams == {"tickets@0/3", "tickets@1/3", "tickets@2/3"}
    assert Partition(2, 3).artifact_suffix() == "-p2of3" and WHOLE.artifact_suffix() == ""


# -- the run lock -------------------------------------------------------------------------------


@pytest.fixture(params=["postgresql", "sqlite"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("postgres_url")


def _engine(url: str):
    return create_store_engine(resolve_state_url(url))


def test_two_runs_of_one_partition_exclude_each_other_and_other_partitions_proceed(store_url):
    first, second = _engine(store_url), _engine(store_url)  # two engines: as two worker processes would
    try:
        with hold_partition(first, "zendesk", Partition(0, 2)):
            with pytest.raises(PartitionBusy, match="zendesk partition 0/2"):
                with hold_partition(second, "zendesk", Partition(0, 2)):
                    pytest.fail("a second run entered a partition that is held")
            with hold_partition(second, "zendesk", Partition(1, 2)):
                pass  # the other partition of the same helpdesk runs alongside
            with hold_partition(second, "jira", WHOLE):
                pass  # other helpdesks are not affected
            with pytest.raises(PartitionBusy, match="zendesk is being synced"):
                with hold_partition(second, "zendesk", WHOLE):
                    pytest.fail("a whole-helpdesk run entered while a partition run holds it")
        with hold_partition(second, "zendesk", Partition(0, 2)):
            pass  # released when the first run ended
    finally:
        first.dispose()
        second.dispose()


def test_a_whole_helpdesk_run_keeps_partition_runs_out(store_url):
    first, second = _engine(store_url), _engine(store_url)
    try:
        with hold_partition(first, "servicenow", WHOLE):
            for k in range(2):
                with pytest.raises(PartitionBusy):
                    with hold_partition(second, "servicenow", Partition(k, 2)):
                        pytest.fail("a partition run entered while the whole helpdesk is held")
    finally:
        first.dispose()
        second.dispose()


def test_a_lock_dies_with_a_killed_worker_process(store_url):
    """kill -9 mid-run leaves no lock behind: PostgreSQL drops it with the connection, flock with the process."""
    program = (
        "import sys, time\n"
        "from core.store.engine import create_store_engine, resolve_state_url\n"
        "from flows.partition import Partition, hold_partition\n"
        "engine = create_store_engine(resolve_state_url(sys.argv[1]))\n"
        "with hold_partition(engine, 'jira', Partition(1, 3)):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(120)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", program, store_url], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    engine = _engine(store_url)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(PartitionBusy):
            with hold_partition(engine, "jira", Partition(1, 3)):
                pytest.fail("entered a partition another process holds")
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        with hold_partition(engine, "jira", Partition(1, 3)):
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=30)
        engine.dispose()


def test_an_in_memory_store_needs_no_lock():
    engine = create_engine("sqlite://")
    with hold_partition(engine, "zendesk", WHOLE), hold_partition(engine, "zendesk", WHOLE):
        pass  # one process owns an in-memory database: there is nobody to exclude
