"""Regular expressions in time linear in the value, with exactly Python `re`'s results.

Rule regexes (`|re`) and wildcard globs run here. Python's `re` backtracks: `(a+)+$` or
`(.*a){20}` on a long value never ends, and a glob `*a*a*a*b` is polynomial. So every
pattern is parsed with Python's own parser (`re._parser`) and written out again from the
parse tree for one of two engines:

- **RE2** (google-re2; linear time, no backtracking) for every pattern it can express;
- the **bounded** engine (the `regex` package with `timeout=`) for the rest: look-arounds,
  back-references, conditional groups, atomic groups and possessive repeats, `$` before the
  end of the pattern, repetition counts over 1000, programs too large for RE2, and `\\b`/`\\B`
  on values with non-ASCII characters. A test that takes longer than `Options.regex_timeout`
  raises `RegexTimeout`: the runtime reports it as a per-rule error for that event (never a
  hang, never a silent non-match). `sigcc validate` warns about the patterns that need it
  for every value (`regex-bounded-engine`, see `bounded_reason`).

Why each translation is exact (the written pattern accepts exactly the values `re` accepts):

- *Every single-character matcher* (a literal, a literal under IGNORECASE, a class, a
  category `\\d \\w \\s`, `.`, a negated literal) becomes an explicit class of code points,
  and its members are computed **by running `re` itself** on every candidate character,
  with the flags in force at that place (`(?i:...)`, `(?-s:...)`, `(?a)` included): the
  single node is compiled alone by `re._compiler` and tried on the 128 ASCII characters,
  or, for the Unicode variant, found as runs by `finditer` over one string of all code
  points (0..0x10FFFF, lazily built, cached per node and flags). Python's `re` matches one
  code point per such node (no multi-character case folding), so a node and its member
  class accept the same characters. This removes every known RE2/`re` difference at once:
  Unicode `\\d \\w \\s` (and `\\s` holding `\\v`, `\\x1c`-`\\x1f`, `\\x85`), `ı`/`İ`/`ſ`/`K`
  under IGNORECASE, `.` and DOTALL. Without IGNORECASE, literals, negated literals, `.`
  and classes are written from sre's definitions (`ch == c`, `ch != c`, `ch != '\\n'`, a
  class the union of its literals, ranges and categories, NEGATE its complement), with
  `re` asked only for the members of the six categories; `tests/runtime/test_regex_engine.py`
  checks those definitions against `re` (hypothesis nodes x characters). The written
  pattern carries no flags at all. A Unicode scan costs ~10 ms, so one pattern may hold at
  most MAX_SCANNED_CLASSES distinct case-insensitive characters and classes (refused at
  rule compile time past that; realistic patterns hold a few dozen).
- *Two variants per pattern*: a value with only ASCII characters runs on classes cut down
  to ASCII members (cheap to compute; the value cannot hold the others), any other value
  on the full classes (computed the first time such a value comes). RE2 reads UTF-8, and a
  value with a lone surrogate cannot be encoded: it runs on the bounded variant, whose
  classes do hold surrogates. The empty value is computed once per pattern on the bounded
  engine and cached (in 3.11, `\\B` never matches an empty string; RE2's does).
- *Anchors* are written explicitly: `^` is `\\A`, `\\Z` is `\\z`; under MULTILINE, `^`/`$`
  are RE2's `(?m:^)`/`(?m:$)` (start or after `\\n`; end or before `\\n`: sre's
  AT_BEGINNING_LINE/AT_END_LINE). Python's `$` without MULTILINE also matches before a final
  newline; where nothing follows it in the pattern ("tail position": the last item of the
  pattern, through groups, alternatives and `?`), it is written as the consuming
  `\\n?\\z` (a search only asks whether some match exists, and the match ends there), and as
  nothing for `fullmatch` (which must end at the end, where `$` holds). `\\b`/`\\B` are
  RE2's on ASCII values (or under `(?a)`), where Unicode and ASCII word characters agree.
- *Structure* is kept: alternation, groups (non-capturing for RE2), greedy and lazy repeats
  (laziness decides which match, never whether one exists, for the regular patterns RE2
  gets). A pattern's result is the existence of a match: for patterns without
  back-references, look-arounds, atomic groups and possessive repeats that is membership
  of a regular language, which RE2 decides in one pass.
- *The bounded variant* is written the same way (explicit classes, no flags), in the
  `regex` package's syntax, keeping capture groups (numbered as in the original),
  back-references, look-arounds, atomic groups, possessive repeats and conditionals, with
  anchors as explicit look-arounds (`$` is `(?=\\n?\\Z)`, `\\b` is `(?<=W)(?!W)|(?<!W)(?=W)`
  over the word class W computed as above): `regex`'s own Unicode tables and case folding
  are never used. One thing cannot be written so: a back-reference under IGNORECASE
  (`re` compares the lower-case forms, `regex` its case folds: they differ on `ſ`, `ς`,
  `µ`, `ı`); such a pattern is refused when the rule is compiled (`RegexUnsupported`).

`tests/conformance/test_regex_differential.py` holds this against `re` on every regex and
glob of the SigmaHQ rules x the corpus event values plus adversarial strings, and on
hypothesis patterns x hypothesis strings. Compiling is lazy (first use) and cached per
pattern, flags, variant and mode, so loading a module of 3,750 rules compiles nothing.
"""
from __future__ import annotations

