"""Checks of logsources and detections: identifiers, conditions, modifiers, values,
regular expressions, and searches or filters that can never match.

Parsing is the compiler's: conditions, modifiers and values are checked by lowering the
rule (sigcc/compiler/lower.py), and its diagnostics become the compiler checks below. The
function checks read the composed YAML nodes (exact positions of keys and values) and the
lowered rule.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from sigcc.compiler import patterns
from sigcc.compiler.ir import And, Const, Not, Or, Ref, Wild
from sigcc.compiler.logsources import windows_table
from sigcc.lint import satisfiable
from sigcc.lint.registry import check, compiler_check
from sigcc.lint.source import DocContext, items, scalar

compiler_check("SL301", "logsource-missing", "error", "a rule has no logsource", "missing-logsource")
compiler_check("SL302", "logsource-unknown-key", "warning", "a logsource key other than product, "
                                                            "category, service, definition",
               "logsource-key")
compiler_check("SL303", "logsource-unmapped", "warning", "a Windows logsource the logsource table "
                                                         "(sigcc/data/windows_logsources.yml) "
                                                         "maps to no Channel/EventID",
               "unmapped-logsource")
compiler_check("SL401", "detection-missing", "error", "a rule has no detection", "missing-detection")
compiler_check("SL402", "condition-missing", "error", "a detection has no condition", "missing-condition")
compiler_check("SL403", "condition-syntax", "error", "a condition that does not parse",
               "condition-syntax", "condition-depth-limit")
compiler_check("SL404", "condition-unknown-identifier", "error", "a condition naming an "
                                                                 "identifier the detection lacks",
               "unknown-identifier")
compiler_check("SL405", "condition-empty-pattern", "error", "'1 of x*' matching no identifier",
               "empty-pattern")
compiler_check("SL407", "modifier-unknown", "error", "a modifier that does not exist",
               "unknown-modifier")
compiler_check("SL408", "modifier-invalid", "error", "modifiers that cannot combine, or a "
                                                     "value a modifier cannot take", "bad-modifier")
compiler_check("SL413", "regex-invalid", "error", "a regular expression that does not compile "
                                                  "or that sigcc cannot run")  # routed by engine
compiler_check("SL414", "regex-bounded-engine", "warning", "a regular expression the linear-time "
                                                           "engine (RE2) cannot run",
               "regex-bounded-engine")
compiler_check("SL419", "search-empty", "error", "an empty search identifier or value list",
               "empty-search", "empty-list")
compiler_check("SL420", "search-malformed", "error", "a search that is not a mapping, a list of "
                                                     "mappings or keywords",
               "bad-search", "mixed-search", "bad-value")
compiler_check("SL421", "legacy-timeframe", "warning", "timeframe in a detection (legacy)",
               "legacy-timeframe")
compiler_check("SL427", "placeholder-unresolved", "info", "an expand placeholder with no value "
                                                          "given to lint", "unresolved-placeholder")

# Products of SigmaHQ's rule tree and of sigcc's pipelines; Windows logsources are judged
# by the logsource table (SL303).
PRODUCTS = frozenset((
    "windows", "linux", "macos", "aws", "azure", "gcp", "m365", "okta", "onelogin", "github",
    "google_workspace", "bitbucket", "cisco", "fortios", "fortigate", "huawei", "juniper",
    "zeek", "django", "python", "ruby_on_rails", "spring", "nodejs", "jvm", "sql", "apache",
    "nginx", "modsecurity", "kubernetes", "qualys", "opencanary", "paloalto", "sap", "ibm",
    "rpc_firewall", "velocity", "antivirus", "zoom", "cloudflare", "openssh", "windows_defender",
    "entra_id", "microsoft365", "office365", "gworkspace", "jamf", "wmi", "firewall",
))
WRAPPERS = ("contains", "startswith", "endswith")
NOT_STRING = ("re", "cidr", "exists", "fieldref", "gt", "gte", "lt", "lte", "base64",
              "base64offset", "expand", "minute", "hour", "day", "week", "month", "year")
REGEX_META = set(".^$*+?{}[]\\|()")


@dataclass
class DetItem:
    """One detection item: `field|mods: values` (field None: keywords)."""

    search: str
    key_node: object  # the key's ScalarNode; None for keyword lists
    key: str | None
    field: str | None
    mods: list[str]
    node: object  # the value node (scalar or sequence)
    values: list  # [(ScalarNode, value)]


def _memo(ctx: DocContext) -> dict:
    """The document's expansions of its searches, shared by the never-match checks."""
    if not hasattr(ctx, "_sat_memo"):
        ctx._sat_memo = {}
    return ctx._sat_memo


def det_items(ctx: DocContext) -> list[DetItem]:
    """The detection's items, read once per document."""
    if not hasattr(ctx, "_det_items"):
        ctx._det_items = list(_det_items(ctx))
    return ctx._det_items


