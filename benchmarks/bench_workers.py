"""Throughput of deskbridge on a Prefect server with 1 vs. 2 process workers.

The stack is the one ops run (docs/scale-out.md), on this machine: a throw-away PostgreSQL cluster holding
the Prefect server's database and the state store, ``prefect server start``, the ``deskbridge`` process
pool, the deployments of prefect.yaml with Zendesk split into partition deployments, and 1 or 2
``prefect worker start --limit 1`` processes. For each worker count the same work is done from scratch:
a fresh sandbox (same seed, frozen clock), a fresh state store, and one run of every deployment,
triggered at once. Reported: the makespan (first trigger to last run finished, process start-up of
every flow run included), distinct tickets decided, and tickets per second.

    python -m benchmarks workers -- --tickets 3000 --workers 1,2 --zendesk-partitions 2

Needs the PostgreSQL server binaries (Debian's ``postgresql``), as ``make test`` does. The sandbox
serves every API call from this one Python process, so on a small machine it, not the workers, can be
the bottleneck: read the speed-up together with the load average printed beside it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.bench_evaluate import machine_info

ROOT = Path(__file__).resolve().parent.parent
POOL, FLOW = "deskbridge", "deskbridge-sync"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
sys.path.insert(0, str(ROOT / "tests"))  # the test suite's PostgreSQL and Prefect server helpers

import pg_fixture  # noqa: E402
import prefect_server_fixture as prefect_stack  # noqa: E402


@dataclass
class Measurement:
    workers: int
    runs: int
    seconds: float
    tickets: int  # distinct tickets decided
    evaluated: int  # evaluations (a ticket re-read within its run counts again)
    pulled: int
    writes: int
    run_seconds: list[float]

    @property
    def per_second(self) -> float:
        return self.tickets / self.seconds if self.seconds else 0.0


@contextmanager
def throwaway_postgres():
    """The test suite's throw-away cluster (pg_fixture), outside pytest."""
    with contextmanager(pg_fixture.postgres_server.__wrapped__)() as server:
        yield server


def deployments(server, root: Path, partitions: int) -> list[str]:
    """Create the pool, deploy prefect.yaml (and Zendesk's partitions); the deployment names to trigger."""
    server.cli("work-pool", "create", POOL, "--type", "process", "--overwrite", cwd=ROOT)
    home = {"DESKBRIDGE_HOME": str(ROOT)}
    server.cli("deploy", "--all", cwd=ROOT, env=home)
    if partitions <= 1:
        return ["zendesk", "servicenow", "jira"]
    split = prefect_stack.partitioned_project(ROOT / "prefect.yaml", "zendesk", partitions, root)
    server.cli("deploy", "--all", "--prefect-file", str(split), cwd=ROOT, env=home)
    return [f"zendesk-p{k}" for k in range(partitions)] + ["servicenow", "jira"]


def measure(server, pg, names: list[str], workers: int, args, root: Path) -> Measurement:
    """One configuration from scratch: sandbox, state store, workers; every deployment run once."""
    from prefect.client.orchestration import SyncPrefectClient

    from core.store import Store
    from sandbox.admin_client import SandboxAdmin
    from sandbox.cli import write_env_file
    from sandbox.runner import Sandbox

    state_db = f"bench_{uuid.uuid4().hex[:10]}"
    with ExitStack() as cleanup:
        pg.admin(f'CREATE DATABASE "{state_db}"')
        cleanup.callback(pg.admin, f'DROP DATABASE IF EXISTS "{state_db}" WITH (FORCE)')
        sandbox = cleanup.enter_context(Sandbox(seed=args.seed, tickets=args.tickets, cert_dir=root / f"tls-{workers}"))
        env_file = root / f"sandbox-{workers}.env"
        write_env_file(env_file, sandbox.env())
        procs = []
        for n in range(workers):
            proc = server.start_worker(POOL, f"bench-{workers}-{n}", env={"DESKBRIDGE_STATE_URL": pg.url(state_db)},
                                       env_file=env_file, cwd=root, wait=False)  # fmt: skip
            cleanup.callback(proc.stop)
            procs.append(proc)
        for proc in procs:
            prefect_stack.wait_until_ready(proc)
        client = cleanup.enter_context(SyncPrefectClient(server.api_url))
        admin = SandboxAdmin(sandbox.admin_url, verify=str(sandbox.certs.bundle_file))
        cleanup.callback(admin.close)

        admin.advance(2)
        now = admin.now().isoformat()
        began = time.monotonic()
        ids = [prefect_stack.trigger(client, f"{FLOW}/{name}", {"now": now}) for name in names]
        states = prefect_stack.wait_for_runs(client, ids, timeout=args.timeout, workers=procs)
        seconds = time.monotonic() - began
        failed = {i: s.name for i, s in states.items() if not s.is_completed()}
        if failed:
            raise RuntimeError(f"runs did not complete: {failed}")
        with Store.open(pg.url(state_db)) as store, store.transaction() as tx:
            counts = [r.counts for r in tx.runs() if r.run_id in ids]
            decided = {(d.system, d.ticket_id) for d in tx.decisions_between(EPOCH) if d.run_id in ids}
        return Measurement(
            workers=workers, runs=len(ids), seconds=seconds, tickets=len(decided),
            evaluated=sum(c.get("evaluated", 0) for c in counts), pulled=sum(c.get("pulled", 0) for c in counts),
            writes=sum(sum(c.get("writes", {}).values()) for c in counts),
            run_seconds=[_running_seconds(client, i) for i in ids],
        )  # fmt: skip


def _running_seconds(client, run_id: str) -> float:
    history = prefect_stack.state_history(client, run_id)
    started = next(s.timestamp for s in history if s.type.value == "RUNNING")
    return (history[-1].timestamp - started).total_seconds()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks workers", description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=3000, help="sandbox tickets across the three helpdesks")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare, comma-separated")
    parser.add_argument("--zendesk-partitions", type=int, default=2, help="Zendesk partition deployments")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=1200, help="seconds one configuration may take")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]

    for key, value in machine_info().items():
        print(f"{key}: {value}")
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        try:
            pg = stack.enter_context(throwaway_postgres())
        except BaseException as exc:  # pytest.skip's exception when PostgreSQL is not installed
            if type(exc).__name__ != "Skipped":
                raise
            print(f"skipped: {exc}")
            return 0
        database = f"prefect_{uuid.uuid4().hex[:10]}"
        pg.admin(f'CREATE DATABASE "{database}"')
        url = prefect_stack.asyncpg_url(pg.socket_dir, pg.port, database)
        server = stack.enter_context(prefect_stack.running_prefect_server(url, root))
        names = deployments(server, root, args.zendesk_partitions)
        print(f"deployments: {', '.join(names)}; sandbox: {args.tickets} tickets, seed {args.seed}")
        for workers in counts:
            result = measure(server, pg, names, workers, args, root)
            results.append(result)
            runs = ", ".join(f"{s:.1f}" for s in result.run_seconds)
            print(f"{workers} worker(s): {result.runs} runs, {result.tickets} tickets decided "
                  f"({result.evaluated} evaluations, {result.pulled} pulled, {result.writes} writes) "
                  f"in {result.seconds:.1f} s = {result.per_second:.1f} tickets/s; "
                  f"each run Running->Completed: {runs} s", flush=True)  # fmt: skip
    base = results[0]
    for result in results[1:]:
        print(f"speed-up {result.workers} vs {base.workers} worker(s): {result.per_second / base.per_second:.2f}x")
    print(f"load average after: {machine_info()['load average (1/5/15 min)']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
