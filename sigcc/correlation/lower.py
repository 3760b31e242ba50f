"""Lowering: one loaded `correlation:` or `filter:` document -> IR, checked on the way.

Every problem is a `Diagnostic` at the file:line:col of the key it is about (positions come
from the loader's PosDicts), with a stable code and a hint; a document with an error gives
no IR, and lowering never raises for any input the loader can give.

    lower_correlation(data, file, options) -> (Correlation | None, diagnostics)
    lower_filter(data, file, options)      -> (Filter | None, diagnostics)

What is checked, by the Sigma specification v2.1 (correlations 2.0.2, filters 2.1.0) and
SIGMA_SEMANTICS.md §5–6: the type; rules (ids or names; bound later by resolve.py);
group-by (required for every type); timespan (`<n><unit>`, units s m h d, and w M y as
pySigma reads them); the condition (one operator, or two ANDed as a range; `field` for the
value_* types, `percentile` for value_percentile); aliases; generate (top level, as in the
spec's schema, or under `correlation:`, as pySigma reads it).
"""
from __future__ import annotations

import re

from sigcc.compiler.ir import Logsource, Search
from sigcc.compiler.loader import PosDict
from sigcc.compiler.lower import LEVELS, STATUSES, lower_search, resolve
from sigcc.correlation.conditions import lower_condition
from sigcc.correlation.sink import Sink, did_you_mean, kind_of, scalar_text
from sigcc.correlation.ir import TYPES, Alias, Correlation, Filter
from sigcc.diagnostics import Diagnostic, SigmaError, Span
from sigcc.grammar.builder import parse_condition
from sigcc.options import DEFAULT_OPTIONS, Options

__all__ = ["lower_correlation", "lower_filter", "parse_timespan", "UNIT_SECONDS"]

# pySigma's table (sigma/correlations.py): M and y are the mean Gregorian month and year
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2629746,
                "y": 31556952}
_TIMESPAN = re.compile(r"([0-9]{1,12})([A-Za-z]+)")
_TIMESPAN_HINT = ("write a whole number and one unit: 30s, 5m, 1h, 2d (also w = 7 days, "
                  "M = 30.44 days, y = 365.24 days); 1h30 is 90m")
_CORRELATION_KEYS = ("type", "rules", "group-by", "timespan", "condition", "aliases", "generate")
_FILTER_RESERVED = ("rules", "condition")


def _header(data, file: str, what: str) -> Sink:
    """Checks shared by correlation and filter documents: title, id, level, status."""
    rule_id, title = scalar_text(data.get("id")), data.get("title")
    sink = Sink(file, data, rule_id, title if isinstance(title, str) else None)
    if not isinstance(title, str) or not title.strip():
        sink.error("missing-title", f"{what} has no title",
                   sink.at(data, "title") if "title" in data else sink.at(data),
                   hint=f"add 'title: <what the {what} detects>'")
    if rule_id is None:
        sink.warn("missing-id", f"{what} has no id", sink.at(data),
                  hint="add 'id: <uuid4>' so its matches can name it")
    for key, allowed in (("level", LEVELS), ("status", STATUSES)):
        value = data.get(key)
        if value is not None and str(value) not in allowed:
            sink.error(f"bad-{key}", f"{key} {value!r} is not one of {', '.join(allowed)}",
                       sink.at(data, key))
    return sink


def _ordered(diags: list[Diagnostic]) -> list[Diagnostic]:
    """A document's diagnostics in the order of the text (stable for one place)."""
    return sorted(diags, key=lambda d: (d.span.line, d.span.col))


def parse_timespan(value) -> tuple[int | None, str | None]:
    """A timespan as seconds, or (None, the reason it is not one)."""
    if not isinstance(value, str):
        what = "a number without a unit" if isinstance(value, (int, float)) and not isinstance(
            value, bool) else kind_of(value)
        return None, f"timespan must be a number and a unit like '5m', not {what}"
    m = _TIMESPAN.fullmatch(value.strip())
    if m is None:
        return None, f"timespan {value!r} is not a number and a unit like '5m'"
    count, unit = int(m.group(1)), m.group(2)
    if unit not in UNIT_SECONDS:
        lower = unit.lower()
        if lower in UNIT_SECONDS and lower not in ("m", "y"):
            return None, f"timespan {value!r}: units are lower-case ('{lower}')"
        return None, f"timespan {value!r} has unknown unit {unit!r}"
    if count == 0:
        return None, f"timespan {value!r} must be longer than zero"
    return count * UNIT_SECONDS[unit], None