def _det_items(ctx: DocContext):
    det = ctx.value_node("detection")
    for k, v in items(det):
        name = k.value if isinstance(k, yaml.ScalarNode) else None
        if name in ("condition", "timeframe", None):
            continue
        maps = ([v] if isinstance(v, yaml.MappingNode) else
                [x for x in v.value if isinstance(x, yaml.MappingNode)]
                if isinstance(v, yaml.SequenceNode) else [])
        for m in maps:
            for ik, iv in items(m):
                if not isinstance(ik, yaml.ScalarNode):
                    continue
                field, *mods = ik.value.split("|")
                yield DetItem(name, ik, ik.value, field.strip() or None,
                              [x.strip() for x in mods], iv, _values(iv))
        if isinstance(v, yaml.ScalarNode) or (
                isinstance(v, yaml.SequenceNode) and v.value
                and all(isinstance(x, yaml.ScalarNode) for x in v.value)):
            yield DetItem(name, None, None, None, [], v, _values(v))


def _values(node) -> list:
    nodes = [node] if isinstance(node, yaml.ScalarNode) else (
        [x for x in node.value if isinstance(x, yaml.ScalarNode)]
        if isinstance(node, yaml.SequenceNode) else [])
    return [(n, scalar(n)) for n in nodes]


def _rule(ctx: DocContext):
    low = ctx.lowered
    return low.rule if low is not None else None


@check("SL304", "logsource-unknown-product", "info", "a product no sigcc pipeline or SigmaHQ "
                                                     "rule uses")
def unknown_product(ctx: DocContext):
    ls = ctx.data.get("logsource")
    if isinstance(ls, dict) and isinstance(ls.get("product"), str):
        product = ls["product"].strip().lower()
        if product and product not in PRODUCTS:
            ctx.report("SL304", f"logsource product {ls['product']!r} is unknown to sigcc's "
                                "logsource table and pipelines",
                       ctx.value_node("logsource", "product"),
                       "check the spelling (e.g. windows, linux, macos, aws, azure); queries get "
                       "no logsource condition for it")


@check("SL305", "logsource-not-lowercase", "info", "a logsource value not in lowercase",
       fixable=True)
def logsource_case(ctx: DocContext):
    ls = ctx.data.get("logsource")
    if not isinstance(ls, dict):
        return
    for key in ("product", "category", "service"):
        value = ls.get(key)
        if isinstance(value, str) and value != value.lower():
            node = ctx.value_node("logsource", key)
            ctx.report("SL305", f"logsource {key} {value!r} is not lowercase", node,
                       "logsource values are lowercase names; pipelines compare them exactly",
                       ctx.replace_scalar(node, value.lower(), f"write logsource {key} in lowercase"))


@check("SL306", "logsource-windows-service-unknown", "warning",
       "a Windows service the logsource table does not know, given with a category")
def windows_service(ctx: DocContext):
    ls = ctx.data.get("logsource")
    if not isinstance(ls, dict) or str(ls.get("product", "")).lower() != "windows":
        return
    svc, cat = ls.get("service"), ls.get("category")
    if isinstance(svc, str) and cat and svc.lower() not in windows_table()["services"]:
        ctx.report("SL306", f"windows service {svc!r} is not in the logsource table",
                   ctx.value_node("logsource", "service"),
                   "services map to Channels in sigcc/data/windows_logsources.yml")


@check("SL406", "search-unused", "warning", "a search identifier the condition never uses")
def search_unused(ctx: DocContext):
    rule = _rule(ctx)
    if rule is None:
        return
    used = set()
    stack = [rule.condition]
    while stack:
        e = stack.pop()
        if isinstance(e, Ref):
            used.add(e.name)
        elif isinstance(e, (And, Or)):
            stack.extend(e.items)
        elif isinstance(e, Not):
            stack.append(e.item)
    for s in rule.searches:
        if s.name not in used:
            ctx.report("SL406", f"search identifier {s.name!r} is defined but the condition "
                                "never uses it", ctx.key_node("detection", s.name)
                       or ctx.at_key("detection", s.name),
                       "use it in the condition, or remove it")


@check("SL409", "modifier-conflict", "warning", "modifiers that compile but contradict or "
                                                "repeat each other")
def modifier_conflict(ctx: DocContext):
    for it in det_items(ctx):
        wrappers = [m for m in it.mods if m in WRAPPERS]
        if len(wrappers) > 1:
            ctx.report("SL409", f"{it.key!r} combines {' and '.join(wrappers)}: together they "
                                "mean contains", it.key_node,
                       "keep the one you mean")
        elif "exists" in it.mods and len(it.mods) > 1:
            ctx.report("SL409", f"{it.key!r}: exists takes no other modifier", it.key_node,
                       "write 'field|exists: true' on its own")