import array
import re
from dataclasses import dataclass
from functools import lru_cache
from re import _compiler, _parser
from re import _constants as C

import re2
from re2 import _re2

__all__ = ["Regex", "RegexTimeout", "RegexUnsupported", "Translation", "translate", "check",
           "bounded_reason", "unicode_bounded_reason", "flag_bits", "members",
           "SEARCH", "FULLMATCH", "ASCII", "UNICODE"]

SEARCH, FULLMATCH = "search", "fullmatch"  # modes
ASCII, UNICODE = "ascii", "unicode"  # variants: which values a translation is for
RE2, BOUNDED = "re2", "bounded"  # engines
MAX_RE2_COUNT = 1000  # RE2 refuses larger repetition counts
MAX_SCANNED_CLASSES = 256  # distinct IGNORECASE nodes of one pattern (~10 ms each, Unicode)

_FLAG_BITS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}
_CHAR_FLAGS = (C.SRE_FLAG_IGNORECASE | C.SRE_FLAG_DOTALL | C.SRE_FLAG_ASCII
               | C.SRE_FLAG_UNICODE | C.SRE_FLAG_LOCALE)  # what a one-character node reads
_TYPE_FLAGS = C.SRE_FLAG_ASCII | C.SRE_FLAG_UNICODE | C.SRE_FLAG_LOCALE
_SINGLE = (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN)
_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)
_TOP = {ASCII: 0x7F, UNICODE: 0x10FFFF}
_B_ON_EMPTY = re.search(r"\B", "") is not None  # False in 3.11; asked of re, not assumed
_WORD = (C.IN, ((C.CATEGORY, C.CATEGORY_WORD),))
_EVERY = (C.ANY, None)  # with DOTALL: every character


def _re2_options():
    o = re2.Options()
    o.never_capture = True  # a yes/no answer: one span, no submatches
    o.log_errors = False  # a pattern RE2 refuses goes to the bounded engine, quietly
    return o


_RE2_OPTIONS = _re2_options()
_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_ANCHOR_BOTH = _re2.RE2.Anchor.ANCHOR_BOTH


class RegexTimeout(Exception):
    """A bounded-engine test took longer than `Options.regex_timeout` (the limit's name is
    `limit`): reported by the runtime as an error of that rule for that event."""

    limit = "regex_timeout"

    def __init__(self, pattern: str, flags: str, seconds, length: int):
        self.pattern, self.flags, self.seconds, self.length = pattern, flags, seconds, length
        super().__init__(f"regex {pattern!r}" + (f" (flags {flags!r})" if flags else "")
                         + f" exceeded regex_timeout={seconds} s on a {length}-character value "
                         "(it runs on the bounded engine: look-around, back-reference or the like)")

    def __reduce__(self):
        return RegexTimeout, (self.pattern, self.flags, self.seconds, self.length)


class RegexUnsupported(ValueError):
    """A pattern Python accepts but sigcc cannot run exactly and in bounded time."""


class _Bounded(Exception):
    """Raised by the RE2 writer: this pattern needs the bounded engine (args[0]: why)."""