def _names(value, sink: Sink, where: Span, key: str, noun: str,
           what: str = "correlation") -> tuple[str, ...] | None:
    """A string or a list of strings (rules, group-by): None (diagnosed) when it is not."""
    items = [value] if scalar_text(value) is not None else value
    if not isinstance(items, list):
        sink.error(f"bad-{what}-{key}", f"{key} must be a {noun}, or a list of them, not "
                   f"{kind_of(value)}", where, hint=f"write e.g. '{key}: [..]'")
        return None
    out = []
    for item in items:
        text = scalar_text(item)
        if text is None or not text.strip():
            sink.error(f"bad-{what}-{key}", f"{key} holds {kind_of(item)}, not a {noun}",
                       where, hint=f"each entry of {key} is a {noun}")
            return None
        out.append(text.strip())
    if not out:
        sink.error(f"{what}-missing-{key}", f"{key} is an empty list", where,
                   hint=f"name at least one {noun}")
        return None
    seen = set()
    for name in out:
        if name in seen:
            sink.error(f"duplicate-{key}", f"{key} names {name!r} twice", where,
                       hint="name each entry once")
            return None
        seen.add(name)
    return tuple(out)


def _aliases(value, sink: Sink, where: Span) -> tuple[Alias, ...] | None:
    if not isinstance(value, dict) or not value:
        sink.error("bad-alias", f"aliases must be a mapping of alias name -> {{rule: field}}, "
                   f"not {kind_of(value) if value != {} else 'an empty mapping'}", where,
                   hint="write 'aliases: {ip: {failed_logon: IpAddress, vpn_login: src_ip}}'")
        return None
    out = []
    for name, mapping in value.items():
        at = sink.at(value, name)
        if scalar_text(name) is None:
            sink.error("bad-alias", f"alias name {name!r} is not a name", at)
            return None
        if not isinstance(mapping, dict) or not mapping:
            sink.error("bad-alias", f"alias {name!r} must map rule names to field names, not "
                       f"{kind_of(mapping) if mapping != {} else 'an empty mapping'}", at,
                       hint=f"write '{name}: {{<rule name>: <field>, ...}}'")
            return None
        fields = []
        for rule, fname in mapping.items():
            if scalar_text(rule) is None or not isinstance(fname, str) or not fname.strip():
                sink.error("bad-alias", f"alias {name!r}: {rule!r} must map to a field name, "
                           f"not {kind_of(fname)}", sink.at(mapping, rule),
                           hint="each entry is '<rule name or id>: <field name>'")
                return None
            fields.append((str(rule), fname.strip()))
        out.append(Alias(str(name), tuple(fields)))
    return tuple(out)


def _generate(data, corr, sink: Sink) -> bool | None:
    """`generate` at the top level (spec schema) or under correlation (pySigma); default off."""
    found = []
    for where, d in (("top", data), ("correlation", corr)):
        if "generate" in d:
            v = d["generate"]
            if not isinstance(v, bool):
                sink.error("bad-generate", f"generate must be true or false, not {kind_of(v)}",
                           sink.at(d, "generate"),
                           hint="true: the referred rules report their own matches too; false "
                                "(the default): only the correlation's")
                return None
            found.append(v)
    if len(found) == 2 and found[0] != found[1]:
        sink.error("generate-conflict", "generate is given twice with different values (at the "
                   "top level and under correlation)", sink.at(corr, "generate"),
                   hint="keep one: the spec puts it at the top level")
        return None
    return found[0] if found else False


