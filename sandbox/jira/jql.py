"""A tokenizer and recursive-descent parser for the JQL subset the sandbox understands.

Pure: text in, a small syntax tree out (:class:`Query`), or :class:`JqlError`
with a message shaped like Jira's ("Error in the JQL Query: ..."). Field names
and values are not checked here; :mod:`sandbox.jira.search` gives them meaning.
Grammar (keywords case-insensitive)::

    query   := [or] [ORDER BY field [ASC|DESC] (, field [ASC|DESC])*]
    or      := and ((OR | ||) and)*
    and     := not ((AND | &&) not)*
    not     := (NOT | !) not | "(" or ")" | clause
    clause  := field op operand
    op      := = | != | > | >= | < | <= | ~ | !~ | IN | NOT IN | IS | IS NOT
    operand := value | "(" value (, value)* ")"      value := word | "quoted" | EMPTY | NULL
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}
OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "~", "!~", "in", "not in", "is", "is not")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>>=|<=|!=|!~|&&|\|\||=|>|<|~|!)
      | (?P<punct>[(),])
      | (?P<word>[^\s()",=!<>~'&|]+)
    )""",
    re.VERBOSE,
)


class JqlError(ValueError):
    """The query cannot be parsed; the message is what Jira would put in errorMessages."""


class Empty:
    """The EMPTY / NULL operand."""

    def __repr__(self) -> str:
        return "EMPTY"


EMPTY = Empty()


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "string" | "op" | "punct" | "word" | "keyword" | "end"
    text: str  # keyword/op text lower-cased; strings unquoted and unescaped
    pos: int  # 1-based character position


@dataclass(frozen=True, slots=True)
class Clause:
    field: str  # lower-cased
    op: str  # one of OPERATORS
    values: tuple  # str or EMPTY items; one item unless the operand is a list


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # "and" | "or"
    parts: tuple


@dataclass(frozen=True, slots=True)
class Not:
    part: object


@dataclass(frozen=True, slots=True)
class Query:
    where: object | None  # Clause | BoolOp | Not | None
    order: tuple[tuple[str, bool], ...]  # (field lower-cased, descending)


def tokenize(text: str) -> list[Token]:
    """Split JQL into tokens, ending with an "end" token."""
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise JqlError(_where(f"The character '{text[pos:].lstrip()[0]}' is a reserved JQL character", pos + 1))
        kind = match.lastgroup
        value = match.group(kind)
        start = match.start(kind) + 1
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "op":
            value = {"&&": "and", "||": "or", "!": "not"}.get(value, value)
            kind = "keyword" if value in ("and", "or", "not") else "op"
        elif kind == "word" and value.lower() in KEYWORDS:
            kind, value = "keyword", value.lower()
        tokens.append(Token(kind, value, start))
        pos = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


def parse(text: str) -> Query:
    """Parse JQL text into a :class:`Query`."""
    return _Parser(tokenize(text)).query()


def _where(message: str, pos: int) -> str:
    return f"Error in the JQL Query: {message}. (line 1, character {pos})"


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens, self.i = tokens, 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.tok.kind == "keyword" and self.tok.text in words

    def fail(self, expecting: str) -> JqlError:
        got = "the end of the query" if self.tok.kind == "end" else f"'{self.tok.text}'"
        return JqlError(_where(f"Expecting {expecting} but got {got}", self.tok.pos))

    def query(self) -> Query:
        where = None if self.tok.kind == "end" or self.at_keyword("order") else self.or_expr()
        order: list[tuple[str, bool]] = []
        if self.at_keyword("order"):
            self.take()
            if not self.at_keyword("by"):
                raise self.fail("'by'")
            self.take()
            order.append(self.order_item())
            while self.tok.kind == "punct" and self.tok.text == ",":
                self.take()
                order.append(self.order_item())
        if self.tok.kind != "end":
            raise self.fail("either 'OR', 'AND' or 'ORDER BY'" if where else "a field name")
        return Query(where, tuple(order))

    def order_item(self) -> tuple[str, bool]:
        if self.tok.kind not in ("word", "string"):
            raise self.fail("a field name")
        name = self.take().text.lower()
        descending = False
        if self.at_keyword("asc", "desc"):
            descending = self.take().text == "desc"
        return name, descending

    def or_expr(self):
        parts = [self.and_expr()]
        while self.at_keyword("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def and_expr(self):
        parts = [self.not_expr()]
        while self.at_keyword("and"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def not_expr(self):
        if self.at_keyword("not"):
            self.take()
            return Not(self.not_expr())
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.take()
            inner = self.or_expr()
            if not (self.tok.kind == "punct" and self.tok.text == ")"):
                raise self.fail("')'")
            self.take()
            return inner
        return self.clause()

    def clause(self) -> Clause:
        if self.tok.kind not in ("word", "string"):
            raise self.fail("a field name")
        field = self.take().text.lower()
        op = self.operator()
        if op in ("in", "not in"):
            return Clause(field, op, self.value_list())
        if self.tok.kind == "punct" and self.tok.text == "(":
            raise self.fail("a single value for operator '" + op + "'")
        return Clause(field, op, (self.value(),))

    def operator(self) -> str:
        token = self.tok
        if token.kind == "op" and token.text in OPERATORS:
            self.take()
            return token.text
        if self.at_keyword("in", "is"):
            self.take()
            if token.text == "is" and self.at_keyword("not"):
                self.take()
                return "is not"
            return token.text
        if self.at_keyword("not"):
            self.take()
            if not self.at_keyword("in"):
                raise self.fail("'in'")
            self.take()
            return "not in"
        raise self.fail("operator")

    def value_list(self) -> tuple:
        if not (self.tok.kind == "punct" and self.tok.text == "("):
            raise self.fail("'('")
        self.take()
        values = [self.value()]
        while self.tok.kind == "punct" and self.tok.text == ",":
            self.take()
            values.append(self.value())
        if not (self.tok.kind == "punct" and self.tok.text == ")"):
            raise self.fail("')'")
        self.take()
        return tuple(values)

    def value(self):
        if self.at_keyword("empty", "null"):
            self.take()
            return EMPTY
        if self.tok.kind in ("word", "string"):
            return self.take().text
        raise self.fail("either a value, list or function")
