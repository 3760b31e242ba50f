"""The Python backend: a whole rule set -> one importable, deterministic module.

jinja2 lays out the module (templates/module.py.j2); the Emitter writes the expressions.
Values reach the text only through the `py` filter (`repr`). While writing, a line map is
recorded: generated line -> (rule file, rule line); it is stored in the module as LINEMAP_JSON
so tracebacks and explanations can point back to the rule (Ruleset.linemap).

Each rule's code is made on its own (`rule_code` -> RuleCode: text with a placeholder for
the rule's index, constants named by their text), in the process that loaded the rule or
from the build cache (compiler/cache.py), and `assemble` puts the codes together; so a
module is the same text however its rules' codes were made. With `Options.optimize`, rules
go through the passes first (compiler/passes), a search body that several rules have is
emitted once (`_s_<hash>`), and repeated field reads in a function are bound to locals. The module also carries, per rule, the literals of the
prefilter and, per logsource, its dispatch key spec (compiler/prefilter.py, dispatch.py).
A rule's `name` (what correlations may refer to it by) is in its RULES_JSON line when it has
one. A resolved correlation plan is module data too: CORRELATIONS_JSON, one JSON line per
step (sigcc/correlation/serial.py); a module without correlations has no such block, so its
text is what it was before correlations existed.
"""
from __future__ import annotations

from dataclasses import dataclass

import orjson

from sigcc.backends.python import assembly
from sigcc.backends.python.assembly import FORMAT, SLOT  # noqa: F401 (FORMAT: the module's)
from sigcc.backends.python.emitter import Constants, Emitter
from sigcc.compiler.fired import fired_when_matched
from sigcc.compiler.ir import Expr, RuleIR
from sigcc.compiler.passes import optimize_rule
from sigcc.compiler.prefilter import required_literals
from sigcc.options import Options


@dataclass
class SearchCode:
    name: str  # the search identifier
    line: int
    fn: str  # the rule's own name for its function (with SLOT)
    text: str  # its function(s), helpers first, each from a blank line: lines joined
    body: str | None  # its function's body, when it may be shared (no helpers): the key
    defined: list[str]  # the functions `lines` define


@dataclass
class RuleCode:
    """What one rule contributes to a module, independent of the module: its code with SLOT
    where its index goes (`_r<SLOT>_sel` becomes `_r12_sel`), the constants it uses (named by
    their text), its RULES_JSON row and its logsource key. Rule text reaches code only
    through repr(), which writes a control character such as SLOT as an escape, so a raw
    SLOT is only ever this placeholder. Made once per rule (in the process that loaded
    it, or from the build cache), assembled into modules by `assemble`."""

    head: str  # comment lines
    searches: list[SearchCode]
    cond: str  # the condition's function(s), lines joined
    cond_defined: list[str]
    cond_line: int
    consts: list[tuple[str, str]]
    row: dict
    logsource_key: str

    @property
    def file(self) -> str:
        return self.row["file"]


def _fn_name(search: str, j: int) -> str:
    # `_r<index>_<digit>...` for the others: an identifier never starts with a digit, so the
    # two kinds cannot collide (`_r0_s1` could be search 's1' as well as the 2nd of 'a-b', 'x.y').
    if search.isidentifier() and search.isascii():
        return f"_r{SLOT}_{search}"
    return f"_r{SLOT}_{j}"


def _function(name: str, comment: str, e: Expr, emitter: Emitter,
              hoist: bool) -> tuple[list[str], list[str], list[str]]:
    """The lines of function `name` returning `e`, after the helper functions its deep parts
    became (see emitter.MAX_NESTING); the names of all of them; the body of `name`."""
    body = emitter.body(e, hoist)
    lines, names = [], []
    for helper, helper_body in emitter.take_helpers():
        lines += ["", f"def {helper}({Emitter.ARGS}):",
                  f"    # part of {name}, nested too deep for one function"]
        lines += [f"    {line}" for line in helper_body]
        names.append(helper)
    lines += ["", f"def {name}({Emitter.ARGS}):", f"    # {comment}"]
    lines += [f"    {line}" for line in body]
    return lines, names + [name], body


