"""Fixed ports and ``deskbridge sandbox up``: what a person (or a benchmark) starts by hand."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from sandbox.admin_client import SandboxAdmin
from sandbox.runner import DEFAULT_START, Sandbox
from sandbox.seed import generate_world

ROOT = Path(__file__).resolve().parent.parent


def free_port_base(span: int = 5) -> int:
    """A port P such that P .. P+span-1 are free on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + span > 65535:
            continue
        held: list[socket.socket] = []
        try:
            for port in range(base, base + span):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise RuntimeError("no five consecutive free ports")


def test_port_base_puts_each_server_on_its_documented_port():
    base = free_port_base()
    with Sandbox(tickets=10, systems=("jira",), port_base=base) as running:
        assert running.urls == {"jira": f"https://127.0.0.1:{base + 2}", "admin": f"https://127.0.0.1:{base + 4}"}


def test_a_busy_port_fails_the_start_and_leaves_nothing_running():
    base = free_port_base()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", base + 4))
        squatter.listen()
        sandbox = Sandbox(tickets=10, systems=("jira",), port_base=base)
        with pytest.raises(RuntimeError, match="admin"):
            sandbox.start()
    assert sandbox.servers == {}
    with socket.socket() as again:
        again.bind(("127.0.0.1", base + 2))  # the Jira port was released


def test_sandbox_up_serves_writes_the_env_file_and_stops_on_ctrl_c(tmp_path: Path):
    base, env_file = free_port_base(), tmp_path / "sandbox.env"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("DESKBRIDGE_", "ZENPY_"))}
    command = [sys.executable, "-c", "from cli.main import app; app()", "sandbox", "up", "--seed", "3",
               "--tickets", "40", "--port-base", str(base), "--env-file", str(env_file), "--frozen-clock"]
    process = subprocess.Popen(command, cwd=ROOT, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while not env_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert env_file.exists(), "sandbox up never wrote its env file"
        time.sleep(0.2)  # the file is written in one call; let it land
        env = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        env = {key: shlex.split(value)[0] for key, value in env.items()}
        assert env["DESKBRIDGE_ZENDESK_SUBDOMAIN"] == "acme"
        assert env["ZENPY_FORCE_NETLOC"] == f"127.0.0.1:{base}"
        assert env["DESKBRIDGE_SERVICENOW_INSTANCE"] == f"https://127.0.0.1:{base + 1}"
        assert env["DESKBRIDGE_JIRA_URL"] == f"https://127.0.0.1:{base + 2}"
        assert env["DESKBRIDGE_SALESFORCE_LOGIN_URL"].startswith(f"https://127.0.0.1:{base + 3}")
        assert env["DESKBRIDGE_SANDBOX_ADMIN_URL"] == f"https://127.0.0.1:{base + 4}"
        assert env["REQUESTS_CA_BUNDLE"] == env["CURL_CA_BUNDLE"]

        admin = SandboxAdmin(env["DESKBRIDGE_SANDBOX_ADMIN_URL"], verify=env["REQUESTS_CA_BUNDLE"])
        assert admin.now() == DEFAULT_START  # --frozen-clock
        expected = generate_world(3, 40, DEFAULT_START).tickets.counts()
        assert {s: len(admin.ticket_ids(s)) for s in expected} == expected
        session = requests.Session()
        session.trust_env, session.verify = False, env["REQUESTS_CA_BUNDLE"]
        info = session.get(f"{env['DESKBRIDGE_JIRA_URL']}/rest/api/2/serverInfo",
                           auth=(env["DESKBRIDGE_JIRA_EMAIL"], env["DESKBRIDGE_JIRA_TOKEN"]), timeout=10)
        assert info.json()["deploymentType"] == "Cloud"
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    for expected in ("Base URLs", "zendesk", "servicenow", "jira", "salesforce", "admin", "resident memory",
                     "Credentials", "Stopping the sandbox"):
        assert expected in output, f"{expected!r} missing from:\n{output}"