@dataclass(frozen=True, slots=True)
class Translation:
    """A pattern written for one engine: `engine` is "re2" or "bounded", `reason` says why
    a pattern is bounded (None for RE2)."""

    engine: str
    source: str
    reason: str | None = None


def flag_bits(flags: str) -> int:
    """Sigma's flag string (i/m/s, from the re modifiers) as `re` flags."""
    bits = 0
    for c in flags:
        bits |= _FLAG_BITS[c]
    return bits


@lru_cache(maxsize=8192)
def _parse(pattern: str, flags: str):
    return _parser.parse(pattern, flag_bits(flags))


# --- the members of one-character nodes, computed by re ------------------------------------

@lru_cache(maxsize=1)
def _all_chars() -> str:
    """Every code point, surrogates included, in order (4.4 MB; built on first need)."""
    return array.array("I", range(0x110000)).tobytes().decode("utf-32-le", "surrogatepass")


def _freeze(node):
    op, av = node
    return (op, tuple(av)) if op is C.IN else (op, av)


def _compile_node(items: list, flags: int):
    state = _parser.State()
    state.flags = flags
    return _compiler.compile(_parser.SubPattern(state, items))


def _runs(codes) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for c in codes:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return tuple((lo, hi) for lo, hi in out)


def _complement(ranges, top: int) -> tuple[tuple[int, int], ...]:
    out, nxt = [], 0
    for lo, hi in ranges:
        if lo > nxt:
            out.append((nxt, min(lo - 1, top)))
        nxt = hi + 1
    if nxt <= top:
        out.append((nxt, top))
    return tuple((lo, hi) for lo, hi in out if lo <= hi)


def _union(ranges, top: int) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        hi = min(hi, top)
        if lo > hi:
            continue
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


def needs_scan(node, flags: int) -> bool:
    """Whether `members` asks `re` about every candidate character for this node (under
    IGNORECASE); a category is scanned too, but there are only twelve of them."""
    return bool(flags & C.SRE_FLAG_IGNORECASE) and node[0] is not C.ANY


@lru_cache(maxsize=None)
def members(node, flags: int, charset: str) -> tuple[tuple[int, int], ...]:
    """The code points (inclusive ranges) that one-character parse node `node` (frozen)
    matches under `flags`; only ASCII ones for the ASCII variant.

    Without IGNORECASE, sre's definitions give them (LITERAL: `ch == c`, NOT_LITERAL:
    `ch != c`, ANY: `ch != '\n'` or, with DOTALL, any; IN: the union of its literals,
    ranges `lo <= ch <= hi` and categories, complemented by NEGATE), where the members of a
    category and of any node under IGNORECASE are found by running `re` on every candidate."""
    op, av = node
    top = _TOP[charset]
    if op is C.ANY:
        return ((0, top),) if flags & C.SRE_FLAG_DOTALL else _complement(((10, 10),), top)
    if not flags & C.SRE_FLAG_IGNORECASE:
        if op is C.LITERAL:
            return _union(((av, av),), top)
        if op is C.NOT_LITERAL:
            return _complement(((av, av),), top)
        if op is C.IN:
            got, negate = [], False
            for kind, arg in av:
                if kind is C.NEGATE:
                    negate = True
                elif kind is C.LITERAL:
                    got.append((arg, arg))
                elif kind is C.RANGE:
                    got.append(arg)
                elif kind is C.CATEGORY:
                    got.extend(_scan((C.IN, ((kind, arg),)), flags & _TYPE_FLAGS, charset))
                else:  # pragma: no cover - the 3.11 parser makes no other kinds
                    return _scan(node, flags, charset)
            ranges = _union(got, top)
            return _complement(ranges, top) if negate else ranges
    return _scan(node, flags, charset)


@lru_cache(maxsize=None)
def _scan(node, flags: int, charset: str) -> tuple[tuple[int, int], ...]:
    """Ask `re`: the node compiled alone, tried on the 128 ASCII characters, or for the
    Unicode variant its runs found by `finditer` over all code points (~10 ms)."""
    if charset == ASCII:
        rx = _compile_node([node], flags)
        return _runs(c for c in range(0x80) if rx.fullmatch(chr(c)))
    state = _parser.State()
    state.flags = flags
    rx = _compile_node([(C.MAX_REPEAT, (1, C.MAXREPEAT, _parser.SubPattern(state, [node])))], flags)
    return tuple((m.start(), m.end() - 1) for m in rx.finditer(_all_chars()))