def _drop_all(key: str) -> str:
    field, *mods = key.split("|")
    return "|".join([field] + [m for m in mods if m.strip() != "all"])


@check("SL410", "modifier-all-single-value", "warning", "'all' on a single value", fixable=True)
def all_single(ctx: DocContext):
    for it in det_items(ctx):
        if "all" in it.mods and len(it.values) == 1:
            ctx.report("SL410", f"{it.key!r}: 'all' with one value does nothing", it.key_node,
                       "remove '|all'",
                       ctx.replace_scalar(it.key_node, _drop_all(it.key), "remove '|all'"))


def _strip_stars(value: str, lead: bool, trail: bool) -> str:
    """The value without the unescaped `*` at the ends the modifier adds anyway."""
    while lead and value.startswith("*"):
        value = value[1:]
    while trail and value.endswith("*") and patterns.parse(value)[-1:] == (Wild.ANY,):
        value = value[:-1]
    return value


@check("SL411", "wildcard-redundant", "warning", "a '*' at an end of a value that "
                                                 "contains/startswith/endswith adds anyway",
       fixable=True)
def wildcard_redundant(ctx: DocContext):
    for it in det_items(ctx):
        wrappers = [m for m in it.mods if m in WRAPPERS]
        if len(wrappers) != 1 or any(m in NOT_STRING for m in it.mods):
            continue
        lead = wrappers[0] in ("contains", "endswith")
        trail = wrappers[0] in ("contains", "startswith")
        for node, value in it.values:
            if not isinstance(value, str):
                continue
            parts = patterns.parse(value)
            if (lead and parts[:1] == (Wild.ANY,)) or (trail and parts[-1:] == (Wild.ANY,)):
                new = _strip_stars(value, lead, trail)
                ctx.report("SL411", f"{it.key!r}: value {value!r} has a '*' that "
                                    f"{wrappers[0]} already implies", node,
                           f"write {new!r}" if new else "the value matches everything: "
                                                        "remove it or use '|exists: true'",
                           ctx.replace_scalar(node, new, f"write {new!r}") if new else None)


@check("SL412", "regex-plain-string", "info", "a regular expression with no special character")
def regex_plain(ctx: DocContext):
    for it in det_items(ctx):
        if "re" not in it.mods:
            continue
        for node, value in it.values:
            if isinstance(value, str) and value and not REGEX_META & set(value):
                ctx.report("SL412", f"{it.key!r}: regex {value!r} is a plain string", node,
                           "write '|contains|cased' (re is case-sensitive), or '|contains' "
                           "if case does not matter: clearer, and faster everywhere")


@check("SL428", "regex-redundant-dotstar", "info", "a regex starting or ending with '.*' "
                                                   "(a search finds it anywhere anyway)")
def regex_dotstar(ctx: DocContext):
    for it in det_items(ctx):
        if "re" not in it.mods:
            continue
        for node, value in it.values:
            if not isinstance(value, str):
                continue
            head = value.startswith(".*") and not value.startswith((".*?", ".*+"))
            tail = (value.endswith(".*") and not value.endswith("\\.*")
                    and not value.endswith("\\\\.*") or value.endswith(".*$")
                    and not value.endswith("\\.*$"))
            if head or tail:
                ctx.report("SL428", f"{it.key!r}: regex {value!r} "
                                    f"{'starts' if head else 'ends'} with '.*'", node,
                           "a regex matches anywhere in the value: drop the leading/trailing "
                           "'.*' (it only costs time)")


def _norm(value, cased: bool):
    if isinstance(value, str):
        return ("s", value if cased else value.lower())
    return (type(value).__name__, value)


@check("SL415", "list-duplicate-value", "warning", "a value list holding a value twice",
       fixable=True)
def list_duplicates(ctx: DocContext):
    for it in det_items(ctx):
        cased = "cased" in it.mods or "re" in it.mods
        seen: set = set()
        for node, value in it.values:
            key = _norm(value, cased)
            if key in seen:
                ctx.report("SL415", f"{it.key or it.search!r}: value {value!r} is listed twice",
                           node, "remove the second one",
                           ctx.delete_item(node, f"remove duplicate value {value!r}"))
            seen.add(key)


@check("SL423", "field-name-whitespace", "warning", "spaces around a field name or modifier",
       fixable=True)
def field_whitespace(ctx: DocContext):
    for it in det_items(ctx):
        if it.key is None:
            continue
        clean = "|".join(p.strip() for p in it.key.split("|"))
        if clean != it.key:
            ctx.report("SL423", f"key {it.key!r} has spaces around its field name or modifiers",
                       it.key_node, f"write {clean!r}",
                       ctx.replace_scalar(it.key_node, clean, f"write {clean!r}"))


