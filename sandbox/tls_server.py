"""Serve an ASGI app over HTTPS on 127.0.0.1 from a background thread.

Three of the four real clients hard-code ``https://`` (zenpy, pysnc,
simple-salesforce), so every emulator speaks TLS with a certificate made at
start-up by a throw-away CA (trustme). ``requests`` lets ``REQUESTS_CA_BUNDLE``
win over any per-session ``verify``, so the sandbox writes a bundle holding the
machine's CAs plus its own and callers point that variable at it
(see ../shared/reference/clients.md, finding 2).
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import trustme
import uvicorn
from starlette.requests import ClientDisconnect

from sandbox.context import INJECTED_RESET

LOOPBACK = "127.0.0.1"


class _HideExpectedDisconnects(logging.Filter):
    """Drop uvicorn's "Exception in ASGI application" traceback for connections that end on purpose.

    Two do: the reset fault we inject, and a client that went away before its
    request body arrived (a sync killed mid-request, as the chaos suite does),
    which leaves nobody to answer; a real helpdesk logs neither as a failure.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        injected = isinstance(error, ConnectionResetError) and str(error) == INJECTED_RESET
        return not (injected or isinstance(error, ClientDisconnect))


logging.getLogger("uvicorn.error").addFilter(_HideExpectedDisconnects())


@dataclass
class Certificates:
    """A CA and a server certificate for 127.0.0.1 and localhost, written to ``directory``."""

    directory: Path
    cert_file: Path  # server certificate chain (PEM)
    key_file: Path  # server private key (PEM)
    ca_file: Path  # the sandbox CA alone
    bundle_file: Path  # the machine's CAs plus the sandbox CA: point REQUESTS_CA_BUNDLE here


def make_certificates(directory: Path | None = None) -> Certificates:
    """Create a CA and a loopback server certificate; never leaves the machine."""
    directory = Path(directory or tempfile.mkdtemp(prefix="deskbridge-sandbox-tls-"))
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="deskbridge sandbox")
    server = ca.issue_cert(LOOPBACK, "localhost")
    paths = Certificates(
        directory,
        directory / "server.pem",
        directory / "server.key",
        directory / "ca.pem",
        directory / "bundle.pem",
    )
    server.private_key_pem.write_to_path(str(paths.key_file))
    server.cert_chain_pems[0].write_to_path(str(paths.cert_file))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(paths.cert_file), append=True)
    ca.cert_pem.write_to_path(str(paths.ca_file))
    paths.bundle_file.write_bytes(_system_bundle() + b"\n" + ca.cert_pem.bytes())
    return paths


def _system_bundle() -> bytes:
    for candidate in (os.environ.get("REQUESTS_CA_BUNDLE"), os.environ.get("SSL_CERT_FILE")):
        if candidate and Path(candidate).is_file() and "deskbridge-sandbox" not in candidate:
            return Path(candidate).read_bytes()
    try:
        import certifi

        return Path(certifi.where()).read_bytes()
    except ImportError:  # pragma: no cover - requests depends on certifi
        return b""


class BackgroundServer:
    """One uvicorn server in a daemon thread; ``url`` is known once started."""

    def __init__(self, app, certs: Certificates | None, port: int = 0, name: str = "sandbox"):
        ssl = {"ssl_certfile": str(certs.cert_file), "ssl_keyfile": str(certs.key_file)} if certs else {}
        self.config = uvicorn.Config(
            app, host=LOOPBACK, port=port, log_level="warning", access_log=False, lifespan="off", **ssl
        )
        self.server = uvicorn.Server(self.config)
        self.scheme = "https" if certs else "http"
        self.name = name
        self.thread = threading.Thread(target=self._run, name=f"{name}-server", daemon=True)
        self.port: int | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve())
        except SystemExit:  # uvicorn exits when it cannot bind; start() reports it
            pass

    def start(self, timeout: float = 15.0) -> "BackgroundServer":
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                port = f":{self.config.port}" if self.config.port else ""
                raise RuntimeError(f"{self.name} server did not start on {LOOPBACK}{port} (is the port in use?)")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"{self.scheme}://{LOOPBACK}:{self.port}"

    @property
    def netloc(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def request_stop(self) -> None:
        """Ask the server to stop without waiting (stop several at once, then :meth:`stop` each)."""
        self.server.should_exit = True

    def stop(self, grace: float = 0.5) -> None:
        """Stop serving; after ``grace`` seconds stop waiting for idle keep-alive connections.

        A client that keeps a pooled TLS connection open never answers the TLS
        close, so a graceful uvicorn shutdown would wait on it for about 30 s.
        """
        self.server.should_exit = True
        self.thread.join(timeout=grace)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout=10)
