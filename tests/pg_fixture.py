"""A throw-away PostgreSQL cluster for tests, started once per session.

Use it from a test module with ``from pg_fixture import postgres_server, postgres_url  # noqa: F401``:

- ``postgres_server`` (session): starts ``initdb`` + ``pg_ctl`` in a temp dir, listening only on a
  Unix socket there, trust auth, fsync off; stops and deletes it at the end. Skips the test only
  when the PostgreSQL server binaries are not installed.
- ``postgres_url`` (function): a fresh, empty database on that server, as a SQLAlchemy URL
  (``postgresql+psycopg://...``), dropped after the test.

When the tests run as root (initdb refuses to), the cluster runs as the ``postgres`` user via
``runuser``; otherwise as the current user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "postgres"
PORT = 5432  # only names the socket file: the server listens on no TCP address


@dataclass(frozen=True)
class PostgresServer:
    """A running throw-away cluster reachable through its socket directory."""

    socket_dir: str
    port: int = PORT

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host=self.socket_dir, port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)


def _server_bin_dir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists() and Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    return None


def _as_cluster_owner(argv: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *argv] if owner else argv


def _cluster_owner() -> str | None:
    """None: run as ourselves. As root, run as 'postgres' (or 'nobody' if that user is missing)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists to run initdb")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this test session (skips only when PostgreSQL is not installed)."""
    bin_dir = _server_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    owner = _cluster_owner()
    root = Path(tempfile.mkdtemp(prefix="deskbridge-pg-"))
    data, log = root / "data", root / "server.log"
    if owner:
        info = pwd.getpwnam(owner)
        os.chown(root, info.pw_uid, info.pw_gid)
    root.chmod(0o755)

    def run(*argv: str) -> None:
        subprocess.run(_as_cluster_owner(list(argv), owner), check=True, capture_output=True, timeout=120)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
            "-E", "UTF8", "--no-sync", "--locale=C")  # fmt: skip
        options = f"-k {root} -c listen_addresses='' -p {PORT} -F -c fsync=off -c full_page_writes=off"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace")
        if log.exists():
            detail += "\n" + log.read_text(errors="replace")
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"could not start the throw-away PostgreSQL cluster: {detail}") from None
    try:
        yield PostgresServer(socket_dir=str(root))
    finally:
        subprocess.run(
            _as_cluster_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], owner),
            capture_output=True, timeout=60,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test, as a SQLAlchemy URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    postgres_server.admin(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
