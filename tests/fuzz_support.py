"""Mutation strategies for the fuzz suites: hostile JSON payloads and broken YAML admin files.

Payloads (``mutated``): a real payload with 1-3 edits at any depth, each one of
:data:`PAYLOAD_OPS` -- what a helpdesk, a proxy or a half-finished migration
really sends: keys gone, nulls, wrong types, huge or deeply nested values,
hostile unicode, numbers as strings and back, duplicated entries, timestamps in
odd formats and zones. Every edit is recorded as a :class:`Mutation` so a
failure says what was done where.

YAML (``yaml_mutants``): every systematic edit an admin's hand or editor makes to
a mapping file, one per line and kind (:data:`YAML_KINDS`), generated
deterministically from the shipped files so the corpus is the same on every run.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

# -- hostile values ---------------------------------------------------------------------------

UNICODE = (
    "\u202eevil\u202c reversed",  # right-to-left override
    "שלום עולם مرحبا",  # RTL scripts
    "e" + "\u0301\u0308\u0327" * 40,  # a pile of combining marks
    "nul\x00byte",  # NUL: fine in JSON, refused by PostgreSQL text
    "\ud800",  # lone high surrogate (JSON "\ud800" decodes to this)
    "x\udfffy",  # lone low surrogate
    "\ufeff\u200b\u200d",  # BOM and zero-width characters
    "𝄞🙂👩‍👩‍👧",  # astral plane and joiners
    "\r\n\t\x0b\x0c\x1b[31m",  # control characters, an ANSI escape
    "<script>alert(1)</script><p>&amp;&#0;&#xD800;</p>",  # markup and bad character references
)
ODD_TIMES = (
    "2026-03-02T09:00:00+14:00", "2026-03-02T09:00:00-12:00", "2026-03-02T09:00:00+05:45",
    "2026-03-02T09:00:00.123456789Z", "2026-03-02T09:00:00.000+0000", "2026-03-02 09:00:00",
    "2026-03-02T09:00:00", "2026-03-02", "2026-W10-1", "20260302T090000Z", "Mon, 02 Mar 2026 09:00:00 GMT",
    "1772442000", "1772442000000", "2026-02-30T09:00:00Z", "2026-03-02T24:00:00Z", "2026-03-02T09:00:00+25:00",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0000-00-00 00:00:00", " 2026-03-02T09:00:00Z ",
    "2026-03-02T09:00:00Z[Europe/London]", "yesterday", "",
)  # fmt: skip
WRONG_TYPES = (
    None, True, False, 0, -1, 1.5, -0.0, 2**64, 10**30, 1e308, "", " ", "x", [], [None], [[]], {}, {"value": None},
    {"display_value": 5}, {"id": {}}, {"value": [], "display_value": {}},
)  # fmt: skip
HUGE = ("A" * 200_000, "<p>" + "word " * 40_000 + "</p>", "9" * 5_000)
_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def deep_junk(depth: int, kind: str = "list") -> Any:
    """A value nested ``depth`` levels deep (lists, objects or both alternating)."""
    value: Any = "bottom"
    for level in range(depth):
        as_list = kind == "list" or (kind == "mixed" and level % 2)
        value = [value] if as_list else {"value": value, "id": level}
    return value


DEEP = (deep_junk(60, "list"), deep_junk(60, "dict"), deep_junk(120, "mixed"))


# -- where to edit ------------------------------------------------------------------------------

Path = tuple[str | int, ...]


def paths(node: Any, prefix: Path = ()) -> list[Path]:
    """Every path to a value inside ``node`` (dict keys and list indexes), parents first."""
    out: list[Path] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        out.append((*prefix, key))
        out += paths(child, (*prefix, key))
    return out


def get(node: Any, path: Path) -> Any:
    for step in path:
        node = node[step]
    return node


def walk(draw: Any, doc: Any) -> Path:
    """A path found by walking down from the root, stopping at each level with chance 1/3.

    Uniform choice over every path lands mostly deep inside the biggest lists (audit
    metadata, attachments); walking reaches the fields a normalizer reads first as often.
    The first level (a whole record, a whole list of rows) is kept only 1 time in 10.
    """
    path: Path = ()
    node = doc
    while isinstance(node, (dict, list)) and node:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = draw(st.sampled_from(keys))
        path, node = (*path, key), node[key]
        if draw(st.integers(0, 9 if len(path) == 1 else 2)) == 0:
            break
    return path


def show_path(path: Path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(root)"


@dataclass(frozen=True)
class Mutation:
    """One edit made to a payload, for failure messages."""

    op: str
    path: Path

    def __str__(self) -> str:
        return f"{self.op}@{show_path(self.path)}"


# -- the edits --------------------------------------------------------------------------------


def _flip(value: Any) -> Any:
    """Numbers become strings and numeric strings become numbers (ids, counts, flags)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,300}", value.strip()):  # JSON parsers cap digits too
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,300}\.\d{0,300}", value.strip()):
        return float(value)
    return 12345 if isinstance(value, str) else "12345"


