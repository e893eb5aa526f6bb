"""Triggers that read what people wrote: keywords and customer requests.

Phrases match whole words, ignoring case and accents (see :mod:`core.keywords`);
every match is reported with the field it was found in and its offset.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from core.facts import Facts
from core.keywords import PhraseMatcher
from core.trigger_base import Finding, KeywordMatch, Trigger

SearchField = Literal["subject", "description", "customer_comments"]
_MAX_HITS_REPORTED = 10


class KeywordRoute(BaseModel):
    """A phrase and the logical group it routes to (``route: {to: keyword}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phrase: str = Field(min_length=1)
    route: str | None = None


class Keywords(Trigger):
    """Whole-word, case- and accent-insensitive phrases, each with its own route; earlier phrases win the route."""

    trigger: Literal["keywords"]
    phrases: list[KeywordRoute] = Field(min_length=1)
    fields: list[SearchField] = Field(default_factory=lambda: ["subject", "description", "customer_comments"])
    _matcher: PhraseMatcher = PrivateAttr()
    _rank: dict[str, int] = PrivateAttr()
    _routes: list[str | None] = PrivateAttr()

    def model_post_init(self, __context: Any) -> None:
        self._matcher = PhraseMatcher([p.phrase for p in self.phrases])
        self._rank = {}
        for i, p in enumerate(self.phrases):
            self._rank.setdefault(p.phrase, i)
        self._routes = [p.route for p in self.phrases]

    def check(self, facts: Facts) -> list[Finding]:
        # Private attributes read from pydantic's own dict: plain attribute access goes through
        # BaseModel.__getattr__, which costs more than the scan itself.
        private = self.__pydantic_private__
        hits = find_phrases(private["_matcher"], facts, self.fields, private["_routes"])
        if not hits:
            return []
        rank = private["_rank"]
        first = min(hits, key=lambda h: rank[h.phrase])
        words = ", ".join(sorted({f'"{h.phrase}"' for h in hits}))
        where = f'{first.field} at offset {first.offset}'
        return [Finding(f"keyword:{first.phrase}", f"keywords {words} matched (first: {where})",
                        tuple(hits[:_MAX_HITS_REPORTED]), first.route)]


class CustomerRequest(Trigger):
    """The customer asked to escalate: a phrase in their messages or the mapped field."""

    trigger: Literal["customer_request"]
    phrases: list[str] = Field(default_factory=lambda: ["escalate", "speak to a manager"])
    fields: list[SearchField] = Field(default_factory=lambda: ["customer_comments"])
    use_field: bool = True
    _matcher: PhraseMatcher = PrivateAttr()

    def model_post_init(self, __context: Any) -> None:
        self._matcher = PhraseMatcher(self.phrases)

    def check(self, facts: Facts) -> list[Finding]:
        matcher = self.__pydantic_private__["_matcher"]  # see Keywords.check
        hits = find_phrases(matcher, facts, self.fields, [None] * len(self.phrases)) if self.phrases else []
        if hits:
            return [Finding("customer_request", f'the customer wrote "{hits[0].matched}" ({hits[0].field})',
                            tuple(hits[:_MAX_HITS_REPORTED]))]
        if self.use_field and facts.ticket.customer_escalation_request:
            return [Finding("customer_request", "the customer-escalation-request field is set")]
        return []


def find_phrases(matcher: PhraseMatcher, facts: Facts, fields: list[str], routes: list[str | None]) -> list[KeywordMatch]:
    """Every hit of ``matcher`` in the given fields, in field order."""
    if not matcher.may_match(facts.searchable(tuple(fields))):  # most tickets: one quick scan, no hit
        return []
    hits = []
    for field in fields:
        for where, text, folded in facts.texts(field):
            for hit in matcher.find(text, folded):
                hits.append(KeywordMatch(matcher.phrases[hit.phrase_index], routes[hit.phrase_index],
                                         where, hit.offset, hit.matched))
    return hits