@check("SL424", "windash-no-dash", "info", "windash on a value without '-' or '/'")
def windash_no_dash(ctx: DocContext):
    for it in det_items(ctx):
        if "windash" not in it.mods:
            continue
        for node, value in it.values:
            if isinstance(value, str) and not re.search(r"\B[-/]\b", value):
                ctx.report("SL424", f"{it.key!r}: value {value!r} has no option dash for "
                                    "windash to vary", node,
                           "windash varies '-' and '/' before an option letter, e.g. ' -enc'")


@check("SL425", "wildcard-only", "info", "a value that is only '*'")
def wildcard_only(ctx: DocContext):
    for it in det_items(ctx):
        if it.mods or it.field is None:
            continue
        for node, value in it.values:
            if value == "*":
                ctx.report("SL425", f"{it.key!r}: '*' matches any string value", node,
                           "to test that the field is there, write "
                           f"'{it.field}|exists: true'")


@check("SL422", "condition-list", "info", "a condition given as a list")
def condition_list(ctx: DocContext):
    det = ctx.data.get("detection")
    if isinstance(det, dict) and isinstance(det.get("condition"), list):
        ctx.report("SL422", "condition is a list (its entries are ORed)",
                   ctx.value_node("detection", "condition") or ctx.at_key("detection", "condition"),
                   "write one condition with 'or'")


@check("SL426", "search-duplicate", "info", "two search identifiers with the same content")
def search_duplicate(ctx: DocContext):
    rule = _rule(ctx)
    if rule is None:
        return
    seen: dict = {}
    for s in rule.searches:
        if s.expr in seen:
            ctx.report("SL426", f"search identifier {s.name!r} is the same as "
                                f"{seen[s.expr]!r}", ctx.key_node("detection", s.name),
                       "keep one of them")
        else:
            seen[s.expr] = s.name


@check("SL416", "search-never-matches", "warning", "a search identifier no event can match")
def search_never(ctx: DocContext):
    rule = _rule(ctx)
    if rule is None:
        return
    searches = {s.name: s.expr for s in rule.searches}
    for s in rule.searches:
        if satisfiable.never_true(s.expr, searches, _memo(ctx)) is True:
            ctx.report("SL416", f"search identifier {s.name!r} can never match: it needs two "
                                "values of one field that exclude each other",
                       ctx.key_node("detection", s.name),
                       "check for '|all' over exact values, or a value and 'null' on one field")


@check("SL417", "condition-never-matches", "error", "a rule no event can match")
def condition_never(ctx: DocContext):
    rule = _rule(ctx)
    if rule is None:
        return
    searches = {s.name: s.expr for s in rule.searches}
    if satisfiable.never_true(rule.condition, searches, _memo(ctx)) is True:
        ctx.report("SL417", f"condition {rule.condition_text!r} can never be true: every way "
                            "to satisfy it needs exclusive values of one field (e.g. a filter "
                            "that excludes everything the selection matches)",
                   ctx.value_node("detection", "condition"),
                   "check what the filters exclude against what the selection requires")


def _negated_only(cond) -> set[str]:
    """Identifiers the condition uses only under a `not`."""
    pos, neg = set(), set()
    stack = [(cond, False)]
    while stack:
        e, under = stack.pop()
        if isinstance(e, Ref):
            (neg if under else pos).add(e.name)
        elif isinstance(e, (And, Or)):
            stack.extend((x, under) for x in e.items)
        elif isinstance(e, Not):
            stack.append((e.item, not under))
    return neg - pos


def _without(e, name: str):
    """The condition with the filter `name` taken away: read as never matching (it is used
    only under `not`, so every `not name` becomes true)."""
    if isinstance(e, Ref) and e.name == name:
        return Const(False)
    if isinstance(e, (And, Or)):
        return type(e)(tuple(_without(x, name) for x in e.items))
    if isinstance(e, Not):
        return Not(_without(e.item, name))
    return e


@check("SL418", "filter-never-matches", "warning", "a filter (a search used under 'not') that "
                                                   "never matches an event the rest of the "
                                                   "condition selects")
def filter_never(ctx: DocContext):
    rule = _rule(ctx)
    if rule is None:
        return
    searches = {s.name: s.expr for s in rule.searches}
    for name in sorted(_negated_only(rule.condition)):
        if satisfiable.never_true(searches[name], searches, _memo(ctx)) is not False:
            continue  # SL416 says it (or too large to tell)
        rest = _without(rule.condition, name)
        if satisfiable.never_true(rest, searches, _memo(ctx)) is not False:
            continue  # SL417 says it (or too large to tell)
        if satisfiable.never_true(And((rest, Ref(name))), searches, _memo(ctx)) is True:
            ctx.report("SL418", f"filter {name!r} never matches an event the rest of the "
                                "condition selects, so it excludes nothing",
                       ctx.key_node("detection", name),
                       "its values contradict the selection's on the same field: check them")
