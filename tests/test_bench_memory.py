"""The memory benchmark at a tiny size: a real `deskbridge sandbox up` subprocess and a real sync subprocess.

No timings or memory limits are asserted: only that the figures exist and agree with each other
and with the seeded world, and that the sandbox process is stopped afterwards.
"""

from __future__ import annotations

import pytest

from benchmarks import bench_memory as bench
from sandbox.admin_client import SandboxAdmin
from sandbox.cli import write_env_file
from sandbox.runner import DEFAULT_START
from sandbox.seed import generate_world

pytestmark = pytest.mark.slow
TINY = 40


def test_env_file_written_by_the_sandbox_cli_reads_back(tmp_path):
    env = {"PLAIN": "abc", "SPACED": "a b c", "QUOTED": "it's", "URL": "https://127.0.0.1:1234/x?y=1&z=2",
           "EMPTY": ""}
    path = tmp_path / "sandbox.env"
    write_env_file(path, env)
    assert bench.read_env_file(path) == env


def test_sandbox_process_serves_then_stops(tmp_path):
    sandbox = bench.SandboxProcess(TINY, 7, tmp_path, timeout=300)
    with sandbox as env:
        admin = SandboxAdmin(env["DESKBRIDGE_SANDBOX_ADMIN_URL"], verify=env["REQUESTS_CA_BUNDLE"])
        assert admin.now() == DEFAULT_START  # frozen clock: nothing moved it
        assert len(admin.ticket_ids("jira")) == sum(1 for _ in generate_world(7, TINY, DEFAULT_START)
                                                    .tickets.for_system("jira"))
        admin.close()
        assert sandbox.rss_mib and sandbox.rss_mib > 0
    assert sandbox.process.poll() is not None, "the sandbox subprocess was stopped"


def test_one_size_measured_in_fresh_subprocesses(capsys):
    samples = bench.measure_size(TINY, ["servicenow"], seed=7, startup_timeout=300)
    (sample,) = samples
    seeded = sum(1 for _ in generate_world(7, TINY, DEFAULT_START).tickets.for_system("servicenow"))
    assert sample.system == "servicenow" and sample.size == TINY
    assert sample.tickets == seeded > 0  # every seeded incident is stored once
    assert sample.pulled >= seeded  # echoes of the run's own writes may come again in later pages
    assert sample.evaluated >= seeded
    assert sample.peak_mib >= sample.rss_before_mib > 0
    assert sample.growth_mib == pytest.approx(sample.peak_mib - sample.rss_before_mib)
    assert sample.sandbox_rss_mib is not None and sample.sandbox_rss_mib > 0
    out = capsys.readouterr().out
    assert f"{sample.peak_mib:>8.1f}" in out


def test_flatness_verdict_compares_smallest_and_largest_size(capsys):
    def sample(size: int, pulled: int, peak: float) -> bench.Sample:
        return bench.Sample(size=size, system="jira", tickets=pulled, pulled=pulled, evaluated=pulled, written=0,
                            seconds=1.0, rss_before_mib=100.0, peak_mib=peak)

    assert bench.print_flatness([sample(1000, 300, 150.0), sample(9000, 2700, 160.0)])
    assert "flat" in capsys.readouterr().out
    assert not bench.print_flatness([sample(1000, 300, 150.0), sample(9000, 2700, 300.0)])
    assert "NOT flat" in capsys.readouterr().out
