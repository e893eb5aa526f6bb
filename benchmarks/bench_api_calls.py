"""API calls per 1,000 changed tickets, per helpdesk: measured vs. the lower bound vs. a naive per-ticket reader.

Per helpdesk, a sandbox holding about ``--tickets`` of its tickets (plus Salesforce)
and a fresh state store; :func:`flows.pipeline.run_sync` runs on a context built by
:func:`flows.wiring.build_context`, exactly as the Prefect flow builds it, twice:

* **first sync of a backlog**: nothing stored yet, a 90-day look-back, so every
  seeded ticket is pulled. The seeded tickets carry old breaches, so many escalate.
* **steady state**: a minute after the first sync, people add a comment (admin API
  human action) to ``--touch`` (10 %) of the helpdesk's tickets, open ones first; a
  minute later (2 minutes after the first) the second sync runs. It pulls the touched
  tickets and the echoes of the first sync's writes.

Every HTTP call is counted by the connector's own ``CallCounter``. A transparent
wrapper around the real connector files each call under the verb that made it:
``pull`` (pull_changes), ``re-read`` (fetch_tickets: the escalating tickets' full
history for the handoff note, conflict re-reads) and ``write`` (apply); calls made
outside them (client set-up) are ``set-up``. *Changed* tickets are the distinct pulled
tickets the store did not hold before the run (the pipeline's duplicate rule): an
echo of a write earlier in the same run counts once, an unchanged ticket that an
overlap window pulls again not at all.

* **Lower bound** = ⌈changed / largest page⌉ + ⌈tickets written / largest batch⌉ (see LIMITS).
* **Naive** (computed) = ⌈changed / largest page⌉ list calls + ``reads`` per changed ticket
  + one call per action of every plan pushed (see LIMITS for ``reads``).
* **Target**: measured helpdesk calls within 1.2x the lower bound.

    python -m benchmarks api_calls                          # 1,000 tickets per helpdesk, a couple of minutes
    python -m benchmarks api_calls -- --tickets 5000 --systems zendesk
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from benchmarks.bench_evaluate import machine_info
from core.model import System
from core.settings import Settings
from core.store import Store
from flows.pipeline import SyncContext, run_sync
from flows.wiring import build_context
from sandbox.admin_client import SandboxAdmin, SandboxAdminError
from sandbox.runner import Sandbox
from sandbox.seed import SYSTEMS

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.2
SHARE = {"zendesk": 0.4, "servicenow": 0.3, "jira": 0.3}  # the seed generator's 40/30/30 split
HUMAN_COMMENT = "Any news on this? We are still affected."
PHASES = ("pull", "re-read", "write", "set-up")


@dataclass(frozen=True)
class Limits:
    """An API's largest page and write batch (the lower bound), and the naive reader's calls per ticket."""

    page: int
    page_what: str
    batch: int
    batch_what: str
    reads: int
    reads_what: str


LIMITS = {
    "zendesk": Limits(1000, "incremental cursor export, 1000 per page", 100, "update_many, 100 tickets per job",
                      2, "GET tickets/{id}/comments + GET tickets/{id}/audits"),
    "servicenow": Limits(200, "Table API page of 200 (the connector's page_size as flows.wiring builds it)", 50,
                         "Batch API, 50 inner requests per call (the connector's MAX_INNER)",
                         3, "GET sys_journal_field + GET sys_audit + GET task_sla per incident"),
    "jira": Limits(100, "/search/jql, 100 per page", 1, "one call per issue: the internal note has no bulk endpoint (Cloud's bulk edit cannot add comments)",
                   2, "GET issue/{id}/comment + GET issue/{id}/changelog"),
}


def calls_between(before: dict[str, int], after: dict[str, int]) -> Counter[str]:
    """Calls per endpoint made between two CallCounter snapshots."""
    return Counter({k: n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0) > 0})


class MeteredConnector:
    """The real connector, unchanged, with each call filed under the verb that made it.

    Only observes: every attribute and verb is the wrapped connector's own.
    """

    def __init__(self, inner, known: dict[str, tuple[datetime, str]] | None = None):
        self._inner = inner
        self._known = known or {}  # ticket id -> (updated_at, concurrency token) the store held before the run
        self.phases: dict[str, Counter[str]] = {p: Counter() for p in PHASES[:3]}
        self.pulled_ids: set[str] = set()
        self.changed_ids: set[str] = set()
        self.raw_records = 0
        self.pages = 0
        self.plans: list = []

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    @contextmanager
    def _phase(self, phase: str) -> Iterator[None]:
        before = self._inner.calls.by_endpoint()
        try:
            yield
        finally:
            self.phases[phase] += calls_between(before, self._inner.calls.by_endpoint())

    def pull_changes(self, cursor: str | None, *, start: datetime):
        pages = self._inner.pull_changes(cursor, start=start)
        while True:
            with self._phase("pull"):  # only the generator's own work: the page's handling happens at `yield`
                page = next(pages, None)
            if page is None:
                return
            self.pages += 1
            self.raw_records += page.raw_count
            self.pulled_ids.update(t.id for t in page.tickets)
            self.pulled_ids.update(q.ticket_id for q in page.quarantined)
            # Changed = not what the store held (the pipeline's duplicate rule); overlap re-reads are not.
            self.changed_ids.update(t.id for t in page.tickets if self._is_new(t))
            self.changed_ids.update(q.ticket_id for q in page.quarantined)
            yield page

    def _is_new(self, ticket) -> bool:
        """Store.is_duplicate inverted: a later update time, or the same second with another token."""
        stored = self._known.get(ticket.id)
        if stored is None or ticket.updated_at != stored[0]:
            return stored is None or ticket.updated_at > stored[0]
        return ticket.concurrency_token != stored[1]

    def fetch_tickets(self, ids: Sequence[str], *, full_history: bool = False):
        with self._phase("re-read"):
            return self._inner.fetch_tickets(ids, full_history=full_history)

    def apply(self, plans):
        self.plans.extend(plans)
        with self._phase("write"):
            return self._inner.apply(plans)


@dataclass
class RunFigures:
    """One sync run of one helpdesk, counted."""

    system: str
    label: str
    changed_ids: frozenset[str]  # distinct pulled tickets the store did not hold before the run
    pulled_ids: frozenset[str]  # distinct tickets the pull returned (overlap re-reads included)
    raw_records: int  # records the API returned, before the connector's de-duplication (overlap windows)
    pages: int
    written_ids: frozenset[str]  # distinct tickets with a plan pushed
    plans: int
    actions: int
    escalated: int
    proposed: int
    time_based: int
    quarantined: int
    seconds: float
    calls: dict[str, Counter[str]]  # phase -> endpoint -> calls
    salesforce: Counter[str]
    limits: Limits
    touched: frozenset[str] = frozenset()  # tickets people commented on before this run
    emulator_requests: int | None = None  # requests the sandbox logged for this helpdesk during the run
    emulator_written: frozenset[str] = frozenset()  # tickets the sandbox logged writes by the API to

    @property
    def changed(self) -> int:
        return len(self.changed_ids)

    @property
    def written(self) -> int:
        return len(self.written_ids)

    def total(self, phase: str | None = None) -> int:
        return sum(sum(c.values()) for p, c in self.calls.items() if phase in (None, p))

    @property
    def pull_bound(self) -> int:
        return math.ceil(self.changed / self.limits.page)

    @property
    def write_bound(self) -> int:
        return math.ceil(self.written / self.limits.batch)

    @property
    def lower_bound(self) -> int:
        return self.pull_bound + self.write_bound

    @property
    def naive(self) -> int:
        return self.pull_bound + self.limits.reads * self.changed + self.actions

    def per_thousand(self, calls: float) -> float:
        return calls * 1000 / self.changed if self.changed else float("nan")

    @property
    def ratio(self) -> float:
        return self.total() / self.lower_bound if self.lower_bound else float("inf")


def tickets_for(system: str, changed: int) -> int:
    """The world size whose share for ``system`` holds ``changed`` tickets."""
    return math.ceil(changed / SHARE[system])


def measured_run(ctx: SyncContext, label: str, now: datetime, limits: Limits) -> RunFigures:
    """Run one sync on ``ctx`` with its connector metered; the run's figures."""
    with ctx.store.transaction() as tx:
        known = {r.ticket_id: (r.updated_at, r.concurrency_token) for r in tx.ticket_records(ctx.system)}
    metered = MeteredConnector(ctx.connector, known)
    at_build = ctx.connector.calls.by_endpoint()  # calls made while the context was built (Jira's GET myself)
    sf_before = ctx.accounts.calls.by_endpoint()
    ctx.connector = metered
    began = time.perf_counter()
    summary = run_sync(ctx, now, str(uuid.uuid4()))
    seconds = time.perf_counter() - began
    calls = dict(metered.phases)
    outside = calls_between(at_build, metered.calls.by_endpoint()) - sum(calls.values(), Counter())
    calls["set-up"] = outside + Counter(at_build)
    return RunFigures(
        system=ctx.system.value, label=label, changed_ids=frozenset(metered.changed_ids),
        pulled_ids=frozenset(metered.pulled_ids),
        raw_records=metered.raw_records, pages=metered.pages,
        written_ids=frozenset(p.ticket_id for p in metered.plans), plans=len(metered.plans),
        actions=sum(len(p.actions) for p in metered.plans), escalated=summary.escalated, proposed=summary.proposed,
        time_based=summary.time_based, quarantined=len(summary.quarantined), seconds=seconds, calls=calls,
        salesforce=calls_between(sf_before, ctx.accounts.calls.by_endpoint()), limits=limits,
    )  # fmt: skip