def _esc(c: int, engine: str) -> str:
    if c < 0x80 and chr(c).isalnum():
        return chr(c)
    if engine == RE2:
        return f"\\x{{{c:X}}}"
    if c < 0x100:
        return f"\\x{c:02x}"
    return f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}"


def _class_source(ranges, engine: str) -> str:
    if engine == RE2:  # RE2 reads UTF-8: surrogates never reach it (see Regex)
        ranges = [r for lo, hi in ranges
                  for r in ((lo, min(hi, 0xD7FF)), (max(lo, 0xE000), hi)) if r[0] <= r[1]]
    if not ranges:
        return "[^\\x{0}-\\x{10FFFF}]" if engine == RE2 else "(?!)"
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _esc(ranges[0][0], engine)
    return "[" + "".join(_esc(lo, engine) if lo == hi else f"{_esc(lo, engine)}-{_esc(hi, engine)}"
                         for lo, hi in ranges) + "]"


def _intersect(a, b) -> tuple[tuple[int, int], ...]:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _search_prefix(tree):
    """CPython's `search` first tries only start positions whose character is in the
    pattern's "charset prefix" (re._compiler._compile_info), and compiles that charset
    with the pattern's outer flags, where the first node itself may run under scoped ones:
    `re.search(r'(?a:\\W)', 'İ')` finds nothing though `re.fullmatch` matches. Where the
    first node is a class that is so checked, the check is returned as (the node's class
    list, the prefix as a node, its flags); a search's first character must pass both."""
    flags = tree.state.flags
    if tree.getwidth()[0] == 0 or (flags & C.SRE_FLAG_IGNORECASE and flags & C.SRE_FLAG_LOCALE):
        return None
    if _compiler._get_literal_prefix(tree, flags)[0]:
        return None
    charset = _compiler._get_charset_prefix(tree, flags)
    p = tree
    while p.data and p.data[0][0] is C.SUBPATTERN:
        p = p.data[0][1][3]
    if not charset or not p.data or p.data[0][0] is not C.IN or p.data[0][1] is not charset:
        return None  # no check, or one on literals (exact under any flags)
    return charset, (C.IN, tuple(charset)), flags & _CHAR_FLAGS & ~C.SRE_FLAG_IGNORECASE


# --- writing a parse tree for an engine -----------------------------------------------------

def _count(lo: int, hi: int) -> str:
    if hi == C.MAXREPEAT:
        return {0: "*", 1: "+"}.get(lo, f"{{{lo},}}")
    if (lo, hi) == (0, 1):
        return "?"
    return f"{{{lo}}}" if lo == hi else f"{{{lo},{hi}}}"


