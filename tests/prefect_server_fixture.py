"""A real Prefect server on PostgreSQL for tests, and the processes around it (CLI calls, workers).

Use it from a test module with
``from prefect_server_fixture import prefect_server  # noqa: F401`` beside
``from pg_fixture import postgres_server  # noqa: F401``:

- ``prefect_server`` (session): ``prefect server start`` on a free 127.0.0.1 port, its database a fresh
  PostgreSQL database of the ``postgres_server`` cluster (``postgresql+asyncpg``), PREFECT_HOME in a temp
  dir, the UI, analytics, scheduler and late-runs services off (only the runs a test triggers exist), and a
  2 s wait before a run that found its deployment's concurrency slot taken tries again (Prefect's default is
  30 s). Ready when ``/api/health`` answers; stopped, with every process it started, at the end.
- :meth:`PrefectServer.cli` runs one ``prefect`` command against it; :meth:`PrefectServer.start_worker`
  starts ``prefect worker start`` as a :class:`ManagedProcess`.
- :func:`trigger`, :func:`wait_for_runs`, :func:`state_history`, :func:`ran_by` work on flow runs through a
  Prefect client; :func:`partitioned_project` derives partition deployments from a prefect.yaml.

Without pytest, :func:`running_prefect_server` is the same as a context manager (the benchmark uses it).
Every wait is bounded; a process that does not stop on SIGTERM is killed, children included, and every
process started here is killed by the kernel if the test process itself dies (Linux ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

_SCRIPT = Path(sys.executable).with_name("prefect")
PREFECT = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "prefect"]  # the CLI of this environment
STARTUP_TIMEOUT_S = 120
STOP_TIMEOUT_S = 15
SLOT_WAIT_SECONDS = 2
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class ManagedProcess:
    """A child process in a session of its own, its output in a log file, stopped with its whole tree."""

    def __init__(self, argv: list[str], *, env: Mapping[str, str], cwd: Path, log_path: Path):
        self.argv, self.log_path, self.name = argv, log_path, Path(argv[0]).name
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            argv, env=dict(env), cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def wait_for_output(self, pattern: str, timeout: float) -> re.Match[str]:
        """Wait until the log matches ``pattern``; fail with the log's tail if the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output())
            if found:
                return found
            if not self.alive():
                raise RuntimeError(f"{self.argv[:3]} exited ({self.process.returncode}):\n{self.tail()}")
            time.sleep(0.2)
        raise TimeoutError(f"{self.argv[:3]}: no {pattern!r} within {timeout:.0f} s:\n{self.tail()}")

    def stop(self) -> None:
        """SIGTERM the process and everything it started (flow-run subprocesses too); SIGKILL what stays."""
        tree = [self.pid, *descendants(self.pid)]
        for pid in tree:
            _signal(pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        for pid in [*tree, *descendants(self.pid)]:
            _signal(pid, signal.SIGKILL)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        finally:
            self._log.close()


def _die_with_parent() -> None:
    """In the child: get SIGKILL when the test process dies (even by SIGKILL), so no server outlives it."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid``, from /proc (children may have left its session)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found.extend(children)
        frontier = children
    return found


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_environ() -> dict[str, str]:
    """This process's environment without Prefect's or deskbridge's settings (another fixture's sandbox may
    have put its credentials there), so children see only what they are given."""
    return {
        key: value for key, value in os.environ.items()
        if not key.startswith(("PREFECT_", "DESKBRIDGE_")) and key != "ZENPY_FORCE_NETLOC"
    }  # fmt: skip


@dataclass
class PrefectServer:
    """A running Prefect server: its API URL, where its files are, and how to talk to it."""

    api_url: str
    root: Path
    database_url: str
    process: ManagedProcess
    _homes: list[Path] = field(default_factory=list)

    def client_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a Prefect client or worker process for this server (its own PREFECT_HOME)."""
        home = Path(tempfile.mkdtemp(prefix="client-home-", dir=self.root))
        env = clean_environ() | {
            "PREFECT_API_URL": self.api_url,
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }
        return env | dict(extra or {})

    def cli(self, *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 120) -> str:
        """Run ``prefect <args>`` against this server; its output, or an error carrying that output."""
        result = subprocess.run(
            [*PREFECT, "--no-prompt", *args], cwd=cwd, env=self.client_env(env), capture_output=True,
            text=True, timeout=timeout, preexec_fn=_die_with_parent,
        )  # fmt: skip
        if result.returncode != 0:
            output = result.stdout + result.stderr
            raise RuntimeError(f"prefect {' '.join(args)} failed ({result.returncode}):\n{output}")
        return result.stdout

    def start_worker(
        self, pool: str, name: str, *, env: Mapping[str, str], cwd: Path, env_file: Path | None = None,
        limit: int = 1, poll_seconds: float = 1, prefetch_seconds: float = 0, wait: bool = True,
    ) -> ManagedProcess:  # fmt: skip
        """``prefect worker start --pool POOL --limit N``, after sourcing ``env_file`` as ops would.

        It polls every ``poll_seconds`` (Prefect's default is 10) and takes runs only once they are due
        (``prefetch_seconds`` 0), so a run waiting for its deployment's slot is not re-submitted every poll.
        With ``wait`` it returns once the worker says it started; otherwise call :func:`wait_until_ready`.
        """
        worker_env = self.client_env(env) | {
            "PREFECT_WORKER_QUERY_SECONDS": str(poll_seconds),
            "PREFECT_WORKER_PREFETCH_SECONDS": str(prefetch_seconds),
        }
        argv = [*PREFECT, "--no-prompt", "worker", "start", "--pool", pool, "--name", name, "--limit", str(limit)]
        if env_file is not None:  # `set -a; . FILE; set +a`, then become the worker
            argv = ["bash", "-c", 'set -a; . "$0"; set +a; exec "$@"', str(env_file), *argv]
        worker = ManagedProcess(argv, env=worker_env, cwd=cwd, log_path=self.root / f"worker-{name}.log")
        worker.name = name
        if wait:
            wait_until_ready(worker)
        return worker


