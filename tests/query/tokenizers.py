"""Read generated queries back into one canonical tree, independently of the backends.

Each reader knows only its target's syntax (how names, strings and regexes are quoted, which
operators exist and how they bind) and is strict: text it does not expect is a ReadError,
never a guess. SPL and KQL get a small tokenizer and recursive-descent parser here; Lucene is
read by luqum and SQL by sqlglot, then mapped to the same tree.

Canonical tree:
    ("and", [..]) ("or", [..]) ("not", x) ("const", bool)
    ("str", field, cased, parts)   field None = keyword search; parts hold str and Wild
    ("re", field, text)            a regex test (text canonical, see canon_regex)
    ("exists", field) ("cidr", field, network) ("cmp", field, op, Decimal)
    ("ref", field, other, cased)
`norm()` flattens, sorts and pushes negation down, so equal meaning gives equal trees;
`leaf()` canonicalises a leaf (case folded when case-insensitive; `cased` None when the text
has no letter case at all; a value `*` alone is "exists").
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from sigcc.compiler import patterns
from sigcc.compiler.ir import Wild

ANY, ONE = Wild.ANY, Wild.ONE
_CIDR = re.compile(r"^[0-9A-Fa-f.:]+/[0-9]+$")
# Defined here, not imported from the code under test: what str.splitlines() splits on, and
# the characters no query may hold raw (controls, line and paragraph separators).
LINE_BREAKS = frozenset(c for c in map(chr, range(0x3000)) if len(f"a{c}b".splitlines()) == 2)


def is_control(c: str) -> bool:
    return c in LINE_BREAKS or unicodedata.category(c) in ("Cc", "Zl", "Zp")


def has_control(text: str) -> bool:
    return any(map(is_control, text))


class ReadError(Exception):
    pass


# --- canonical form -----------------------------------------------------------------------

def _caseless(text: str) -> bool:
    return all(c.lower() == c and c.upper() == c for c in text)


def leaf(t: tuple, cidr: bool = False) -> tuple:
    if t[0] == "str":
        _, field, cased, parts = t
        parts = patterns.normalize(parts)
        if parts == (ANY,):
            return ("exists", field) if field is not None else ("const", True)
        if cased is False:
            parts = patterns.map_literals(parts, str.lower)
        if all(_caseless(p) for p in parts if isinstance(p, str)):
            cased = None
        if cidr and cased is not True and field is not None and len(parts) == 1 and \
                isinstance(parts[0], str) and _CIDR.match(parts[0]):
            return ("cidr", field, parts[0])  # Splunk search and Lucene write CIDR as a value
        return ("str", field, cased, parts)
    return t


def norm(t: tuple, negate: bool = False, cidr: bool = False) -> tuple:
    """Negation pushed to the leaves, and/or flattened into frozensets, leaves canonical;
    `cidr`: a plain value that looks like a network is a cidr test (Splunk, Lucene)."""
    kind = t[0]
    if kind in ("not", "nsnot"):
        return norm(t[1], not negate, cidr)
    if kind == "const":
        return ("const", t[1] != negate)
    if kind in ("and", "or"):
        k = kind if not negate else ("or" if kind == "and" else "and")
        unit = k == "and"
        items = []
        for x in t[1]:
            x = norm(x, negate, cidr)
            if x == ("const", unit):
                continue
            if x == ("const", not unit):
                return x
            items.extend(x[1] if x[0] == k else [x])
        uniq = frozenset(items)
        if not uniq:
            return ("const", unit)
        return next(iter(uniq)) if len(uniq) == 1 else (k, uniq)
    t = leaf(t, cidr)
    if t[0] == "const":
        return ("const", t[1] != negate)
    return ("not", t) if negate else t


def canon_regex(text: str) -> str:
    """A regex with `\\x{hh}` escapes decoded and backslashes before control characters and
    backticks dropped: both spell the same literal (outside verbose mode)."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            m = re.match(r"\\x\{([0-9a-fA-F]+)\}", text[i:])
            if m:
                out.append(chr(int(m.group(1), 16)))
                i += m.end()
                continue
            d = text[i + 1]
            out.append(d if _controlish(d) else c + d)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _controlish(c: str) -> bool:
    return is_control(c) or c == "`"


_META = set("\\.^$|?*+()[]{}")


def regex_leaf(field, text: str, end: str) -> tuple:
    """A regex test: a wildcard string when it has the exact form the backends write for one
    (`(?is)^lit.*lit$`-like, `end` the end anchor), else a regex leaf."""
    m = re.match(r"^\(\?(i?s)\)", text)
    if m:
        body, cased = text[m.end():], m.group(1) == "s"
        start = body.startswith("^")
        body = body[1:] if start else body
        stop = body.endswith(end) and not _escaped_at(body, len(body) - len(end))
        body = body[: len(body) - len(end)] if stop else body
        parts = _glob_parts(body)
        if parts is not None:
            return ("str", field, cased, ((() if start else (ANY,)) + parts + (() if stop else (ANY,))))
    return ("re", field, canon_regex(text))


