"""The broken-mappings corpus: each admin mistake is reported with its exact file:line: key: message."""

from __future__ import annotations


import pytest

from broken_mappings.corpus import CASES, expected, mapping_with
from core.config import load_mappings
from core.errors import ConfigError


def test_corpus_covers_the_required_kinds_of_mistake():
    assert {"wrong_enum", "unknown_key", "wrong_type", "missing_key", "syntax_error", "two_files"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_broken_mapping_reports_exact_lines(case, tmp_path):
    directory = mapping_with(case, tmp_path / "mapping")
    with pytest.raises(ConfigError) as err:
        load_mappings(directory, display_root="mapping", with_policy=False)
    assert [str(p) for p in err.value.problems] == expected(case)


def test_two_files_reports_both_files_in_one_error(tmp_path):
    directory = mapping_with("two_files", tmp_path / "mapping")
    with pytest.raises(ConfigError) as err:
        load_mappings(directory, display_root="mapping", with_policy=False)
    assert [p.file for p in err.value.problems] == ["mapping/zendesk.yaml", "mapping/salesforce.yaml"]