def limits_for(system: str, servicenow_page: int | None = None) -> Limits:
    """The bound's page and batch for ``system`` (ServiceNow's page is the one the run uses)."""
    if system == "servicenow" and servicenow_page:
        return replace(LIMITS[system], page=servicenow_page, page_what=f"Table API page of {servicenow_page}")
    return LIMITS[system]


def sync_once(system: str, settings: Settings, admin: SandboxAdmin, label: str,
              servicenow_page: int | None = None) -> RunFigures:
    """One run on a freshly built context at the sandbox's virtual now."""
    now, mark = admin.now(), admin.mark()
    ctx = build_context(System(system), settings, now)
    if servicenow_page and system == "servicenow":
        ctx.connector.page_size = servicenow_page  # the connector's own public setting
    try:
        figures = measured_run(ctx, label, now, limits_for(system, servicenow_page))
    finally:
        ctx.store.close()
    # The emulator's own logs, as an independent check of the connector's counts.
    figures.emulator_requests = len(admin.requests(system, since=mark))
    figures.emulator_written = frozenset(w["ticket_id"] for w in admin.writes(system, since=mark, actor="api"))
    return figures


def touch(admin: SandboxAdmin, system: str, settings: Settings, share: float, seed: int) -> frozenset[str]:
    """People comment on ``share`` of the helpdesk's stored tickets (open ones first); the ids they touched."""
    with Store.open(settings.state_url) as store, store.transaction() as tx:
        records = tx.ticket_records(System(system))
    rng = random.Random(seed)
    wanted, touched = round(len(records) * share), set()
    for record in sorted(records, key=lambda r: (not r.is_open, rng.random())):  # open ones first, shuffled
        if len(touched) >= wanted:
            break
        try:
            admin.human(system, record.ticket_id, "comment", body=HUMAN_COMMENT, public=True)
        except SandboxAdminError:  # e.g. a closed ticket that refuses comments: take the next one
            continue
        touched.add(record.ticket_id)
    return frozenset(touched)


