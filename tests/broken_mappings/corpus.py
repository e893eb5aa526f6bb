"""Helpers for the broken-mappings corpus (used by tests/test_mapping_broken.py and test_mapping_cli.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

CORPUS = Path(__file__).resolve().parent
ROOT = CORPUS.parent.parent
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def mapping_with(case: str, target: Path) -> Path:
    """The shipped mapping directory with the case's files in place of the shipped ones."""
    target.mkdir()
    for path in (ROOT / "mapping").glob("*.yaml"):
        shutil.copy(path, target)
    for path in (CORPUS / case).glob("*.yaml"):
        shutil.copy(path, target)
    return target


def expected(case: str) -> list[str]:
    """The exact lines the case must produce, in order."""
    return (CORPUS / case / "expected.txt").read_text(encoding="utf-8").splitlines()