def wait_until_ready(worker: ManagedProcess, timeout: float = STARTUP_TIMEOUT_S) -> None:
    """Wait for a worker's "started" line; stop it and re-raise if it never comes."""
    try:
        worker.wait_for_output(rf"Worker '{re.escape(worker.name)}' started", timeout=timeout)
    except BaseException:
        worker.stop()
        raise


def asyncpg_url(socket_dir: str, port: int, database: str, user: str = "postgres") -> str:
    """Prefect's database URL for a PostgreSQL database reached through a Unix socket directory."""
    return f"postgresql+asyncpg://{user}@/{database}?host={socket_dir}&port={port}"


@contextmanager
def running_prefect_server(database_url: str, root: Path) -> Iterator[PrefectServer]:
    """Start ``prefect server start`` on ``database_url`` with its files under ``root``; stop it afterwards."""
    for attempt in range(3):  # a port picked free can be taken before the server binds it
        port = free_port()
        env = clean_environ() | {
            "PREFECT_HOME": str(root / "server-home"),
            "PREFECT_API_DATABASE_CONNECTION_URL": database_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": str(SLOT_WAIT_SECONDS),
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
            "DO_NOT_TRACK": "1",
        }
        argv = [*PREFECT, "--no-prompt", "server", "start", "--host", "127.0.0.1", "--port", str(port),
                "--no-ui", "--analytics-off", "--no-scheduler", "--no-late-runs"]  # fmt: skip
        process = ManagedProcess(argv, env=env, cwd=root, log_path=root / f"server-{attempt}.log")
        api_url = f"http://127.0.0.1:{port}/api"
        try:
            _wait_healthy(api_url, process)
        except RuntimeError:
            process.stop()
            if attempt == 2 or "address already in use" not in process.output().lower():
                raise
            continue
        except BaseException:
            process.stop()
            raise
        server = PrefectServer(api_url=api_url, root=root, database_url=database_url, process=process)
        try:
            yield server
        finally:
            process.stop()
        return


def _wait_healthy(api_url: str, process: ManagedProcess) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"prefect server exited ({process.process.returncode}):\n{process.tail()}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"prefect server not healthy within {STARTUP_TIMEOUT_S} s:\n{process.tail()}")


@pytest.fixture(scope="session")
def prefect_server(postgres_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """A Prefect server on its own fresh PostgreSQL database, for the whole test session."""
    database = f"prefect_{uuid.uuid4().hex[:10]}"
    postgres_server.admin(f'CREATE DATABASE "{database}"')
    root = tmp_path_factory.mktemp("prefect-server")
    try:
        url = asyncpg_url(postgres_server.socket_dir, postgres_server.port, database)
        with running_prefect_server(url, root) as server:
            yield server
    finally:
        postgres_server.admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# -- runs and deployments -----------------------------------------------------------------------


def trigger(client, deployment: str, parameters: Mapping[str, object]) -> str:
    """Create a run of ``flow/deployment`` (as ``prefect deployment run`` does); its id."""
    found = client.read_deployment_by_name(deployment)
    return str(client.create_flow_run_from_deployment(found.id, parameters=dict(parameters)).id)


def wait_for_runs(client, run_ids: list[str], *, timeout: float, workers: list[ManagedProcess] = ()) -> dict:
    """Wait until every run is in a final state; their states. Fails early if a worker dies, with their logs."""
    deadline = time.monotonic() + timeout
    while True:
        states = {run_id: client.read_flow_run(uuid.UUID(run_id)).state for run_id in run_ids}
        if all(state is not None and state.is_final() for state in states.values()):
            return states
        if time.monotonic() > deadline or not all(worker.alive() for worker in workers):
            logs = "\n\n".join(f"--- worker {w.name}\n{w.tail(60)}" for w in workers)
            named = {run_id: state.name if state else None for run_id, state in states.items()}
            raise AssertionError(f"runs not finished after {timeout:.0f} s: {named}\n{logs}")
        time.sleep(0.5)


def state_history(client, run_id: str) -> list:
    """The run's states, oldest first."""
    return sorted(client.read_flow_run_states(uuid.UUID(run_id)), key=lambda state: state.timestamp)


def ran_by(workers: list[ManagedProcess], run_id: str) -> list[str]:
    """Names of the workers that started the run: they submitted it and the server did not abort that.

    Two workers often both pick up one scheduled run; the server lets one move it to Pending and answers
    the other with an abort (or, with the deployment's slot taken, AwaitingConcurrencySlot).
    """
    names = []
    for worker in workers:
        log = worker.output()
        if log.count(f"submitting flow run '{run_id}'") > log.count(f"Aborted submission of flow run '{run_id}'"):
            names.append(worker.name)
    return names


def partitioned_project(project_file: Path, deployment: str, count: int, directory: Path) -> Path:
    """A prefect.yaml with ``deployment`` split into ``<name>-p<k>`` deployments (``partition: k/count``)."""
    project = yaml.safe_load(project_file.read_text())
    source = next(d for d in project["deployments"] if d["name"] == deployment)
    project["deployments"] = [
        {**source, "name": f"{deployment}-p{k}", "parameters": {**source["parameters"], "partition": f"{k}/{count}"}}
        for k in range(count)
    ]
    project.pop("definitions", None)  # its anchors are already resolved into each deployment
    path = directory / f"prefect-{deployment}-{count}-partitions.yaml"
    path.write_text(json.dumps(project, default=str))  # JSON is YAML
    return path
