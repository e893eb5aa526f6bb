"""Propose mode: proposals awaiting a supervisor, and the verdict read from the ticket's tags.

The supervisor answers by adding the policy's approve or reject tag. deskbridge
never removes tags, so a verdict tag may already sit on the ticket from an
earlier proposal; a proposal therefore remembers which verdict tags were
present when it was made, and only a verdict added afterwards counts (a tag
that disappears and comes back counts too). Reject wins over approve. A
rejected reason is never proposed again for that ticket.
"""

from __future__ import annotations

from datetime import datetime

from core.decision import EscalationState, Proposal, utc_iso
from core.policy_rules import Rule
from core.triggers import Finding


class ProposalBook:
    """The open proposals of one ticket after reading the supervisor's verdict at ``now``."""

    def __init__(self, state: EscalationState, tags: tuple[str, ...], settings, now: datetime):
        self._state = state
        self._now = now
        self._approve = settings.approve_tag in tags
        self._reject = settings.reject_tag in tags
        self.open: dict[str, Proposal] = {}
        self.approved_now: dict[str, datetime] = {}
        self.rejected_now: dict[str, datetime] = {}
        self.skipped: list[str] = []
        for rule_id, proposal in sorted(state.proposals.items()):
            self._read_verdict(rule_id, proposal)

    def _read_verdict(self, rule_id: str, proposal: Proposal) -> None:
        if self._reject and not proposal.reject_seen_before:
            self.rejected_now[rule_id] = self._now
            self.skipped.append(f"rule {rule_id}: a supervisor rejected the proposal made at "
                                f"{utc_iso(proposal.proposed_at)}; it will not be proposed again")
        elif self._approve and not proposal.approve_seen_before:
            self.approved_now[rule_id] = self._now
        else:
            self.open[rule_id] = proposal.model_copy(update={
                "approve_seen_before": proposal.approve_seen_before and self._approve,
                "reject_seen_before": proposal.reject_seen_before and self._reject,
            })

    def why_not_propose(self, rule_id: str) -> str | None:
        """Why a matching propose-mode rule must not be proposed (again), or None."""
        rejected = self._state.rejected.get(rule_id) or self.rejected_now.get(rule_id)
        if rejected is not None:
            return f"a supervisor rejected this escalation at {utc_iso(rejected)}; not proposing it again"
        if rule_id in self.open:
            return (f"proposed at {utc_iso(self.open[rule_id].proposed_at)}; "
                    "awaiting the supervisor's approve or reject tag")
        return None

    def approval_finding(self, rule_id: str) -> Finding:
        """The reason an approved proposal acts even if its condition no longer holds."""
        proposed = self._state.proposals[rule_id].proposed_at
        return Finding("approved", f"a supervisor approved the proposal made at {utc_iso(proposed)}")

    def new_proposal(self, rule: Rule, findings: list[Finding]) -> Proposal:
        """The record of a proposal made now."""
        return Proposal(
            rule_id=rule.id,
            codes=tuple(f.code for f in findings),
            proposed_at=self._now,
            approve_seen_before=self._approve,
            reject_seen_before=self._reject,
        )
