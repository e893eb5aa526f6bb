"""Scale-out on Prefect's own engine: a real Prefect server on PostgreSQL, two process workers, the sandbox.

One stack per module: PostgreSQL (pg_fixture), ``prefect server start`` on it (prefect_server_fixture), a
sandbox of its own with a frozen clock, the ``deskbridge`` process pool, the three deployments of
prefect.yaml (``prefect deploy --all``) plus two partition deployments of Zendesk derived from it, and two
``prefect worker start --pool deskbridge --limit 1`` processes that source the sandbox's env file and keep
their state store on PostgreSQL. Runs are triggered through the Prefect client, as
``prefect deployment run`` would, with ``now`` set to the sandbox's virtual time.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from prefect.client.orchestration import SyncPrefectClient

from core.markers import find_markers
from core.model import System
from core.store import Store
from flows.partition import Partition
from pg_fixture import postgres_server  # noqa: F401
from prefect_server_fixture import ManagedProcess, PrefectServer, prefect_server, wait_until_ready  # noqa: F401
from sandbox.admin_client import SandboxAdmin
from sandbox.cli import write_env_file
from sandbox.runner import Sandbox

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
POOL = "deskbridge"
FLOW = "deskbridge-sync"
PARTITIONS = 2
RUN_TIMEOUT_S = 180


@dataclass
class Stack:
    server: PrefectServer
    client: SyncPrefectClient
    state_url: str
    sandbox: Sandbox
    admin: SandboxAdmin
    workers: list[ManagedProcess]

    def trigger(self, deployment: str, now: datetime) -> str:
        """Create a run of ``deskbridge-sync/<deployment>`` evaluating at ``now``; its id."""
        found = self.client.read_deployment_by_name(f"{FLOW}/{deployment}")
        run = self.client.create_flow_run_from_deployment(found.id, parameters={"now": now.isoformat()})
        return str(run.id)

    def wait(self, run_ids: list[str], timeout: float = RUN_TIMEOUT_S) -> dict[str, str]:
        """Wait until every run reaches a final state; their state names (fails with the workers' logs)."""
        deadline = time.monotonic() + timeout
        while True:
            states = {i: self.client.read_flow_run(uuid.UUID(i)).state for i in run_ids}
            if all(s is not None and s.is_final() for s in states.values()):
                return {i: s.name for i, s in states.items()}
            if time.monotonic() > deadline or not all(w.alive() for w in self.workers):
                logs = "\n\n".join(f"--- {w.name}\n{w.tail(60)}" for w in self.workers)
                raise AssertionError(f"runs not finished: { {i: s and s.name for i, s in states.items()} }\n{logs}")
            time.sleep(0.5)

    def running_interval(self, run_id: str) -> tuple[datetime, datetime, list[str]]:
        """When the run started running and when it ended, with its state names in order."""
        history = sorted(self.client.read_flow_run_states(uuid.UUID(run_id)), key=lambda s: s.timestamp)
        started = next(s.timestamp for s in history if s.type.value == "RUNNING")
        ended = next(s.timestamp for s in history if s.is_final())
        return started, ended, [s.name for s in history]

    def worker_of(self, run_id: str) -> list[str]:
        """Names of the workers that submitted the run (from their logs)."""
        return [w.name for w in self.workers if f"submitting flow run '{run_id}'" in w.output()]


@pytest.fixture(scope="module")
def stack(postgres_server, prefect_server, tmp_path_factory) -> Iterator[Stack]:  # noqa: F811
    root = tmp_path_factory.mktemp("scaleout")
    state_db = f"state_{uuid.uuid4().hex[:10]}"
    with ExitStack() as cleanup:
        postgres_server.admin(f'CREATE DATABASE "{state_db}"')
        cleanup.callback(postgres_server.admin, f'DROP DATABASE IF EXISTS "{state_db}" WITH (FORCE)')
        sandbox = cleanup.enter_context(Sandbox(seed=11, tickets=30, cert_dir=root / "tls"))
        env_file = root / "sandbox.env"
        write_env_file(env_file, sandbox.env())

        prefect_server.cli("work-pool", "create", POOL, "--type", "process", "--overwrite", cwd=ROOT)
        home = {"DESKBRIDGE_HOME": str(ROOT)}
        prefect_server.cli("deploy", "--all", cwd=ROOT, env=home)
        prefect_server.cli("deploy", "--all", "--prefect-file", str(partition_deployments(root)), cwd=ROOT, env=home)

        state_url = postgres_server.url(state_db)
        workers = []
        for name in ("scale-a", "scale-b"):
            worker = prefect_server.start_worker(
                POOL, name, env={"DESKBRIDGE_STATE_URL": state_url}, env_file=env_file, cwd=root, wait=False
            )
            cleanup.callback(worker.stop)
            workers.append(worker)
        for worker in workers:
            wait_until_ready(worker)

        client = cleanup.enter_context(SyncPrefectClient(prefect_server.api_url))
        admin = SandboxAdmin(sandbox.admin_url, verify=str(sandbox.certs.bundle_file))
        cleanup.callback(admin.close)
        yield Stack(prefect_server, client, state_url, sandbox, admin, workers)


def partition_deployments(directory: Path) -> Path:
    """A prefect.yaml beside the real one: the Zendesk deployment split into partition deployments."""
    project = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    zendesk = next(d for d in project["deployments"] if d["name"] == "zendesk")
    project["deployments"] = [
        {**zendesk, "name": f"zendesk-p{k}", "parameters": {**zendesk["parameters"], "partition": f"{k}/{PARTITIONS}"}}
        for k in range(PARTITIONS)
    ]
    project.pop("definitions", None)
    path = directory / "prefect-partitions.yaml"
    path.write_text(json.dumps(project, default=str))  # JSON is YAML
    return path


def _standard_account(sandbox: Sandbox) -> str:
    return next(a.id for a in sandbox.world.accounts if a.tier_value == "Standard Support")


def _outage(admin: SandboxAdmin, system: str, account: str, n: int) -> str:
    return admin.create_ticket(
        system, f"Checkout outage #{n}", description="Card payments fail in every store: an outage.",
        priority="high", account_id=account,
    )  # fmt: skip


def _notes(view: dict) -> list[dict]:
    return [c for c in view["comments"] if find_markers(c["body"]) and not c["public"]]


def _now(admin: SandboxAdmin) -> datetime:
    admin.advance(2)  # exports hold back the current second
    return admin.now()


def _decided(stack: Stack, system: System, run_id: str) -> set[str]:
    with Store.open(stack.state_url) as store, store.transaction() as tx:
        everything = tx.decisions_between(datetime(2000, 1, 1, tzinfo=UTC), system=system)
    return {d.ticket_id for d in everything if d.run_id == run_id}


def test_deployments_run_on_two_workers_against_the_sandbox_with_partitions_that_never_share_a_ticket(stack):
    account = _standard_account(stack.sandbox)
    created = {system: [_outage(stack.admin, system, account, 1)] for system in ("servicenow", "jira")}
    zendesk = [_outage(stack.admin, "zendesk", account, n) for n in range(8)]
    owners = {k: [t for t in zendesk if Partition(k, PARTITIONS).owns(t)] for k in range(PARTITIONS)}
    assert all(owners.values()), f"the stable hash put every new Zendesk ticket in one partition: {owners}"

    now = _now(stack.admin)
    runs = {name: stack.trigger(name, now) for name in ("servicenow", "jira", "zendesk-p0", "zendesk-p1")}
    states = stack.wait(list(runs.values()))

    assert set(states.values()) == {"Completed"}, states
    submitted = {name: stack.worker_of(run) for name, run in runs.items()}
    assert all(len(by) == 1 for by in submitted.values()), submitted
    assert {w for by in submitted.values() for w in by} == {"scale-a", "scale-b"}, submitted

    with Store.open(stack.state_url) as store, store.transaction() as tx:
        rows = {r.run_id: r for r in tx.runs()}
        cursors = {k: tx.get_cursor(System.zendesk, f"tickets@{k}/{PARTITIONS}") for k in range(PARTITIONS)}
    assert all(rows[run].finished_at is not None for run in runs.values()), rows
    assert all(cursors.values()), cursors

    for system, tickets in (*created.items(), ("zendesk", zendesk)):
        for ticket in tickets:
            assert stack.admin.writes(system=system, actor="api") and [
                w for w in stack.admin.writes(system=system, actor="api") if w["ticket_id"] == ticket
            ], (system, ticket)
            assert len(_notes(stack.admin.view(system, ticket))) == 1, (system, ticket)

    decided = {k: _decided(stack, System.zendesk, runs[f"zendesk-p{k}"]) for k in range(PARTITIONS)}
    assert not decided[0] & decided[1]
    for k, tickets in decided.items():
        assert set(owners[k]) <= tickets
        assert all(Partition(k, PARTITIONS).owns(t) for t in tickets), (k, tickets)


def test_two_runs_of_one_deployment_never_overlap(stack):
    ticket = _outage(stack.admin, "jira", _standard_account(stack.sandbox), 2)
    now = _now(stack.admin)

    first, second = stack.trigger("jira", now), stack.trigger("jira", now)
    states = stack.wait([first, second])

    assert set(states.values()) == {"Completed"}, states
    (a_start, a_end, a_states), (b_start, b_end, b_states) = sorted(
        (stack.running_interval(first), stack.running_interval(second))
    )
    assert a_end <= b_start, f"runs overlapped: {a_states} {a_start}..{a_end} vs {b_states} {b_start}..{b_end}"
    assert len(_notes(stack.admin.view("jira", ticket))) == 1
    print(f"jira runs: {a_states} {a_start:%H:%M:%S.%f}..{a_end:%H:%M:%S.%f}; {b_states} {b_start:%H:%M:%S.%f}..{b_end:%H:%M:%S.%f}")
