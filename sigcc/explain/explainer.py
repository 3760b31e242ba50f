"""Why a rule did or did not fire on one event.

    ex = Explainer.from_sources(["rules/"], options)   # rules compiled + their IR as written
    ex = Explainer.for_ruleset(rs)                      # a Ruleset (a prebuilt module too)
    e = ex.explain(event, rule_id=None)                 # -> Explanation
    e.fired                                             # ids of the rules that fired

For every rule whose logsource applies to the event (or the one rule asked for, whether its
logsource applies or not) an Explanation holds whether it fired, the trace of its logsource
condition, of each search identifier and of its condition (sigcc/explain/trace.py).

Where the IR comes from. A generated module holds no IR, but it records each rule's file
and line (RULES_JSON) and the options it was built with (OPTIONS): `for_ruleset` lowers the
rules again from those files, with those options, unoptimized (so the tree shows the tests
as written, not as the passes merged them: the passes never change a verdict), and checks
that each rule it finds there is the module's rule (same id at the same line, same
condition text, same search identifiers). A rule that cannot be found so (a file moved,
changed, a rule compiled from a text or dict, a filter from another file) is explained as
an error that says so and what to pass instead. `from_sources` loads the IR from the rule
paths given, with the options given (filters included), and compiles the matcher from them.

The verdict is checked against the matcher: each explained rule also says whether
`Ruleset.match` reported it for the event (`matcher`), and `agrees` is false when the two
differ (a placeholder or keyword option the module did not record, a rule file edited after
the build): the CLI prints that as a warning and exits 1.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from sigcc.compiler.ir import RuleIR
from sigcc.compiler.logsources import logsource_condition
from sigcc.explain.trace import Node, event_view, trace
from sigcc.options import Options

__all__ = ["Explainer", "Explanation", "RuleExplanation", "SearchTrace", "ExplainError",
           "module_options"]

# the build options a module records (Options.runtime_flags) that change what rules mean
_RECORDED = ("collapse_whitespace", "field_names", "logsource", "slash_regex", "field_aliases",
             "unmapped_logsource", "regex_timeout")


class ExplainError(ValueError):
    """Explain cannot run as asked (an unknown rule id, no rules); the message says how to fix it."""


@dataclass(frozen=True)
class SearchTrace:
    name: str
    line: int
    node: Node

    @property
    def held(self) -> bool:
        return self.node.held

    def to_dict(self) -> dict:
        return {"search": self.name, "line": self.line, "held": self.held,
                "tree": self.node.to_dict()}


@dataclass(frozen=True)
class RuleExplanation:
    rule_id: str
    title: str
    level: str | None
    file: str
    line: int
    condition: str
    applies: bool | None  # the logsource condition held (None: not known, see error)
    fired: bool | None  # applies and the condition held (None: not known, see error)
    matcher: bool | None  # Ruleset.match reported this rule for the event
    logsource: Node | None = None
    searches: tuple[SearchTrace, ...] = ()
    verdict: Node | None = None  # the condition's tree, over the searches' verdicts
    error: str | None = None  # why this rule could not be explained, and what to do

    @property
    def agrees(self) -> bool:
        """The explanation's verdict is the matcher's (always true when it has none)."""
        return self.fired is None or self.matcher is None or self.fired == self.matcher

    def to_dict(self) -> dict:
        d = {"rule_id": self.rule_id, "title": self.title, "level": self.level,
             "file": self.file, "line": self.line, "condition": self.condition,
             "applies": self.applies, "fired": self.fired, "matcher": self.matcher,
             "agrees": self.agrees}
        if self.error is not None:
            d["error"] = self.error
        if self.logsource is not None:
            d["logsource"] = self.logsource.to_dict()
        if self.searches:
            d["searches"] = [s.to_dict() for s in self.searches]
        if self.verdict is not None:
            d["condition_tree"] = self.verdict.to_dict()
        return d


@dataclass(frozen=True)
class Explanation:
    rules: tuple[RuleExplanation, ...]  # the applicable rules (or the one asked for), in order
    rules_total: int  # rules in the rule set(s)
    not_applicable: int  # rules left out because their logsource does not apply
    source: str | None = None  # where the event came from (file and record), if known
    problems: tuple[str, ...] = field(default=())  # rule errors the matcher met on this event

    @property
    def fired(self) -> list[str]:
        return [r.rule_id for r in self.rules if r.fired]

    @property
    def agrees(self) -> bool:
        return all(r.agrees for r in self.rules)

    def to_dict(self) -> dict:
        return {"source": self.source, "rules_total": self.rules_total,
                "applicable": sum(1 for r in self.rules if r.applies),
                "not_applicable": self.not_applicable, "fired": self.fired,
                "agrees": self.agrees, "problems": list(self.problems),
                "rules": [r.to_dict() for r in self.rules]}

    def __add__(self, other: "Explanation") -> "Explanation":
        return Explanation(self.rules + other.rules, self.rules_total + other.rules_total,
                           self.not_applicable + other.not_applicable,
                           self.source or other.source, self.problems + other.problems)


def module_options(recorded: dict, base: Options | None = None) -> Options:
    """The Options a module was built with, as far as it records them (OPTIONS); the rest
    (placeholders, keyword_contains, limits) from `base`."""
    from dataclasses import replace
    given = {k: recorded[k] for k in _RECORDED if k in recorded}
    return replace(base, **given) if base is not None else Options(**given)


class Explainer:
    """A rule set and the IR of its rules, ready to explain events.

    `irs[i]` is the RuleIR of `ruleset.rules[i]`, or a string saying why there is none."""

    def __init__(self, ruleset, irs: list, options: Options):
        self.ruleset = ruleset
        self.irs = list(irs)
        self.options = options

    # --- where the IR comes from ------------------------------------------------------
    @classmethod
    def from_sources(cls, sources, options: Options = Options()) -> "Explainer":
        """Compile `sources` (rule files, directories, YAML texts, dicts) to a matcher and
        load their IR as written (unoptimized, filters applied); diagnostics in
        `ruleset.diagnostics`."""
        from sigcc.api import compile as compile_rules
        from sigcc.compiler.build import load_rules

        sources = [sources] if isinstance(sources, (str, dict)) else list(sources)
        rs = compile_rules(sources, options)
        loaded = load_rules(sources, options, optimize=False)
        return cls(rs, _pair(rs, loaded.rules, "rule sources given"), options)

    @classmethod
    def for_ruleset(cls, rs, base: Options | None = None) -> "Explainer":
        """Lower a Ruleset's rules again from the files its module records, with the
        options it records (`base`: those it does not, e.g. placeholders)."""
        from sigcc.compiler.build import load_rules

        options = module_options(rs.options, base)
        files = list(dict.fromkeys(info.file for info in rs.rules))
        readable = [f for f in files if not f.startswith("<") and Path(f).is_file()]
        loaded = load_rules(readable, options, optimize=False) if readable else None
        found = {}
        if loaded is not None:
            for r in loaded.rules:
                found.setdefault((r.meta.id, r.meta.file, r.meta.line), r)
        errors_at = {}
        if loaded is not None:
            for d in loaded.errors:
                errors_at.setdefault((d.span.file, d.rule_id), d.render().split("\n")[0])
        recorded = _recorded_lines(rs)
        irs: list = []
        for info, rec in zip(rs.rules, recorded):
            irs.append(_rebuilt(info, rec, found, errors_at, readable))
        return cls(rs, irs, options)

    # --- explaining ---------------------------------------------------------------------
    def explain(self, event: dict, rule_id: str | None = None, *,
                source: str | None = None) -> Explanation:
        """Explain `event` (a dict as read from a log) against every rule whose logsource
        applies to it, or against rule `rule_id` (its id or name) only."""
        if not isinstance(event, dict):
            raise ExplainError(f"an event is a JSON object, not a {type(event).__name__}")
        rs = self.ruleset
        chosen = range(len(rs.rules))
        if rule_id is not None:
            chosen = [i for i, info in enumerate(rs.rules) if rule_id in (info.id, info.name)]
            if not chosen:
                raise unknown_rule(rule_id, self.rule_ids())
        errors_before = len(rs.errors)
        matched = {id(m.rule) for m in rs.match(event)}
        problems = tuple(f"rule {e.rule_id} ({e.file}:{e.line}) raised {e.error}"
                         for e in rs.errors[errors_before:])
        ev = event_view(event, self.options)
        out, skipped = [], 0
        logsources: dict[str, Node] = {}  # many rules share one: traced once per event
        for i in chosen:
            info, ir = rs.rules[i], self.irs[i]
            hit = id(info) in matched
            if isinstance(ir, str):
                out.append(RuleExplanation(info.id, info.title, info.level, info.file,
                                           info.line, info.condition, None, None, hit,
                                           error=ir))
                continue
            ls = logsources.get(ir.logsource_key)
            if ls is None:
                ls = logsources[ir.logsource_key] = trace(
                    logsource_condition(ir.logsource_key, self.options.field_names), ev)
            if not ls.held and rule_id is None:
                skipped += 1
                continue
            out.append(_explain_rule(info, ir, ev, ls, hit))
        return Explanation(tuple(out), len(rs.rules), skipped, source, problems)

    def rule_ids(self) -> list[str]:
        return [info.id for info in self.ruleset.rules]

    def has_rule(self, rule_id: str) -> bool:
        return any(rule_id in (info.id, info.name) for info in self.ruleset.rules)


def unknown_rule(rule_id: str, known: list[str]) -> ExplainError:
    near = difflib.get_close_matches(rule_id, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    return ExplainError(f"no rule with id or name {rule_id!r} among the {len(known)} rules"
                        f"{hint}")


def _explain_rule(info, ir: RuleIR, ev, ls: Node, hit: bool) -> RuleExplanation:
    searches = tuple(SearchTrace(s.name, s.line, trace(s.expr, ev)) for s in ir.searches)
    verdicts = {s.name: s.held for s in searches}
    verdict = trace(ir.condition, ev, verdicts)
    return RuleExplanation(info.id, info.title, info.level, info.file, info.line,
                           info.condition, ls.held, ls.held and verdict.held, hit, ls,
                           searches, verdict)


def _pair(rs, rules: list[RuleIR], where: str) -> list:
    """The IR of each of the ruleset's rules, by (id, file, line), in order."""
    found: dict = {}
    for r in rules:
        found.setdefault((r.meta.id, r.meta.file, r.meta.line), r)
    return [found.get((i.id, i.file, i.line),
                      f"rule {i.id} ({i.file}:{i.line}) is not among the {where}")
            for i in rs.rules]