def _with_unicode(value: Any, junk: str, where: int) -> Any:
    """Junk prepended, appended or in place of a string; replacing anything else."""
    if not isinstance(value, str) or where == 2:
        return junk
    return junk + value if where == 0 else value + junk


PAYLOAD_OPS = ("delete", "null", "wrong_type", "unicode", "huge", "deep", "flip", "odd_time", "duplicate")


def apply_op(draw: Any, doc: Any, path: Path, op: str) -> None:
    """Edit ``doc`` in place at ``path`` with ``op`` (values drawn with ``draw``)."""
    parent, key = get(doc, path[:-1]), path[-1]
    current = parent[key]
    if op == "delete":
        del parent[key]
    elif op == "null":
        parent[key] = None
    elif op == "wrong_type":
        parent[key] = copy.deepcopy(draw(st.sampled_from(WRONG_TYPES)))
    elif op == "unicode":
        parent[key] = _with_unicode(current, draw(st.sampled_from(UNICODE)), draw(st.integers(0, 2)))
    elif op == "huge":
        parent[key] = draw(st.sampled_from(HUGE))
    elif op == "deep":
        parent[key] = copy.deepcopy(draw(st.sampled_from(DEEP)))
    elif op == "flip":
        parent[key] = _flip(current)
    elif op == "odd_time":
        parent[key] = draw(st.sampled_from(ODD_TIMES))
    elif op == "duplicate":
        _duplicate(parent, key, current)
    else:
        raise ValueError(f"unknown op {op!r}")


