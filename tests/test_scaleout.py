"""Scale-out on Prefect's own engine: a real Prefect server on PostgreSQL, two process workers, the sandbox.

One stack per module: PostgreSQL (pg_fixture), ``prefect server start`` on it (prefect_server_fixture), a
sandbox of its own with a frozen clock, the ``deskbridge`` process pool, the three deployments of
prefect.yaml (``prefect deploy --all``) plus two partition deployments of Zendesk derived from it, and two
``prefect worker start --pool deskbridge --limit 1`` processes that source the sandbox's env file and keep
their state store on PostgreSQL. ServiceNow's credentials are left out of that file: they live in a Prefect
block (``prefect block register -m flows.blocks``) that the ServiceNow runs name. Runs are triggered through
the Prefect client, as ``prefect deployment run`` would, with ``now`` set to the sandbox's virtual time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.settings import PREFECT_API_URL, temporary_settings

from core.markers import find_markers
from core.model import System
from core.store import Store
from flows.blocks import ServiceNowCredentialsBlock
from flows.partition import Partition
from pg_fixture import postgres_server  # noqa: F401
from prefect_server_fixture import (  # noqa: F401
    ManagedProcess,
    PrefectServer,
    partitioned_project,
    prefect_server,
    state_history,
    ran_by,
    trigger,
    wait_for_runs,
    wait_until_ready,
)
from sandbox.admin_client import SandboxAdmin
from sandbox.cli import write_env_file
from sandbox.runner import Sandbox

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
POOL = "deskbridge"
FLOW = "deskbridge-sync"
PARTITIONS = 2
RUN_TIMEOUT_S = 180
SERVICENOW_ENV = "DESKBRIDGE_SERVICENOW_"
SERVICENOW_BLOCK = "sandbox-servicenow"


@dataclass
class Stack:
    server: PrefectServer
    client: SyncPrefectClient
    state_url: str
    sandbox: Sandbox
    admin: SandboxAdmin
    workers: list[ManagedProcess]

    def trigger(self, deployment: str, now: datetime) -> str:
        """A run of ``deskbridge-sync/<deployment>`` evaluating at ``now`` (ServiceNow's credentials from a block)."""
        block = {"credentials_block": SERVICENOW_BLOCK} if deployment == "servicenow" else {}
        return trigger(self.client, f"{FLOW}/{deployment}", {"now": now.isoformat(), **block})

    def wait(self, run_ids: list[str]) -> dict[str, str]:
        """The final state name of every run."""
        states = wait_for_runs(self.client, run_ids, timeout=RUN_TIMEOUT_S, workers=self.workers)
        return {run_id: state.name for run_id, state in states.items()}

    def running_interval(self, run_id: str) -> tuple[datetime, datetime, list[str]]:
        """When the run started running and when it ended, with its state names in order."""
        history = state_history(self.client, run_id)
        started = next(s.timestamp for s in history if s.type.value == "RUNNING")
        ended = next(s.timestamp for s in history if s.is_final())
        return started, ended, [s.name for s in history]


@pytest.fixture(scope="module")
def stack(postgres_server, prefect_server, tmp_path_factory) -> Iterator[Stack]:  # noqa: F811
    root = tmp_path_factory.mktemp("scaleout")
    state_db = f"state_{uuid.uuid4().hex[:10]}"
    with ExitStack() as cleanup:
        postgres_server.admin(f'CREATE DATABASE "{state_db}"')
        cleanup.callback(postgres_server.admin, f'DROP DATABASE IF EXISTS "{state_db}" WITH (FORCE)')
        sandbox = cleanup.enter_context(Sandbox(seed=11, tickets=30, cert_dir=root / "tls"))
        env_file = root / "sandbox.env"  # ServiceNow's credentials go into a Prefect block instead
        write_env_file(env_file, {k: v for k, v in sandbox.env().items() if not k.startswith(SERVICENOW_ENV)})

        prefect_server.cli("work-pool", "create", POOL, "--type", "process", "--overwrite", cwd=ROOT)
        state_url = postgres_server.url(state_db)
        workers = []
        for name in ("scale-a", "scale-b"):
            worker = prefect_server.start_worker(
                POOL, name, env={"DESKBRIDGE_STATE_URL": state_url}, env_file=env_file, cwd=root, wait=False
            )
            cleanup.callback(worker.stop)
            workers.append(worker)
        home = {"DESKBRIDGE_HOME": str(ROOT)}
        split = partitioned_project(ROOT / "prefect.yaml", "zendesk", PARTITIONS, root)
        with ThreadPoolExecutor(max_workers=3) as pool:  # independent commands, while the workers start
            done = [
                pool.submit(prefect_server.cli, "deploy", "--all", cwd=ROOT, env=home),
                pool.submit(prefect_server.cli, "deploy", "--all", "--prefect-file", str(split), cwd=ROOT, env=home),
                pool.submit(prefect_server.cli, "block", "register", "-m", "flows.blocks", cwd=ROOT),
            ]
            for job in done:
                job.result()
        save_servicenow_block(prefect_server, sandbox.env())
        for worker in workers:
            wait_until_ready(worker)

        client = cleanup.enter_context(SyncPrefectClient(prefect_server.api_url))
        admin = SandboxAdmin(sandbox.admin_url, verify=str(sandbox.certs.bundle_file))
        cleanup.callback(admin.close)
        yield Stack(prefect_server, client, state_url, sandbox, admin, workers)


def save_servicenow_block(server: PrefectServer, env: dict[str, str]) -> None:
    """Keep the sandbox's ServiceNow credentials in a Prefect block, as ops who use Blocks would."""
    block = ServiceNowCredentialsBlock(
        instance=env[f"{SERVICENOW_ENV}INSTANCE"], username=env[f"{SERVICENOW_ENV}USERNAME"],
        password=env[f"{SERVICENOW_ENV}PASSWORD"],
    )  # fmt: skip
    with temporary_settings({PREFECT_API_URL: server.api_url}):
        block.save(SERVICENOW_BLOCK, overwrite=True)


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
    zendesk = [_outage(stack.admin, "zendesk", account, n) for n in range(6)]
    owners = {k: [t for t in zendesk if Partition(k, PARTITIONS).owns(t)] for k in range(PARTITIONS)}
    assert all(owners.values()), f"the stable hash put every new Zendesk ticket in one partition: {owners}"

    now = _now(stack.admin)
    runs = {name: stack.trigger(name, now) for name in ("servicenow", "jira", "zendesk-p0", "zendesk-p1")}
    states = stack.wait(list(runs.values()))

    assert set(states.values()) == {"Completed"}, states
    ran = {name: ran_by(stack.workers, run) for name, run in runs.items()}
    assert all(len(by) == 1 for by in ran.values()), ran  # each run started by exactly one worker
    assert {w for by in ran.values() for w in by} == {"scale-a", "scale-b"}, ran

    with Store.open(stack.state_url) as store, store.transaction() as tx:
        rows = {r.run_id: r for r in tx.runs()}
        cursors = {k: tx.get_cursor(System.zendesk, f"tickets@{k}/{PARTITIONS}") for k in range(PARTITIONS)}
    assert all(rows[run].finished_at is not None for run in runs.values()), rows
    assert all(cursors.values()), cursors

    for system, tickets in (*created.items(), ("zendesk", zendesk)):
        written = {w["ticket_id"] for w in stack.admin.writes(system=system, actor="api")}
        for ticket in tickets:
            assert ticket in written, (system, ticket)  # the sandbox's write log shows the escalation
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
    print(f"jira runs: {a_states} {a_start:%T.%f}..{a_end:%T.%f}; {b_states} {b_start:%T.%f}..{b_end:%T.%f}")
