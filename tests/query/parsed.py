"""Lucene and SQL queries read back by their own parsers (luqum, sqlglot) into the canonical
tree of tests/query/canon.py: luqum's and sqlglot's trees mapped node by node, strictly.
"""
from __future__ import annotations

import re
from decimal import Decimal

from sigcc.compiler import patterns
from sigcc.compiler.ir import Wild
from tests.query.canon import ANY, ONE, ReadError

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
