"""What every query backend shares: the passes before rendering and the walk over expressions.

A backend turns one RuleIR into one query string. Before a backend sees a rule, three pure
passes run (each returns the very object it was given when nothing changes):

- `inline`: the condition with every `Ref` replaced by its search's expression;
- `simplify`: nested And/Or flattened, constants folded, `not not x` removed;
- `push_not` (only for backends with `PUSH_NOT`): negation moved down to the tests, so a
  backend with three-valued logic (SQL) can make each negated test NULL-safe on its own.

A backend subclass is mostly tables: its flags, its operator templates and one `escape()`.
The walk (`render`) calls `and_`/`or_`/`not_`/`const`/`match`; a test the target cannot
express raises `Unsupported`, which the API turns into a per-rule Diagnostic with the
file:line of the detection item — never a query that selects different events.

Quoting (see docs/query-backends.md, "Quoting and injection"): every field name and every
value reaches query text through one function per target and context (field name, plain
string, wildcard string, regex, number), and each either writes it by the target's grammar or
raises Unsupported — no code path writes rule text raw. The helpers below are shared: which
characters count as control characters, a checked number, and the writing of literal text
and of a rule's regex into a target regex dialect with hex escapes for what a query cannot
carry printably. No query holds a raw line break (a query is one line, printed as is; KQL's
`table\n| where` line break is the only one, structural).
"""
from __future__ import annotations

import math
import re
from re import _parser
from typing import Callable, ClassVar, Mapping

from sigcc.compiler.ir import And, Const, Exists, Expr, Match, Not, Null, Or, Ref, RuleIR, Wild
from sigcc.diagnostics import Span


class Unsupported(Exception):
    """A construct the target cannot express; `span` points at the detection item."""

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint


# --- passes -------------------------------------------------------------------------------

def inline(rule: RuleIR) -> Expr:
    """The rule's condition with each search identifier replaced by its expression."""
    searches = {s.name: s.expr for s in rule.searches}

    def go(e: Expr) -> Expr:
        if isinstance(e, Ref):
            return go(searches[e.name])
        if isinstance(e, (And, Or)):
            items = tuple(go(x) for x in e.items)
            return e if all(a is b for a, b in zip(items, e.items)) else type(e)(items)
        if isinstance(e, Not):
            item = go(e.item)
            return e if item is e.item else Not(item)
        return e

    return go(rule.condition)


def simplify(e: Expr) -> Expr:
    """Flatten nested And/Or, fold constants, drop double negation."""
    if isinstance(e, (And, Or)):
        unit = isinstance(e, And)  # And: True is neutral, False absorbs; Or: the reverse
        items: list[Expr] = []
        for x in e.items:
            x = simplify(x)
            if isinstance(x, Const):
                if x.value is unit:
                    continue
                return Const(not unit)
            if type(x) is type(e):
                items.extend(x.items)
            else:
                items.append(x)
        if not items:
            return Const(unit)
        if len(items) == 1:
            return items[0]
        new = tuple(items)
        return e if new == e.items and all(a is b for a, b in zip(new, e.items)) else type(e)(new)
    if isinstance(e, Not):
        item = simplify(e.item)
        if isinstance(item, Const):
            return Const(not item.value)
        if isinstance(item, Not):
            return item.item
        return e if item is e.item else Not(item)
    return e


def push_not(e: Expr, negate: bool = False) -> Expr:
    """Negation normal form: Not only directly above a Match (De Morgan; linear in size)."""
    if isinstance(e, Not):
        return push_not(e.item, not negate)
    if isinstance(e, (And, Or)):
        kind = type(e) if not negate else (Or if isinstance(e, And) else And)
        items = tuple(push_not(x, negate) for x in e.items)
        if not negate and all(a is b for a, b in zip(items, e.items)):
            return e
        return kind(items)
    if isinstance(e, Const):
        return Const(not e.value) if negate else e
    return Not(e) if negate else e


def rule_expression(rule: RuleIR, push_negation: bool = False) -> Expr:
    """The one expression a query for `rule` must select (pipelines have already run)."""
    e = simplify(inline(rule))
    return simplify(push_not(e)) if push_negation else e


NEGATED = {Null: Exists, Exists: Null}  # tests whose negation is another test


# --- the walk -----------------------------------------------------------------------------

