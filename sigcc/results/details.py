"""Match details: the fields that made a rule fire, and what the rule says about itself.

    docs = RuleDocs(options, irs)        # irs: RuleIR by (id, file, line), or None
    doc = docs.get(match.rule)            # RuleDoc: ir, description, falsepositives, ATT&CK
    details(doc.ir, match.searches, ev)   # {field: value} of the tests that held

`details` runs only for a match, never per event. It walks each fired search's IR with a
recording evaluator built on the reference interpreter's tests (runtime/interpreter.py
`check`, the oracle the generated code is tested against), on the event as `Ruleset.prepare`
flattened it; string, value-list and regex tests run through the runtime's linear-time
regex engine (a regex over its time budget leaves that search out of the details) instead
of the interpreter's slow, unbounded glob walk, with the same results: a field test that holds records its field and the event's value there; `and`
records its parts only when all hold; `or` records each part that holds; a `not` that holds
records nothing (what it excludes is absent, not a reason). A keyword search (no field)
records the first field whose value it matched. Values longer than DETAIL_MAX_CHARS (200)
characters are cut to 199 and end with "…"; lists and mappings are shown as compact JSON,
cut the same way; numbers, booleans and null stay as they are.

Where the IR comes from: a rule set compiled for the scan hands over the IR it compiled
(exact, pipelines and filters included). A prebuilt module does not hold its IR, so the rule
is lowered again from its file (`file`, `line` in RULES_JSON), once per rule that matches,
with the module's build options; a rule whose file is gone, or no longer holds that rule id
at that line, gets empty details and one `problem` line (printed once by the scan), and its
matches are reported as before. Meta filters (`filter:` documents) are not in a re-lowered
rule: they only exclude events, so they never add a field to the details.
"""
from __future__ import annotations

from dataclasses import dataclass

from sigcc.compiler.ir import And, AnyOf, Const, Match, Not, Or, Ref, RegexMatch, RuleIR, StrMatch, Wild
from sigcc.compiler.patterns import to_regex
from sigcc.options import Options
from sigcc.runtime.interpreter import _Event, check
from sigcc.runtime.output import dumps
from sigcc.runtime.regex_engine import Regex

__all__ = ["DETAIL_MAX_CHARS", "RuleDoc", "RuleDocs", "details", "attack", "shown",
           "HIDDEN_SEARCHES"]

DETAIL_MAX_CHARS = 200

# Searches a scan-time pipeline adds (windows-logsources' `_logsource`): the scan reports the
# searches of the rule as written, with or without a pipeline.
HIDDEN_SEARCHES = frozenset({"_logsource"})

# MITRE ATT&CK Enterprise, ICS and Mobile tactics as Sigma tags spell them (attack.<name>);
# stealth and defense-impairment are ATT&CK v18's split of defense-evasion (SigmaHQ uses them).
TACTICS = frozenset((
    "reconnaissance", "resource-development", "initial-access", "execution", "persistence",
    "privilege-escalation", "defense-evasion", "stealth", "defense-impairment",
    "credential-access", "discovery",
    "lateral-movement", "collection", "command-and-control", "exfiltration", "impact",
    "evasion", "inhibit-response-function", "impair-process-control"))


def attack(tags) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """ATT&CK tactics and techniques from Sigma tags, each once in tag order:
    `attack.defense-evasion` (or `defense_evasion`) -> "defense-evasion";
    `attack.t1059.001` -> "T1059.001". Other tags (groups, software, cve.*) are not either."""
    tactics: list[str] = []
    techniques: list[str] = []
    for tag in tags:
        ns, dot, name = str(tag).lower().partition(".")
        if ns != "attack" or not dot:
            continue
        name = name.replace("_", "-")
        if name in TACTICS and name not in tactics:
            tactics.append(name)
            continue
        tech, _, sub = name.partition(".")
        if len(tech) == 5 and tech[0] == "t" and tech[1:].isdigit() and \
                (not sub or (len(sub) == 3 and sub.isdigit())):
            t = name.upper()
            if t not in techniques:
                techniques.append(t)
    return tuple(tactics), tuple(techniques)


