"""Load admin-edited YAML into pydantic models with errors an admin can act on.

Every problem names the file, the line, the key path, the bad value and what
is allowed, e.g.::

    mapping/zendesk.yaml:14: status_map.hold: 'on-hold' is not one of: new, open, pending, on_hold, solved, closed

YAML syntax errors carry line and column; unknown keys get a "did you mean"
for near misses; every problem in every file is collected before raising one
:class:`~core.errors.ConfigError`. Schemas should use ``extra="forbid"`` and
discriminated unions so that errors point at one alternative, not all of them.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from core.errors import ConfigError, ConfigProblem

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]


@dataclass
class LocatedYaml:
    """Plain YAML data plus the 1-based line of every key and list item."""

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest located parent."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None

    def problem(self, loc: Loc, message: str) -> ConfigProblem:
        """A problem at ``loc``, for cross-field checks done after validation."""
        return ConfigProblem(self.file, self.line_of(loc), format_loc(loc), message)


def format_loc(loc: Loc) -> str:
    """``('triggers', 0, 'words')`` -> ``triggers[0].words``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_yaml(path: Path, display_name: str | None = None) -> LocatedYaml:
    """Parse one YAML file, keeping line numbers; syntax errors become ConfigError."""
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(name, None, "", f"cannot read file: {exc.strerror}")]) from None
    yaml = YAML(typ="rt", pure=True)
    try:
        node = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        what = exc.problem or exc.context or "invalid YAML"
        raise ConfigError([ConfigProblem(name, line, "", f"YAML syntax error: {what}", column)]) from None
    except YAMLError as exc:
        raise ConfigError([ConfigProblem(name, None, "", f"YAML syntax error: {exc}")]) from None
    located = LocatedYaml(name, None, {(): 1})
    located.data = _plain(node, (), located.lines)
    return located


def _plain(node: Any, loc: Loc, lines: dict[Loc, int]) -> Any:
    """Convert ruamel's commented containers to dicts and lists, recording lines."""
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            child = (*loc, str(key))
            try:
                lines[child] = node.lc.key(key)[0] + 1
            except (KeyError, TypeError):
                pass
            out[str(key)] = _plain(value, child, lines)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for index, value in enumerate(node):
            child = (*loc, index)
            try:
                lines[child] = node.lc.item(index)[0] + 1
            except (KeyError, TypeError, IndexError):
                pass
            out_list.append(_plain(value, child, lines))
        return out_list
    if isinstance(node, str):
        return str(node)  # drop ruamel's scalar string subclasses
    return node


def validate(located: LocatedYaml, model: type[M]) -> M:
    """Validate parsed YAML against ``model``; every problem becomes part of one ConfigError."""
    if located.data is None:
        raise ConfigError([ConfigProblem(located.file, 1, "", "file is empty; expected a mapping of keys")])
    empty = {loc: located.problem(loc, "has no value: give it one, or remove the line to use the default")
             for loc in _empty_values(located.data)}
    try:
        result = model.model_validate(located.data)
    except ValidationError as exc:
        problems = [p for p in problems_from(exc, located, model) if p.key not in {format_loc(e) for e in empty}]
        raise ConfigError(sorted([*empty.values(), *problems], key=lambda p: p.line or 0)) from None
    if empty:
        raise ConfigError(list(empty.values()))
    return result


def _empty_values(data: Any, loc: Loc = ()) -> list[Loc]:
    """Keys and list items written with nothing after them.

    ``escalation_flag:`` whose ``field:`` line was deleted, or a file cut off after
    ``route:``, would otherwise read as "not set" and silently switch a feature off.
    """
    children = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    out: list[Loc] = []
    for key, value in children:
        out += [(*loc, key)] if value is None else _empty_values(value, (*loc, key))
    return out


def load_model(path: Path, model: type[M], display_name: str | None = None) -> M:
    """Read and validate one file."""
    return validate(read_yaml(path, display_name), model)


def problems_from(exc: ValidationError, located: LocatedYaml, model: type[BaseModel]) -> list[ConfigProblem]:
    """Translate pydantic's errors into located, admin-readable problems."""
    problems: list[ConfigProblem] = []
    seen: set[str] = set()
    for err in exc.errors(include_url=False):
        loc = _data_loc(located.data, tuple(err["loc"]))
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            # point at the discriminator key itself (e.g. supervisor_decision.kind)
            loc = (*loc, str((err.get("ctx") or {}).get("discriminator", "")).strip("'"))
        message = _message(err, loc, model)
        problem = ConfigProblem(located.file, located.line_of(loc), format_loc(loc), message)
        if str(problem) not in seen:
            seen.add(str(problem))
            problems.append(problem)
    return problems


