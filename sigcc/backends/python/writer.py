"""The Python backend: a whole rule set -> one importable, deterministic module.

jinja2 lays out the module (templates/module.py.j2); the Emitter writes the expressions.
Values reach the text only through the `py` filter (`repr`). While writing, a line map is
recorded: generated line -> (rule file, rule line); it is stored in the module as LINEMAP so
tracebacks and explanations can point back to the rule.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from sigcc import __version__
from sigcc.backends.python.emitter import Constants, Emitter
from sigcc.compiler.ir import RuleIR
from sigcc.compiler.logsources import logsource_condition
from sigcc.options import Options
from sigcc.runtime.helpers import __all__ as HELPERS

FORMAT = 1

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


def _fn_name(index: int, search: str, j: int) -> str:
    # `_r<index>_<digit>...` for the others: an identifier never starts with a digit, so the
    # two kinds cannot collide (`_r0_s1` could be search 's1' as well as the 2nd of 'a-b', 'x.y').
    if search.isidentifier() and search.isascii():
        return f"_r{index}_{search}"
    return f"_r{index}_{j}"


def _rule_code(index: int, rule: RuleIR, consts: Constants) -> _Rule:
    m = rule.meta
    names = {s.name: _fn_name(index, s.name, j) for j, s in enumerate(rule.searches)}
    emitter = Emitter(consts, ref_call=lambda n: f"{names[n]}({Emitter.ARGS})")
    lines = [f"# rule {m.id!r}: {m.title!r}", f"# from {m.file!r}, line {m.line}"]
    marks = []
    for s in rule.searches:
        fn = names[s.name]
        lines += ["", f"def {fn}({Emitter.ARGS}):",
                  f"    # search {s.name!r}, line {s.line}",
                  f"    return {emitter.expr(s.expr)}"]
        marks.append((fn, m.file, s.line))
    fn = f"_r{index}"
    lines += ["", f"def {fn}({Emitter.ARGS}):",
              f"    # condition {rule.condition_text!r}, line {rule.condition_line}",
              f"    return {emitter.expr(rule.condition)}", ""]
    marks.append((fn, m.file, rule.condition_line))
    ls = m.logsource
    return _Rule(m, "\n".join(lines), fn, [(s.name, names[s.name]) for s in rule.searches],
                 (ls.product, ls.category, ls.service), 0, rule.condition_text, marks)


def build_module(rules: list[RuleIR], options: Options) -> str:
    """Generate the module source for `rules` (in the given order)."""
    consts = Constants()
    ls_keys = sorted({r.logsource_key for r in rules})
    ls_index = {k: i for i, k in enumerate(ls_keys)}
    ls_emitter = Emitter(consts)
    logsources = [{"key": k, "code": ls_emitter.expr(logsource_condition(k))} for k in ls_keys]
    rendered = []
    for i, rule in enumerate(rules):
        r = _rule_code(i, rule, consts)
        r.ls_index = ls_index[rule.logsource_key]
        rendered.append(r)
    text = _ENV.get_template("module.py.j2").render(
        version=__version__, format=FORMAT, options=options.runtime_flags(),
        helpers=HELPERS, constants=consts.lines(), logsources=logsources, rules=rendered)
    return text + _linemap(text, rendered)


def _linemap(text: str, rules: list[_Rule]) -> str:
    """LINEMAP: (generated line, rule file, rule line) for every generated function."""
    where = {f"def {fn}(": (file, line) for r in rules for fn, file, line in r.line_marks}
    rows = []
    for n, line in enumerate(text.split("\n"), 1):
        if line.startswith("def _r"):
            head = line[: line.index("(") + 1]
            if head in where:
                rows.append((n, *where[head]))
    body = "".join(f"    {row!r},\n" for row in rows)
    return f"\n# generated line -> (rule file, rule line)\nLINEMAP = (\n{body})\n"