def shown(value, cap: int = DETAIL_MAX_CHARS):
    """An event value as a match line shows it: capped text, scalars as they are."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else \
        dumps(value).decode()
    return text if len(text) <= cap else text[: cap - 1] + "…"


class _Flat(_Event):
    """The interpreter's event view over an event already flattened by Ruleset.prepare."""

    def __init__(self, fields: dict, collapse: bool):  # noqa: D107 (no second flattening)
        self.fields = fields
        self.collapse = collapse


_ANY_OF = {"eq": str.__eq__, "prefix": str.startswith, "suffix": str.endswith,
           "contains": lambda text, v: v in text}


def _string_test(test, timeout: float):
    """text -> bool for a StrMatch, AnyOf or RegexMatch (the interpreter's results); None
    for the other tests (cheap: the interpreter's `check` does them)."""
    if isinstance(test, RegexMatch):
        return Regex(test.pattern, test.flags, timeout).search
    if isinstance(test, AnyOf):
        values = test.values if test.cased else tuple(v.lower() for v in test.values)
        rel = _ANY_OF[test.kind]
        fn = lambda text: any(rel(text, v) for v in values)  # noqa: E731
    elif isinstance(test, StrMatch):
        parts = test.parts if test.cased else \
            tuple(p.lower() if isinstance(p, str) else p for p in test.parts)
        if all(isinstance(p, str) for p in parts):
            whole = "".join(parts)
            fn = whole.__eq__
        elif len(parts) == 3 and parts[0] is parts[2] is Wild.ANY and isinstance(parts[1], str):
            lit = parts[1]
            fn = lambda text: lit in text  # noqa: E731
        elif len(parts) == 2 and parts[1] is Wild.ANY and isinstance(parts[0], str):
            lit = parts[0]
            fn = lambda text: text.startswith(lit)  # noqa: E731
        elif len(parts) == 2 and parts[0] is Wild.ANY and isinstance(parts[1], str):
            lit = parts[1]
            fn = lambda text: text.endswith(lit)  # noqa: E731
        else:
            fn = Regex(to_regex(parts), "s", timeout).fullmatch
    else:
        return None
    if getattr(test, "cased", True):
        return fn
    return lambda text: fn(text.lower())


class _Tests:
    """Each test's evaluator, made once per scan. Keyed by the test object's identity (a
    frozen dataclass hashes all its values on every lookup: an AnyOf of hundreds of values
    would cost more to look up than to evaluate); the entry keeps the test alive, so its id
    is not reused while the entry stands."""

    MAX = 1 << 14

    def __init__(self, timeout: float = 0.5):
        self.timeout = timeout
        self.fns: dict = {}  # id(test) -> (test, evaluator or None)

    def holds(self, test, field, ev: "_Flat") -> bool:
        entry = self.fns.get(id(test))
        if entry is None or entry[0] is not test:
            if len(self.fns) >= self.MAX:
                self.fns.clear()
            entry = self.fns[id(test)] = (test, _string_test(test, self.timeout))
        fn = entry[1]
        if fn is None:
            return check(test, field, ev)
        return any(fn(t) for t in ev.texts(field))


def _record(expr, ev: _Flat, out: dict, tests: _Tests) -> bool:
    """Does `expr` hold? If so, the fields that make it hold are added to `out`."""
    if isinstance(expr, Match):
        if expr.field is not None:
            if tests.holds(expr.test, expr.field, ev):
                out.setdefault(expr.field, ev.fields.get(expr.field))
                return True
            return False
        if not tests.holds(expr.test, None, ev):
            return False
        for name in ev.fields:  # the keyword matched some value: say whose
            if tests.holds(expr.test, name, ev):
                out.setdefault(name, ev.fields[name])
                break
        return True
    if isinstance(expr, And):
        mine: dict = {}
        if all(_record(e, ev, mine, tests) for e in expr.items):
            for k, v in mine.items():
                out.setdefault(k, v)
            return True
        return False
    if isinstance(expr, Or):
        held = False
        for e in expr.items:
            held = _record(e, ev, out, tests) or held
        return held
    if isinstance(expr, Not):
        return not _record(expr.item, ev, {}, tests)
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Ref):  # (searches never refer to searches; conditions do)
        raise TypeError("a search expression refers to a search")
    raise TypeError(f"cannot record {type(expr).__name__}")