class Backend:
    """Base of all query backends. Subclasses fill the tables and the few methods below."""

    name: ClassVar[str] = ""
    PUSH_NOT: ClassVar[bool] = False  # render negation on tests only (see push_not)
    # the logsource conditions and the field aliases of the runtime's table (see their files)
    DEFAULT_PIPELINES: ClassVar[tuple[str, ...]] = ("windows-logsources", "windows-field-aliases")
    SETTINGS: ClassVar[Mapping[str, str]] = {}  # setting name -> help text

    def __init__(self, settings: Mapping[str, object] | None = None):
        settings = dict(settings or {})
        unknown = sorted(set(settings) - set(self.SETTINGS))
        if unknown:
            raise ValueError(f"target {self.name!r} has no setting(s) {', '.join(unknown)}; "
                             f"it knows: {', '.join(self.SETTINGS) or 'none'}")
        self.settings = settings

    # API
    def convert(self, rule: RuleIR) -> str:
        """One query for one rule; raises Unsupported."""
        return self.finish(self.render(rule_expression(rule, self.PUSH_NOT)), rule)

    def finish(self, rendered, rule: RuleIR) -> str:
        """Wrap the rendered condition into the full query (a table, a pipe...)."""
        return rendered

    def one_line(self, query: str) -> str:
        """The query on one line with the same meaning (`sigcc query`'s plain output).

        Values never hold a raw line break (each target writes its own escape, or the rule
        gets an error), so only a line break the backend itself placed can occur here.
        """
        return query

    # walk
    def render(self, e: Expr):
        if isinstance(e, Match):
            return self.match(e)
        if isinstance(e, Not):
            m = e.item
            if isinstance(m, Match) and m.field is not None and type(m.test) in NEGATED:
                return self.match(Match(m.field, NEGATED[type(m.test)](), m.span))  # second table
            if self.PUSH_NOT and isinstance(e.item, Match):
                return self.match_not(e.item)
            return self.not_(e.item, self.render(e.item))
        if isinstance(e, And):
            return self.and_([(x, self.render(x)) for x in e.items])
        if isinstance(e, Or):
            grouped = self.group_or(e)
            if grouped is not None:
                return grouped
            return self.or_([(x, self.render(x)) for x in e.items])
        if isinstance(e, Const):
            return self.const(e.value)
        raise TypeError(f"cannot render {type(e).__name__}")  # Ref/OfPattern are gone by now

    def group_or(self, e: Or):
        """A shorter form for an Or of tests on one field (e.g. `f IN (...)`), or None."""
        return None

    # to be filled by subclasses
    def match(self, m: Match):
        raise NotImplementedError

    def match_not(self, m: Match):
        raise NotImplementedError

    def and_(self, items):
        raise NotImplementedError

    def or_(self, items):
        raise NotImplementedError

    def not_(self, item: Expr, rendered):
        raise NotImplementedError

    def const(self, value: bool):
        raise NotImplementedError


def unsupported(m: Match, target: str, what: str, hint: str | None = None) -> Unsupported:
    field = "keyword search" if m.field is None else f"field {m.field!r}"
    return Unsupported(f"{target} cannot express {what} ({field})", m.span, hint)


class TextBackend(Backend):
    """A backend whose query is text with infix AND/OR, prefix NOT and parentheses."""

    AND: ClassVar[str] = " AND "
    OR: ClassVar[str] = " OR "
    NOT: ClassVar[str] = "NOT {}"
    GROUP: ClassVar[str] = "({})"
    TRUE: ClassVar[str] = "*"
    FALSE: ClassVar[str] = "NOT *"

    def _operand(self, e: Expr, text: str) -> str:
        # Every compound operand is grouped: no target's precedence is trusted (Splunk's
        # OR binds tighter than its implicit AND; Lucene's default operator is configurable).
        if isinstance(e, Or) and self.group_or(e) is not None:
            return text  # an IN list is one operand
        return self.GROUP.format(text) if isinstance(e, (And, Or)) else text

    def and_(self, items) -> str:
        return self.AND.join(self._operand(e, t) for e, t in items)

    def or_(self, items) -> str:
        return self.OR.join(self._operand(e, t) for e, t in items)

    def not_(self, item: Expr, rendered: str) -> str:
        grouped = isinstance(item, (And, Or))  # leaves render atomic (see match())
        return self.NOT.format(self.GROUP.format(rendered) if grouped else rendered)

    def const(self, value: bool) -> str:
        return self.TRUE if value else self.FALSE


