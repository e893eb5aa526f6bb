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


class _CombiningMarks(dict):
    """``str.translate`` table deleting combining marks, filled in as code points are first seen."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.combining(chr(code)) else code
        self[code] = kept
        return kept


_NO_MARKS = _CombiningMarks()


def fold_text(text: str) -> str:
    """``fold(text)[0]`` without the index, at C speed for any text.

    Decomposition only reorders combining marks among themselves and folding
    then drops them, so folding the whole text at once gives what folding it
    character by character gives.
    """
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text).translate(_NO_MARKS).casefold()


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
        # The same phrases without the word-boundary checks: a leading look-behind keeps the regex
        # engine from skipping ahead to a possible first letter, so this scans several times faster.
        # It matches wherever the real pattern does (and a little more).
        loose = [re.sub(r"^\(\?P<p\d+>", "(?:", a) for a in alternatives]
        self._loose = re.compile("|".join(loose) if loose else r"(?!x)x")

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

    def may_match(self, folded_text: str) -> bool:
        """False when no phrase can be in ``folded_text`` (True does not promise a whole-word hit)."""
        return self._loose.search(folded_text) is not None
