"""Assemble the sandbox: one world, four emulators, one admin API, each on its own HTTPS port.

``with Sandbox(seed=7, tickets=60) as sandbox:`` seeds the world, builds each
emulator from :mod:`sandbox.<system>` (``build(ctx, world) -> Emulator``), and
serves it on 127.0.0.1 with one shared throw-away certificate set; the admin
API (:mod:`sandbox.admin`) gets a port of its own. ``sandbox.env()`` is the
environment that points deskbridge (and the real clients) at it.

Every helpdesk emulator receives the same users and accounts, and only its own
share of the tickets as a lazy, re-iterable view, so seeding 100,000 tickets
never materialises them all at once.
"""

from __future__ import annotations

import importlib
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.admin import build_admin_app
from sandbox.context import EventLog, FaultPlan, SandboxContext, VirtualClock
from sandbox.seed import SYSTEMS as HELPDESKS
from sandbox.seed import TicketStream, generate_world
from sandbox.tls_server import BackgroundServer, Certificates, make_certificates
from sandbox.world import World

SYSTEMS = (*HELPDESKS, "salesforce")
# --port-base P puts Zendesk on P, ServiceNow on P+1, Jira on P+2, Salesforce on P+3 and the admin API on P+4.
PORT_OFFSETS = {"zendesk": 0, "servicenow": 1, "jira": 2, "salesforce": 3, "admin": 4}
DEFAULT_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC


class Sandbox:
    """The running sandbox. Use as a context manager, or call :meth:`start` and :meth:`stop`."""

    def __init__(
        self,
        seed: int = 7,
        tickets: int = 60,
        start: datetime = DEFAULT_START,
        *,
        systems: tuple[str, ...] = SYSTEMS,
        port_base: int | None = None,
        ports: Mapping[str, int] | None = None,
        cert_dir: Path | None = None,
        follow_wall_clock: bool = False,
    ):
        unknown = set(systems) - set(SYSTEMS)
        if unknown:
            raise ValueError(f"unknown sandbox systems: {sorted(unknown)}")
        self.seed, self.tickets, self.start_at, self.systems = seed, tickets, start, tuple(systems)
        self._ports = {name: (port_base + offset if port_base else 0) for name, offset in PORT_OFFSETS.items()}
        self._ports.update(ports or {})
        self._cert_dir, self._own_cert_dir = cert_dir, cert_dir is None
        self.ctx = SandboxContext(
            clock=VirtualClock(start, follow_wall_clock=follow_wall_clock), log=EventLog(), faults=FaultPlan(seed)
        )
        self.world: World | None = None
        self.certs: Certificates | None = None
        self.emulators: dict[str, Any] = {}
        self.servers: dict[str, BackgroundServer] = {}
        self.timings: dict[str, float] = {}

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> "Sandbox":
        """Seed, build and serve everything; on any failure stop what was started and re-raise."""
        began = time.perf_counter()
        try:
            self.world = generate_world(self.seed, self.tickets, self.start_at)
            for system in self.systems:
                built = time.perf_counter()
                module = importlib.import_module(f"sandbox.{system}")
                self.emulators[system] = module.build(self.ctx, self._world_for(system))
                self.timings[f"seed_{system}"] = time.perf_counter() - built
            self.certs = make_certificates(self._cert_dir)
            for system, emulator in self.emulators.items():
                self._serve(system, emulator.app)
            self._serve("admin", build_admin_app(self.ctx, self.emulators, self.world))
        except BaseException:
            self.stop()
            raise
        self.timings["total"] = time.perf_counter() - began
        return self

    def stop(self) -> None:
        """Stop every server (idempotent) and remove a certificate directory this sandbox created."""
        for server in self.servers.values():
            server.request_stop()
        for server in self.servers.values():
            server.stop()
        self.servers.clear()
        if self.certs is not None and self._own_cert_dir:
            shutil.rmtree(self.certs.directory, ignore_errors=True)

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what callers use ----------------------------------------------------------------------

    @property
    def urls(self) -> dict[str, str]:
        """Base URL per system, plus ``"admin"``: e.g. ``{"zendesk": "https://127.0.0.1:41234", ...}``."""
        return {name: server.url for name, server in self.servers.items()}

    @property
    def admin_url(self) -> str:
        return self.servers["admin"].url

    def env(self) -> dict[str, str]:
        """The environment deskbridge reads: every emulator's variables, the CA bundle and the admin URL."""
        if self.certs is None:
            raise RuntimeError("the sandbox is not running")
        env: dict[str, str] = {}
        for system, emulator in self.emulators.items():
            env.update(emulator.env(self.servers[system].url))
        bundle = str(self.certs.bundle_file)
        env.update(REQUESTS_CA_BUNDLE=bundle, CURL_CA_BUNDLE=bundle, DESKBRIDGE_SANDBOX_ADMIN_URL=self.admin_url)
        return env

    @contextmanager
    def environment(self) -> Iterator[dict[str, str]]:
        """Apply :meth:`env` to ``os.environ`` for the duration, then restore what was there."""
        env = self.env()
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            yield env
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    # -- internals -----------------------------------------------------------------------------

    def _world_for(self, system: str) -> World:
        """The shared users and accounts, with only this system's tickets (none for Salesforce)."""
        assert self.world is not None
        stream = self.world.tickets
        tickets = stream.for_system(system) if system in HELPDESKS and isinstance(stream, TicketStream) else []
        return World(seed=self.world.seed, users=self.world.users, accounts=self.world.accounts, tickets=tickets)

    def _serve(self, name: str, app: Any) -> None:
        server = BackgroundServer(app, self.certs, port=self._ports.get(name, 0), name=name)
        self.servers[name] = server.start()
