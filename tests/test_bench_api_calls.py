"""The API-call benchmark at a tiny size: it runs, and its counts agree with the emulators' own logs.

No timings are asserted. Each helpdesk gets its own small sandbox (the benchmark's own), so the
session sandbox's clock and logs are untouched.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest

from benchmarks import bench_api_calls as bench
from sandbox.runner import DEFAULT_START
from sandbox.seed import generate_world

pytestmark = pytest.mark.slow
TINY = 24  # changed tickets per helpdesk: one page everywhere, a few escalations


@pytest.fixture(scope="module", params=["zendesk", "servicenow", "jira"])
def measured(request):
    system = request.param
    return system, bench.measure_helpdesk(system, TINY, seed=7, touch_share=0.25)


def _seeded(system: str) -> int:
    world = generate_world(7, bench.tickets_for(system, TINY), DEFAULT_START)
    return sum(1 for _ in world.tickets.for_system(system))


def test_every_call_the_emulator_saw_is_counted_once_under_one_phase(measured):
    system, runs = measured
    for run in runs:
        assert run.emulator_requests == run.total() > 0, run.label
        assert set(run.calls) <= set(bench.PHASES)
        assert sum(run.total(p) for p in bench.PHASES) == run.total()
    first = runs[0]
    assert first.total("pull") >= first.pages >= 1
    if first.written:
        assert first.total("write") >= 1  # plans were pushed through apply


def test_first_sync_pulls_the_whole_backlog_and_writes_where_the_emulator_logged_writes(measured):
    system, (first, steady) = measured
    assert first.changed == _seeded(system)
    assert first.written > 0, "the seeded backlog carries old breaches: something escalates"
    assert first.emulator_written <= first.written_ids  # every ticket written had a plan pushed
    assert first.actions >= first.plans >= first.written


def test_steady_state_pulls_what_people_touched_plus_echoes(measured):
    system, (first, steady) = measured
    assert 0 < len(steady.touched) <= round(first.changed * 0.25)
    assert steady.touched <= steady.changed_ids  # every comment a person added is pulled
    others = steady.changed_ids - steady.touched
    assert others <= first.written_ids, "the only other changes are echoes of deskbridge's own writes"


def test_bounds_and_naive_follow_their_formulas(measured):
    system, runs = measured
    limits = bench.LIMITS[system]
    for run in runs:
        assert run.lower_bound == math.ceil(run.changed / limits.page) + math.ceil(run.written / limits.batch)
        assert run.naive == math.ceil(run.changed / limits.page) + limits.reads * run.changed + run.actions
        assert run.per_thousand(run.total()) == pytest.approx(run.total() * 1000 / run.changed)
        assert run.naive >= run.lower_bound


def test_report_prints_the_measured_figures(measured, capsys):
    system, (first, steady) = measured
    bench.print_run(first)
    bench.print_run(steady, first)
    out = capsys.readouterr().out
    assert f"{system} - first sync of a backlog: {first.changed:,} changed tickets" in out
    assert f"helpdesk {first.total():>6,} calls = {first.per_thousand(first.total()):>8.1f} per 1,000" in out
    assert f"lower bound {first.lower_bound:,}" in out
    assert f"{steady.ratio:.2f}x" in out


def test_calls_between_counts_only_new_calls():
    before = {"GET /a": 2, "POST /b": 1}
    after = {"GET /a": 5, "POST /b": 1, "PUT /c": 3}
    assert bench.calls_between(before, after) == Counter({"GET /a": 3, "PUT /c": 3})


def test_servicenow_bound_uses_the_page_the_run_used():
    assert bench.limits_for("servicenow").page == 200
    assert bench.limits_for("servicenow", 1000).page == 1000
    assert bench.limits_for("zendesk", 1000) == bench.LIMITS["zendesk"]


def test_main_reports_a_verdict_per_run(capsys):
    assert bench.main(["--tickets", "12", "--systems", "servicenow"]) == 0
    out = capsys.readouterr().out
    summary = out[out.index("summary"):]
    assert summary.count("servicenow") == 2
    assert ("met" in summary) and ("x " in summary)