class _Writer:
    """Writes a parse tree for `engine` ("re2" or "bounded") and variant `charset`.

    For RE2, a construct it lacks raises _Bounded. With `probe`, classes are not computed
    (a placeholder is written): only the structural reasons are of interest."""

    def __init__(self, engine: str, charset: str, mode: str, probe: bool = False,
                 prefix=None):
        self.engine, self.charset, self.mode, self.probe = engine, charset, mode, probe
        self.scanned: set = set()  # (node, flags) whose members `re` is asked for
        self.prefix = prefix  # (the first node's class list, prefix node, flags): _search_prefix

    def need(self, reason: str) -> None:
        if self.engine == RE2:
            raise _Bounded(reason)

    def chars(self, node, flags: int) -> str:
        av = node[1]
        node, flags = _freeze(node), flags & _CHAR_FLAGS
        if needs_scan(node, flags):
            self.scanned.add((node, flags))
        if self.probe:
            return "x"
        ranges = members(node, flags, self.charset)
        if self.prefix is not None and av is self.prefix[0]:  # the first node of a search
            ranges = _intersect(ranges, members(self.prefix[1], self.prefix[2], self.charset))
        return _class_source(ranges, self.engine)

    def seq(self, items, flags: int, tail: bool) -> str:
        n = len(items)
        return "".join(self.node(op, av, flags, tail and k == n - 1)
                       for k, (op, av) in enumerate(items))

    def node(self, op, av, flags: int, tail: bool) -> str:
        if op in _SINGLE:
            return self.chars((op, av), flags)
        if op is C.AT:
            return self.at(av, flags, tail)
        if op is C.BRANCH:
            return "(?:" + "|".join(self.seq(alt, flags, tail) for alt in av[1]) + ")"
        if op is C.SUBPATTERN:
            group, add, remove, sub = av
            inner = self.seq(sub, _compiler._combine_flags(flags, add, remove), tail)
            capture = group is not None and self.engine == BOUNDED  # keeps group numbers
            return f"({inner})" if capture else f"(?:{inner})"
        if op in _REPEATS:
            lo, hi, sub = av
            if op is C.POSSESSIVE_REPEAT:
                self.need("a possessive repeat")
            if lo > MAX_RE2_COUNT or (hi != C.MAXREPEAT and hi > MAX_RE2_COUNT):
                self.need(f"a repetition count over {MAX_RE2_COUNT}")
            body = self.seq(sub, flags, tail and hi == 1)
            suffix = {C.MIN_REPEAT: "?", C.POSSESSIVE_REPEAT: "+"}.get(op, "")
            return f"(?:{body}){_count(lo, hi)}{suffix}"
        if op is C.GROUPREF:
            self.need("a back-reference")
            if flags & C.SRE_FLAG_IGNORECASE:
                raise RegexUnsupported(
                    "a back-reference under ignore-case: Python compares lower-case forms, the "
                    "bounded engine case folds (they differ on letters like ſ, ς, µ, ı)")
            return f"(?:\\{av})"
        if op is C.GROUPREF_EXISTS:
            self.need("a conditional group")
            group, yes, no = av
            other = "" if no is None else "|" + self.seq(no, flags, tail)
            return f"(?({group}){self.seq(yes, flags, tail)}{other})"
        if op in (C.ASSERT, C.ASSERT_NOT):
            direction, sub = av
            self.need("a look-ahead" if direction == 1 else "a look-behind")
            head = {(C.ASSERT, 1): "?=", (C.ASSERT, -1): "?<=",
                    (C.ASSERT_NOT, 1): "?!", (C.ASSERT_NOT, -1): "?<!"}[op, direction]
            return f"({head}{self.seq(sub, flags, False)})"
        if op is C.ATOMIC_GROUP:
            self.need("an atomic group")
            return f"(?>{self.seq(av, flags, False)})"
        raise RegexUnsupported(f"the regex construct {op} is not supported")

    def at(self, code, flags: int, tail: bool) -> str:
        multiline = flags & C.SRE_FLAG_MULTILINE
        re2 = self.engine == RE2
        if code is C.AT_BEGINNING_STRING or (code is C.AT_BEGINNING and not multiline):
            return "\\A"
        if code is C.AT_BEGINNING:
            return "(?m:^)" if re2 else "(?:\\A|(?<=\\x0a))"
        if code is C.AT_END_STRING:
            return "\\z" if re2 else "\\Z"
        if code is C.AT_END:
            if multiline:
                return "(?m:$)" if re2 else "(?=\\x0a|\\Z)"
            if not re2:
                return "(?=\\x0a?\\Z)"
            if not tail:
                self.need("'$' before the end of the pattern")
            return "(?:\\x{A}?\\z)" if self.mode == SEARCH else ""
        if code in (C.AT_BOUNDARY, C.AT_NON_BOUNDARY):
            boundary = code is C.AT_BOUNDARY
            if flags & C.SRE_FLAG_ASCII or self.charset == ASCII:
                if re2:  # ASCII word characters on both sides: RE2's \b is Python's
                    return "\\b" if boundary else "\\B"
            else:
                self.need("\\b or \\B (Unicode word boundaries; only on values with "
                          "non-ASCII characters)")
            w = self.chars(_WORD, flags & ~C.SRE_FLAG_IGNORECASE)  # \b ignores IGNORECASE
            if boundary:
                return f"(?:(?<={w})(?!{w})|(?<!{w})(?={w}))"
            every = self.chars(_EVERY, C.SRE_FLAG_DOTALL)  # a character before or after:
            nonempty = "" if _B_ON_EMPTY else f"(?:(?<={every})|(?={every}))"  # not empty
            return f"(?:(?<={w})(?={w})|(?<!{w})(?!{w}){nonempty})"
        raise RegexUnsupported(f"the anchor {code} is not supported")  # pragma: no cover


