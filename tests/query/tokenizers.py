"""Read generated queries back into the canonical tree (tests/query/canon.py), independently
of the backends.

Each reader knows only its target's syntax (how names, strings and regexes are quoted, which
operators exist and how they bind) and is strict: text it does not expect is a ReadError,
never a guess. SPL and KQL get a small tokenizer and recursive-descent parser here; Lucene
(luqum) and SQL (sqlglot) are read by their parsers in tests/query/parsed.py.
"""
from __future__ import annotations

import re
from decimal import Decimal

from sigcc.compiler import patterns
from tests.query.canon import ANY, ReadError, regex_leaf, star_parts

# --- a small tokenizer shared by the SPL and KQL readers ----------------------------------

class Tokens:
    def __init__(self, toks: list[tuple[str, object]]):
        self.toks = toks
        self.i = 0

    def peek(self, k: int = 0):
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("end", None)

    def take(self, kind: str | None = None, value=None):
        tok = self.peek()
        if (kind is not None and tok[0] != kind) or (value is not None and tok[1] != value):
            raise ReadError(f"expected {kind} {value!r}, got {tok!r} at token {self.i}")
        self.i += 1
        return tok

    def at(self, kind: str, value=None) -> bool:
        tok = self.peek()
        return tok[0] == kind and (value is None or tok[1] == value)

    def done(self) -> None:
        if self.i != len(self.toks):
            raise ReadError(f"trailing tokens: {self.toks[self.i:self.i + 5]!r}")


def _quoted(text: str, i: int, quote: str, escapes: dict[str, str]) -> tuple[str, int]:
    """A quoted string starting at text[i] (the quote); returns (value, index after)."""
    out, j = [], i + 1
    while j < len(text):
        c = text[j]
        if c == quote:
            return "".join(out), j + 1
        if c == "\\":
            if j + 1 >= len(text) or text[j + 1] not in escapes:
                raise ReadError(f"unknown escape {text[j:j + 2]!r} at {j}")
            out.append(escapes[text[j + 1]])
            j += 2
            continue
        if c in "\n\r":
            raise ReadError(f"raw line break inside a string at {j}")
        out.append(c)
        j += 1
    raise ReadError(f"unterminated string from {i}")


# --- Splunk SPL ---------------------------------------------------------------------------

_SPL_ESC = {"\\": "\\", '"': '"'}
_SPL_WORD = re.compile(r"[^\s\"'()=,|<>!]+")


def spl_tokens(text: str) -> Tokens:
    toks, i = [], 0
    while i < len(text):
        c = text[i]
        if c == " ":
            i += 1
        elif c == '"':
            value, i = _quoted(text, i, '"', _SPL_ESC)
            toks.append(("str", value))
        elif c == "'":
            j = text.index("'", i + 1) if "'" in text[i + 1:] else -1
            if j < 0:
                raise ReadError("unterminated field name")
            toks.append(("qname", text[i + 1:j]))
            i = j + 1
        elif c in "(),|":
            toks.append(("op", c))
            i += 1
        elif text.startswith((">=", "<="), i):
            toks.append(("op", text[i:i + 2]))
            i += 2
        elif c in "=<>":
            toks.append(("op", c))
            i += 1
        else:
            m = _SPL_WORD.match(text, i)
            if not m:
                raise ReadError(f"unexpected {c!r} at {i}")
            toks.append(("word", m.group()))
            i = m.end()
    return Tokens(toks)


def read_spl(query: str) -> tuple:
    ts = spl_tokens(query)
    search = _spl_search_and(ts)
    if ts.at("op", "|"):
        ts.take("op", "|")
        ts.take("word", "where")
        cond = _eval_or(ts)
        ts.done()
        return ("and", (search, cond))
    ts.done()
    return search


# search mode: OR binds tighter than AND in SPL's search command
def _spl_search_and(ts):
    items = [_spl_search_or(ts)]
    while ts.at("word", "AND"):
        ts.take()
        items.append(_spl_search_or(ts))
    return items[0] if len(items) == 1 else ("and", tuple(items))


def _spl_search_or(ts):
    items = [_spl_search_unary(ts)]
    while ts.at("word", "OR"):
        ts.take()
        items.append(_spl_search_unary(ts))
    return items[0] if len(items) == 1 else ("or", tuple(items))