def _data_loc(data: Any, loc: Loc) -> Loc:
    """Drop the parts of pydantic's loc that are not in the data (union tags, function names)."""
    out: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif i == len(loc) - 1 and isinstance(node, dict) and isinstance(part, str) and not _is_tag(part):
            out.append(part)  # a missing key: name it
        # otherwise: a union tag or validator name that is not part of the document
    return tuple(out)


def _is_tag(part: str) -> bool:
    return "[" in part or part.startswith("function-") or part in {"str", "int", "float", "bool", "list", "dict"}


def _message(err: dict, loc: Loc, model: type[BaseModel]) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind in ("enum", "literal_error"):
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"{_show(value)} is not one of: {', '.join(allowed)}"
    if kind == "union_tag_invalid":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        return f"{_show(ctx.get('tag'))} is not one of: {', '.join(allowed)}"
    if kind == "union_tag_not_found":
        parent = format_loc(loc[:-1]) or "the top level"
        return f"required key is missing; add it under {parent}"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1], tuple(err["loc"])[:-1])
        name = str(loc[-1]) if loc else "?"
        hint = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        msg = "unknown key"
        if hint:
            msg += f"; did you mean '{hint[0]}'?"
        if allowed:
            msg += f" Allowed here: {', '.join(allowed)}"
        return msg
    if kind == "missing":
        parent = format_loc(loc[:-1]) or "the top level"
        return f"required key is missing; add it under {parent}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"])).removeprefix("Value error, ")
    return f"{err['msg']}, got {_show(value)}"


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return repr(value)


def _allowed_keys(model: type[BaseModel], loc: Loc, raw_loc: Loc = ()) -> list[str]:
    """The field names (and aliases) of the model that sits at ``loc``, for hints.

    pydantic's own ``raw_loc`` names the union member (its tag) where the data
    loc cannot, so it is tried first: a typo in one alternative of a
    discriminated union lists that alternative's keys, not the first one's.
    """
    target = (_model_at(model, raw_loc) if raw_loc else None) or _model_at(model, loc)
    if target is None:
        return []
    return [f.alias or name for name, f in target.model_fields.items()]


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return None
    return _as_model(current)


def _step(annotation: Any, part: str | int) -> Any:
    member = _union_member(annotation, part) if isinstance(part, str) else None
    if member is not None:
        return member
    model = _as_model(annotation)
    if model is not None and isinstance(part, str):
        for name, f in model.model_fields.items():
            if part in (name, f.alias):
                return f.annotation
        return None
    for arg in _container_args(annotation):
        return arg
    return None


def _union_member(annotation: Any, tag: str) -> type[BaseModel] | None:
    """The member of a union of models that pydantic's loc part ``tag`` names, if any.

    Matches a ``Tag(...)`` (callable discriminators), a ``Literal`` field holding
    ``tag`` (string discriminators) or the class name (plain unions).
    """
    members = _model_members(annotation)
    if len(members) < 2:
        return None
    for model, tags in members:
        if tag in tags or tag == model.__name__:
            return model
    for model, _ in members:
        for f in model.model_fields.values():
            if typing.get_origin(f.annotation) is typing.Literal and tag in typing.get_args(f.annotation):
                return model
    return None


def _model_members(annotation: Any) -> list[tuple[type[BaseModel], set[str]]]:
    """(model, its Tag values) for each model in a (possibly Annotated / Optional) union."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _model_members(typing.get_args(annotation)[0])
    if not _is_union(annotation):
        return []
    out = []
    for arg in typing.get_args(annotation):
        tags = set()
        if typing.get_origin(arg) is typing.Annotated:
            tags = {m.tag for m in arg.__metadata__ if hasattr(m, "tag")}
            arg = typing.get_args(arg)[0]
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            out.append((arg, tags))
        else:
            out.extend(_model_members(arg))
    return out


def _as_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _as_model(arg) if _is_union(annotation) or typing.get_origin(annotation) is typing.Annotated else None
        if found is not None:
            return found
    return None


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _container_args(annotation: Any) -> list[Any]:
    """For dict[K, V] and list[V]: [V]; unwraps Optional/Annotated first."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated or _is_union(annotation):
        for arg in args:
            inner = _container_args(arg)
            if inner:
                return inner
        return []
    if origin in (dict, typing.Dict):
        return [args[1]] if len(args) == 2 else []
    if origin in (list, tuple, set, frozenset, typing.List):
        return [args[0]] if args else []
    return []


def load_many(specs: list[tuple[Path, type[BaseModel], str | None]]) -> list[BaseModel]:
    """Load several files and raise one ConfigError listing the problems of all of them."""
    results: list[BaseModel] = []
    problems: list[ConfigProblem] = []
    for path, model, display in specs:
        try:
            results.append(load_model(path, model, display))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return results
