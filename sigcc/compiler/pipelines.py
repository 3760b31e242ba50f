"""Processing pipelines: a pySigma-compatible YAML subset, applied as pure RuleIR -> RuleIR.

A pipeline file is `name`, `priority`, optional `vars` and `transformations`, each a mapping
with `id`, `type`, its arguments and optional conditions:
- `rule_conditions` (`type: logsource` with product/category/service, or `type: tag`),
  combined by `rule_cond_op` (and|or), negated by `rule_cond_not`;
- `field_name_conditions` (`include_fields` / `exclude_fields` with `fields` and `type`
  plain|re), negated by `field_name_cond_not`;
- `detection_item_conditions` (`match_string` with `pattern`/`negate`, `is_null`), negated
  by `detection_item_cond_not`.

Transformation types are the table TRANSFORMS below. Two of them are sigcc's own, both read
from sigcc/data/windows_logsources.yml — the table the Python runtime uses — so that a query
selects the events the matcher selects: `logsource_condition` ANDs the condition of the
rule's logsource; `field_aliases` makes each test on a field the runtime may fill from another
(Image from Security 4688's NewProcessName) a test on "Image if present, else NewProcessName"
for the events of that alias (compiler/aliases.py), unless Options.field_aliases is off.
Pipelines run in priority order (lower first, then given order).

The IR is frozen: every step builds new nodes with `dataclasses.replace` and returns the very
rule it was given when nothing changed, so one loaded rule can feed several targets.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Mapping

import yaml

from sigcc.compiler import patterns
from sigcc.compiler.aliases import with_aliases, with_spaced_names
from sigcc.compiler.dispatch import allows, dispatch_spec
from sigcc.compiler.ir import (And, BoolEq, Const, Expr, FieldRef, Logsource, Match, Not, Null,
                               NumEq, Or, Ref, RuleIR, Search, StrMatch)
from sigcc.compiler.logsources import alias_sources, logsource_condition, logsource_key
from sigcc.diagnostics import Diagnostic, Span
from sigcc.options import DEFAULT_OPTIONS, Options

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "data" / "pipelines"


class PipelineError(ValueError):
    """A pipeline file that cannot be used (bad YAML, unknown type, missing argument)."""


# --- the pipeline model -------------------------------------------------------------------

@dataclass(frozen=True)
class Transformation:
    type: str
    args: Mapping
    id: str | None = None
    rule_conditions: tuple = ()
    rule_cond_op: str = "and"
    rule_cond_not: bool = False
    field_name_conditions: tuple = ()
    field_name_cond_not: bool = False
    detection_item_conditions: tuple = ()
    detection_item_cond_not: bool = False


@dataclass(frozen=True)
class Pipeline:
    name: str
    priority: int = 0
    transformations: tuple[Transformation, ...] = ()
    vars: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    file: str = "<pipeline>"


_COND_KEYS = ("rule_conditions", "rule_cond_op", "rule_cond_not", "field_name_conditions",
              "field_name_cond_not", "detection_item_conditions", "detection_item_cond_not")


def builtin_pipelines() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yml"))


def load_pipeline(name_or_path: str | Path) -> Pipeline:
    """A built-in pipeline by name, or a pipeline YAML file by path."""
    path = Path(name_or_path)
    if not path.exists():
        builtin = BUILTIN_DIR / f"{name_or_path}.yml"
        if not builtin.exists():
            close = difflib.get_close_matches(str(name_or_path), builtin_pipelines(), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else \
                f"; built-in pipelines: {', '.join(builtin_pipelines())}"
            raise PipelineError(f"no pipeline file or built-in pipeline {str(name_or_path)!r}{hint}")
        path = builtin
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PipelineError(f"{path}: cannot read pipeline: {exc}") from None
    return parse_pipeline(data, str(path))


def parse_pipeline(data, file: str = "<pipeline>") -> Pipeline:
    if not isinstance(data, dict) or not isinstance(data.get("transformations", []), list):
        raise PipelineError(f"{file}: a pipeline is a mapping with a 'transformations' list")
    items = []
    for n, t in enumerate(data.get("transformations") or [], 1):
        where = f"{file}: transformation {n}" + (f" ({t.get('id')})" if isinstance(t, dict) and t.get("id") else "")
        if not isinstance(t, dict) or "type" not in t:
            raise PipelineError(f"{where}: needs a 'type'")
        kind = str(t["type"])
        if kind not in TRANSFORMS:
            close = difflib.get_close_matches(kind, TRANSFORMS, n=1)
            raise PipelineError(f"{where}: unknown transformation type {kind!r}"
                                + (f"; did you mean {close[0]!r}?" if close else
                                   f"; sigcc supports {', '.join(sorted(TRANSFORMS))}"))
        args = {k: v for k, v in t.items() if k not in ("id", "type") + _COND_KEYS}
        missing = [a for a in REQUIRED.get(kind, ()) if a not in args]
        if missing:
            raise PipelineError(f"{where}: {kind} needs {', '.join(missing)}")
        for key in ("rule_conditions", "field_name_conditions", "detection_item_conditions"):
            for c in t.get(key) or []:
                if not isinstance(c, dict) or c.get("type") not in CONDITION_TYPES[key]:
                    raise PipelineError(f"{where}: {key}: unsupported condition {c!r}; sigcc "
                                        f"supports types {', '.join(CONDITION_TYPES[key])}")
        items.append(Transformation(
            kind, args, t.get("id"), tuple(t.get("rule_conditions") or ()),
            str(t.get("rule_cond_op", "and")).lower(), bool(t.get("rule_cond_not", False)),
            tuple(t.get("field_name_conditions") or ()), bool(t.get("field_name_cond_not", False)),
            tuple(t.get("detection_item_conditions") or ()), bool(t.get("detection_item_cond_not", False))))
    raw_vars = data.get("vars") or {}
    pvars = {str(k): tuple(str(x) for x in (v if isinstance(v, list) else [v])) for k, v in raw_vars.items()}
    return Pipeline(str(data.get("name") or Path(file).stem), int(data.get("priority") or 0),
                    tuple(items), pvars, file)


def ordered(pipelines: Iterable[Pipeline]) -> list[Pipeline]:
    return sorted(pipelines, key=lambda p: p.priority)  # stable: equal priorities keep order


def placeholder_options(pipelines: Iterable[Pipeline], options: Options) -> Options:
    """Options with the `vars` of pipelines that use value_placeholders (lowering resolves them)."""
    merged = dict(options.placeholders)
    for p in pipelines:
        if any(t.type == "value_placeholders" for t in p.transformations):
            for k, v in p.vars.items():
                merged.setdefault(k, v)
    if merged == dict(options.placeholders):
        return options
    return replace(options, placeholders=merged)


# --- conditions ---------------------------------------------------------------------------

def _rule_cond(c: Mapping, rule: RuleIR) -> bool:
    if c["type"] == "logsource":
        ls = rule.meta.logsource
        return all(c.get(k) is None or str(c[k]).lower() == (getattr(ls, k) or "").lower()
                   for k in ("product", "category", "service"))
    if c["type"] == "tag":
        return str(c.get("tag", "")).lower() in (t.lower() for t in rule.meta.tags)
    raise AssertionError(c)  # pragma: no cover


def _field_cond(c: Mapping, name: str | None) -> bool:
    if name is None:
        hit = False
    else:
        fields = c.get("fields") or []
        fields = fields if isinstance(fields, list) else [fields]
        if c.get("matching", "plain") == "re":  # sigcc extension: fields as regexes
            hit = any(re.fullmatch(str(f), name) for f in fields)
        else:
            hit = name in map(str, fields)
    return hit if c["type"] == "include_fields" else not hit


def _item_cond(c: Mapping, m: Match) -> bool:
    if c["type"] == "match_string":
        hit = isinstance(m.test, StrMatch) and re.search(str(c["pattern"]), patterns.to_sigma(m.test.parts)) is not None
        return hit != bool(c.get("negate", False))
    if c["type"] == "is_null":
        return isinstance(m.test, Null) != bool(c.get("negate", False))
    raise AssertionError(c)  # pragma: no cover


CONDITION_TYPES = {
    "rule_conditions": ("logsource", "tag"),
    "field_name_conditions": ("include_fields", "exclude_fields"),
    "detection_item_conditions": ("match_string", "is_null"),
}


def _rule_applies(t: Transformation, rule: RuleIR) -> bool:
    if not t.rule_conditions:
        return True
    results = [_rule_cond(c, rule) for c in t.rule_conditions]
    ok = any(results) if t.rule_cond_op == "or" else all(results)
    return ok != t.rule_cond_not


def _field_applies(t: Transformation, name: str | None) -> bool:
    if not t.field_name_conditions:
        return True
    return all(_field_cond(c, name) for c in t.field_name_conditions) != t.field_name_cond_not


def _item_applies(t: Transformation, m: Match) -> bool:
    if not _field_applies(t, m.field):
        return False
    if not t.detection_item_conditions:
        return True
    return all(_item_cond(c, m) for c in t.detection_item_conditions) != t.detection_item_cond_not


# --- rewriting helpers --------------------------------------------------------------------

_DROP = object()


def map_matches(e: Expr, fn: Callable[[Match], object]) -> object:
    """Rewrite every Match with fn (returning an Expr, or _DROP to remove it). Shares unchanged nodes."""
    if isinstance(e, Match):
        return fn(e)
    if isinstance(e, (And, Or)):
        items = [map_matches(x, fn) for x in e.items]
        kept = tuple(x for x in items if x is not _DROP)
        if len(kept) == len(e.items) and all(a is b for a, b in zip(kept, e.items)):
            return e
        if not kept:
            return _DROP
        return kept[0] if len(kept) == 1 else type(e)(kept)
    if isinstance(e, Not):
        item = map_matches(e.item, fn)
        if item is _DROP:
            return _DROP
        return e if item is e.item else Not(item)
    return e


def _map_searches(rule: RuleIR, fn) -> RuleIR:
    searches = []
    changed = False
    for s in rule.searches:
        new = map_matches(s.expr, fn)
        if new is _DROP:
            new = Const(True)  # pySigma: a detection with every item dropped matches anything
        if new is not s.expr:
            changed = True
            s = replace(s, expr=new)
        searches.append(s)
    return replace(rule, searches=tuple(searches)) if changed else rule


def _fields(t: Transformation, rule: RuleIR, rename: Callable[[str], object]) -> RuleIR:
    """Rename fields (and fieldref targets) that pass the field conditions; 1:n gives an Or."""
    def fn(m: Match):
        if not _item_applies(t, m) or m.field is None:
            return m
        new = rename(m.field)
        test = m.test
        if isinstance(test, FieldRef) and _field_applies(t, test.other):
            other = rename(test.other)
            other = other[0] if isinstance(other, list) else other
            if other != test.other:
                test = replace(test, other=other)
        names = new if isinstance(new, list) else [new]
        alts = tuple(replace(m, field=n, test=test) for n in names)
        if len(alts) == 1 and alts[0].field == m.field and test is m.test:
            return m
        return alts[0] if len(alts) == 1 else Or(alts)
    return _map_searches(rule, fn)


def value_test(value):
    """A pipeline value (add_condition) as an IR test: Sigma strings keep their wildcards."""
    if value is None:
        return Null()
    if isinstance(value, bool):
        return BoolEq(value)
    if isinstance(value, (int, float)):
        return NumEq(value)
    return StrMatch(patterns.parse(str(value)))


def _add_search(rule: RuleIR, name: str, expr: Expr) -> RuleIR:
    taken = {s.name for s in rule.searches}
    base, n = name, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return replace(rule, searches=rule.searches + (Search(name, expr, rule.condition_line),),
                   condition=And((Ref(name), rule.condition)))  # first, as pySigma does


# --- transformations: (transformation, rule, context) -> rule -----------------------------

@dataclass
class Context:
    options: Options
    diagnostics: list
    pipeline: Pipeline


def _failure(t: Transformation, rule: RuleIR, ctx: Context, span: Span | None = None) -> None:
    ctx.diagnostics.append(Diagnostic(
        "pipeline-failure", str(t.args.get("message") or f"rejected by pipeline {ctx.pipeline.name!r}"),
        span or Span(rule.meta.file, rule.meta.line), rule.meta.id, rule.meta.title,
        f"transformation {t.id or t.type} of pipeline {ctx.pipeline.name!r} ({ctx.pipeline.file})"))


def t_field_name_mapping(t, rule, ctx):
    mapping = {str(k): v for k, v in t.args["mapping"].items()}
    return _fields(t, rule, lambda f: mapping.get(f, f))


def t_field_name_prefix_mapping(t, rule, ctx):
    mapping = {str(k): str(v) for k, v in t.args["mapping"].items()}

    def rename(f: str) -> str:
        for old, new in mapping.items():
            if f.startswith(old):
                return new + f[len(old):]
        return f
    return _fields(t, rule, rename)


def t_field_name_prefix(t, rule, ctx):
    return _fields(t, rule, lambda f: str(t.args["prefix"]) + f)


def t_field_name_suffix(t, rule, ctx):
    return _fields(t, rule, lambda f: f + str(t.args["suffix"]))


def t_drop_detection_item(t, rule, ctx):
    return _map_searches(rule, lambda m: _DROP if _item_applies(t, m) else m)


def t_replace_string(t, rule, ctx):
    rx = re.compile(str(t.args["regex"]))
    repl = str(t.args["replacement"])

    def fn(m: Match):
        if not isinstance(m.test, StrMatch) or not _item_applies(t, m):
            return m
        parts = patterns.map_literals(m.test.parts, lambda s: rx.sub(repl, s))
        return m if parts == m.test.parts else replace(m, test=replace(m.test, parts=parts))
    return _map_searches(rule, fn)


def t_map_string(t, rule, ctx):
    mapping = {str(k): v for k, v in t.args["mapping"].items()}

    def fn(m: Match):
        if not isinstance(m.test, StrMatch) or not _item_applies(t, m):
            return m
        new = mapping.get(patterns.to_sigma(m.test.parts))
        if new is None:
            return m
        alts = tuple(replace(m, test=replace(m.test, parts=patterns.parse(str(v))))
                     for v in (new if isinstance(new, list) else [new]))
        return alts[0] if len(alts) == 1 else Or(alts)
    return _map_searches(rule, fn)


def t_add_condition(t, rule, ctx):
    conds = []
    for f, v in t.args["conditions"].items():
        values = v if isinstance(v, list) else [v]
        alts = tuple(Match(str(f), value_test(x)) for x in values)
        conds.append(alts[0] if len(alts) == 1 else Or(alts))
    expr: Expr = conds[0] if len(conds) == 1 else And(tuple(conds))
    if t.args.get("negated"):
        expr = Not(expr)
    return _add_search(rule, f"_pipeline_{t.id or 'condition'}", expr)


def t_change_logsource(t, rule, ctx):
    ls = Logsource(*(str(t.args[k]) if t.args.get(k) is not None else None
                     for k in ("product", "category", "service")), rule.meta.logsource.definition)
    if ls == rule.meta.logsource:
        return rule
    key, _ = logsource_key(ls, ctx.options, (s.expr for s in rule.searches))
    return replace(rule, meta=replace(rule.meta, logsource=ls), logsource_key=key)


def t_logsource_condition(t, rule, ctx):
    return _add_search(rule, "_logsource", logsource_condition(rule.logsource_key))


@lru_cache(maxsize=256)
def _alias_sources_for(logsource_key: str, field_names: str) -> dict:
    spec = dispatch_spec(logsource_condition(logsource_key))
    sources = {}
    for name, alts in alias_sources(field_names).items():
        kept = tuple(s for s in alts if any(allows(spec, ch.lower(), patterns.number_text(eid))
                                            for ch, eid in s.keys))
        if kept:
            sources[name] = kept
    return sources


def t_field_aliases(t, rule, ctx):
    """The runtime's field aliases (Options.field_aliases) in the rule's searches, and the
    names Windows writes with spaces (aliases.SPACED_NAMES); an alias whose (Channel, EventID)
    the rule's logsource excludes can never apply and is left out."""
    if not ctx.options.field_aliases:
        return rule
    sources = with_spaced_names(_alias_sources_for(rule.logsource_key, ctx.options.field_names),
                                ctx.options.field_names)
    searches, changed = [], False
    for s in rule.searches:
        new = with_aliases(s.expr, sources) if s.name != "_logsource" else s.expr
        if new is not s.expr:
            changed = True
            s = replace(s, expr=new)
        searches.append(s)
    return replace(rule, searches=tuple(searches)) if changed else rule


