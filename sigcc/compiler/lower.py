"""Lowering: one loaded rule document -> RuleIR (detection + condition -> expressions).

Checks the rule format on the way, so every problem becomes a diagnostic with file, line,
rule id and title. A search identifier becomes an `Expr`; the condition is parsed (cached)
and its `1 of x*` / `all of them` expanded into Refs to those identifiers.
"""
from __future__ import annotations

from dataclasses import dataclass

from sigcc.compiler import modifiers
from sigcc.compiler.ir import (And, Const, Expr, Logsource, Match, Not, OfPattern, Or, Ref,
                               RuleIR, RuleMeta, Search)
from sigcc.compiler.loader import Document, PosDict
from sigcc.compiler.logsources import logsource_key
from sigcc.diagnostics import Diagnostic, SigmaError, Span
from sigcc.grammar.builder import parse_condition
from sigcc.options import Options

LEVELS = ("informational", "low", "medium", "high", "critical")
STATUSES = ("stable", "test", "experimental", "deprecated", "unsupported")


@dataclass(frozen=True, slots=True)
class Lowered:
    """The outcome for one document: a rule (or None when it has errors) and diagnostics."""

    rule: RuleIR | None
    diagnostics: tuple[Diagnostic, ...]
    kind: str = "rule"  # rule | correlation | filter


def _pos(d, key, file: str) -> Span:
    if isinstance(d, PosDict):
        line, col = d.pos(key)
        return Span(file, line, col)
    return Span(file)


def _str_tuple(v) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, list):
        return tuple(str(x) for x in v if x is not None)
    return (str(v),)