def _spl_search_unary(ts):
    if ts.at("word", "NOT"):
        ts.take()
        return ("not", _spl_search_unary(ts))
    if ts.at("op", "("):
        ts.take()
        e = _spl_search_and(ts)
        ts.take("op", ")")
        return e
    tok = ts.take()
    if tok == ("word", "*"):
        return ("const", True)
    if tok[0] in ("word", "str") and ts.at("op", "="):
        if tok[0] == "word" and tok[1] in ("AND", "OR", "NOT", "IN"):
            raise ReadError(f"operator word {tok[1]} used as a field name")
        ts.take()
        return _spl_value(tok[1], ts.take())
    if tok[0] == "word" and ts.at("word", "IN"):
        ts.take()
        ts.take("op", "(")
        values = [_spl_value(tok[1], ts.take())]
        while ts.at("op", ","):
            ts.take()
            values.append(_spl_value(tok[1], ts.take()))
        ts.take("op", ")")
        return ("or", tuple(values))
    if tok[0] == "str":
        return ("str", None, False, star_parts(tok[1]))
    raise ReadError(f"unexpected search token {tok!r}")


def _spl_value(field: str, tok) -> tuple:
    if tok[0] == "str":
        return ("str", field, False, star_parts(tok[1]))
    if tok == ("word", "*"):
        return ("exists", field)
    if tok[0] == "word" and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", tok[1]):
        return ("str", field, False, (tok[1],))
    raise ReadError(f"unexpected search value {tok!r}")


# where mode (eval): NOT > comparison > AND > OR
def _eval_or(ts):
    items = [_eval_and(ts)]
    while ts.at("word", "OR"):
        ts.take()
        items.append(_eval_and(ts))
    return items[0] if len(items) == 1 else ("or", tuple(items))


def _eval_and(ts):
    items = [_eval_not(ts)]
    while ts.at("word", "AND"):
        ts.take()
        items.append(_eval_not(ts))
    return items[0] if len(items) == 1 else ("and", tuple(items))


def _eval_not(ts):
    if ts.at("word", "NOT"):
        ts.take()
        return ("not", _eval_not(ts))
    return _eval_cmp(ts)


_EVAL_WORDS = {"AND", "OR", "NOT", "XOR", "LIKE", "IN", "true", "false", "null"}


def _eval_operand(ts):
    """('field', name) | ('str', s) | ('num', text) | ('call', fn, [args]) | ('expr', tree)."""
    tok = ts.take()
    if tok[0] == "qname":
        return ("field", tok[1])
    if tok[0] == "str":
        return ("str", tok[1])
    if tok == ("op", "("):
        e = _eval_or(ts)
        ts.take("op", ")")
        return ("expr", _null_safe(e))
    if tok[0] == "word":
        if ts.at("op", "("):
            ts.take()
            args = []
            if not ts.at("op", ")"):
                args.append(_eval_operand_or_expr(ts))
                while ts.at("op", ","):
                    ts.take()
                    args.append(_eval_operand_or_expr(ts))
            ts.take("op", ")")
            return ("call", tok[1], args)
        if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", tok[1]):
            return ("num", tok[1])
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tok[1]) and tok[1] not in _EVAL_WORDS:
            return ("field", tok[1])
    raise ReadError(f"unexpected eval token {tok!r}")


def _eval_operand_or_expr(ts):
    return _eval_operand(ts)


def _null_safe(e):
    """`(isnull(f) OR NOT t)`, written as one group, is the where clause's null-safe `NOT t`
    ("nsnot": only an explicit NOT token qualifies, not an inner group read this way)."""
    if e[0] == "or" and len(e[1]) == 2 and e[1][0][0] == "not" and e[1][0][1][0] == "exists" \
            and e[1][1][0] == "not" and _field_of(e[1][1][1]) == e[1][0][1][1]:
        return ("nsnot", e[1][1][1])
    return e


def _field_of(t):
    return t[1] if t[0] in ("str", "re", "exists", "cidr", "cmp", "ref") else object()


def _eval_cmp(ts):
    left = _eval_operand(ts)
    if ts.at("op") and ts.peek()[1] in ("=", ">", ">=", "<", "<="):
        op = ts.take()[1]
        right = _eval_operand(ts)
        return _eval_comparison(left, op, right)
    if left[0] == "expr":
        return left[1]
    if left[0] == "call":
        return _eval_call(left)
    raise ReadError(f"a bare operand {left!r} is not a condition")