def _escaped_at(text: str, pos: int) -> bool:
    n = 0
    while pos - n - 1 >= 0 and text[pos - n - 1] == "\\":
        n += 1
    return n % 2 == 1


def _glob_parts(body: str):
    out, i, buf = [], 0, []
    while i < len(body):
        c = body[i]
        if body.startswith(".*", i):
            out += ["".join(buf), ANY]
            buf, i = [], i + 2
        elif c == ".":
            out += ["".join(buf), ONE]
            buf, i = [], i + 1
        elif c == "\\":
            m = re.match(r"\\x\{([0-9a-fA-F]+)\}", body[i:])
            if m:
                buf.append(chr(int(m.group(1), 16)))
                i += m.end()
            elif i + 1 < len(body) and (body[i + 1] in _META or _controlish(body[i + 1])):
                buf.append(body[i + 1])
                i += 2
            else:
                return None
        elif c in _META:
            return None
        else:
            buf.append(c)
            i += 1
    out.append("".join(buf))
    return patterns.normalize(out)


def star_parts(text: str) -> tuple:
    """A value where `*` is the only wildcard (Splunk search)."""
    out = []
    for i, piece in enumerate(text.split("*")):
        if i:
            out.append(ANY)
        out.append(piece)
    return patterns.normalize(out)


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


# --- Lucene (through luqum) ---------------------------------------------------------------

