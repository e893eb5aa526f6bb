"""pytest fixtures for the running sandbox (register with ``pytest_plugins = ["sandbox_fixtures"]``).

- ``sandbox`` (session): a :class:`sandbox.runner.Sandbox` with the four emulators on 127.0.0.1, seeded with
  seed 7 and 60 tickets, and its environment applied to ``os.environ`` for the session (restored afterwards),
  so the real clients and deskbridge's connectors reach it with no further setup.
- ``sandbox_admin`` (session): a :class:`sandbox.admin_client.SandboxAdmin` for it.
- ``fresh_logs``: empties the request and write logs before the test; yields the admin client.
- ``clean_faults``: removes every fault rule before and after the test; yields the admin client.

The session sandbox's virtual clock is shared: tests should only move it forward (``advance``, or
``set_clock`` to a later instant), because emulators stamp writes with it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.admin_client import SandboxAdmin
from sandbox.runner import Sandbox

SANDBOX_SEED = 7
SANDBOX_TICKETS = 60


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The running sandbox, its environment applied for the whole session."""
    certs = tmp_path_factory.mktemp("sandbox-tls")
    with Sandbox(seed=SANDBOX_SEED, tickets=SANDBOX_TICKETS, cert_dir=certs) as running, running.environment():
        yield running


@pytest.fixture(scope="session")
def sandbox_admin(sandbox: Sandbox) -> Iterator[SandboxAdmin]:
    """The admin API client of the session sandbox."""
    admin = SandboxAdmin(sandbox.admin_url)
    yield admin
    admin.close()


@pytest.fixture
def fresh_logs(sandbox: Sandbox, sandbox_admin: SandboxAdmin) -> SandboxAdmin:
    """Start the test with empty request and write logs."""
    sandbox.ctx.log.clear()
    return sandbox_admin


@pytest.fixture
def clean_faults(sandbox: Sandbox, sandbox_admin: SandboxAdmin) -> Iterator[SandboxAdmin]:
    """No fault rules during the test except those it adds, and none left behind."""
    sandbox.ctx.faults.clear()
    yield sandbox_admin
    sandbox.ctx.faults.clear()
