"""The evaluation benchmark stays runnable and measures real work on seeded tickets."""

from __future__ import annotations

from benchmarks.__main__ import discover
from benchmarks.bench_evaluate import START, accounts_of, main, ticket_dict
from core.model import EventKind, Role, Ticket
from sandbox.seed import generate_world


def test_seeded_tickets_become_valid_normalized_tickets():
    world = generate_world(3, 60, START)
    tickets = [Ticket.model_validate(ticket_dict(s, world.users)) for s in world.tickets]
    assert len(tickets) == 60
    assert {t.system for t in tickets} == {"zendesk", "servicenow", "jira"}
    assert all(t.comments[0].role is Role.customer and t.comments[0].body == t.description for t in tickets)
    assert any(e.kind is EventKind.reopen for t in tickets for e in t.history)
    assert all(t.updated_at <= START for t in tickets)
    assert {a.tier for a in accounts_of(world).values()} == {"premier", "business", "standard"}


def test_the_benchmark_runs_and_prints_its_figures(capsys):
    assert main(["--tickets", "150", "--chunk", "50"]) == 0
    out = capsys.readouterr().out
    assert "cpu:" in out and "load average" in out
    assert "normalize (model_validate) + SLA + rules: 150 tickets in" in out
    assert "tickets/s (target >= 20,000:" in out
    decisions = out.split("decisions: ")[1]
    assert "auto" in decisions and "none" in decisions


def test_the_runner_finds_every_bench_module():
    assert discover()["evaluate"] == "benchmarks.bench_evaluate"


def test_the_benchmark_gives_back_the_cpus_it_pinned():
    import os

    before = os.sched_getaffinity(0)
    main(["--tickets", "20", "--chunk", "20"])
    assert os.sched_getaffinity(0) == before
