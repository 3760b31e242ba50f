"""The rules of a scan: rule filters and scan-time pipelines, applied before matching.

    compiled = compile_for_scan(paths, options, rule_filter, pipelines)   # rule files/dirs
    module = import_module(path); view, kept, total = select(module, rule_filter.keep)

Rule files and directories are loaded and lowered, the filter drops rules from the IR and
the pipelines rewrite what is left (pure RuleIR -> RuleIR, compiler/pipelines.py, as `sigcc
query` applies them) before the module is written, so a left-out rule is never compiled.
The rules a correlation refers to are kept whatever the filter says (the correlation needs
their matches); their own matches are then not shown (`hidden`).

With pipelines, the rules carry their logsource as a condition over the renamed fields (the
windows-logsources pipeline, a default as in `query`), so the module is written with
`logsource="ignore"`: the runtime's own gating reads `Channel`/`EventID`, which events of
another shape (ECS: `winlog.channel`, `event.code`) do not have. The field names a match line
reads its computer, channel and event id from are renamed by the same pipelines
(`event_names`).

A prebuilt module is filtered at load: `select` gives a view of it with only the selected
rules' RULES_JSON lines and MATCHERS entries (the functions are the module's own), which
`Ruleset` loads as it would the module.
"""
from __future__ import annotations

import importlib.util
import inspect
import types
from dataclasses import dataclass, field, replace
from pathlib import Path

import orjson

from sigcc.compiler import pipelines as pl
from sigcc.compiler.ir import And, Const, Logsource, Match, RuleIR, RuleMeta, Search, StrMatch
from sigcc.options import Options
from sigcc.runtime.output import EventNames

__all__ = ["Compiled", "compile_for_scan", "import_module", "select", "event_names",
           "scan_pipelines", "DEFAULT_SCAN_PIPELINES"]

# What a scan-time pipeline is added to, as `query` does (its targets' DEFAULT_PIPELINES).
DEFAULT_SCAN_PIPELINES = ("windows-logsources", "windows-field-aliases")


@dataclass
class Compiled:
    ruleset: object  # sigcc.runtime.ruleset.Ruleset
    irs: dict  # (id, file, line) -> RuleIR, the rules in the module
    diagnostics: list
    total: int  # rules that compiled
    selected: int  # rules the filter kept
    hidden: frozenset = field(default_factory=frozenset)  # kept for correlations only


def scan_pipelines(names) -> list[pl.Pipeline]:
    """The default pipelines plus the named ones (raises PipelineError), or [] for none."""
    if not names:
        return []
    chosen = list(DEFAULT_SCAN_PIPELINES) + [n for n in names if n not in DEFAULT_SCAN_PIPELINES]
    return [pl.load_pipeline(n) for n in chosen]


def compile_for_scan(paths, options: Options, rule_filter, pipelines=()) -> Compiled:
    from sigcc.backends.python.writer import build_module
    from sigcc.compiler.build import gc_paused, load_rules
    from sigcc.compiler.logsources import ALL
    from sigcc.runtime.ruleset import Ruleset

    with gc_paused():
        load_options = pl.placeholder_options(pipelines, options) if pipelines else options
        pre_optimized = options.optimize and not pipelines
        result = load_rules(paths, load_options, optimize=pre_optimized)
        diags = list(result.diagnostics)
        base = set(result.plan.base_rules)
        kept, hidden = [], set()
        for r in result.rules:
            if rule_filter.keep(r.meta):
                kept.append(r)
            elif r.meta.id in base:
                kept.append(r)
                hidden.add(r.meta.id)
        selected = len(kept) - len(hidden)
        build_options = options
        if pipelines:
            piped = []
            for r in kept:
                new, pdiags = pl.apply(pipelines, r, load_options)
                diags.extend(pdiags)
                if new is not None:
                    piped.append(replace(new, logsource_key=ALL))
            kept = piped
            build_options = replace(options, logsource="ignore")
        plan = renamed_plan(result.plan, pipelines, kept)
        failed: list = []
        extra = {"on_error": lambda rule, exc: failed.append((rule, exc))} \
            if "on_error" in inspect.signature(build_module).parameters else {}
        source = build_module(kept, build_options, optimized=pre_optimized, plan=plan, **extra)
        if failed:  # (a rule this backend cannot write: reported, and not in the module)
            from sigcc.compiler.build import internal_error
            from sigcc.diagnostics import Span
            gone = {id(r) for r, _ in failed}
            for r, exc in failed:
                diags.append(internal_error(exc, "generating this rule's Python code",
                                            Span(r.meta.file, r.meta.line), r.meta.id,
                                            r.meta.title))
            kept = [r for r in kept if id(r) not in gone]
    rs = Ruleset.from_source(source, "<sigcc generated>", diags)
    irs = {(r.meta.id, r.meta.file, r.meta.line): r for r in kept}
    return Compiled(rs, irs, diags, len(result.rules), selected, frozenset(hidden))


