"""Phrase matching for keyword and customer-request triggers.

Matching is on whole words, ignoring case and accents ("Sécurité" matches
"securite", "outage" does not match "outages"), and any run of whitespace in
the text matches a space in the phrase. Offsets are reported in the
*original* text so an explanation can point at the exact spot. Each
matcher compiles one regular expression for all its phrases once, at policy
load, so a run over many tickets pays only for the scan.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache


def fold(text: str) -> tuple[str, list[int] | None]:
    """Lower-case, accent-free ``text`` and, when lengths differ, each folded char's original index."""
    if text.isascii():
        return text.lower(), None
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        folded = _fold_char(ch)
        out.append(folded)
        index.extend([i] * len(folded))
    return "".join(out), index


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def fold_phrase(phrase: str) -> str:
    """The folded form a phrase is matched in (also used to detect duplicates)."""
    return " ".join(fold(phrase)[0].split())


@dataclass(slots=True)  # read-only by convention; not frozen because frozen init is 4x slower
class PhraseHit:
    """One occurrence of a phrase: which phrase, where it starts in the original text, what it covered."""

    phrase_index: int
    offset: int
    matched: str


class PhraseMatcher:
    """All occurrences of a fixed list of phrases in a text."""

    def __init__(self, phrases: list[str]):
        self.phrases = list(phrases)
        alternatives = []
        gap = r"\s+"
        for i, phrase in sorted(enumerate(phrases), key=lambda p: -len(p[1])):
            words = fold_phrase(phrase).split()
            if words:
                alternatives.append(f"(?P<p{i}>{gap.join(re.escape(w) for w in words)})")
        pattern = r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)" if alternatives else r"(?!x)x"
        self._regex = re.compile(pattern)

    def find(self, text: str, folded: tuple[str, list[int] | None] | None = None) -> list[PhraseHit]:
        """Every hit in ``text``; pass ``folded`` (from :func:`fold`) to share folding across matchers."""
        folded_text, index = folded if folded is not None else fold(text)
        hits = []
        for match in self._regex.finditer(folded_text):
            phrase_index = int(match.lastgroup[1:])  # type: ignore[index]
            start, end = match.span()
            if index is not None:
                start, end = index[start], index[end - 1] + 1
            hits.append(PhraseHit(phrase_index, start, text[start:end]))
        return hits

    def search(self, folded_text: str) -> bool:
        """Cheap yes/no on already-folded text."""
        return self._regex.search(folded_text) is not None