# --- translations and compiled engines ------------------------------------------------------

@lru_cache(maxsize=8192)
def _engine(pattern: str, flags: str, charset: str, mode: str):
    """(Translation, compiled program): an RE2 program or a `regex` pattern object."""
    tree = _parse(pattern, flags)
    if charset == UNICODE:
        check(pattern, flags)  # done at compile time for rule regexes; globs are cheap
    prefix = _search_prefix(tree) if mode == SEARCH else None
    try:
        source = _Writer(RE2, charset, mode, prefix=prefix).seq(tree, tree.state.flags, True)
        prog = _re2.RE2(source.encode("utf-8"), _RE2_OPTIONS)
        if not prog.ok():
            raise _Bounded(f"a program RE2 cannot build ({prog.error()})")
        return Translation(RE2, source), prog
    except _Bounded as exc:
        source, prog = _bounded_program(pattern, flags, charset, mode)
        return Translation(BOUNDED, source, exc.args[0]), prog


@lru_cache(maxsize=8192)
def _bounded_program(pattern: str, flags: str, charset: str, mode: str):
    """The bounded engine's source and `regex` pattern object for one mode."""
    tree = _parse(pattern, flags)
    prefix = _search_prefix(tree) if mode == SEARCH else None
    source = _Writer(BOUNDED, charset, mode, prefix=prefix).seq(tree, tree.state.flags, True)
    import regex  # here: ~30 ms to import, and most rule sets never need it
    return source, regex.compile(source)


def translate(pattern: str, flags: str = "", charset: str = ASCII,
              mode: str = SEARCH) -> Translation:
    """How `pattern` (Python syntax, Sigma flags i/m/s) runs on values of `charset` in
    `mode`. Raises re.error for an invalid pattern, RegexUnsupported (see module doc)."""
    return _engine(pattern, flags, charset, mode)[0]


@lru_cache(maxsize=8192)
def _probe(pattern: str, flags: str) -> tuple[str | None, int]:
    """The Unicode variant's structure, without computing a class: why it is bounded (None:
    it is not) and how many classes it has `re` scan over all code points."""
    tree = _parse(pattern, flags)
    try:
        _Writer(RE2, UNICODE, SEARCH, probe=True).seq(tree, tree.state.flags, True)
        reason = None
    except _Bounded as exc:
        reason = exc.args[0]
    w = _Writer(BOUNDED, UNICODE, SEARCH, probe=True)  # it walks the whole tree
    w.seq(tree, tree.state.flags, True)
    return reason, len(w.scanned)


def check(pattern: str, flags: str = "") -> None:
    """Raise re.error or RegexUnsupported if the pattern cannot run (at rule compile time)."""
    translate(pattern, flags)
    scans = _probe(pattern, flags)[1]
    if scans > MAX_SCANNED_CLASSES:
        raise RegexUnsupported(f"{scans} distinct case-insensitive characters and classes (at "
                               f"most {MAX_SCANNED_CLASSES}: each costs a scan of all code points)")


def bounded_reason(pattern: str, flags: str = "") -> str | None:
    """Why a search with `pattern` runs on the bounded engine (None: on RE2), as `sigcc
    validate` warns. A `\\b`/`\\B` that only values with non-ASCII characters take to the
    bounded engine is not reported here (see `unicode_bounded_reason`): word boundaries are
    common, and those runs are exact and rarely slow."""
    return translate(pattern, flags).reason


def unicode_bounded_reason(pattern: str, flags: str = "") -> str | None:
    """Why a search with `pattern` on a value with non-ASCII characters runs on the
    bounded engine (from the pattern's structure; None: on RE2, unless RE2 refuses the
    program built from the full Unicode classes, which only building it can tell)."""
    return _probe(pattern, flags)[0]


# --- the runtime object -----------------------------------------------------------------------

