"""A parser for the SOQL subset deskbridge and its tests send.

Grammar (keywords in any letter case)::

    SELECT (COUNT() | path {, path}) FROM name
      [WHERE condition] [ORDER BY path [ASC|DESC] [NULLS FIRST|LAST] {, ...}]
      [LIMIT n] [OFFSET n]
    condition := term {AND term} | term {OR term}        (mixing needs parentheses, as in SOQL)
    term      := NOT term | ( condition ) | path op literal | path [NOT] IN (literal {, literal})
                 | path LIKE 'pattern'
    op        := = | != | <> | < | <= | > | >=
    literal   := 'string' | number | true | false | null | 2024-01-02T03:04:05Z | 2024-01-02

It only checks syntax; :mod:`.query` checks names and types against the
schema. Anything else is answered the way Salesforce answers it: a
``MALFORMED_QUERY`` error whose message points at the offending token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

KEYWORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
    "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE",
}

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


class SoqlError(Exception):
    """A query Salesforce would refuse: ``code`` is its errorCode, ``message`` its text."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def located(text: str, pos: int, detail: str) -> str:
    """Salesforce's error text: the query line, a caret under ``pos`` and "ERROR at Row:r:Column:c"."""
    row = text.count("\n", 0, pos) + 1
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : len(text) if line_end < 0 else line_end]
    column = pos - line_start + 1
    return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{detail}"


@dataclass(frozen=True)
class Token:
    kind: str  # keyword | name | string | number | datetime | date | op | punct | eof
    text: str
    pos: int

    @property
    def display(self) -> str:
        return "<EOF>" if self.kind == "eof" else self.text


@dataclass(frozen=True)
class Path:
    """A field reference as written, e.g. ``Owner.Email``; ``pos`` locates it for error messages."""

    text: str
    pos: int

    @property
    def parts(self) -> list[str]:
        return self.text.split(".")


@dataclass(frozen=True)
class Literal:
    """kind: string | number | boolean | null | datetime | date."""

    kind: str
    value: object
    pos: int


@dataclass(frozen=True)
class Compare:
    path: Path
    op: str  # = != < <= > >= LIKE
    value: Literal


@dataclass(frozen=True)
class InList:
    path: Path
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class Not:
    operand: "Condition"


@dataclass(frozen=True)
class Junction:
    op: str  # AND | OR
    operands: tuple["Condition", ...]


Condition = Compare | InList | Not | Junction


@dataclass(frozen=True)
class OrderItem:
    path: Path
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    text: str
    fields: tuple[Path, ...]  # empty for SELECT COUNT()
    count_only: bool
    sobject: Path
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


def tokenize(text: str) -> list[Token]:
    """Split a SOQL string into tokens; an unknown character is a MALFORMED_QUERY."""
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise SoqlError("MALFORMED_QUERY", located(text, pos, f"unexpected token: '{text[pos]}'"))
        kind = match.lastgroup or ""
        if kind != "space":
            if kind == "name" and match.group().upper() in KEYWORDS:
                kind = "keyword"
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("eof", "", len(text)))
    return tokens