def _recorded_lines(rs) -> list[dict]:
    text = rs.module.RULES_JSON
    return [orjson.loads(line) for line in text.split("\n") if line]


def _rebuilt(info, rec: dict, found: dict, errors_at: dict, readable: list[str]):
    """The RuleIR lowered again for one module rule, or why there is none."""
    fix = "pass the rule files or directory to --rules (explain compiles them itself)"
    if info.file.startswith("<"):
        return (f"rule {info.id} was compiled from a YAML text or dict ({info.file}), not a "
                "file, so it cannot be lowered again to explain it; use "
                "sigcc.explain.Explainer.from_sources with the same sources")
    if info.file not in readable:
        return (f"rule file {info.file} (recorded in the module for rule {info.id}) does not "
                "exist here; run explain from the directory the module was built in, or "
                + fix)
    ir = found.get((info.id, info.file, info.line))
    if ir is None:
        why = errors_at.get((info.file, info.id))
        return (f"{info.file}:{info.line} no longer holds rule {info.id} as the module was "
                "built from it" + (f" ({why})" if why else " (the file changed since)")
                + "; rebuild the module, or " + fix)
    names = [s.name for s in ir.searches]
    if ir.condition_text != info.condition or names != list(rec.get("searches", names)):
        return (f"{info.file}:{info.line}: rule {info.id} in the file differs from the "
                f"module's (condition {ir.condition_text!r} vs {info.condition!r}, searches "
                f"{names} vs {rec.get('searches')}): the file changed since the build, or "
                "the module applied a filter from another file; rebuild the module, or "
                + fix + " with the filters")
    return ir