def _eval_call(c):
    _, fn, args = c
    if fn in ("true", "false") and not args:
        return ("const", fn == "true")
    if fn in ("isnull", "isnotnull") and len(args) == 1 and args[0][0] == "field":
        e = ("exists", args[0][1])
        return ("not", e) if fn == "isnull" else e
    if fn == "match" and len(args) == 2 and args[1][0] == "str":
        target = args[0]
        if target[0] == "field":
            return regex_leaf(target[1], args[1][1], "\\z")
        if target[0] == "call" and target[1] == "tostring" and target[2][0][0] == "field":
            lf = regex_leaf(target[2][0][1], args[1][1], "\\z")
            return lf
    if fn == "cidrmatch" and len(args) == 2 and args[0][0] == "str" and args[1][0] == "field":
        return ("cidr", args[1][1], args[0][1])
    raise ReadError(f"unexpected call {c!r}")


def _eval_comparison(left, op, right):
    if op == "=":
        if left[0] == "field" and right[0] == "str":
            return ("str", left[1], True, (right[1],) if right[1] else ())
        if left[0] == "field" and right[0] == "field":
            return ("ref", left[1], right[1], True)
        if left[0] == "call" and len(left[2]) == 1 and left[2][0][0] == "field":
            f = left[2][0][1]
            if left[1] == "lower" and right[0] == "str":
                return ("str", f, False, (right[1],) if right[1] else ())
            if left[1] == "tostring" and right[0] == "str":
                return ("str", f, True, (right[1],))
            if left[1] == "lower" and right[0] == "call" and right[1] == "lower" \
                    and right[2][0][0] == "field":
                return ("ref", f, right[2][0][1], False)
    if op != "=" and left[0] == "call" and left[1] == "tonumber" and right[0] == "num":
        return ("cmp", left[2][0][1], {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}[op],
                Decimal(right[1]))
    raise ReadError(f"unexpected comparison {left!r} {op} {right!r}")


# --- Kusto KQL ----------------------------------------------------------------------------

_KQL_ESC = {"\\": "\\", '"': '"', "'": "'", "t": "\t", "n": "\n", "r": "\r", "a": "\a",
            "b": "\b", "f": "\f", "v": "\v"}
_KQL_OPS = ("==", "=~", "!=", "!~", ">=", "<=", ">", "<", "(", ")", ",", "|", "*")
# words the reader treats as syntax: a bare identifier equal to one is not a column
KQL_SYNTAX = {"and", "or", "not", "in", "contains", "contains_cs", "startswith", "startswith_cs",
              "endswith", "endswith_cs", "matches", "regex", "has", "where", "true", "false",
              "between", "type", "like", "project", "extend", "take", "table", "null", "to"}


def kql_tokens(text: str) -> Tokens:
    toks, i = [], 0
    while i < len(text):
        c = text[i]
        if c in " \n":
            i += 1
        elif c in "\"'":
            value, i = _quoted(text, i, c, _KQL_ESC)
            toks.append(("str", value))
        elif c == "[" and text[i + 1: i + 2] in ("'", '"'):
            value, j = _quoted(text, i + 1, text[i + 1], _KQL_ESC)
            if text[j: j + 1] != "]":
                raise ReadError(f"bracketed name not closed at {j}")
            toks.append(("name", value))
            i = j + 1
        elif text.startswith("in~", i):
            toks.append(("word", "in~"))
            i += 3
        elif re.match(r"-?[0-9]", text[i:]) and not (toks and toks[-1][0] in ("name", "word")):
            m = re.match(r"-?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?", text[i:])
            toks.append(("num", m.group()))
            i += m.end()
        elif re.match(r"[A-Za-z_]", c):
            m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[i:])
            toks.append(("word", m.group()))
            i += m.end()
        else:
            for op in _KQL_OPS:
                if text.startswith(op, i):
                    toks.append(("op", op))
                    i += len(op)
                    break
            else:
                raise ReadError(f"unexpected {c!r} at {i}")
    return Tokens(toks)


def read_kql(query: str, table: str = "logs", one_line: bool = False) -> tuple:
    head = f"{table} | where " if one_line else f"{table}\n| where "
    if not query.startswith(head):
        raise ReadError(f"query does not start with {head!r}")
    ts = kql_tokens(query[len(head):])
    e = _kql_or(ts)
    ts.done()
    return e


