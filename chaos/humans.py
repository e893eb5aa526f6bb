"""People in the helpdesks: new tickets that must escalate, and edits between and during syncs.

All of it goes through the sandbox admin API, so every edit is logged with
actor ``human`` and moves timestamps and concurrency tokens exactly as an
agent or customer in the helpdesk UI would.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from chaos.facts import Reassignment
from chaos.schedule import HumanAction, draw_human_action
from sandbox.admin_client import SandboxAdmin, SandboxAdminError
from sandbox.world import World

TIERS = {"premier": "Premier Support", "business": "Business Support", "standard": "Standard Support"}
# New tickets whose content or SLA makes the shipped policy escalate them: (what, fields, tier).
TRIGGER_TICKETS = (
    ("outage keyword", {"subject": "Checkout outage in all stores", "priority": "high",
                        "description": "Card payments fail everywhere: an outage."}, "standard"),
    ("security keyword", {"subject": "Possible security breach",
                          "description": "Unknown admin logins overnight: a security breach?"}, "standard"),
    ("customer asks", {"subject": "Refund still missing",
                       "description": "Where is my refund? Please escalate this, I need to speak to a manager."},
     "business"),
    ("agent flag", {"subject": "App crashes on login", "agent_flag": True,
                    "description": "The iOS app closes right after the login screen."}, "standard"),
    ("premier urgent, untouched", {"subject": "Bulk export API answers 500", "priority": "urgent",
                                   "description": "Every bulk export request fails with HTTP 500."}, "premier"),
    ("business high", {"subject": "Webhooks stop after a few hours", "priority": "high",
                       "description": "Webhook deliveries stop until we re-save the integration."}, "business"),
)  # fmt: skip


@dataclass
class HumanLog:
    """What people did (by action kind), how many edits the helpdesk refused (e.g. closed tickets),
    and every reassignment, for the reassignment invariant."""

    done: Counter = field(default_factory=Counter)
    refused: int = 0
    reassignments: list[Reassignment] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, action: HumanAction, ok: bool, reassignment: Reassignment | None = None) -> None:
        with self.lock:
            if ok:
                self.done[action.action["action"]] += 1
            else:
                self.refused += 1
            if reassignment is not None:
                self.reassignments.append(reassignment)


def act(admin: SandboxAdmin, action: HumanAction, log: HumanLog) -> None:
    """Make the edit; a reassignment is recorded with the token it left and its place in the write log."""
    since = admin.mark() if action.action["action"] == "reassign" else 0
    try:
        view = admin.human(action.system, action.ticket_id, action.action)
    except SandboxAdminError:
        log.record(action, False)
        return
    moved = None
    if action.action["action"] == "reassign":
        moved = Reassignment(action.system, action.ticket_id, str(view["token"]), since, admin.mark())
    log.record(action, True, moved)


def create_trigger_tickets(admin: SandboxAdmin, world: World, rng: random.Random, systems: tuple[str, ...],
                           count: int) -> list[tuple[str, str, str]]:
    """``count`` new tickets that the policy must escalate: (system, native id, what)."""
    created = []
    for _ in range(count):
        what, fields, tier = rng.choice(TRIGGER_TICKETS)
        system = rng.choice(systems)
        account = _account(world, tier, rng)
        created.append((system, admin.create_ticket(system, account_id=account, **fields), what))
    return created


def _account(world: World, tier: str, rng: random.Random) -> str:
    return rng.choice([a.id for a in world.accounts if a.tier_value == TIERS[tier]])


def agents_of(world: World) -> list[str]:
    return sorted(u.key for u in world.users.values() if u.role == "agent")


def draw_actions(rng: random.Random, candidates: dict[str, list[str]], agents: list[str], count: int,
                 systems: tuple[str, ...] | None = None) -> list[HumanAction]:
    """``count`` edits on tickets drawn from ``candidates`` (system -> ids)."""
    pool = [s for s in (systems or tuple(candidates)) if candidates.get(s)]
    actions = []
    for _ in range(count if pool else 0):
        system = rng.choice(pool)
        actions.append(draw_human_action(rng, system, rng.choice(candidates[system]), agents))
    return actions


class DuringRun:
    """People acting while a sync is in flight: each action after its own random delay, on its own thread.

    The virtual clock moves one second before each of these edits, as real time
    does during a real sync, so an edit made during a run is never stamped with
    the run's own evaluation instant.
    """

    def __init__(self, admin_url: str, actions: list[HumanAction], delays: list[float], log: HumanLog):
        self.admin_url, self.plan, self.log = admin_url, list(zip(delays, actions)), log
        self.thread = threading.Thread(target=self._act, daemon=True)

    def __enter__(self) -> "DuringRun":
        if self.plan:
            self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.plan:
            self.thread.join(timeout=120)

    def _act(self) -> None:
        admin = SandboxAdmin(self.admin_url)  # a session of its own: requests sessions are not shared across threads
        began = time.monotonic()
        try:
            for delay, action in sorted(self.plan, key=lambda p: p[0]):
                time.sleep(max(0.0, delay - (time.monotonic() - began)))
                admin.advance(1)
                act(admin, action, self.log)
        finally:
            admin.close()
