"""A mutation corpus of broken admin YAML: every mutant is an error with file and line, or shown harmless.

The corpus is generated from the shipped mapping/*.yaml by tests/fuzz_support.yaml_mutants: delete a
line, duplicate a key or list entry, indent or dedent a line, break a quote, give a value the wrong
type, misspell a key, insert a tab, cut the file in the middle of a line. Each mutant is loaded the
way ``deskbridge validate`` loads a directory (core.config.load_mappings; with policy.yaml when
shared.yaml or policy.yaml is the mutant, as their cross-checks need both). Outcomes:

- error: one ConfigError whose every problem has a file and a line (syntax errors a column too);
- same document: the YAML still parses to the same data (a comment, a blank line, whitespace);
- same meaning: other data, but the loaded configuration is equal to the shipped one;
- a valid edit: the configuration changed, but only by an optional setting left out or an entry
  of an open list or map (the helpdesk's own statuses, a rule, a calendar day...) removed, added
  or renamed -- edits an admin makes on purpose, which no loader can tell from a slip.

Anything else -- another exception, a problem without a line, any other change that loads -- fails.
CI loads every 10th mutant of each kind and file (staggered); DESKBRIDGE_FUZZ_YAML_STRIDE=1 loads all.
"""

from __future__ import annotations

import os
import shutil
import types
import typing
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from core.config import load_mappings
from core.errors import ConfigError
from core.mapping import MAPPING_MODELS
from core.policy import Policy
from core.yamlconf import format_loc, read_yaml
from fuzz_support import YAML_KINDS, YamlMutant, yaml_mutants

ROOT = Path(__file__).resolve().parent.parent
FILES = (*MAPPING_MODELS, "policy")  # shared, zendesk, servicenow, jira, salesforce, policy
MODELS: dict[str, type[BaseModel]] = {**MAPPING_MODELS, "policy": Policy}
STRIDE = int(os.environ.get("DESKBRIDGE_FUZZ_YAML_STRIDE", "10"))
OUTCOMES = ("error", "same document", "same meaning", "valid edit")
# A duplicated "mon: &london_day [...]" line also repeats its anchor: ruamel warns, then reports the duplicate key.
pytestmark = pytest.mark.filterwarnings("ignore::ruamel.yaml.error.ReusedAnchorWarning")


@dataclass(frozen=True)
class Outcome:
    mutant: YamlMutant
    kind: str  # one of OUTCOMES, or a defect: "crash", "unlocated error", "unexplained change"
    detail: str


# -- what a change is -----------------------------------------------------------------------------


