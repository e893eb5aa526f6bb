"""Runs: one row per sync run with its counts, for metrics and run artifacts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.model import System
from core.store.base import TransactionBase
from core.store.records import RunRecord
from core.store.tables import runs as runs_table


class RunOps(TransactionBase):
    def record_run(
        self,
        run_id: str,
        system: System,
        started_at: datetime,
        finished_at: datetime | None = None,
        counts: Mapping[str, Any] | None = None,
    ) -> RunRecord:
        """Create or update a run's row (call at start, and again when it finishes)."""
        row = {
            "run_id": run_id,
            "system": System(system).value,
            "started_at": started_at,
            "finished_at": finished_at,
            "counts": dict(counts or {}),
        }
        statement = self._upsert(runs_table).values(**row)
        statement = statement.on_conflict_do_update(
            index_elements=[runs_table.c.run_id],
            set_={name: statement.excluded[name] for name in ("finished_at", "counts")},
        )
        self.connection.execute(statement)
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> RunRecord:
        """One run's record."""
        row = self.connection.execute(select(runs_table).where(runs_table.c.run_id == run_id)).one()
        return RunRecord.model_validate(row._asdict())

    def runs(self, system: System | None = None, since: datetime | None = None) -> list[RunRecord]:
        """Runs, oldest first, optionally of one helpdesk and started since a time."""
        query = select(runs_table)
        if system is not None:
            query = query.where(runs_table.c.system == System(system).value)
        if since is not None:
            query = query.where(runs_table.c.started_at >= since)
        query = query.order_by(runs_table.c.started_at, runs_table.c.run_id)
        return [RunRecord.model_validate(row._asdict()) for row in self.connection.execute(query)]
