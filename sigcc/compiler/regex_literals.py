"""Required literals of a regular expression, for the prefilter.

`required(pattern, flags)` returns a set of lower-cased strings one of which occurs in the
lower-cased text of every string the regex finds a match in, or None when no such set is
known. It walks Python's own parse of the pattern (`re._parser`, so it reads the pattern
exactly as `re` does): in a sequence every element is required, so the longest literal run
(or one group's set) is kept; an alternation needs every branch to give a set (the union);
a repeat counts only when it must occur at least once; anything else (classes, `.`,
anchors, lookarounds, backreferences) gives nothing and ends a run.

Case: a case-sensitive literal occurs as is, so lower-cased it occurs in the lower-cased
text (str.lower maps character by character but for the final-sigma rule: literals with
'Σ' are dropped). Under IGNORECASE `re` also matches 'ı' for i and 'ſ' for s, which
str.lower leaves alone: there, only ASCII literals are used, cut at i and s.
"""
from __future__ import annotations

import re
from re import _constants as C
from re import _parser

MAX_ALTERNATIVES = 64
# One character rarely seen in event text (not a letter, digit, space or path/command-line
# punctuation, e.g. a backtick, an emoji, a Cyrillic homoglyph) filters as well as a word.
_COMMON = frozenset(" \t\r\n\\/.-_:,;'\"=()[]&+*#?!@")


def selective(literal: str) -> bool:
    """Whether a literal is worth a place in the prefilter: 2+ characters, or one rare one."""
    if len(literal) >= 2:
        return True
    return len(literal) == 1 and not (literal.isascii() and literal.isalnum()) and (
        literal not in _COMMON)
_UNSAFE_FOLDED = "iIsS"  # matched by re.IGNORECASE to characters str.lower does not map to them
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}

Need = frozenset


def required(pattern: str, flags: str = "") -> Need | None:
    f = 0
    for c in flags:
        f |= _FLAGS.get(c, 0)
    try:
        parsed = _parser.parse(pattern, f)
    except (re.error, OverflowError, RecursionError):
        return None
    return _seq(list(parsed), bool(parsed.state.flags & re.IGNORECASE))


def _seq(items: list, icase: bool) -> Need | None:
    """A concatenation: the best of its literal runs and its required sub-parts."""
    best: Need | None = None
    run: list[str] = []

    def consider(n: Need | None) -> None:
        nonlocal best
        if n is not None and (best is None or _score(n) > _score(best)):
            best = n

    def end_run() -> None:
        if run:
            consider(_literal("".join(run), icase))
            run.clear()

    for op, av in items:
        if op is C.LITERAL:
            run.append(chr(av))
            continue
        end_run()
        consider(_item(op, av, icase))
    end_run()
    return best


def _item(op, av, icase: bool) -> Need | None:
    if op is C.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        inner = (icase or bool(add_flags & re.IGNORECASE)) and not del_flags & re.IGNORECASE
        return _seq(list(sub), inner)
    if op is C.BRANCH:
        out: set = set()
        for branch in av[1]:
            n = _seq(list(branch), icase)
            if n is None:
                return None
            out |= n
        return Need(out) if len(out) <= MAX_ALTERNATIVES else None
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        low, _high, sub = av
        return _seq(list(sub), icase) if low >= 1 else None
    if op is C.ATOMIC_GROUP:
        return _seq(list(av), icase)
    if op is C.IN and all(o is C.LITERAL for o, _ in av):  # [ab], and `a|b` as re parses it
        out = set()
        for _, code in av:
            n = _literal(chr(code), icase)
            if n is None:
                return None
            out |= n
        return Need(out)
    return None


def _literal(text: str, icase: bool) -> Need | None:
    if icase:
        if not text.isascii():
            return None
        pieces = re.split(f"[{_UNSAFE_FOLDED}]", text)
        text = max(pieces, key=len)
    elif "\u03a3" in text:
        return None
    return Need({text.lower()}) if selective(text) else None


def _score(n: Need) -> tuple:
    return (min((len(x) for x in n), default=99), -len(n))