def t_rule_failure(t, rule, ctx):
    _failure(t, rule, ctx)
    return None


def t_detection_item_failure(t, rule, ctx):
    hits: list[Match] = []

    def look(m: Match) -> Match:
        if _item_applies(t, m):
            hits.append(m)
        return m
    _map_searches(rule, look)
    if hits:
        _failure(t, rule, ctx, hits[0].span if hits[0].span.line else None)
        return None
    return rule


def t_value_placeholders(t, rule, ctx):
    return rule  # placeholders are resolved while lowering, from the pipeline's vars


TRANSFORMS: dict[str, Callable] = {
    "field_name_mapping": t_field_name_mapping,
    "field_name_prefix_mapping": t_field_name_prefix_mapping,
    "field_name_prefix": t_field_name_prefix,
    "field_name_suffix": t_field_name_suffix,
    "drop_detection_item": t_drop_detection_item,
    "replace_string": t_replace_string,
    "map_string": t_map_string,
    "add_condition": t_add_condition,
    "change_logsource": t_change_logsource,
    "logsource_condition": t_logsource_condition,
    "field_aliases": t_field_aliases,
    "rule_failure": t_rule_failure,
    "detection_item_failure": t_detection_item_failure,
    "value_placeholders": t_value_placeholders,
}
REQUIRED = {
    "field_name_mapping": ("mapping",), "field_name_prefix_mapping": ("mapping",),
    "field_name_prefix": ("prefix",), "field_name_suffix": ("suffix",),
    "replace_string": ("regex", "replacement"), "map_string": ("mapping",),
    "add_condition": ("conditions",),
}


def apply(pipelines: Iterable[Pipeline], rule: RuleIR, options: Options = DEFAULT_OPTIONS
          ) -> tuple[RuleIR | None, list[Diagnostic]]:
    """Run the pipelines (in priority order) over one rule: the new rule (None: rejected)."""
    diags: list[Diagnostic] = []
    for p in ordered(pipelines):
        ctx = Context(options, diags, p)
        for t in p.transformations:
            if not _rule_applies(t, rule):
                continue
            rule = TRANSFORMS[t.type](t, rule, ctx)
            if rule is None:
                return None, diags
    return rule, diags