def lower_correlation(data, file: str = "<string>", options: Options = DEFAULT_OPTIONS, *,
                      index: int = 0) -> tuple[Correlation | None, list[Diagnostic]]:
    """A correlation document (a loaded PosDict with a `correlation:` key) as IR."""
    sink = _header(data, file, "correlation")
    corr = data.get("correlation")
    if not isinstance(corr, dict):
        sink.error("bad-correlation", f"correlation must be a mapping, not {kind_of(corr)}",
                   sink.at(data, "correlation"),
                   hint="write 'correlation:' with type, rules, group-by, timespan, condition")
        return None, _ordered(sink.out)
    for key in corr:
        if key not in _CORRELATION_KEYS:
            hint = ("the timespan of a correlation is 'timespan'" if key == "timeframe" else
                    "'field' belongs under condition" if key == "field" else
                    did_you_mean(key, _CORRELATION_KEYS) or
                    f"correlation takes {', '.join(_CORRELATION_KEYS)}")
            sink.warn("correlation-unknown-key", f"unknown key {key!r} under correlation is "
                      "ignored", sink.at(corr, key), hint)
    kind = corr.get("type")
    if kind is None:
        sink.error("correlation-missing-type", "correlation has no type",
                   sink.at(data, "correlation"), hint=f"add 'type:', one of {', '.join(TYPES)}")
    elif not isinstance(kind, str) or kind not in TYPES:
        sink.error("unknown-correlation-type", f"correlation type {kind!r} is not one of "
                   f"{', '.join(TYPES)}", sink.at(corr, "type"),
                   did_you_mean(kind, TYPES) or "types are written in lower case, e.g. event_count")
        kind = None

    rules = group_by = aliases = timespan = None
    for key, noun in (("rules", "rule id or name"), ("group-by", "field name")):
        if key not in corr:
            sink.error(f"correlation-missing-{key}", f"correlation has no {key}",
                       sink.at(data, "correlation"),
                       hint="add 'rules: [<rule id or name>, ...]'" if key == "rules" else
                            "add 'group-by: [<field>, ...]': the fields whose values must be "
                            "equal across the correlated events (every type needs it)")
            continue
        got = _names(corr[key], sink, sink.at(corr, key), key, noun)
        if key == "rules":
            rules = got
        else:
            group_by = got
    if "timespan" not in corr:
        sink.error("correlation-missing-timespan", "correlation has no timespan",
                   sink.at(data, "correlation"), hint="add e.g. 'timespan: 5m'")
    else:
        timespan, why = parse_timespan(corr["timespan"])
        if why:
            sink.error("bad-timespan", why, sink.at(corr, "timespan"), _TIMESPAN_HINT)
    if "aliases" in corr:
        aliases = _aliases(corr["aliases"], sink, sink.at(corr, "aliases"))
    condition = lower_condition(corr, kind, len(rules) if rules else 0, sink)
    generate = _generate(data, corr, sink)
    if aliases and group_by is not None and condition is not None:
        used = set(group_by) | ({condition.field} if condition.field else set())
        for alias in aliases:
            if alias.name not in used:
                sink.warn("unused-alias", f"alias {alias.name!r} is not used by group-by or the "
                          "condition's field", sink.at(corr["aliases"], alias.name),
                          hint=f"add {alias.name!r} to group-by, or remove the alias")
    if sink.errors() or None in (kind, rules, group_by, timespan, condition, generate):
        return None, _ordered(sink.out)
    name = data.get("name")
    return Correlation(
        id=sink.rule_id or f"{file}#{index}", name=scalar_text(name), title=str(data["title"]),
        level=scalar_text(data.get("level")), type=kind, rules=rules, group_by=group_by,
        aliases=aliases or (), timespan=timespan, condition=condition, generate=generate,
        status=scalar_text(data.get("status")),
        tags=tuple(str(t) for t in data.get("tags") or () if scalar_text(t)) if isinstance(
            data.get("tags"), list) else (),
        span=sink.at(data), rules_span=sink.at(corr, "rules"),
        aliases_span=sink.at(corr, "aliases")), _ordered(sink.out)


# --- filters ------------------------------------------------------------------------------

