"""The Python backend: a whole rule set -> one importable, deterministic module.

jinja2 lays out the module (templates/module.py.j2); the Emitter writes the expressions.
Values reach the text only through the `py` filter (`repr`). While writing, a line map is
recorded: generated line -> (rule file, rule line); it is stored in the module as LINEMAP_JSON
so tracebacks and explanations can point back to the rule (Ruleset.linemap).

With `Options.optimize`, rules go through the passes first (compiler/passes), a search
expression that several rules share is emitted once (`_s<n>`), and repeated field reads in
a function are bound to locals. The module also carries, per rule, the literals of the
prefilter and, per logsource, its dispatch key spec (compiler/prefilter.py, dispatch.py).
A rule's `name` (what correlations may refer to it by) is in its RULES_JSON line when it has
one. A resolved correlation plan is module data too: CORRELATIONS_JSON, one JSON line per
step (sigcc/correlation/serial.py); a module without correlations has no such block, so its
text is what it was before correlations existed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
import orjson

from sigcc import __version__
from sigcc.backends.python.emitter import Constants, Emitter
from sigcc.compiler.dispatch import dispatch_fields, dispatch_spec
from sigcc.compiler.ir import Expr, RuleIR
from sigcc.compiler.logsources import logsource_condition
from sigcc.compiler.passes import optimize_rule
from sigcc.compiler.passes.share import shared_searches
from sigcc.compiler.prefilter import required_literals
from sigcc.correlation.serial import plan_lines
from sigcc.options import Options
from sigcc.runtime.helpers import __all__ as HELPERS

FORMAT = 2

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["py"] = repr


@dataclass
class _Rule:
    meta: object
    code: str
    fn: str
    searches: list
    logsource: tuple
    ls_index: int
    condition: str
    line_marks: list  # (function name, file, line)
    literals: tuple | None  # prefilter: (field, lower-cased literal) pairs, one must occur

    @property
    def json(self) -> str:
        """The rule's RULES_JSON line: metadata, search names, logsource index, literals."""
        m = self.meta
        row = {
            "id": m.id, "title": m.title, "level": m.level, "status": m.status,
            "tags": m.tags, "logsource": self.logsource, "references": m.references,
            "file": m.file, "line": m.line, "condition": self.condition,
            "logsource_index": self.ls_index, "searches": [name for name, _ in self.searches],
            "literals": self.literals}
        if m.name is not None:  # (only then: modules of rules without names are unchanged)
            row["name"] = m.name
        return orjson.dumps(row).decode() + "\n"


def _fn_name(index: int, search: str, j: int) -> str:
    # `_r<index>_<digit>...` for the others: an identifier never starts with a digit, so the
    # two kinds cannot collide (`_r0_s1` could be search 's1' as well as the 2nd of 'a-b', 'x.y').
    if search.isidentifier() and search.isascii():
        return f"_r{index}_{search}"
    return f"_r{index}_{j}"


def _function(name: str, comment: str, e: Expr, emitter: Emitter,
              hoist: bool) -> tuple[list[str], list[str]]:
    """The lines of function `name` returning `e`, after the helper functions its deep parts
    became (see emitter.MAX_NESTING), and the names of all of them."""
    body = emitter.body(e, hoist)
    lines, names = [], []
    for helper, helper_body in emitter.take_helpers():
        lines += ["", f"def {helper}({Emitter.ARGS}):",
                  f"    # part of {name}, nested too deep for one function"]
        lines += [f"    {line}" for line in helper_body]
        names.append(helper)
    lines += ["", f"def {name}({Emitter.ARGS}):", f"    # {comment}"]
    lines += [f"    {line}" for line in body]
    return lines, names + [name]


def _rule_code(index: int, rule: RuleIR, consts: Constants, shared: dict[Expr, str],
               hoist: bool) -> _Rule:
    m = rule.meta
    names = {s.name: (shared and shared.get(s.expr)) or _fn_name(index, s.name, j)
             for j, s in enumerate(rule.searches)}  # (hashing an expression is not free)
    emitter = Emitter(consts, ref_call=lambda n: f"{names[n]}({Emitter.ARGS})")
    lines = [f"# rule {m.id!r}: {m.title!r}", f"# from {m.file!r}, line {m.line}"]
    marks = []
    for s in rule.searches:
        fn = names[s.name]
        if shared and s.expr in shared:
            lines += ["", f"# search {s.name!r}, line {s.line}: shared, {fn}"]
            continue
        code, defined = _function(fn, f"search {s.name!r}, line {s.line}", s.expr, emitter, hoist)
        lines += code
        marks += [(f, m.file, s.line) for f in defined]
    fn = f"_r{index}"
    code, defined = _function(fn, f"condition {rule.condition_text!r}, line {rule.condition_line}",
                              rule.condition, emitter, hoist)
    lines += code + [""]
    marks += [(f, m.file, rule.condition_line) for f in defined]
    ls = m.logsource
    return _Rule(m, "\n".join(lines), fn, [(s.name, names[s.name]) for s in rule.searches],
                 (ls.product, ls.category, ls.service), 0, rule.condition_text, marks,
                 required_literals(rule))