def details(rule: RuleIR | None, fired, ev: dict, collapse_whitespace: bool = False,
            cap: int = DETAIL_MAX_CHARS, tests: _Tests | None = None) -> dict:
    """field -> shown value, over the fired searches in order (first search wins a field).
    `tests`: the evaluators to reuse (RuleDocs.tests); a fresh set when None."""
    if rule is None:
        return {}
    tests = tests if tests is not None else _Tests()
    by_name = {s.name: s.expr for s in rule.searches}
    flat = _Flat(ev, collapse_whitespace)
    found: dict = {}
    for name in fired:
        expr = by_name.get(name)
        if expr is None or name in HIDDEN_SEARCHES:
            continue
        try:
            _record(expr, flat, found, tests)
        except Exception:  # (a bounded regex that times out: that search shows nothing)
            continue
    return {k: shown(v, cap) for k, v in found.items()}


@dataclass(frozen=True, slots=True)
class RuleDoc:
    """What a match says about its rule beyond RuleInfo (see module docstring)."""

    ir: RuleIR | None
    description: str | None = None
    falsepositives: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    problem: str | None = None  # why ir is None (printed once by the scan)


def _doc(ir: RuleIR) -> RuleDoc:
    tactics, techniques = attack(ir.meta.tags)
    return RuleDoc(ir, ir.meta.description, ir.meta.falsepositives, tactics, techniques)


def build_options(flags: dict) -> Options:
    """The Options a module was built with, as far as it recorded them (OPTIONS)."""
    keep = ("collapse_whitespace", "field_names", "logsource", "slash_regex", "field_aliases",
            "unmapped_logsource", "regex_timeout")
    return Options(**{k: flags[k] for k in keep if k in flags})


class RuleDocs:
    """RuleDoc per matched rule, computed on a rule's first match and kept.

    `irs`: the IR a scan compiled, by (id, file, line); None for a prebuilt module, whose
    rules are lowered again from their files with `options` (its recorded build options)."""

    def __init__(self, options: Options, irs: dict | None = None):
        self.options = options
        self.irs = irs
        self.tests = _Tests(options.regex_timeout)
        self._docs: dict = {}
        self._files: dict = {}  # file -> {(id, line): RuleIR} or an error text

    def get(self, info) -> RuleDoc:
        key = (info.id, info.file, info.line)
        doc = self._docs.get(key)
        if doc is None:
            doc = self._docs[key] = self._make(info)
        return doc

    def _make(self, info) -> RuleDoc:
        if self.irs is not None:
            ir = self.irs.get((info.id, info.file, info.line))
            if ir is not None:
                return _doc(ir)
            return RuleDoc(None, problem=f"rule {info.id} ({info.file}:{info.line}): its IR "
                                         "was not kept by the compile; details are empty")
        rules = self._file_rules(info.file)
        if isinstance(rules, str):
            return RuleDoc(None, problem=f"rule {info.id}: details and description are empty: "
                                         f"{rules}")
        ir = rules.get((info.id, info.line))
        if ir is None:
            return RuleDoc(None, problem=f"rule {info.id}: details and description are empty: "
                                         f"{info.file}:{info.line} no longer holds this rule "
                                         "(changed since the module was built? rebuild it)")
        return _doc(ir)

    def _file_rules(self, file: str):
        if file not in self._files:
            self._files[file] = _lower_file(file, self.options)
        return self._files[file]


def _lower_file(file: str, options: Options):
    from pathlib import Path

    from sigcc.compiler.loader import load_file
    from sigcc.compiler.lower import lower_document
    from sigcc.correlation import is_correlation, is_filter

    if not Path(file).is_file():
        return f"its rule file {file} is not there (the module was built elsewhere?)"
    docs, diags = load_file(file, options)
    errors = [d for d in diags if d.severity == "error"]
    if not docs and errors:
        return f"its rule file no longer loads: {errors[0].render().splitlines()[0]}"
    out = {}
    for doc in docs:
        if is_correlation(doc.data) or is_filter(doc.data):
            continue
        try:
            rule = lower_document(doc, options).rule
        except Exception:  # (the build reported this rule; here it only loses its details)
            continue
        if rule is not None:
            out[(rule.meta.id, rule.meta.line)] = rule
    return out