def measure_helpdesk(system: str, changed: int, *, seed: int = 7, touch_share: float = 0.10,
                     servicenow_page: int | None = None) -> list[RunFigures]:
    """First sync of a backlog, then the steady-state sync, against a sandbox of this helpdesk (and Salesforce)."""
    world = tickets_for(system, changed)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp, \
            Sandbox(seed=seed, tickets=world, systems=(system, "salesforce")) as sandbox, \
            sandbox.environment():  # fmt: skip
        settings = Settings(mapping_dir=ROOT / "mapping", state_url=f"sqlite:///{Path(tmp) / 'state.db'}",
                            initial_lookback_days=90)
        admin = SandboxAdmin(sandbox.admin_url)
        try:
            admin.advance(2)  # exports hold back the current second
            first = sync_once(system, settings, admin, "first sync of a backlog", servicenow_page)
            admin.advance(60)  # people act a minute after the run, not in the very second of its writes
            touched = touch(admin, system, settings, touch_share, seed)
            admin.advance(60)
            steady = sync_once(system, settings, admin, "steady state", servicenow_page)
            steady.touched = touched
        finally:
            admin.close()
    return [first, steady]


# -- report ------------------------------------------------------------------------------------------


def _endpoints(counter: Counter[str]) -> str:
    return ", ".join(f"{endpoint} x{n}" for endpoint, n in sorted(counter.items())) or "none"