def rule_code(rule: RuleIR, options: Options) -> RuleCode:
    """One rule's RuleCode (`rule` as it goes into the module: optimized already if
    options.optimize)."""
    m = rule.meta
    hoist = options.optimize
    consts = Constants(owner=f"_r{SLOT}")
    names = {s.name: _fn_name(s.name, j) for j, s in enumerate(rule.searches)}
    emitter = Emitter(consts, ref_call=lambda n: f"{names[n]}({Emitter.ARGS})")
    searches = []
    for s in rule.searches:
        fn = names[s.name]
        lines, defined, body = _function(fn, f"search {s.name!r}, line {s.line}", s.expr,
                                         emitter, hoist)
        key = "\n".join(body)
        searches.append(SearchCode(s.name, s.line, fn, "\n".join(lines),
                                   None if SLOT in key else key, defined))
    cond, cond_defined, _ = _function(
        f"_r{SLOT}", f"condition {rule.condition_text!r}, line {rule.condition_line}",
        rule.condition, emitter, hoist)
    ls = m.logsource
    row = {
        "id": m.id, "title": m.title, "level": m.level, "status": m.status,
        "tags": m.tags, "logsource": (ls.product, ls.category, ls.service),
        "references": m.references, "file": m.file, "line": m.line,
        "condition": rule.condition_text, "logsource_index": None,
        "searches": [s.name for s in rule.searches], "literals": required_literals(rule)}
    if m.name is not None:  # (only then: modules of rules without names are unchanged)
        row["name"] = m.name
    fired = fired_when_matched(rule)
    if fired is not None:  # the searches a match reports, known here: none evaluated again
        row["fired"] = fired
    orjson.dumps(row)  # (its metadata must serialise: a failure is this rule's, here)
    return RuleCode(f"# rule {m.id!r}: {m.title!r}\n# from {m.file!r}, line {m.line}",
                    searches, "\n".join(cond), cond_defined, rule.condition_line, consts.pairs(), row,
                    rule.logsource_key)


def build_module(rules: list[RuleIR], options: Options, *, optimized: bool = False,
                 plan=None, on_error=None, codes: list | None = None) -> str:
    """The module source for `rules`: build_assembly(...).text() (see there)."""
    return build_assembly(rules, options, optimized=optimized, plan=plan, on_error=on_error,
                          codes=codes).text()


def build_assembly(rules: list[RuleIR], options: Options, *, optimized: bool = False,
                   plan=None, on_error=None, codes: list | None = None) -> assembly.Assembly:
    """The module for `rules` (in the given order), in parts; `optimized`: the rules
    went through the passes already (load_rules(optimize=True)); `plan`: the resolved
    correlations (CompileResult.plan), written as CORRELATIONS_JSON; `codes`: their
    RuleCodes where made already (load_rules(emit=True): CompileResult.codes).

    `on_error(rule, exc)`: called for a rule whose code cannot be made (a bug in this
    backend), which is then left out of the module, as if it were not given; without it,
    the exception propagates."""
    if codes is None or len(codes) != len(rules):
        codes = [None] * len(rules)
    made = []
    for rule, code in zip(rules, codes):
        if code is None:
            try:
                if options.optimize and not optimized:
                    rule = optimize_rule(rule)
                code = rule_code(rule, options)
            except Exception as exc:
                if on_error is None:
                    raise
                on_error(rule, exc)
                continue
        made.append(code)
    return assembly.assemble(made, options, plan)


def assemble(codes: list[RuleCode], options: Options, plan=None) -> str:
    """The module of these rules' codes, in this order (assembly.assemble: in parts)."""
    return assembly.assemble(codes, options, plan).text()