def lucene_unescape(text: str, decode: bool) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if decode and text.startswith("\\u", i) and re.match(r"\\u[0-9a-fA-F]{4}", text[i:]):
                out.append(chr(int(text[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(text[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def lucene_value(text: str) -> tuple:
    """A term: wildcards are unescaped `*`/`?` (not decoded); else a plain, decoded term."""
    parts, buf, i, wild = [], [], 0, False
    while i < len(text):
        c = text[i]
        if c == "\\":
            buf.append(text[i:i + 2])
            i += 2
            continue
        if c in "*?":
            wild = True
            parts += ["".join(buf), ANY if c == "*" else ONE]
            buf = []
        else:
            buf.append(c)
        i += 1
    parts.append("".join(buf))
    if not wild:
        return (lucene_unescape(text, True),) if text else ()
    return patterns.normalize([p if isinstance(p, Wild) else lucene_unescape(p, False)
                               for p in parts])


def read_lucene(query: str) -> tuple:
    from luqum import tree
    from luqum.parser import parser
    return _luqum(parser.parse(query), tree)


def _luqum(n, tree, field=None):
    if isinstance(n, tree.AndOperation):
        return ("and", tuple(_luqum(c, tree, field) for c in n.children))
    if isinstance(n, tree.OrOperation):
        return ("or", tuple(_luqum(c, tree, field) for c in n.children))
    if isinstance(n, tree.Not):
        return ("not", _luqum(n.a, tree, field))
    if isinstance(n, tree.Group) and not isinstance(n, tree.FieldGroup):
        return _luqum(n.expr, tree, field)
    if isinstance(n, tree.SearchField):
        if field is not None:
            raise ReadError("field inside a field")
        name = lucene_unescape(n.name, True)
        inner = n.expr
        if n.name == "_exists_" and isinstance(inner, tree.Word):
            return ("exists", lucene_unescape(inner.value, True))
        if n.name == "*" and isinstance(inner, tree.Word) and inner.value == "*":
            return ("const", True)
        return _luqum_value(inner, tree, name)
    if isinstance(n, (tree.Word, tree.Phrase, tree.Regex)):
        return _luqum_value(n, tree, None)
    raise ReadError(f"unexpected Lucene node {type(n).__name__}: {n!r}")


def _luqum_value(n, tree, field):
    if isinstance(n, tree.Word):
        return ("str", field, False, lucene_value(n.value))
    if isinstance(n, tree.Phrase):
        if n.value != '""':
            raise ReadError(f"unexpected phrase {n.value!r}")
        return ("str", field, False, ())
    if isinstance(n, tree.Regex):
        return ("re", field, n.value[1:-1])
    if isinstance(n, tree.Range):
        low, high = (_bound(x, tree) for x in (n.low, n.high))
        if high == "*":
            return ("cmp", field, "gte" if n.include_low else "gt", Decimal(low))
        if low == "*":
            return ("cmp", field, "lte" if n.include_high else "lt", Decimal(high))
    raise ReadError(f"unexpected Lucene value {type(n).__name__}: {n!r}")


def _bound(x, tree):
    if isinstance(x, tree.Phrase):
        return x.value[1:-1]
    if isinstance(x, tree.Word):
        return x.value
    raise ReadError(f"unexpected range bound {x!r}")


# --- SQL (through sqlglot) ----------------------------------------------------------------

def read_sql(query: str, dialect: str) -> tuple:
    import sqlglot
    from sqlglot import exp
    tree = sqlglot.parse_one(query, dialect=dialect)
    if not isinstance(tree, exp.Select) or tree.args.get("where") is None:
        raise ReadError("not a SELECT ... WHERE")
    return _sql(tree.args["where"].this, exp)


def sql_text(e, exp) -> str:
    if isinstance(e, exp.Paren):
        return sql_text(e.this, exp)
    if isinstance(e, exp.Literal) and e.is_string:
        return e.this
    if isinstance(e, exp.Chr):
        return "".join(chr(int(a.this)) for a in e.expressions)
    if isinstance(e, (exp.DPipe, exp.Add)):
        return sql_text(e.this, exp) + sql_text(e.expression, exp)
    if isinstance(e, exp.Concat):
        return "".join(sql_text(a, exp) for a in e.expressions)
    raise ReadError(f"not a string: {e.sql()!r}")


def _col(e, exp):
    """(column name, lowered?) of `col` or `LOWER(col)`."""
    if isinstance(e, exp.Lower) and isinstance(e.this, exp.Column):
        return _col(e.this, exp)[0], True
    if isinstance(e, exp.Column) and not e.table:
        return e.name, False
    raise ReadError(f"not a column: {e.sql()!r}")


def like_parts(text: str) -> tuple:
    out, buf, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            buf.append(text[i + 1])
            i += 2
            continue
        if c in "%_":
            out += ["".join(buf), ANY if c == "%" else ONE]
            buf = []
        else:
            buf.append(c)
        i += 1
    out.append("".join(buf))
    return patterns.normalize(out)


def glob_parts(text: str) -> tuple:
    out, buf, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "[":
            j = text.index("]", i + 2)
            buf.append(text[i + 1:j])
            i = j + 1
            continue
        if c in "*?":
            out += ["".join(buf), ANY if c == "*" else ONE]
            buf = []
        else:
            buf.append(c)
        i += 1
    out.append("".join(buf))
    return patterns.normalize(out)


_SQL_CMP = {"GT": "gt", "GTE": "gte", "LT": "lt", "LTE": "lte"}


def _sql(e, exp):
    if isinstance(e, exp.Paren):
        return _sql(e.this, exp)
    if isinstance(e, exp.And):
        return ("and", (_sql(e.this, exp), _sql(e.expression, exp)))
    if isinstance(e, exp.Or):
        return ("or", (_sql(e.this, exp), _sql(e.expression, exp)))
    if isinstance(e, exp.Not):
        return ("not", _sql(e.this, exp))
    if isinstance(e, exp.Coalesce) and len(e.expressions) == 1 and \
            _sql(e.expressions[0], exp) == ("const", False):
        return _sql(e.this, exp)  # NULL-safe: NOT COALESCE(t, FALSE) selects what NOT t means
    if isinstance(e, exp.Boolean):
        return ("const", bool(e.this))
    if isinstance(e, exp.EQ) and all(isinstance(x, exp.Literal) and not x.is_string
                                     for x in (e.this, e.expression)):
        return ("const", e.this.this == e.expression.this)  # T-SQL has no TRUE/FALSE: (1 = 0)
    if isinstance(e, exp.Is) and isinstance(e.expression, exp.Null):
        return ("not", ("exists", _col(e.this, exp)[0]))
    if isinstance(e, exp.EQ):
        a, b = e.this, e.expression
        if isinstance(b, (exp.Column, exp.Lower)) and not isinstance(
                getattr(b, "this", None), exp.Literal):
            (f, la), (g, lb) = _col(a, exp), _col(b, exp)
            if la != lb:
                raise ReadError("mixed LOWER in a field comparison")
            return ("ref", f, g, not la)
        f, low = _col(a, exp)
        text = sql_text(b, exp)
        return ("str", f, not low, (text,) if text else ())
    if isinstance(e, exp.In):
        f, low = _col(e.this, exp)
        return ("or", tuple(("str", f, not low, (t,) if t else ())
                            for t in (sql_text(x, exp) for x in e.expressions)))
    if isinstance(e, exp.Escape) and isinstance(e.this, exp.Like):
        if sql_text(e.expression, exp) != "\\":
            raise ReadError("LIKE with another escape character")
        f, low = _col(e.this.this, exp)
        return ("str", f, not low, like_parts(sql_text(e.this.expression, exp)))
    if isinstance(e, exp.Glob):
        f, low = _col(e.this, exp)
        return ("str", f, not low, glob_parts(sql_text(e.expression, exp)))
    if isinstance(e, exp.RegexpLike):
        return ("re", _col(e.this, exp)[0], sql_text(e.expression, exp))
    if type(e).__name__ in _SQL_CMP and isinstance(e.this, exp.Case):
        cast = e.this.args["ifs"][0].args["true"]
        n = e.expression
        text = "-" + n.this.this if isinstance(n, exp.Neg) else n.this
        return ("cmp", _col(cast.this, exp)[0], _SQL_CMP[type(e).__name__], Decimal(text))
    raise ReadError(f"unexpected SQL node {type(e).__name__}: {e.sql()!r}")