def parse(text: str) -> Query:
    """Parse a SOQL query of the supported subset, or raise :class:`SoqlError`."""
    return _Parser(text).query()


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.at = 0

    # -- token helpers -------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.at]

    def is_keyword(self, *words: str) -> bool:
        return self.current.kind == "keyword" and self.current.text.upper() in words

    def accept_keyword(self, *words: str) -> bool:
        if self.is_keyword(*words):
            self.at += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.accept_keyword(word):
            self.fail()

    def accept_punct(self, char: str) -> bool:
        if self.current.kind == "punct" and self.current.text == char:
            self.at += 1
            return True
        return False

    def expect_punct(self, char: str) -> None:
        if not self.accept_punct(char):
            self.fail()

    def fail(self, token: Token | None = None) -> None:
        token = token or self.current
        raise SoqlError("MALFORMED_QUERY", located(self.text, token.pos, f"unexpected token: '{token.display}'"))

    # -- grammar -------------------------------------------------------------
    def query(self) -> Query:
        self.expect_keyword("SELECT")
        fields, count_only = self.select_list()
        self.expect_keyword("FROM")
        sobject = self.path(allow_dots=False)
        where = self.condition() if self.accept_keyword("WHERE") else None
        order_by: tuple[OrderItem, ...] = ()
        if self.accept_keyword("ORDER"):
            self.expect_keyword("BY")
            order_by = self.order_list()
        limit = self.integer() if self.accept_keyword("LIMIT") else None
        offset = self.integer() if self.accept_keyword("OFFSET") else None
        if self.current.kind != "eof":
            self.fail()
        return Query(self.text, fields, count_only, sobject, where, order_by, limit, offset)

    def select_list(self) -> tuple[tuple[Path, ...], bool]:
        if self.current.kind == "name" and self.current.text.upper() == "COUNT":
            self.at += 1
            self.expect_punct("(")
            self.expect_punct(")")
            return (), True
        fields = [self.path()]
        while self.accept_punct(","):
            fields.append(self.path())
        seen: set[str] = set()
        for field in fields:
            if field.text.lower() in seen:
                raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {field.text}")
            seen.add(field.text.lower())
        return tuple(fields), False

    def path(self, allow_dots: bool = True) -> Path:
        token = self.current
        if token.kind != "name" or (not allow_dots and "." in token.text):
            self.fail()
        self.at += 1
        return Path(token.text, token.pos)

    def integer(self) -> int:
        token = self.current
        if token.kind != "number" or not token.text.isdigit():
            self.fail()
        self.at += 1
        return int(token.text)

    def order_list(self) -> tuple[OrderItem, ...]:
        items = []
        while True:
            path = self.path()
            descending = self.accept_keyword("DESC")
            if not descending:
                self.accept_keyword("ASC")
            nulls_last = False
            if self.accept_keyword("NULLS"):
                if self.accept_keyword("LAST"):
                    nulls_last = True
                else:
                    self.expect_keyword("FIRST")
            items.append(OrderItem(path, descending, nulls_last))
            if not self.accept_punct(","):
                return tuple(items)

    def condition(self) -> Condition:
        operands = [self.term()]
        junction = None
        while self.is_keyword("AND", "OR"):
            word = self.current.text.upper()
            if junction not in (None, word):
                self.fail()  # SOQL needs parentheses to mix AND and OR
            junction = word
            self.at += 1
            operands.append(self.term())
        return operands[0] if junction is None else Junction(junction, tuple(operands))

    def term(self) -> Condition:
        if self.accept_keyword("NOT"):
            return Not(self.term())
        if self.accept_punct("("):
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.predicate()

    def predicate(self) -> Condition:
        path = self.path()
        if self.accept_keyword("NOT"):
            if not self.is_keyword("IN"):
                self.fail()
            self.at += 1
            return InList(path, self.literal_list(), negated=True)
        if self.accept_keyword("IN"):
            return InList(path, self.literal_list(), negated=False)
        if self.accept_keyword("LIKE"):
            value = self.literal()
            if value.kind != "string":
                raise SoqlError("MALFORMED_QUERY", located(self.text, value.pos, "LIKE needs a quoted string pattern"))
            return Compare(path, "LIKE", value)
        token = self.current
        if token.kind != "op":
            self.fail()
        self.at += 1
        return Compare(path, "!=" if token.text == "<>" else token.text, self.literal())

    def literal_list(self) -> tuple[Literal, ...]:
        self.expect_punct("(")
        values = [self.literal()]
        while self.accept_punct(","):
            values.append(self.literal())
        self.expect_punct(")")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.current
        self.at += 1
        if token.kind == "string":
            return Literal("string", _unquote(token.text), token.pos)
        if token.kind == "number":
            return Literal("number", float(token.text) if "." in token.text else int(token.text), token.pos)
        if token.kind == "datetime":
            return Literal("datetime", datetime.fromisoformat(token.text.replace("Z", "+00:00")), token.pos)
        if token.kind == "date":
            return Literal("date", date.fromisoformat(token.text), token.pos)
        if token.kind == "keyword" and token.text.upper() in ("TRUE", "FALSE"):
            return Literal("boolean", token.text.upper() == "TRUE", token.pos)
        if token.kind == "keyword" and token.text.upper() == "NULL":
            return Literal("null", None, token.pos)
        self.fail(token)
        raise AssertionError("unreachable")


def _unquote(quoted: str) -> str:
    body, out, i = quoted[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            # LIKE wildcards keep their backslash so the pattern matcher can honour it.
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)