def _logsource(data, sink: Sink) -> Logsource | None:
    ls = data.get("logsource")
    if not isinstance(ls, dict) or not ls:
        sink.error("filter-missing-logsource", "filter has no logsource mapping",
                   sink.at(data, "logsource") if "logsource" in data else sink.at(data),
                   hint="a filter applies to rules of its logsource: add e.g. "
                        "'logsource: {product: windows, category: process_creation}'")
        return None
    unknown = [k for k in ls if k not in ("product", "category", "service", "definition")]
    if unknown:
        sink.warn("logsource-key", f"unknown logsource key(s) {', '.join(map(str, unknown))}",
                  sink.at(ls, unknown[0]),
                  hint="logsource takes product, category, service, definition")
    return Logsource(*(str(ls[k]).strip() if ls.get(k) is not None else None
                       for k in ("product", "category", "service", "definition")))


def _filter_rules(flt, sink: Sink) -> tuple[bool, tuple[str, ...] | None]:
    """(ok, references): references None means every rule of the logsource."""
    if "rules" not in flt:
        sink.error("filter-missing-rules", "filter has no rules", sink.at(sink.data, "filter"),
                   hint="name the rules it applies to, or write 'rules: any' for every rule of "
                        "its logsource")
        return False, None
    value = flt["rules"]
    if isinstance(value, str) and value.strip().lower() in ("any", "all"):
        return True, None
    if value == []:
        sink.warn("filter-rules-empty", "an empty rules list applies the filter to every rule "
                  "of its logsource (as pySigma does)", sink.at(flt, "rules"),
                  hint="write 'rules: any' to say so")
        return True, None
    got = _names(value, sink, sink.at(flt, "rules"), "rules", "rule id or name", "filter")
    return got is not None, got


def lower_filter(data, file: str = "<string>", options: Options = DEFAULT_OPTIONS, *,
                 index: int = 0) -> tuple[Filter | None, list[Diagnostic]]:
    """A filter document (`filter: {rules, <searches>, condition}` + logsource) as IR; its
    searches are lowered like a rule's detection (sigcc.compiler.lower.lower_search)."""
    sink = _header(data, file, "filter")
    logsource = _logsource(data, sink)
    flt = data.get("filter")
    if not isinstance(flt, dict):
        sink.error("bad-filter", f"filter must be a mapping, not {kind_of(flt)}",
                   sink.at(data, "filter"),
                   hint="write 'filter:' with rules, search identifiers and a condition")
        return None, _ordered(sink.out)
    ok, rules = _filter_rules(flt, sink)
    searches, names = [], [str(n) for n in flt if n not in _FILTER_RESERVED]
    for name in names:
        span = sink.at(flt, name)
        try:
            searches.append(Search(name, lower_search(name, flt[name], span, options), span.line))
        except SigmaError as exc:
            sink.out.append(exc.diagnostic(span, sink.rule_id, sink.title))
    if not names:
        sink.error("filter-no-searches", "filter has no search identifiers",
                   sink.at(data, "filter"),
                   hint="add e.g. 'selection: {User|startswith: adm_}' and "
                        "'condition: not selection'")
    text = flt.get("condition")
    condition = None
    if text is None:
        sink.error("filter-missing-condition", "filter has no condition", sink.at(data, "filter"),
                   hint="add e.g. 'condition: not selection' (it is ANDed onto each rule)")
    elif not isinstance(text, str):
        sink.error("bad-filter-condition", f"filter condition must be one string, not "
                   f"{kind_of(text)}", sink.at(flt, "condition"),
                   hint="write the filter's condition as one expression, e.g. 'not selection'")
    elif names:
        try:
            condition = resolve(parse_condition(text, options.max_depth), text, names)
        except SigmaError as exc:
            sink.out.append(exc.diagnostic(sink.at(flt, "condition"), sink.rule_id, sink.title))
    if sink.errors() or not ok or logsource is None or condition is None:
        return None, _ordered(sink.out)
    return Filter(id=sink.rule_id or f"{file}#{index}", title=str(data["title"]),
                  logsource=logsource, rules=rules, searches=tuple(searches),
                  condition=condition, condition_text=text, span=sink.at(data),
                  rules_span=sink.at(flt, "rules")), _ordered(sink.out)