def _kql_or(ts):
    items = [_kql_and(ts)]
    while ts.at("word", "or"):
        ts.take()
        items.append(_kql_and(ts))
    return items[0] if len(items) == 1 else ("or", tuple(items))


def _kql_and(ts):
    items = [_kql_unary(ts)]
    while ts.at("word", "and"):
        ts.take()
        items.append(_kql_unary(ts))
    return items[0] if len(items) == 1 else ("and", tuple(items))


def _kql_unary(ts):
    if ts.at("word", "not") and ts.peek(1) == ("op", "("):
        ts.take()
        ts.take()
        e = _kql_or(ts)
        ts.take("op", ")")
        return ("not", e)
    if ts.at("op", "("):
        ts.take()
        e = _kql_or(ts)
        ts.take("op", ")")
        return e
    if ts.at("word", "true") or ts.at("word", "false"):
        return ("const", ts.take()[1] == "true")
    return _kql_cmp(ts)


def _kql_operand(ts):
    tok = ts.take()
    if tok[0] == "name":
        return ("field", tok[1])
    if tok == ("op", "*"):
        return ("field", None)
    if tok[0] in ("str", "num"):
        return tok
    if tok[0] == "word":
        if ts.at("op", "("):
            ts.take()
            args = [_kql_operand(ts)]
            while ts.at("op", ","):
                ts.take()
                args.append(_kql_operand(ts))
            ts.take("op", ")")
            return ("call", tok[1], args)
        if tok[1] in KQL_SYNTAX:
            raise ReadError(f"keyword {tok[1]!r} written as a bare column name")
        return ("field", tok[1])
    raise ReadError(f"unexpected operand {tok!r}")


_KQL_STR = {"=~": ("eq", False), "==": ("eq", True), "contains": ("contains", False),
            "contains_cs": ("contains", True), "startswith": ("prefix", False),
            "startswith_cs": ("prefix", True), "endswith": ("suffix", False),
            "endswith_cs": ("suffix", True)}
_KQL_CMP_OPS = ("==", "=~", ">", ">=", "<", "<=")
_SHAPES = {"eq": lambda v: (v,), "contains": lambda v: (ANY, v, ANY),
           "prefix": lambda v: (v, ANY), "suffix": lambda v: (ANY, v)}


def _kql_cmp(ts):
    left = _kql_operand(ts)
    tok = ts.peek()
    if left[0] == "call" and not (tok[0] == "op" and tok[1] in _KQL_CMP_OPS or tok[0] == "word"
                                  and (tok[1] in _KQL_STR or tok[1] in ("matches", "in~"))):
        return _kql_call(left)
    op = ts.take()[1]
    if op == "matches":
        ts.take("word", "regex")
        rx = ts.take("str")[1]
        return regex_leaf(_kql_field(left), rx, "$")
    if op == "in~":
        ts.take("op", "(")
        values = [ts.take("str")[1]]
        while ts.at("op", ","):
            ts.take()
            values.append(ts.take("str")[1])
        ts.take("op", ")")
        return ("or", tuple(("str", _kql_field(left), False, (v,) if v else ()) for v in values))
    right = _kql_operand(ts)
    if op in _KQL_STR and right[0] == "str":
        shape, cased = _KQL_STR[op]
        f = left[2][0][1] if left[0] == "call" and left[1] == "tostring" else _kql_field(left)
        return ("str", f, cased, patterns.normalize(_SHAPES[shape](right[1])))
    if op in ("=~", "==") and left[0] == "field" and right[0] == "field":
        return ("ref", left[1], right[1], op == "==")
    if op in (">", ">=", "<", "<=") and left[0] == "call" and left[1] == "todouble" \
            and right[0] == "num":
        return ("cmp", left[2][0][1], {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}[op],
                Decimal(right[1]))
    raise ReadError(f"unexpected comparison {left!r} {op} {right!r}")


def _kql_field(operand):
    if operand[0] != "field":
        raise ReadError(f"expected a column, got {operand!r}")
    return operand[1]


def _kql_call(c):
    _, fn, args = c
    if fn in ("isnull", "isnotnull") and len(args) == 1:
        e = ("exists", _kql_field(args[0]))
        return ("not", e) if fn == "isnull" else e
    if fn in ("ipv4_is_in_range", "ipv6_is_in_range") and len(args) == 2 and args[1][0] == "str":
        return ("cidr", _kql_field(args[0]), args[1][1])
    raise ReadError(f"unexpected call {c!r}")