def lower_document(doc: Document, options: Options) -> Lowered:
    data, file = doc.data, doc.file
    rule_id = data.get("id")
    rule_id = str(rule_id) if rule_id is not None else None
    title = data.get("title")
    title = str(title) if title is not None else None
    diags: list[Diagnostic] = []

    def error(code, message, span, hint=None, excerpt=None):
        diags.append(Diagnostic(code, message, span, rule_id, title, hint, "error", excerpt))

    def warn(code, message, span, hint=None):
        diags.append(Diagnostic(code, message, span, rule_id, title, hint, "warning"))

    start = Span(file, doc.line, 1)
    # correlation and filter documents are lowered by sigcc.correlation (compiler/build.py
    # sends them there); here they are no rule
    if "correlation" in data:
        return Lowered(None, (), "correlation")
    if "filter" in data and "detection" not in data:
        return Lowered(None, (), "filter")

    if not isinstance(title, str) or not title.strip():
        error("missing-title", "rule has no title", start, hint="add 'title: <what it detects>'")
    if rule_id is None:
        warn("missing-id", "rule has no id", start, hint="add 'id: <uuid4>' so matches can name it")
    level = data.get("level")
    if level is not None and str(level) not in LEVELS:
        error("bad-level", f"level {level!r} is not one of {', '.join(LEVELS)}",
              _pos(data, "level", file))
    status = data.get("status")
    if status is not None and str(status) not in STATUSES:
        error("bad-status", f"status {status!r} is not one of {', '.join(STATUSES)}",
              _pos(data, "status", file))
    tags = data.get("tags")
    if tags is not None and not isinstance(tags, list):
        error("bad-tags", "tags must be a list", _pos(data, "tags", file))

    ls = data.get("logsource")
    if not isinstance(ls, dict) or not ls:
        error("missing-logsource", "rule has no logsource mapping",
              _pos(data, "logsource", file) if ls is not None else start,
              hint="add e.g. 'logsource: {product: windows, category: process_creation}'")
        logsource = Logsource()
    else:
        unknown = [k for k in ls if k not in ("product", "category", "service", "definition")]
        if unknown:
            warn("logsource-key", f"unknown logsource key(s) {', '.join(map(str, unknown))}",
                 _pos(ls, unknown[0], file), hint="logsource takes product, category, service, definition")
        logsource = Logsource(*(str(ls[k]).strip() if ls.get(k) is not None else None
                                for k in ("product", "category", "service", "definition")))

    detection = data.get("detection")
    if not isinstance(detection, dict):
        error("missing-detection", "rule has no detection mapping",
              _pos(data, "detection", file) if detection is not None else start,
              hint="add 'detection:' with search identifiers and a 'condition:'")
        return Lowered(None, tuple(diags))

    searches: list[Search] = []
    for name, value in detection.items():
        if name in ("condition", "timeframe"):
            continue
        span = _pos(detection, name, file)
        try:
            expr = lower_search(str(name), value, span, options)
        except SigmaError as exc:
            diags.append(exc.diagnostic(span, rule_id, title))
            continue
        searches.append(Search(str(name), expr, span.line))
        diags.extend(modifiers.regex_warnings(expr, rule_id, title))  # bounded-engine regexes
    if "timeframe" in detection:
        warn("legacy-timeframe", "'timeframe' in detection is legacy and ignored",
             _pos(detection, "timeframe", file),
             hint="windows of time belong to correlation rules (timespan)")

    cond_span = _pos(detection, "condition", file)
    raw_cond = detection.get("condition")
    condition: Expr | None = None
    texts: list[str] = []
    if raw_cond is None:
        error("missing-condition", "detection has no condition", _pos(data, "detection", file),
              hint="add e.g. 'condition: selection'")
    else:
        conds = raw_cond if isinstance(raw_cond, list) else [raw_cond]
        all_names = [str(n) for n in detection if n not in ("condition", "timeframe")]
        parts = []
        for text in conds:
            if not isinstance(text, str):
                error("condition-syntax", f"condition must be a string, not {type(text).__name__}",
                      cond_span)
                continue
            texts.append(text)
            try:
                parts.append(resolve(parse_condition(text, options.max_depth), text, all_names))
            except SigmaError as exc:
                diags.append(exc.diagnostic(cond_span, rule_id, title))
        if parts and len(parts) == len(conds):
            condition = parts[0] if len(parts) == 1 else Or(tuple(parts))

    if any(d.severity == "error" for d in diags) or condition is None:
        return Lowered(None, tuple(diags))

    meta = RuleMeta(
        id=rule_id or f"{file}#{doc.index}",
        title=title,
        level=str(level) if level is not None else None,
        status=str(status) if status is not None else None,
        tags=_str_tuple(tags),
        logsource=logsource,
        references=_str_tuple(data.get("references")),
        description=str(data["description"]) if data.get("description") is not None else None,
        author=str(data["author"]) if data.get("author") is not None else None,
        falsepositives=_str_tuple(data.get("falsepositives")),
        file=file,
        line=doc.line,
        name=str(data["name"]) if data.get("name") is not None else None,
    )
    key, ls_diag = logsource_key(logsource, options, (s.expr for s in searches))
    if ls_diag:
        warn("unmapped-logsource", ls_diag, _pos(data, "logsource", file),
             hint="add the channel to sigcc/data/windows_logsources.yml, or choose with "
                  "--unmapped-logsource fields|all|none (or --no-logsource)")
    rule = RuleIR(meta, tuple(searches), condition, " or ".join(texts) if len(texts) > 1 else texts[0],
                  cond_span.line, key)
    return Lowered(rule, tuple(diags))


def lower_search(name: str, value, span: Span, options: Options) -> Expr:
    """One search identifier: a map (AND), a list of maps (OR) or keywords (OR of full-text)."""
    if isinstance(value, dict):
        return _lower_map(value, span, options)
    if isinstance(value, list):
        if not value:
            raise SigmaError("empty-search", f"search identifier {name!r} is an empty list",
                             hint="give at least one value or field mapping")
        if all(isinstance(v, dict) for v in value):
            return _or([_lower_map(v, span, options) for v in value])
        if any(isinstance(v, (dict, list)) for v in value):
            raise SigmaError("mixed-search", f"search identifier {name!r} mixes field maps and "
                                             "plain values", hint="split it into two identifiers")
        return _lower_item(None, "keywords", [], value, span, options)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return _lower_item(None, "keywords", [], [value], span, options)
    raise SigmaError("bad-search", f"search identifier {name!r} must be a mapping, a list of "
                                   f"mappings or a list of keywords, not {_kind(value)}",
                     hint="write 'field: value' pairs under it")


def _kind(v) -> str:
    return "null" if v is None else type(v).__name__


