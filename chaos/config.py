"""How big and how rough a chaos run is. The defaults are the documented larger run's shape."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HELPDESKS = ("zendesk", "servicenow", "jira")


@dataclass(frozen=True)
class ChaosConfig:
    """A seeded, bounded chaos run: the same values deal the same faults, kills and edits."""

    rounds: int = 8
    seed: int = 1
    tickets: int = 150  # seeded tickets across the helpdesks (40/30/30)
    systems: tuple[str, ...] = HELPDESKS
    faults_per_round: int = 3  # fault kinds dealt per round from the shuffled deck
    kill_rate: float = 0.4  # share of chaos syncs SIGKILLed (each followed by a restart)
    humans_between: int = 6  # edits by people between the syncs of a round
    humans_during: int = 2  # edits by people while each sync is in flight
    new_tickets: int = 3  # tickets created per round that the policy must escalate
    advance_minutes: tuple[int, int] = (3, 75)  # virtual time between rounds
    retry_max_wait_seconds: float = 2.0  # DESKBRIDGE_RETRY_MAX_WAIT_SECONDS of the syncs under chaos
    retry_max_attempts: int = 4
    run_timeout: float = 240.0  # seconds one chaos sync may take before it counts as hung
    settle_limit: int = 4  # clean syncs per helpdesk allowed to reach a round with no writes
    workdir: Path | None = None  # state store, worker logs; a temporary directory when None

    def __post_init__(self) -> None:
        if self.rounds < 1 or self.tickets < 1:
            raise ValueError("rounds and tickets must be at least 1")
        if not 0 <= self.kill_rate <= 1:
            raise ValueError("kill_rate is a share between 0 and 1")
        unknown = set(self.systems) - set(HELPDESKS)
        if unknown or not self.systems:
            raise ValueError(f"systems must be among {', '.join(HELPDESKS)}")