def import_module(path: str) -> types.ModuleType:
    """A generated module from its path, as Ruleset.load imports it."""
    p = Path(path)
    name = f"sigcc_rules_{abs(hash(str(p.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, p)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot load {p}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Info:  # what RuleFilter.keep reads, from one RULES_JSON line
    __slots__ = ("id", "level", "status", "tags")

    def __init__(self, row: dict):
        self.id, self.level, self.status, self.tags = (row["id"], row["level"], row["status"],
                                                       row["tags"])


def select(module: types.ModuleType, keep) -> tuple[types.ModuleType, int, int, frozenset]:
    """A view of `module` with only the rules `keep(info)` selects (and the rules its
    correlations refer to): (view, selected, total, hidden ids)."""
    from sigcc.correlation.serial import plan_from_lines

    lines = [line for line in module.RULES_JSON.split("\n") if line]
    base = set(plan_from_lines("".join(getattr(module, "CORRELATIONS_JSON", ()))).base_rules)
    rows, matchers, hidden = [], [], set()
    for line, m in zip(lines, module.MATCHERS):
        info = _Info(orjson.loads(line))
        if keep(info):
            rows.append(line)
            matchers.append(m)
        elif info.id in base:
            rows.append(line)
            matchers.append(m)
            hidden.add(info.id)
    view = types.ModuleType(module.__name__)
    view.__dict__.update(module.__dict__)
    view.RULES_JSON = "".join(line + "\n" for line in rows)
    view.MATCHERS = tuple(matchers)
    return view, len(rows) - len(hidden), len(lines), frozenset(hidden)


_RENAMING = ("field_name_mapping", "field_name_prefix_mapping", "field_name_prefix",
             "field_name_suffix")


def renamed_fields(pipelines, fields, meta: RuleMeta | None = None) -> dict:
    """field -> the name the pipelines' renaming transformations give it in a rule of
    `meta`'s logsource and tags (a Windows rule when None); a field renamed to several names
    (a one-to-many mapping) keeps its own name."""
    fields = tuple(dict.fromkeys(f for f in fields if f))
    if not pipelines or not fields:
        return {f: f for f in fields}
    meta = meta or RuleMeta("names", "names", None, None, (), Logsource("windows"), (), None,
                            None, (), "<names>", 0)
    names = [f"f{i}" for i in range(len(fields))]
    probe = RuleIR(meta, tuple(Search(n, Match(f, StrMatch(("x",))))
                               for n, f in zip(names, fields)),
                   And(tuple(Const(True) for _ in fields)), "names", 0, "windows")
    renames = [replace(p, transformations=tuple(t for t in p.transformations
                                                if t.type in _RENAMING)) for p in pipelines]
    out, _ = pl.apply(renames, probe)
    got = {}
    if out is not None:
        got = {s.name: s.expr.field for s in out.searches if isinstance(s.expr, Match)}
    return {f: got.get(n, f) for n, f in zip(names, fields)}


def event_names(pipelines) -> EventNames:
    """Where the computer, channel and event id are in events of the pipelines' shape."""
    got = renamed_fields(pipelines, ("Computer", "Channel", "EventID"))
    return EventNames(got["Computer"], got["Channel"], got["EventID"])


def renamed_plan(plan, pipelines, rules: list[RuleIR]):
    """The correlation plan with each referred rule's group-by and value fields renamed as
    the pipelines renamed that rule's fields (the plan reads them from matched events)."""
    from sigcc.correlation.resolve import Plan

    if not pipelines or not plan.steps:
        return plan
    by_id = {r.meta.id: r.meta for r in rules}
    steps = []
    for step in plan.steps:
        inputs = []
        for i in step.inputs:
            if i.is_correlation:
                inputs.append(i)
                continue
            rn = renamed_fields(pipelines, i.group_fields + ((i.value_field,) if i.value_field
                                                             else ()), by_id.get(i.target))
            inputs.append(replace(i, group_fields=tuple(rn.get(f, f) for f in i.group_fields),
                                  value_field=rn.get(i.value_field, i.value_field)
                                  if i.value_field else None))
        steps.append(replace(step, inputs=tuple(inputs)))
    return Plan(plan.base_rules, tuple(steps), plan.silent)