def diff(old: Any, new: Any, loc: tuple = ()) -> list[tuple[str, tuple]]:
    """("removed" | "added" | "changed", loc) between two parsed documents."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = [("removed", (*loc, k)) for k in old if k not in new]
        out += [("added", (*loc, k)) for k in new if k not in old]
        return out + [change for k in old if k in new for change in diff(old[k], new[k], (*loc, k))]
    if isinstance(old, list) and isinstance(new, list):
        shorter, longer = sorted((old, new), key=len)
        rest = list(longer)
        for item in shorter:
            if item in rest:
                rest.remove(item)
        if len(old) != len(new) and len(rest) == len(longer) - len(shorter):  # entries taken out or put in
            return [("removed" if len(new) < len(old) else "added", (*loc, len(shorter)))] * len(rest)
        ends = [("removed", (*loc, i)) for i in range(len(new), len(old))]  # position by position, then the tail
        ends += [("added", (*loc, i)) for i in range(len(old), len(new))]
        return [change for i, (a, b) in enumerate(zip(old, new)) for change in diff(a, b, (*loc, i))] + ends
    return [] if type(old) is type(new) and old == new else [("changed", loc)]


def _choices(annotation: Any) -> list[Any]:
    """The concrete types an annotation allows (Optional, unions and Annotated unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _choices(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [c for arg in typing.get_args(annotation) for c in _choices(arg)]
    return [annotation]


def _types_at(model: type[BaseModel], loc: tuple) -> list[Any]:
    """Every type the schema allows at ``loc`` (several where a union does not say which member)."""
    current: list[Any] = [model]
    for part in loc:
        following = []
        for choice in (c for annotation in current for c in _choices(annotation)):
            if isinstance(choice, type) and issubclass(choice, BaseModel):
                following += [f.annotation for name, f in choice.model_fields.items() if part in (name, f.alias)]
            elif typing.get_origin(choice) in (dict, list):
                following.append(typing.get_args(choice)[-1])
        current = following
    return [c for annotation in current for c in _choices(annotation)]


def why_valid(model: type[BaseModel], changes: list[tuple[str, tuple]]) -> str | None:
    """The reason a change that loads is an edit an admin may mean, or None when there is none."""
    reasons = set()
    for what, loc in changes:
        parents = _types_at(model, loc[:-1])
        optional = any(isinstance(p, type) and issubclass(p, BaseModel) and loc[-1] in p.model_fields
                       and not p.model_fields[loc[-1]].is_required() for p in parents)  # fmt: skip
        if what == "removed" and optional:
            reasons.add(f"optional setting {format_loc(loc)} left out")
        elif what in ("removed", "added") and any(typing.get_origin(p) in (dict, list) for p in parents):
            reasons.add(f"entry of {format_loc(loc[:-1])} {what}")
        else:
            return None
    return "; ".join(sorted(reasons))


# -- running the corpus ---------------------------------------------------------------------------


def _located(error: ConfigError, texts: dict[str, str]) -> str | None:
    """What is wrong with an error's locations, or None when every problem is located."""
    for p in error.problems:
        name = p.file.removeprefix("mapping/").removesuffix(".yaml")
        if name not in texts or p.line is None or not 1 <= p.line <= texts[name].count("\n") + 1:
            return f"no file and line in {p}"
        if "syntax error" in p.message and p.column is None:
            return f"no column in {p}"
    return None


def _dump(mappings: Any, name: str) -> Any:
    return mappings.policy.model_dump() if name == "policy" else getattr(mappings, name).model_dump()


def run_corpus(workdir: Path) -> list[Outcome]:
    shutil.copytree(ROOT / "mapping", workdir)
    texts = {name: (workdir / f"{name}.yaml").read_text(encoding="utf-8") for name in FILES}
    shipped = load_mappings(workdir, display_root="mapping")
    data = {name: read_yaml(workdir / f"{name}.yaml").data for name in FILES}
    outcomes = []
    for name in FILES:
        path = workdir / f"{name}.yaml"
        for mutant in yaml_mutants(f"{name}.yaml", texts[name], stride=STRIDE):
            path.write_text(mutant.text, encoding="utf-8")
            try:
                outcomes.append(_judge(mutant, name, workdir, texts, shipped, data[name]))
            finally:
                path.write_text(texts[name], encoding="utf-8")
    return outcomes


def _judge(mutant: YamlMutant, name: str, workdir: Path, texts: dict, shipped: Any, shipped_data: Any) -> Outcome:
    try:
        loaded = load_mappings(workdir, display_root="mapping", with_policy=name in ("shared", "policy"))
    except ConfigError as error:
        problem = _located(error, dict(texts, **{name: mutant.text}))
        return Outcome(mutant, "unlocated error" if problem else "error", problem or str(error.problems[0]))
    except Exception as exc:  # noqa: BLE001 -- a traceback is exactly what this corpus hunts
        return Outcome(mutant, "crash", f"{type(exc).__name__}: {exc}")
    mutant_data = read_yaml(workdir / f"{name}.yaml").data
    if mutant_data == shipped_data:
        return Outcome(mutant, "same document", "")
    if all(_dump(loaded, n) == _dump(shipped, n) for n in FILES if n != "policy" or loaded.policy is not None):
        return Outcome(mutant, "same meaning", "")
    changes = diff(shipped_data, mutant_data)
    reason = why_valid(MODELS[name], changes)
    return Outcome(mutant, "valid edit" if reason else "unexplained change", reason or str(changes))


def report(outcomes: list[Outcome]) -> str:
    """The counts docs/robustness.md quotes: per outcome, per kind of edit, per file."""
    by_kind: dict[str, Counter] = {kind: Counter() for kind in YAML_KINDS}
    for o in outcomes:
        by_kind[o.mutant.kind][o.kind] += 1
    totals = Counter(o.kind for o in outcomes)
    files = Counter(o.mutant.file for o in outcomes)
    syntax = sum(1 for o in outcomes if o.kind == "error" and "YAML syntax error" in o.detail)
    lines = [f"YAML mutation corpus (stride {STRIDE}): {len(outcomes)} mutants; "
             + ", ".join(f"{totals[k]} {k}" for k in OUTCOMES)
             + "".join(f", {n} {k} (DEFECT)" for k, n in totals.items() if k not in OUTCOMES),
             f"errors: {syntax} YAML syntax errors (file, line, column), {totals['error'] - syntax} schema or "
             "cross-check errors (file, line); every problem of every error located",
             "per file: " + ", ".join(f"{f} {n}" for f, n in files.items())]  # fmt: skip
    lines += [f"  {kind:<13} " + ", ".join(f"{n} {k}" for k, n in sorted(c.items())) for kind, c in by_kind.items()]
    lines += [f"  valid edit: {o.mutant} ({o.detail})" for o in outcomes if o.kind == "valid edit"]
    lines += [f"  {o.kind}: {o.mutant}: {o.detail}" for o in outcomes if o.kind not in OUTCOMES]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> list[Outcome]:
    found = run_corpus(tmp_path_factory.mktemp("yaml-corpus") / "mapping")
    summary = report(found)
    (tmp_path_factory.getbasetemp() / "fuzz_yaml_report.txt").write_text(summary + "\n", encoding="utf-8")
    print(summary)  # shown with -s or -rP; the file above keeps it either way
    return found


# -- the properties --------------------------------------------------------------------------------


def test_every_mutant_is_an_error_with_file_and_line_or_a_change_an_admin_could_mean(outcomes):
    defects = [o for o in outcomes if o.kind not in OUTCOMES]
    assert not defects, report(outcomes)


def test_most_mutants_are_errors_and_every_file_and_kind_is_covered(outcomes):
    counts = Counter(o.kind for o in outcomes)
    assert counts["error"] >= 0.8 * len(outcomes), report(outcomes)
    covered = {(o.mutant.file, o.mutant.kind) for o in outcomes}
    assert {o.mutant.file for o in outcomes} == {f"{name}.yaml" for name in FILES}
    assert {kind for _, kind in covered} == set(YAML_KINDS)
    assert len(covered) >= len(FILES) * len(YAML_KINDS) - 6, sorted(covered)  # shared.yaml has few keys


def test_the_judge_catches_a_loader_that_accepts_a_changed_meaning():
    """why_valid must not wave through a changed value (the classifier itself can fail)."""
    zendesk = MODELS["zendesk"]
    assert why_valid(zendesk, [("changed", ("groups", "l1"))]) is None
    assert why_valid(zendesk, [("removed", ("status_map",))]) is None  # required: never "optional"
    assert why_valid(zendesk, [("removed", ("organization_account_id",))]) == \
        "optional setting organization_account_id left out"  # fmt: skip
    assert why_valid(MODELS["policy"], [("removed", ("calendars", "london_business", "hours", "tue"))]) == \
        "entry of calendars.london_business.hours removed"  # fmt: skip
    assert diff({"a": [1, 2, 3]}, {"a": [1, 3]}) == [("removed", ("a", 2))]
    cut_off = diff({"a": [{"b": [1, 2]}, 3]}, {"a": [{"b": [1]}]})  # a file cut between entries
    assert cut_off == [("removed", ("a", 0, "b", 1)), ("removed", ("a", 1))]
    assert diff({"a": {"x": 1}}, {"a": {"x": "1"}}) == [("changed", ("a", "x"))]


# The mutants that loaded with a changed meaning before the loader was fixed, each now an exact error.
FOUND = [
    ("zendesk.yaml", "  l1: 360000001          # L1 Support\n", "  l1: not_a_number\n",
     ["mapping/zendesk.yaml:31: groups.l1: 'not_a_number' is not a Zendesk id (digits, e.g. 360000001)"]),
    ("zendesk.yaml", "    field: 360010002     # checkbox an agent ticks to ask for escalation\n", "",
     ["mapping/zendesk.yaml:48: fields.escalation_flag: has no value: give it one, or remove the line to use the "
      "default"]),
    ("zendesk.yaml", "  urgent: urgent\n", "  urgnet: urgent\n",
     ["mapping/zendesk.yaml:20: priority_map: no entry for urgent: every Zendesk priority needs one, or its tickets "
      "would be quarantined", "mapping/zendesk.yaml:24: priority_map.urgnet: 'urgnet' is not a Zendesk priority; did "
      "you mean 'urgent'? (low, normal, high, urgent)"]),
    ("zendesk.yaml", "missing_priority: normal\n", "  missing_priority: normal\n",
     ["mapping/zendesk.yaml:27: priority_map.missing_priority: 'missing_priority' is not a Zendesk priority (low, "
      "normal, high, urgent)"]),
    ("jira.yaml", "  - Escalated\n", "  - Escalated\n  - Escalated\n",
     ["mapping/jira.yaml:16: native_statuses[4]: 'Escalated' is listed more than once"]),
    ("policy.yaml", "    route: {to: ladder}\n    tags: [customer_requested_escalation]", "    route: ",
     ["mapping/policy.yaml:211: rules[6].route: has no value: give it one, or remove the line to use the default"]),
]  # fmt: skip


@pytest.mark.parametrize("file, old, new, expected", FOUND, ids=[f"{f}:{e[0].split(':')[1]}" for f, _, _, e in FOUND])
def test_the_loader_gaps_the_corpus_found_stay_closed(tmp_path, file, old, new, expected):
    directory = tmp_path / "mapping"
    shutil.copytree(ROOT / "mapping", directory)
    text = (directory / file).read_text(encoding="utf-8")
    assert text.count(old) == 1
    cut = text.index(old) + len(new) if file == "policy.yaml" else None  # the policy mutant is cut off there
    (directory / file).write_text(text.replace(old, new)[:cut], encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_mappings(directory, display_root="mapping", with_policy=file == "policy.yaml")
    assert [str(p) for p in error.value.problems] == expected
