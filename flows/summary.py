"""What one sync run did, counted as it goes and published as a Prefect artifact."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pydantic import BaseModel, Field

from core.actions import WriteOutcome, WriteResult
from core.decision import Decision
from core.model import Quarantined


class EscalationLine(BaseModel):
    """One ticket escalated or proposed in this run, for the artifact and the demo."""

    ticket: str  # system:id
    key: str
    mode: str
    level_name: str
    reasons: list[str]
    outcome: str | None = None  # what the push answered


class RunSummary(BaseModel):
    """Counts of one run of one helpdesk."""

    run_id: str
    system: str
    now: datetime
    cursor_before: str | None = None
    cursor_after: str | None = None
    pulled: int = 0
    duplicates: int = 0
    evaluated: int = 0
    time_based: int = 0
    escalated: int = 0
    proposed: int = 0
    by_reason: Counter[str] = Field(default_factory=Counter)
    skipped_because_human: int = 0
    writes: Counter[str] = Field(default_factory=Counter)  # outcome -> count
    replanned: int = 0
    quarantined: list[Quarantined] = Field(default_factory=list)
    api_calls: dict[str, dict[str, int]] = Field(default_factory=dict)  # system -> endpoint -> calls
    escalations: list[EscalationLine] = Field(default_factory=list)

    def count_decision(self, decision: Decision, key: str) -> None:
        self.evaluated += 1
        if any("person" in s or "human" in s for s in decision.skipped_because):
            self.skipped_because_human += 1
        if decision.mode == "none":
            return
        if decision.mode == "propose":
            self.proposed += 1
        else:
            self.escalated += 1
        self.by_reason.update(r.code.split(":")[0] for r in decision.reasons)
        self.escalations.append(
            EscalationLine(
                ticket=decision.ticket_ref, key=key, mode=decision.mode, level_name=decision.level_name,
                reasons=[r.text for r in decision.reasons],
            )
        )

    def count_results(self, results: list[WriteResult]) -> None:
        outcomes = {f"{r.system.value}:{r.ticket_id}": r.outcome for r in results}
        self.writes.update(r.outcome.value for r in results)
        for line in self.escalations:
            if line.ticket in outcomes and line.outcome in (None, WriteOutcome.conflict.value):
                line.outcome = outcomes[line.ticket].value

    def to_markdown(self) -> str:
        """The run as support ops read it in the Prefect UI."""
        lines = [
            f"# deskbridge sync: {self.system}",
            f"Run `{self.run_id}` at {self.now:%Y-%m-%d %H:%M UTC}",
            "",
            "| pulled | duplicates | evaluated | by time | escalated | proposed | human acted | quarantined |",
            "|---|---|---|---|---|---|---|---|",
            f"| {self.pulled} | {self.duplicates} | {self.evaluated} | {self.time_based} | {self.escalated} "
            f"| {self.proposed} | {self.skipped_because_human} | {len(self.quarantined)} |",
            "",
        ]
        if self.by_reason:
            lines += ["## Escalated by reason", "", "| reason | tickets |", "|---|---|"]
            lines += [f"| {reason} | {n} |" for reason, n in self.by_reason.most_common()]
            lines.append("")
        if self.writes:
            lines += ["## Writes", "", "| outcome | plans |", "|---|---|"]
            lines += [f"| {outcome} | {n} |" for outcome, n in sorted(self.writes.items())]
            lines.append("")
        if self.quarantined:
            lines += ["## Quarantined tickets", "", "| ticket | field | reason |", "|---|---|---|"]
            lines += [f"| {q.ticket_id} | {q.field or ''} | {q.reason} |" for q in self.quarantined]
            lines.append("")
        calls = [(s, e, n) for s, per in self.api_calls.items() for e, n in per.items()]
        if calls:
            lines += ["## API calls", "", "| system | endpoint | calls |", "|---|---|---|"]
            lines += [f"| {s} | `{e}` | {n} |" for s, e, n in calls]
        return "\n".join(lines)