def check_rule(rule: RuleIR, options: Options) -> None:
    """Emit one rule alone, as build_module would (without cross-rule sharing), and discard
    the text: `sigcc validate` calls this for every rule (load_rules(check=True)), so that a
    rule this backend cannot write is reported there too. A build needs no such check:
    build_module's `on_error` reports such a rule and leaves it out."""
    _rule_code(0, rule, Constants(), {}, options.optimize).json


def _shared_code(rules: list[RuleIR], consts: Constants) -> tuple[dict[Expr, str], list[str], list]:
    """Search expressions used by more than one rule: one function each, `_s<n>`."""
    uses = shared_searches(rules)
    first = {}
    for r in rules:
        for s in r.searches:
            first.setdefault(s.expr, (r.meta, s))
    names, lines, marks = {}, [], []
    for e, n in uses.items():
        if n < 2:
            continue
        meta, s = first[e]
        name = f"_s{len(names)}"
        mark = consts.mark()
        try:
            code, defined = _function(name, f"shared by {n} searches; first: rule {meta.id!r} "
                                            f"search {s.name!r}, {meta.file!r} line {s.line}", e,
                                      Emitter(consts), True)
        except Exception:  # not shared then: each rule using it meets the error itself
            consts.rollback(mark)
            continue
        names[e] = name
        lines += code
        marks += [(f, meta.file, s.line) for f in defined]
    return names, lines, marks


def build_module(rules: list[RuleIR], options: Options, *, optimized: bool = False,
                 plan=None, on_error=None) -> str:
    """Generate the module source for `rules` (in the given order); `optimized`: the rules
    went through the passes already (load_rules(optimize=True)); `plan`: the resolved
    correlations (CompileResult.plan), written as CORRELATIONS_JSON.

    `on_error(rule, exc)`: called for a rule whose code cannot be written (a bug in this
    backend), which is then left out of the module, as if it were not given; without it,
    the exception propagates. (Each rule's code is written once, here: the build does not
    emit it beforehand as a check.)"""
    if on_error is not None:  # leave out what cannot even be indexed, before anything
        rules = _writable(rules, lambda r: r.logsource_key, on_error)
    if options.optimize and not optimized:
        rules = [optimize_rule(r) for r in rules]
    consts = Constants()
    ls_keys = sorted({r.logsource_key for r in rules})
    ls_index = {k: i for i, k in enumerate(ls_keys)}
    ls_emitter = Emitter(consts)
    logsources = []
    key_fields = dispatch_fields(options.field_names)
    for k in ls_keys:
        cond = logsource_condition(k, options.field_names)
        logsources.append({"key": k, "code": ls_emitter.expr(cond),
                           "dispatch": dispatch_spec(cond, key_fields)})
    if ls_emitter.helpers:  # (the table's conditions are three levels deep)
        raise AssertionError("a logsource condition nested past emitter.MAX_NESTING")
    shared, shared_lines, shared_marks = (_shared_code(rules, consts) if options.optimize
                                          else ({}, [], []))
    rendered = []
    for rule in rules:
        mark = consts.mark()
        try:
            r = _rule_code(len(rendered), rule, consts, shared, options.optimize)
            r.ls_index = ls_index[rule.logsource_key]
            r.json  # (the RULES_JSON line: its metadata must serialise too)
        except Exception as exc:
            if on_error is None:
                raise
            consts.rollback(mark)
            on_error(rule, exc)
            continue
        rendered.append(r)
    text = _ENV.get_template("module.py.j2").render(
        version=__version__, format=FORMAT, options=options.runtime_flags(),
        helpers=HELPERS, constants=consts.lines(), logsources=logsources, rules=rendered,
        shared="\n".join(shared_lines), dispatch_fields=key_fields,
        correlations=plan_lines(plan) if plan is not None else [])
    return text + _linemap(text, rendered, shared_marks)


def _writable(rules: list[RuleIR], probe, on_error) -> list[RuleIR]:
    out = []
    for r in rules:
        try:
            probe(r)
        except Exception as exc:
            on_error(r, exc)
            continue
        out.append(r)
    return out


def _linemap(text: str, rules: list[_Rule], shared_marks: list) -> str:
    """LINEMAP_JSON: [generated line, rule file, rule line] for every generated function."""
    marks = [m for r in rules for m in r.line_marks] + shared_marks
    where = {f"def {fn}(": (file, line) for fn, file, line in marks}
    rows = []
    for n, line in enumerate(text.split("\n"), 1):
        if line.startswith(("def _r", "def _s", "def _d")):
            head = line[: line.index("(") + 1]
            if head in where:
                rows.append((n, *where[head]))
    body = "".join(f"    {orjson.dumps(row).decode() + chr(10)!r}\n" for row in rows) or '    ""\n'
    return (f"\n# generated line -> rule file, rule line; one JSON array per line\n"
            f"LINEMAP_JSON = (\n{body})\n")