def _lower_map(m: dict, span: Span, options: Options) -> Expr:
    if not m:
        raise SigmaError("empty-search", "empty field mapping", hint="add 'field: value' pairs")
    items = []
    for key, value in m.items():
        item_span = Span(span.file, *m.pos(key)) if isinstance(m, PosDict) else span
        key = "" if key is None else str(key)
        field, *mods = key.split("|")
        field = field.strip()
        if options.field_names == "insensitive":
            field = field.lower()
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not value:
            raise SigmaError("empty-list", f"{key!r} has an empty value list",
                             Span(item_span.file, item_span.line, item_span.col),
                             hint="give at least one value, or use 'null' / '|exists: false'")
        try:
            items.append(_lower_item(field or None, key, [m_.strip() for m_ in mods], values,
                                     item_span, options))
        except SigmaError as exc:
            exc.span = exc.span or item_span
            raise
    return _and(items)


def _lower_item(field: str | None, key: str, mods: list[str], values: list, span: Span,
                options: Options) -> Expr:
    for v in values:
        if isinstance(v, (dict, list)):
            raise SigmaError("bad-value", f"{key!r}: a value must be a scalar, not a {_kind(v)}",
                             span, hint="nested lists and mappings are not allowed as values")
    item = modifiers.Item(field, key, options)
    tests = modifiers.apply(mods, values, item)
    if field is None:
        tests = [modifiers.keyword_test(t, options) for t in tests]
    matches = [Match(field, t, span) for t in tests]
    expr = _and(matches) if item.all else _or(matches)
    return Not(expr) if item.neq else expr


def _and(items: list[Expr]) -> Expr:
    return items[0] if len(items) == 1 else And(tuple(items))


def _or(items: list[Expr]) -> Expr:
    return items[0] if len(items) == 1 else Or(tuple(items))


def _glob(pieces: list[str], name: str) -> bool:
    """Does `name` match the `*` pattern split at its stars? Linear in the name per piece
    (a regex of `.*` joins backtracks exponentially: `1 of a*a*a*...b`)."""
    first, *middle, last = pieces if len(pieces) > 1 else (pieces[0], None)
    if last is None:
        return name == first
    if not name.startswith(first) or len(name) < len(first) + len(last):
        return False
    end = len(name) - len(last)
    if not name.endswith(last):
        return False
    at = len(first)
    for piece in middle:  # leftmost occurrence of each piece is always the best choice
        at = name.find(piece, at, end)
        if at < 0:
            return False
        at += len(piece)
    return True


def resolve(expr: Expr, text: str, names: list[str]) -> Expr:
    """Check identifiers and expand `1 of`/`all of` patterns; errors point into `text`."""
    from sigcc.diagnostics import caret

    if isinstance(expr, Ref):
        if expr.name not in names:
            import difflib
            close = difflib.get_close_matches(expr.name, names, n=1)
            raise SigmaError("unknown-identifier",
                             f"condition uses {expr.name!r}, which is not a search identifier",
                             hint=f"did you mean {close[0]!r}?" if close else
                                  f"defined identifiers: {', '.join(names) or 'none'}",
                             excerpt=caret(text, expr.span.col, len(expr.name)))
        return expr
    if isinstance(expr, OfPattern):
        if expr.pattern is None:
            chosen = [n for n in names if not n.startswith("_")]
        else:
            pieces = expr.pattern.split("*")
            chosen = [n for n in names if _glob(pieces, n)]
        if not chosen:
            what = "them" if expr.pattern is None else expr.pattern
            written = text[expr.span.col - 1:].split(None, 1)[0]  # '1', 'any' or 'all' as written
            raise SigmaError("empty-pattern", f"'{written} of {what}' matches no search identifier",
                             hint=f"defined identifiers: {', '.join(names) or 'none'}",
                             excerpt=caret(text, expr.span.col))
        refs = tuple(Ref(n, expr.span) for n in chosen)
        if len(refs) == 1:
            return refs[0]
        return And(refs) if expr.quantifier == "all" else Or(refs)
    if isinstance(expr, (And, Or)):
        return type(expr)(tuple(resolve(e, text, names) for e in expr.items))
    if isinstance(expr, Not):
        return Not(resolve(expr.item, text, names))
    if isinstance(expr, Const):
        return expr
    raise AssertionError(expr)  # pragma: no cover