def _duplicate(parent: Any, key: str | int, current: Any) -> None:
    """A list entry twice (same id: comments, audits, histories), or a value copied onto a sibling."""
    if isinstance(parent, list):
        parent.insert(key, copy.deepcopy(current))  # type: ignore[arg-type]
    else:
        siblings = [k for k in parent if k != key]
        if siblings:
            parent[siblings[len(siblings) // 2]] = copy.deepcopy(current)


class Mutated(tuple):
    """``(document, [Mutation, ...])`` that shows only the edits: a failing example stays readable."""

    def __repr__(self) -> str:
        return f"<edits {[str(m) for m in self[1]]}>"


@st.composite
def mutated(draw: Any, original: Any, max_edits: int = 3, ops: tuple[str, ...] = PAYLOAD_OPS):
    """``(copy of original with 1..max_edits edits, [Mutation, ...])``.

    Half of the edits land on a path found by :func:`walk`, half on one chosen from every path
    below the first level (hypothesis favours the first entries of a list, which would make
    whole records the most frequent target); half of the ``odd_time`` edits land on a value
    that already looks like a time.
    """
    doc = copy.deepcopy(original)
    done: list[Mutation] = []
    for _ in range(draw(st.integers(1, max_edits))):
        every = paths(doc)
        if not every:
            break
        op = draw(st.sampled_from(ops))
        times = [p for p in every if isinstance(get(doc, p), str) and _TIME_RE.match(get(doc, p))]
        if op == "odd_time" and times and draw(st.booleans()):
            path = draw(st.sampled_from(times))
        else:
            deep = [p for p in every if len(p) > 1] or every
            path = walk(draw, doc) if draw(st.booleans()) else draw(st.sampled_from(deep))
        apply_op(draw, doc, path, op)
        done.append(Mutation(op, path))
    return Mutated((doc, done))


# -- broken YAML ----------------------------------------------------------------------------------

YAML_KINDS = ("delete_line", "duplicate_key", "indent", "dedent", "break_quote", "wrong_type", "misspell_key",
              "insert_tab", "truncate")  # fmt: skip
_KEY_LINE = re.compile(
    r"^(?P<indent> *)(?P<dash>- )?(?P<key>\"[^\"]*\"|'[^']*'|[^\s#:{}\[\],&*!|>'\"%@`-][^#:{}\[\]]*?)"
    r":(?: +(?P<value>[^#]*?))?(?P<comment> +#.*)?$"
)
_ITEM_LINE = re.compile(r"^(?P<indent> *)- (?P<value>[^#{\[]*?)(?P<comment> +#.*)?$")
_FLOW_KEY = re.compile(r"\{\s*(?P<pair>[^:{},]+:\s*[^,}]*)")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


@dataclass(frozen=True)
class YamlMutant:
    """One systematic edit of one shipped admin file."""

    file: str  # "zendesk.yaml"
    kind: str  # one of YAML_KINDS
    line: int  # 1-based line the edit is on
    text: str  # the whole mutated file

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.kind}"


def _wrong_value(value: str) -> str:
    """A value of another type: text for numbers and flags, a scalar for collections, a list for text."""
    if _NUMBER.fullmatch(value):
        return "not_a_number"
    if value.lower() in ("true", "false", "yes", "no", "on", "off"):
        return "maybe"
    if value.startswith(("[", "{", "*", "&")):
        return "7"
    return "[1, 2]"


def _misspelled(key: str) -> str:
    quote = key[0] if key[0] in "'\"" else ""
    bare = key.strip("'\"")
    if len(bare) >= 3 and bare[1] != bare[2]:
        bare = bare[0] + bare[2] + bare[1] + bare[3:]
    else:
        bare += "x"
    return f"{quote}{bare}{quote}"


def _edit_line(kind: str, line: str) -> list[str] | None:
    """The replacement lines for ``line`` under ``kind``, or None when the kind does not apply here."""
    body = line.rstrip("\n")
    stripped = body.strip()
    key, item = _KEY_LINE.match(body), _ITEM_LINE.match(body)
    if kind == "delete_line":
        return []
    if not stripped or stripped.startswith("#"):
        return [f"\t{body}"] if kind == "insert_tab" and stripped else None
    indent = len(body) - len(body.lstrip(" "))
    if kind == "indent":
        return ["  " + body]
    if kind == "dedent":
        return [body[2:]] if indent >= 2 else None
    if kind == "insert_tab":
        return ["\t" + body[1:] if indent else "\t" + body]
    if kind == "break_quote":
        for quote in "\"'":
            if quote in body:
                cut = body.rindex(quote)
                return [body[:cut] + body[cut + 1:]]
        if key and key["value"]:
            return [body.replace(f": {key['value']}", f": \"{key['value']}", 1)]
        return [body.replace("- ", "- \"", 1)] if item and item["value"] else None
    if kind == "wrong_type":
        if key:
            return [f"{key['indent']}{key['dash'] or ''}{key['key']}: {_wrong_value(key['value'] or '')}"]
        return [f"{item['indent']}- {_wrong_value(item['value'])}"] if item and item["value"] else None
    if kind == "misspell_key":
        if key:
            return [body.replace(key["key"], _misspelled(key["key"]), 1)]
        flow = _FLOW_KEY.search(body)
        return [body[: flow.start("pair")] + _misspelled(flow["pair"].split(":")[0].strip())
                + body[flow.start("pair") + len(flow["pair"].split(":")[0].strip()):]] if flow else None
    if kind == "duplicate_key":  # a key twice in one mapping, or a list entry twice
        if item and item["value"]:
            return [body, body]
        if key:
            copy_indent = " " * (len(key["indent"]) + (2 if key["dash"] else 0))
            return [body, f"{copy_indent}{key['key']}: {key['value'] or ''}".rstrip()]
        flow = _FLOW_KEY.search(body)
        return [body[: flow.start("pair")] + f"{flow['pair'].strip()}, " + body[flow.start("pair"):]] if flow else None
    raise ValueError(f"unknown kind {kind!r}")


def yaml_mutants(file: str, text: str, kinds: tuple[str, ...] = YAML_KINDS, stride: int = 1) -> list[YamlMutant]:
    """Every ``kind`` of edit on every line it applies to (every ``stride``-th such line, staggered by kind)."""
    lines = text.splitlines(keepends=True)
    out: list[YamlMutant] = []
    for offset, kind in enumerate(kinds):
        applicable = []
        for index, line in enumerate(lines):
            if kind == "truncate":
                if line.strip():
                    cut = "".join(lines[:index]) + line[: max(1, len(line.rstrip("\n")) // 2)]
                    applicable.append((index, cut))
                continue
            edited = _edit_line(kind, line)
            if edited is not None:
                new = "".join(lines[:index]) + "".join(f"{e}\n" for e in edited) + "".join(lines[index + 1:])
                if new != text:
                    applicable.append((index, new))
        for index, new in applicable[offset % stride::stride]:
            out.append(YamlMutant(file, kind, index + 1, new))
    return out
