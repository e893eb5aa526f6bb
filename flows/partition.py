"""Split one helpdesk's tickets between runs by a stable key, and keep two runs off the same tickets.

A deployment may carry ``partition: "k/N"``: its runs evaluate, push and
re-check by time only the tickets whose stable hash of the ticket id, modulo N,
is k, and keep their own cursor stream (``tickets@k/N``). N deployments with
``concurrency_limit: 1`` each then share one helpdesk across workers, and no
ticket ever belongs to two partitions. The price: every partition pulls the
same incremental pages (N x the pull calls); evaluation, Salesforce look-ups,
full-history reads and writes are split N ways.

The hash is BLAKE2b of the id, never Python's ``hash()``, which is salted per
process and would move tickets between partitions from one worker to the next.

:func:`hold_partition` is the safety net under Prefect's concurrency limits: a
lock held for the whole run, per helpdesk and partition, in the state store's
own database (PostgreSQL advisory locks; ``flock`` beside a SQLite file). A
whole-helpdesk run holds the helpdesk exclusively; partitioned runs share it
and each holds its partition exclusively. Locks die with their connection or
process, so a killed worker never leaves one behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from core.errors import ConfigError, ConfigProblem, DeskbridgeError

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_PARTITIONS = 256


class PartitionBusy(DeskbridgeError):
    """Another run holds this helpdesk or partition: this run must not touch its tickets."""


@dataclass(frozen=True)
class Partition:
    """Partition ``index`` of ``count`` of one helpdesk's tickets; ``0/1`` is the whole helpdesk."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not (1 <= self.count <= MAX_PARTITIONS and 0 <= self.index < self.count):
            raise ConfigError([_problem(f"{self.index}/{self.count}")])

    @classmethod
    def parse(cls, spec: str | None) -> Partition:
        """``"k/N"`` (0 <= k < N), or the whole helpdesk for None or an empty string."""
        if spec is None or not spec.strip():
            return cls()
        match = _SPEC.match(spec)
        if not match:
            raise ConfigError([_problem(spec)])
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def whole(self) -> bool:
        return self.count == 1

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, ticket_id: str) -> bool:
        """True when this partition handles the ticket (always, for the whole helpdesk)."""
        return self.whole or slot_of(ticket_id, self.count) == self.index

    def cursor_stream(self, base: str) -> str:
        """The cursor stream this partition commits: ``base`` itself for the whole helpdesk."""
        return base if self.whole else f"{base}@{self.label}"

    def artifact_suffix(self) -> str:
        """Suffix for a Prefect artifact key (lowercase letters, digits and dashes only)."""
        return "" if self.whole else f"-p{self.index}of{self.count}"


WHOLE = Partition()


def slot_of(ticket_id: str, count: int) -> int:
    """The stable partition number of a ticket id among ``count`` partitions, the same in every process."""
    digest = hashlib.blake2b(str(ticket_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def _problem(spec: str) -> ConfigProblem:
    return ConfigProblem(
        "deployment parameters", None, "partition",
        f"{spec!r} is not 'k/N' with 0 <= k < N <= {MAX_PARTITIONS}",
    )  # fmt: skip


# -- the run lock -------------------------------------------------------------------------------


@contextmanager
def hold_partition(engine: Engine, system: str, partition: Partition) -> Iterator[None]:
    """Hold the helpdesk (whole) or its partition for the duration, or raise :class:`PartitionBusy` at once."""
    backend = engine.url.get_backend_name()
    if backend == "postgresql":
        with _advisory_locks(engine, system, partition):
            yield
    elif backend == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with _file_locks(Path(engine.url.database), system, partition):
            yield
    else:  # an in-memory store lives in one process: nothing else can reach its tickets
        yield


def lock_names(system: str, partition: Partition) -> list[tuple[str, bool]]:
    """(lock name, exclusive?) in acquisition order: the helpdesk first, then the partition."""
    helpdesk = f"deskbridge-sync:{system}"
    if partition.whole:
        return [(helpdesk, True)]
    return [(helpdesk, False), (f"{helpdesk}:{partition.label}", True)]


def advisory_key(name: str) -> int:
    """A signed 64-bit PostgreSQL advisory-lock key for a lock name."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def _advisory_locks(engine: Engine, system: str, partition: Partition) -> Iterator[None]:
    # Session-level locks on a connection of their own, held until released or the connection dies.
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        held: list[tuple[int, bool]] = []
        try:
            for name, exclusive in lock_names(system, partition):
                key = advisory_key(name)
                verb = "pg_try_advisory_lock" if exclusive else "pg_try_advisory_lock_shared"
                if not connection.execute(text(f"SELECT {verb}(:key)"), {"key": key}).scalar_one():
                    raise _busy(system, partition, name)
                held.append((key, exclusive))
            yield
        finally:
            for key, exclusive in reversed(held):
                verb = "pg_advisory_unlock" if exclusive else "pg_advisory_unlock_shared"
                connection.execute(text(f"SELECT {verb}(:key)"), {"key": key})


@contextmanager
def _file_locks(database: Path, system: str, partition: Partition) -> Iterator[None]:
    with ExitStack() as stack:
        for name, exclusive in lock_names(system, partition):
            path = database.with_name(f"{database.name}.{_file_safe(name)}.lock")
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            stack.callback(os.close, fd)
            try:
                fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
            except BlockingIOError:
                raise _busy(system, partition, name) from None
            stack.callback(fcntl.flock, fd, fcntl.LOCK_UN)
        yield


def _file_safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name)


def _busy(system: str, partition: Partition, held: str) -> PartitionBusy:
    what = f"{system}" if partition.whole else f"{system} partition {partition.label}"
    return PartitionBusy(
        f"another deskbridge run holds {held!r}: {what} is being synced elsewhere, so this run did nothing"
        " (check for two deployments or a `deskbridge sync` on the same helpdesk and partition)"
    )
