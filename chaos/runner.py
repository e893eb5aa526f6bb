"""The chaos loop: for each round, weather, syncs under fire, a clean settle, then the invariants.

One round:

1. the virtual clock moves on (minutes to over an hour: SLA thresholds pass);
2. new tickets that must escalate are created, and people edit tickets
   (reassign, tag, comment);
3. a seeded mix of faults is switched on (429 storms with Retry-After 1, 5xx
   bursts, latency, connection resets, conflicts from simulated people,
   malformed bodies);
4. each helpdesk is synced in the worker process while people keep editing;
   some syncs are SIGKILLed at a random delay or at a chosen request, and a
   fresh process runs the sync again on the same state store;
5. faults are cleared and clean syncs run until one round of them writes
   nothing (so deskbridge has also read back its own writes);
6. the invariants of :mod:`chaos.invariants` are checked against the sandbox
   and the state store.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from chaos import humans
from chaos.config import ChaosConfig
from chaos.invariants import Violation, check
from chaos.observe import observe, views
from chaos.process import ROOT, RunResult, SyncProcess
from chaos.report import ChaosReport, RoundLog
from chaos.schedule import FaultDeck, draw_faults, draw_kill
from core.model import System
from core.settings import load_settings
from flows.pipeline import run_sync
from flows.wiring import build_context
from sandbox.admin_client import SandboxAdmin
from sandbox.runner import Sandbox

EXPORT_HOLDBACK_SECONDS = 2  # exports hold back the current second: move past it before each sync


class ChaosRun:
    """One seeded chaos run against its own sandbox and state store."""

    def __init__(self, config: ChaosConfig, log=print):
        self.config, self.say = config, log
        # Separate streams, so what people happen to pick (it depends on what deskbridge wrote) never
        # shifts the clock, the faults or the kills: those repeat exactly for a seed.
        self.rng = random.Random(config.seed)  # clock, new tickets, faults, order of the helpdesks
        self.kills = random.Random(config.seed + 1)
        self.people_rng = random.Random(config.seed + 2)
        self.deck = FaultDeck(random.Random(config.seed + 3))
        self.report = ChaosReport(seed=config.seed)
        self.people = humans.HumanLog()
        self.seen: set[Violation] = set()

    def run(self) -> ChaosReport:
        began = time.monotonic()
        with self._workdir() as workdir, Sandbox(self.config.seed, self.config.tickets) as sandbox, \
                sandbox.environment(), _environment(self._deskbridge_env(workdir)):  # fmt: skip
            self.sandbox, self.admin = sandbox, SandboxAdmin(sandbox.admin_url)
            self.worker = SyncProcess(self._worker_env(sandbox), workdir / "worker.log")
            try:
                self._prepare()
                for number in range(1, self.config.rounds + 1):
                    self.report.rounds.append(self._round(number))
            finally:
                self.worker.close()
                _keep_logs(workdir, self.admin.writes(), self.report)
                self.admin.close()
        self.report.humans, self.report.humans_refused = self.people.done, self.people.refused
        self.report.worker_starts = self.worker.starts
        self.report.seconds = time.monotonic() - began
        return self.report

    # -- set-up ----------------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Remember the tags every ticket starts with, and which tickets people will work on."""
        start = views(self.admin, self.config.systems)
        self.baseline = {key: set(view["tags"]) for key, view in start.items()}
        self.candidates: dict[str, list[str]] = {s: [] for s in self.config.systems}
        for (system, ticket_id), view in start.items():
            if view["status"] != "closed":
                self.candidates[system].append(ticket_id)
        self.agents = humans.agents_of(self.sandbox.world)
        self.window_start: datetime | None = None

    # -- one round -------------------------------------------------------------------------------

    def _round(self, number: int) -> RoundLog:
        began = time.monotonic()
        low, high = self.config.advance_minutes
        self.admin.advance(self.rng.randint(low * 60, high * 60))
        log = RoundLog(number, self.admin.now().isoformat())
        for system, ticket_id, what in humans.create_trigger_tickets(
            self.admin, self.sandbox.world, self.rng, self.config.systems, self.config.new_tickets
        ):
            self.candidates[system].append(ticket_id)
            log.created.append(f"{system}:{ticket_id} ({what})")
        for action in humans.draw_actions(self.people_rng, self.candidates, self.agents, self.config.humans_between):
            humans.act(self.admin, action, self.people)
        faults = draw_faults(self.rng, self.deck.deal(self.config.faults_per_round), self.config.systems)
        for fault in faults:
            self.admin.add_fault(**fault.rule())
        log.faults = [f.describe() for f in faults]
        for system in self.rng.sample(self.config.systems, len(self.config.systems)):
            log.runs += self._chaos_sync(number, system)
        for rule in self.admin.faults():
            self.report.injected[rule["kind"]] += rule["injected"]
        self.admin.clear_faults()
        now, log.settle_runs, log.settle_writes, quiet = self._settle()
        if self.window_start is None:
            self.window_start = now - timedelta(days=load_settings().initial_lookback_days)
        self._check(log, now, quiet)
        self._remember_escalated()
        log.seconds = time.monotonic() - began
        self.say(f"round {number}: {len(log.runs)} syncs, {sum(r.killed for r in log.runs)} killed, "
                 f"{log.settle_runs} settling, {len(log.violations)} new violations ({log.seconds:.0f} s)")
        return log

    def _chaos_sync(self, number: int, system: str) -> list[RunResult]:
        """One sync under the round's faults, maybe killed; a killed one is restarted at once."""
        kill = draw_kill(self.kills, system) if self.kills.random() < self.config.kill_rate else None
        if kill is not None and kill.hold is not None:
            self.admin.add_fault(**kill.hold.rule())
        results = []
        for attempt in ("run", "restart"):
            self.admin.advance(EXPORT_HOLDBACK_SECONDS)
            actions = humans.draw_actions(self.people_rng, self.candidates, self.agents, self.config.humans_during,
                                          (system,))  # fmt: skip
            delays = [self.people_rng.uniform(0.0, 1.5) for _ in actions]
            with humans.DuringRun(self.sandbox.admin_url, actions, delays, self.people):
                result = self.worker.run(
                    system, self.admin.now().isoformat(), f"chaos-{self.config.seed}-{number}-{system}-{attempt}",
                    kill=kill if attempt == "run" else None, requests=self.sandbox.ctx.log,
                    timeout=self.config.run_timeout,
                )  # fmt: skip
            result.restart = attempt == "restart"
            result.kill_planned = kill.label if kill is not None and attempt == "run" else None
            results.append(result)
            if not result.killed:
                break
        return results

    def _settle(self) -> tuple[datetime, int, int, bool]:
        """Clean syncs of every helpdesk until a whole pass writes nothing; (now, syncs, writes, quiet)."""
        runs = writes = 0
        for attempt in range(self.config.settle_limit):
            self.admin.advance(EXPORT_HOLDBACK_SECONDS)
            now, mark = self.admin.now(), self.admin.mark()
            for system in self.config.systems:
                ctx = build_context(System(system), load_settings(), now)
                try:
                    run_sync(ctx, now, f"settle-{now:%H%M%S}-{system}")
                finally:
                    ctx.store.close()
                runs += 1
            wrote = len(self.admin.writes(since=mark, actor="api"))
            writes += wrote
            if wrote == 0:
                return now, runs, writes, True
        return now, runs, writes, False

    def _check(self, log: RoundLog, now: datetime, quiet: bool) -> None:
        contexts = {s: build_context(System(s), load_settings(), now) for s in self.config.systems}
        try:
            observation = observe(
                self.admin, contexts, now, self.window_start, self.baseline, self.people.reassignments
            )
        finally:
            for ctx in contexts.values():
                ctx.store.close()
        found = check(observation)
        if not quiet:
            found.append(Violation("settled", "*", f"clean syncs still wrote after {self.config.settle_limit} passes"))
        for run in (r for r in log.runs if r.timed_out):
            found.append(Violation("hung", run.system, f"a sync under chaos gave no answer within "
                                                       f"{self.config.run_timeout:.0f} s (killed)"))
        log.tickets_checked = len(observation.tickets)
        # (ticket, auto rule) firings judged: escalations and progress updates alike
        log.expected_escalations = sum(len(t.expected.acting) + len(t.expected.informing)
                                       for t in observation.tickets if t.expected)
        log.violations = [v for v in found if v not in self.seen]
        self.seen.update(log.violations)
        self.report.violations += log.violations

    def _remember_escalated(self) -> None:
        """Tickets deskbridge wrote to become favourites of the simulated people (reassign, tag, reply)."""
        for write in self.admin.writes(actor="api"):
            ids = self.candidates.setdefault(write["system"], [])
            if write["ticket_id"] not in ids:
                ids.append(write["ticket_id"])

    # -- environment -----------------------------------------------------------------------------

    @contextmanager
    def _workdir(self) -> Iterator[Path]:
        if self.config.workdir is not None:
            self.config.workdir.mkdir(parents=True, exist_ok=True)
            yield self.config.workdir
            return
        with tempfile.TemporaryDirectory(prefix="deskbridge-chaos-") as tmp:
            yield Path(tmp)

    def _deskbridge_env(self, workdir: Path) -> dict[str, str]:
        self.state_file = workdir / "state.db"
        if self.state_file.exists():
            raise FileExistsError(f"{self.state_file} exists: a chaos run starts from an empty state store")
        return {
            "DESKBRIDGE_STATE_URL": f"sqlite:///{self.state_file}",
            "DESKBRIDGE_MAPPING_DIR": str(ROOT / "mapping"),
            "PREFECT_HOME": str(workdir / "prefect"),
        }

    def _worker_env(self, sandbox: Sandbox) -> dict[str, str]:
        env = dict(os.environ)
        env.update(sandbox.env())
        env.update(
            DESKBRIDGE_RETRY_MAX_WAIT_SECONDS=str(self.config.retry_max_wait_seconds),
            DESKBRIDGE_RETRY_MAX_ATTEMPTS=str(self.config.retry_max_attempts),
            PYTHONPATH=os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH")))),
        )
        return env


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _keep_logs(workdir: Path, writes: list[dict], report: ChaosReport) -> None:
    """The sandbox's write log and the violations, beside the state store, for a post-mortem."""
    (workdir / "writes.json").write_text(json.dumps(writes, indent=1, default=str), encoding="utf-8")
    lines = [str(v) for v in report.violations]
    (workdir / "violations.txt").write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")


def run_chaos(config: ChaosConfig, log=print) -> ChaosReport:
    """Run the chaos suite described by ``config``; the report's ``violations`` must be empty."""
    return ChaosRun(config, log).run()