def print_run(run: RunFigures, previous: RunFigures | None = None) -> bool:
    """Print one run's figures; True when it meets the target."""
    lim, k, total = run.limits, run.per_thousand, run.total()
    print(f"\n{run.system} - {run.label}: {run.changed:,} changed tickets ({len(run.pulled_ids):,} pulled, "
          f"{run.raw_records:,} records from the API in {run.pages} pages); {run.written:,} written ({run.plans} "
          f"plans, {run.actions} actions; escalated {run.escalated}, proposed {run.proposed}, by time "
          f"{run.time_based}); {run.seconds:.1f} s")
    if previous is not None:
        others = run.changed_ids - run.touched
        print(f"  changed = {len(run.changed_ids & run.touched):,} touched by people + {len(others):,} others "
              f"({len(others & previous.written_ids):,} of them echoes of the first sync's writes); pulled "
              f"again unchanged (overlap window): {len(run.pulled_ids - run.changed_ids):,}")
    for phase in PHASES:
        if run.calls.get(phase):
            print(f"  {phase:<8} {run.total(phase):>6,} calls = {k(run.total(phase)):>8.1f} per 1,000: "
                  f"{_endpoints(run.calls[phase])}")
    if run.emulator_requests is not None:
        print(f"  the emulator logged {run.emulator_requests:,} requests and writes to {len(run.emulator_written):,} "
              f"tickets (counted here: {total:,} calls, {run.written:,} tickets with a plan)")
    print(f"  helpdesk {total:>6,} calls = {k(total):>8.1f} per 1,000 (pull {k(run.total('pull')):.1f}, "
          f"re-read + write + set-up {k(total - run.total('pull')):.1f})")
    print(f"  lower bound {run.lower_bound:,} = {k(run.lower_bound):.1f} per 1,000: ceil({run.changed}/{lim.page}) "
          f"pulls + ceil({run.written}/{lim.batch}) writes = {run.pull_bound} + {run.write_bound}")
    print(f"  naive {run.naive:,} = {k(run.naive):.1f} per 1,000: ceil({run.changed}/{lim.page}) list + "
          f"{lim.reads} x {run.changed} reads + {run.actions} actions")
    print(f"  over the bound: pull + set-up {run.total('pull') + run.total('set-up') - run.pull_bound:+,}, "
          f"re-read + write {run.total('re-read') + run.total('write') - run.write_bound:+,}")
    met = run.ratio <= TARGET_RATIO
    print(f"  measured / lower bound = {run.ratio:.2f}x (target <= {TARGET_RATIO}x: {'met' if met else 'NOT met'}); "
          f"measured / naive = {total / max(run.naive, 1):.2f}x")
    print(f"  salesforce (enrichment, not in the bound): {sum(run.salesforce.values())} calls: "
          f"{_endpoints(run.salesforce)}" + (f"; {run.quarantined} quarantined" if run.quarantined else ""))
    return met


def print_limits(systems: list[str], servicenow_page: int | None) -> None:
    print("  lower bound and naive reader, per helpdesk:")
    for system in systems:
        lim = limits_for(system, servicenow_page)
        print(f"    {system}: page = {lim.page_what}; batch = {lim.batch_what}; naive reads per ticket = "
              f"{lim.reads} ({lim.reads_what}) + one call per action")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks api_calls", description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000, help="changed tickets per helpdesk (about)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated helpdesks")
    parser.add_argument("--touch", type=float, default=0.10, help="share of tickets people comment on")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--servicenow-page", type=int, default=None,
                        help="ServiceNow Table API page size (default: the connector's, 200)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    for key, value in machine_info().items():
        print(f"  {key}: {value}")
    print(f"  ~{args.tickets:,} changed tickets per helpdesk, seed {args.seed}, {args.touch:.0%} touched by people "
          f"before the steady-state sync")
    print_limits(systems, args.servicenow_page)
    verdicts, logger = [], logging.getLogger("deskbridge")
    level = logger.level
    logger.setLevel(logging.ERROR)  # per-ticket warnings (unknown accounts, ...) would bury the figures
    try:
        for system in systems:
            first, steady = measure_helpdesk(system, args.tickets, seed=args.seed, touch_share=args.touch,
                                             servicenow_page=args.servicenow_page)
            verdicts += [(first, print_run(first)), (steady, print_run(steady, first))]
    finally:
        logger.setLevel(level)
    print("\nsummary (calls per 1,000 changed tickets: measured / lower bound / naive; target <= 1.2x the bound)")
    for run, met in verdicts:
        print(f"  {run.system:<10} {run.label:<24} {run.per_thousand(run.total()):>8.1f} / "
              f"{run.per_thousand(run.lower_bound):>6.1f} / {run.per_thousand(run.naive):>8.1f}  "
              f"{run.ratio:.2f}x {'met' if met else 'NOT met'}")
    return 0  # a report, not a gate: the verdicts are in the output


if __name__ == "__main__":
    raise SystemExit(main())