# --- quoting helpers ----------------------------------------------------------------------

# What str.splitlines() splits on: none of these may appear raw in a query (printed queries
# are one line each, and a reader that splits lines must not see two queries or half of one).
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
# Characters no target writes raw: the C0/C1 controls (Unicode category Cc, tab included) and
# the line/paragraph separators (Zl, Zp); LINE_BREAKS is a subset. As regexes: C speed.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
LINE_BREAK = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def has_control(text: str) -> bool:
    return CONTROL.search(text) is not None


def describe(c: str) -> str:
    """A character no query may hold raw, for messages: 'a line break (U+000A)'."""
    return f"{'a line break' if c in LINE_BREAKS else 'a control character'} (U+{ord(c):04X})"


def field_error(m: Match, target: str, name: str, why: str, hint: str | None = None) -> Unsupported:
    """A field name (or fieldref target) the target cannot quote: a per-rule error."""
    return Unsupported(f"{target} cannot quote the field name {name!r}: {why}", m.span,
                       hint or "rename the field with a pipeline (field_name_mapping)")


def number(m: Match, target: str, n) -> str:
    """A rule number as decimal text; NaN and infinities have no query form in any target."""
    if isinstance(n, bool) or not isinstance(n, (int, float)):
        raise unsupported(m, target, f"the number {n!r}")
    if isinstance(n, float):
        if not math.isfinite(n):
            raise unsupported(m, target, f"a comparison with the non-finite number {n!r}")
        return str(int(n)) if n.is_integer() and abs(n) < 1e16 else repr(n)
    return str(n)


# Regex metacharacters of PCRE, RE2, Java and Python alike (outside character classes).
_REGEX_META = re.compile(r"[\\.^$|?*+()\[\]{}]")
HexEscape = Callable[[str], str]


def hex_braced(c: str) -> str:
    r"""PCRE / RE2 / Java: `\x{hh}`."""
    return "\\x{%x}" % ord(c)


def regex_literal(text: str, hexfmt: HexEscape) -> str:
    """Literal text as a regex that matches exactly it: metacharacters backslash-escaped,
    control characters as hex escapes (added after, so their braces stay unescaped)."""
    text = _REGEX_META.sub(r"\\\g<0>", text)
    return CONTROL.sub(lambda m: hexfmt(m.group()), text) if has_control(text) else text


def glob_regex(parts, hexfmt: HexEscape) -> str:
    """A Sigma wildcard string as a regex body (no anchors): `*` -> `.*`, `?` -> `.`."""
    return "".join(".*" if p is Wild.ANY else "." if p is Wild.ONE else
                   regex_literal(p, hexfmt) for p in parts)


def regex_controls(m: Match, target: str, pattern: str, flags: str, hexfmt: HexEscape,
                   also: str = "") -> str:
    r"""A rule regex with each raw control character (and each of `also`) as a hex escape.

    A backslash before such a character escapes it (`\` + newline is a literal newline in
    Python, PCRE and RE2 alike), so the pair becomes the one escape. In verbose mode a raw
    line break ends a comment and whitespace is ignored, so there it is refused instead.
    """
    chars = re.compile(r"\\?[\x00-\x1f\x7f-\x9f\u2028\u2029" + re.escape(also) + "]")
    if not chars.search(pattern):
        return pattern
    if "x" in flags or _verbose(pattern):
        raise unsupported(m, target, "a verbose-mode regex holding a control character")
    # `\\` pairs first, so that an escaped backslash before a control character stays one
    return re.sub(r"\\\\|" + chars.pattern, lambda x: x.group() if x.group() == "\\\\"
                  else hexfmt(x.group()[-1]), pattern)


def _verbose(pattern: str) -> bool:
    try:
        return bool(_parser.parse(pattern).state.flags & _parser.SRE_FLAG_VERBOSE)
    except Exception:  # an invalid pattern was refused while lowering; be safe
        return True


__all__ = ["Backend", "TextBackend", "Unsupported", "CONTROL", "LINE_BREAK", "LINE_BREAKS",
           "describe", "field_error",
           "glob_regex", "has_control", "hex_braced", "inline", "number",
           "push_not", "regex_controls", "regex_literal", "rule_expression", "simplify",
           "unsupported"]