class Regex:
    """A compiled rule regex or glob: `search(text)` / `fullmatch(text)` -> bool, exactly as
    `re.compile(pattern, flags).search(text) is not None`, in linear time (RE2) or within
    `timeout` seconds per test (bounded engine; else RegexTimeout). Compiled on first use.

    The common case is inlined: a non-empty value and an RE2 variant, one `Match` call on
    the value's UTF-8 bytes. Everything else (first use, the empty value, a lone surrogate,
    the bounded engine) goes through `_other`."""

    __slots__ = ("pattern", "flags", "timeout", "_sa", "_su", "_fa", "_fu", "_tests", "_empty")

    def __init__(self, pattern: str, flags: str = "", timeout: float | None = 0.5):
        self.pattern, self.flags, self.timeout = pattern, flags, timeout
        self._sa = self._su = self._fa = self._fu = None  # RE2 `Match` per mode and variant
        self._tests: dict = {}  # (mode, charset) -> test function, once compiled
        self._empty: dict = {}  # mode -> the result (or RegexTimeout) for the empty value

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r}, {self.flags!r})"

    def search(self, text: str) -> bool:
        if text.isascii():
            m = self._sa
            if m is not None and text:
                b = text.encode()
                return m(_UNANCHORED, b, 0, len(b))[0][0] >= 0
            return self._other(SEARCH, ASCII, text)
        m = self._su
        if m is not None:
            try:
                b = text.encode()
            except UnicodeEncodeError:
                return self._other(SEARCH, UNICODE, text)
            return m(_UNANCHORED, b, 0, len(b))[0][0] >= 0
        return self._other(SEARCH, UNICODE, text)

    def fullmatch(self, text: str) -> bool:
        if text.isascii():
            m = self._fa
            if m is not None and text:
                b = text.encode()
                return m(_ANCHOR_BOTH, b, 0, len(b))[0][0] >= 0
            return self._other(FULLMATCH, ASCII, text)
        m = self._fu
        if m is not None:
            try:
                b = text.encode()
            except UnicodeEncodeError:
                return self._other(FULLMATCH, UNICODE, text)
            return m(_ANCHOR_BOTH, b, 0, len(b))[0][0] >= 0
        return self._other(FULLMATCH, UNICODE, text)

    def translation(self, mode: str = SEARCH, charset: str = ASCII) -> Translation:
        return translate(self.pattern, self.flags, charset, mode)

    def _other(self, mode: str, charset: str, text: str) -> bool:
        if not text:
            return self._on_empty(mode)
        test = self._tests.get((mode, charset))
        if test is None:
            test = self._tests[mode, charset] = self._load(mode, charset)
        return test(text)

    def _load(self, mode: str, charset: str):
        """The test function of one mode and variant; for RE2 also the inlined `Match`."""
        t, prog = _engine(self.pattern, self.flags, charset, mode)
        if t.engine == BOUNDED:
            return self._bounded(getattr(prog, mode))
        setattr(self, "_" + mode[0] + charset[0], prog.Match)
        anchor = _UNANCHORED if mode == SEARCH else _ANCHOR_BOTH

        def test(text: str) -> bool:
            try:
                b = text.encode()
            except UnicodeEncodeError:  # a lone surrogate: no UTF-8 for RE2
                return self._unencodable(mode, text)
            return prog.Match(anchor, b, 0, len(b))[0][0] >= 0
        return test

    def _bounded(self, method):
        pattern, flags, timeout = self.pattern, self.flags, self.timeout

        def test(text: str) -> bool:
            try:
                return method(text, timeout=timeout) is not None
            except TimeoutError:
                raise RegexTimeout(pattern, flags, timeout, len(text)) from None
        return test

    def _unencodable(self, mode: str, text: str) -> bool:
        """A value with a lone surrogate: the bounded Unicode variant (its classes hold them)."""
        _, prog = _bounded_program(self.pattern, self.flags, UNICODE, mode)
        return self._bounded(getattr(prog, mode))(text)

    def _on_empty(self, mode: str) -> bool:
        got = self._empty.get(mode)
        if got is None:
            _, prog = _bounded_program(self.pattern, self.flags, ASCII, mode)
            try:
                got = self._bounded(getattr(prog, mode))("")
            except RegexTimeout as exc:
                got = exc
            self._empty[mode] = got
        if got.__class__ is RegexTimeout:
            raise got
        return got
