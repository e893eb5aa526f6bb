"""What every trigger shares: the base class and the evidence a trigger returns.

A trigger is a small pydantic model (validated from the policy file) with two
pure methods: ``check(facts)`` gives the findings that make it true now (or
``[]``), and ``next_change(facts)`` the epoch instant at which time alone
could make it true (None when time cannot).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from core.facts import Facts


@dataclass(slots=True)  # read-only by convention; not frozen because frozen init is 4x slower
class KeywordMatch:
    """Where a phrase matched: ``field`` is subject, description or ``comment:<id>``; offset in the original text."""

    phrase: str
    route: str | None
    field: str
    offset: int
    matched: str


@dataclass(slots=True)  # read-only by convention; not frozen because frozen init is 4x slower
class Finding:
    """Why a trigger is true: a short machine code, a human sentence and any keyword evidence."""

    code: str
    text: str
    keywords: tuple[KeywordMatch, ...] = ()
    route: str | None = None  # a keyword's own route, for ``route: {to: keyword}``


class Trigger(BaseModel):
    """Base of every trigger; subclasses add a ``trigger: Literal[...]`` name and their keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def check(self, facts: Facts) -> list[Finding]:
        raise NotImplementedError

    def next_change(self, facts: Facts) -> float | None:
        """Epoch instant when time alone may make this true; None when time cannot."""
        return None
