"""core.yamlconf turns YAML and pydantic errors into file:line: key: message problems."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from core.errors import ConfigError
from core.model import Status
from core.yamlconf import load_many, load_model


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    words: list[str]


class Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status_map: dict[str, Status]
    priority_map: dict[str, str]
    rules: list[Rule] = []


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_model(path, Doc, "mapping/m.yaml")
    return [str(p) for p in err.value.problems]


def test_enum_value_names_line_key_value_and_allowed(tmp_path):
    text = "# header\nstatus_map:\n  new: new\n  hold: on-hold\npriority_map: {}\n"
    assert _problems(tmp_path, text) == [
        "mapping/m.yaml:4: status_map.hold: 'on-hold' is not one of: new, open, pending, on_hold, solved, closed"
    ]


def test_unknown_key_suggests_near_miss(tmp_path):
    text = "status_map: {}\npriority_map: {}\nrulez: []\n"
    assert _problems(tmp_path, text) == [
        "mapping/m.yaml:3: rulez: unknown key; did you mean 'rules'? Allowed here: status_map, priority_map, rules"
    ]


def test_missing_key_says_where_it_belongs(tmp_path):
    text = "status_map: {}\nrules:\n  - name: a\n"
    assert _problems(tmp_path, text) == [
        "mapping/m.yaml:1: priority_map: required key is missing; add it under the top level",
        "mapping/m.yaml:3: rules[0].words: required key is missing; add it under rules[0]",
    ]


def test_syntax_error_has_line_and_column(tmp_path):
    assert _problems(tmp_path, "status_map: {}\nrules: [1, 2\npriority_map: {}\n") == [
        "mapping/m.yaml:3:13: YAML syntax error: expected ',' or ']', but got ':'"
    ]


def test_errors_of_several_files_are_reported_together(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("status_map: {x: bad}\npriority_map: {}\n")
    b.write_text("status_map: {}\n")
    with pytest.raises(ConfigError) as err:
        load_many([(a, Doc, "a.yaml"), (b, Doc, "b.yaml")])
    assert [p.file for p in err.value.problems] == ["a.yaml", "b.yaml"]
