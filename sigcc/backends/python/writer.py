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

import hashlib
from dataclasses import dataclass
from pathlib import Path

import jinja2
import orjson

from sigcc import __version__
from sigcc.backends.python.emitter import Constants, Emitter
from sigcc.compiler.dispatch import dispatch_fields, dispatch_spec
from sigcc.compiler.fired import fired_when_matched
from sigcc.compiler.ir import Expr, RuleIR
from sigcc.compiler.logsources import logsource_condition
from sigcc.compiler.passes import optimize_rule
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


SLOT = "\x01"  # stands for the rule's index in RuleCode text (see RuleCode)


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
    """Generate the module source for `rules` (in the given order); `optimized`: the rules
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
    return assemble(made, options, plan)


def assemble(codes: list[RuleCode], options: Options, plan=None) -> str:
    """The module of these rules' codes, in this order. With options.optimize, a search body
    that several rules have is one function `_s_<hash of the body>`, and each such rule's
    search is that function under its own name."""
    ls_keys = sorted({c.logsource_key for c in codes})
    ls_index = {k: i for i, k in enumerate(ls_keys)}
    ls_consts = Constants()
    ls_emitter = Emitter(ls_consts)
    logsources = []
    key_fields = dispatch_fields(options.field_names)
    for k in ls_keys:
        cond = logsource_condition(k, options.field_names)
        logsources.append({"key": k, "code": ls_emitter.expr(cond),
                           "dispatch": dispatch_spec(cond, key_fields)})
    if ls_emitter.helpers:  # (the table's conditions are three levels deep)
        raise AssertionError("a logsource condition nested past emitter.MAX_NESTING")
    consts: dict[str, str] = {}
    for name, source in ls_consts.pairs() + [p for c in codes for p in c.consts]:
        if consts.setdefault(name, source) != source:  # 48 bits of SHA-1: never seen
            raise AssertionError(f"two constants named {name}")
    shared, shared_lines, marks = _shared(codes) if options.optimize else ({}, [], [])
    # (the per-rule parts of the template joined here: one loop, not three in jinja)
    code_parts, matcher_parts, json_parts = [], [], []
    for i, c in enumerate(codes):
        slot = str(i)
        lines = [c.head]  # (pieces of lines, joined by line breaks)
        fns = []
        for s in c.searches:
            fn = s.fn.replace(SLOT, slot)
            fns.append(fn)
            name = shared.get(s.body) if s.body is not None else None
            if name is not None:
                lines += ["", f"# search {s.name!r}, line {s.line}: shared, {name}",
                          f"{fn} = {name}"]
                continue
            lines.append(s.text)
            marks += [(f.replace(SLOT, slot), c.file, s.line) for f in s.defined]
        lines.append(c.cond)
        lines.append("")
        marks += [(f.replace(SLOT, slot), c.file, c.cond_line) for f in c.cond_defined]
        row = dict(c.row)
        row["logsource_index"] = ls_index[c.logsource_key]
        code_parts.append("\n".join(lines).replace(SLOT, slot))
        matcher_parts.append(f"    (_r{slot}, ({''.join(f + ', ' for f in fns)})),\n")
        json_parts.append(f"    {orjson.dumps(row).decode() + chr(10)!r}\n")
    code_parts.append("")
    text = _ENV.get_template("module.py.j2").render(
        version=__version__, format=FORMAT, options=options.runtime_flags(),
        helpers=HELPERS, constants=[f"{n} = {src}" for n, src in consts.items()],
        logsources=logsources, rule_count=len(codes), rules_code="\n".join(code_parts),
        matchers="".join(matcher_parts), rules_json="".join(json_parts) or '    ""\n',
        shared="\n".join(shared_lines), dispatch_fields=key_fields,
        correlations=plan_lines(plan) if plan is not None else [])
    return text + _linemap(text, marks)


def _shared(codes: list[RuleCode]) -> tuple[dict[str, str], list[str], list]:
    """Search bodies that more than one search has: one function each, `_s_<hash>`."""
    uses: dict[str, int] = {}
    first: dict[str, tuple[RuleCode, SearchCode]] = {}
    for c in codes:
        for s in c.searches:
            if s.body is not None:
                uses[s.body] = uses.get(s.body, 0) + 1
                first.setdefault(s.body, (c, s))
    names, lines, marks = {}, [], []
    for body, n in uses.items():
        if n < 2:
            continue
        c, s = first[body]
        name = names[body] = f"_s_{hashlib.sha1(body.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"
        lines += ["", f"def {name}({Emitter.ARGS}):",
                  f"    # shared by {n} searches; first: rule {c.row['id']!r} search "
                  f"{s.name!r}, {c.file!r} line {s.line}"]
        lines += [f"    {line}" for line in body.split("\n")]
        marks.append((name, c.file, s.line))
    return names, lines, marks


def _linemap(text: str, marks: list) -> str:
    """LINEMAP_JSON: [generated line, rule file, rule line] for every generated function."""
    where = {fn: (file, line) for fn, file, line in marks}
    rows = []
    n, at = 1, 0
    i = text.find("\ndef _")
    while i >= 0:
        start = i + 5  # the name's first character
        if text[start + 1] in "rsd":
            fn = text[start:text.index("(", start)]
            if fn in where:
                n += text.count("\n", at, i + 1)
                at = i + 1
                rows.append((n, *where[fn]))
        i = text.find("\ndef _", start)
    body = "".join(f"    {orjson.dumps(row).decode() + chr(10)!r}\n" for row in rows) or '    ""\n'
    return (f"\n# generated line -> rule file, rule line; one JSON array per line\n"
            f"LINEMAP_JSON = (\n{body})\n")
