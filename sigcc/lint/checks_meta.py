"""Checks of a rule's metadata: the Sigma specification's fields and value formats
(title, id, status, level, dates, description, author, references, falsepositives,
unknown keys) and the compiler's findings about them."""
from __future__ import annotations

import datetime
import difflib
import re

import yaml

from sigcc.compiler.lower import LEVELS, STATUSES
from sigcc.lint.registry import check, compiler_check
from sigcc.lint.source import DocContext, scalar

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LEGACY_DATE = re.compile(r"^(\d{4})/(\d{2})/(\d{2})$")  # what older rules wrote
URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.I)

# The specification's top-level fields of a rule (Sigma 2.0), plus those of correlation
# rules and meta filters (which have their own lowering).
RULE_KEYS = ("title", "id", "name", "related", "taxonomy", "status", "description", "license",
             "references", "author", "date", "modified", "tags", "logsource", "detection",
             "fields", "falsepositives", "level", "scope")
OTHER_KEYS = ("correlation", "filter", "generate", "action",
              "simulation", "regression_tests_path")  # the last two: SigmaHQ conventions
LIST_FIELDS = ("references", "falsepositives", "fields", "tags")

compiler_check("SL101", "title-missing", "error", "a rule has no title", "missing-title")
compiler_check("SL104", "id-missing", "warning", "a rule has no id", "missing-id")
compiler_check("SL107", "status-invalid", "error", "status is not one of the spec's values",
               "bad-status", fixable=True)
compiler_check("SL109", "level-invalid", "error", "level is not one of the spec's values",
               "bad-level", fixable=True)
compiler_check("SL117", "tags-not-list", "error", "tags is not a list", "bad-tags")


def _rules_only(ctx: DocContext) -> bool:
    return ctx.kind == "rule"


@check("SL102", "title-too-long", "warning", "a title longer than the limit (default 110 "
                                               "characters, SigmaHQ's)")
def title_too_long(ctx: DocContext):
    title = ctx.data.get("title")
    limit = ctx.options.title_max_length
    if isinstance(title, str) and len(title) > limit:
        ctx.report("SL102", f"title is {len(title)} characters long (limit {limit})",
                   ctx.value_node("title") or ctx.at_key("title"),
                   "say what the rule detects in fewer words; details go in description")


@check("SL103", "title-trailing-period", "info", "a title ending with a period", fixable=True)
def title_period(ctx: DocContext):
    title = ctx.data.get("title")
    if isinstance(title, str) and title.rstrip().endswith(".") and not title.rstrip().endswith(".."):
        node = ctx.value_node("title")
        ctx.report("SL103", "title ends with a period", node or ctx.at_key("title"),
                   "titles are names, not sentences: drop the final '.'",
                   ctx.replace_scalar(node, title.rstrip()[:-1], "drop the title's final '.'"))


@check("SL105", "id-not-uuid", "error", "an id that is not a lowercase UUID")
def id_format(ctx: DocContext):
    rid = ctx.data.get("id")
    if rid is None:
        return
    if not isinstance(rid, str) or not UUID.match(rid):
        upper = isinstance(rid, str) and UUID.match(rid.lower())
        ctx.report("SL105", f"id {rid!r} is not a " + ("lowercase " if upper else "") + "UUID",
                   ctx.value_node("id") or ctx.at_key("id"),
                   "write the id in lowercase" if upper else
                   "use a random UUID (python -c 'import uuid; print(uuid.uuid4())')")


@check("SL106", "status-missing", "warning", "a rule has no status")
def status_missing(ctx: DocContext):
    if _rules_only(ctx) and "status" not in ctx.data:
        ctx.report("SL106", "rule has no status", None,
                   f"add 'status:' ({', '.join(STATUSES)}); new rules start as experimental")


def _lowercase_fix(ctx: DocContext, key: str, allowed: tuple[str, ...], check_id: str) -> None:
    """The compiler reports an unknown status/level (SL107/SL109); lint adds the fix when
    the value is a known one in other letter case."""
    value = ctx.data.get(key)
    if isinstance(value, str) and value not in allowed and value.strip().lower() in allowed:
        node = ctx.value_node(key)
        fix = ctx.replace_scalar(node, value.strip().lower(), f"write {key} in lowercase")
        for f in ctx.findings:
            if f.check == check_id and f.fix is None:
                f.fix = fix


@check("SL108", "level-missing", "warning", "a rule has no level")
def level_missing(ctx: DocContext):
    if _rules_only(ctx) and "level" not in ctx.data:
        ctx.report("SL108", "rule has no level", None,
                   f"add 'level:' ({', '.join(LEVELS)})")


def compiler_fixes(ctx: DocContext) -> None:
    """Fixes for the compiler's findings (run after they are collected, before checks)."""
    _lowercase_fix(ctx, "level", LEVELS, "SL109")
    _lowercase_fix(ctx, "status", STATUSES, "SL107")


@check("SL110", "date-missing", "warning", "a rule has no date")
def date_missing(ctx: DocContext):
    if ctx.kind == "rule" and "date" not in ctx.data:
        ctx.report("SL110", "rule has no date", None,
                   "add 'date: YYYY-MM-DD', the day the rule was written")


def _dates(ctx: DocContext):
    for key in ("date", "modified"):
        if key in ctx.data:
            node = ctx.value_node(key)
            value = scalar(node) if isinstance(node, yaml.ScalarNode) else ctx.data[key]
            yield key, ("" if value is None else str(value)), node


@check("SL111", "date-format", "error", "a date or modified value not written YYYY-MM-DD",
       fixable=True)
def date_format(ctx: DocContext):
    for key, text, node in _dates(ctx):
        if DATE.match(text):
            continue
        legacy = LEGACY_DATE.match(text)
        fix = (ctx.replace_scalar(node, "-".join(legacy.groups()), f"write {key} as YYYY-MM-DD")
               if legacy else None)
        ctx.report("SL111", f"{key} {text!r} is not written YYYY-MM-DD",
                   node or ctx.at_key(key), "write the date as YYYY-MM-DD (ISO 8601)", fix)


def _date(text: str) -> datetime.date | None:
    m = DATE.match(text) or LEGACY_DATE.match(text)
    if not m:
        return None
    try:
        return datetime.date(*map(int, re.split(r"[-/]", text)))
    except ValueError:
        return None


@check("SL112", "date-invalid", "error", "a date or modified value that is no calendar day")
def date_invalid(ctx: DocContext):
    for key, text, node in _dates(ctx):
        if (DATE.match(text) or LEGACY_DATE.match(text)) and _date(text) is None:
            ctx.report("SL112", f"{key} {text!r} is not a day of the calendar",
                       node or ctx.at_key(key), "check month and day")


@check("SL113", "modified-before-date", "warning", "modified is earlier than date")
def modified_before(ctx: DocContext):
    dates = {k: _date(t) for k, t, _ in _dates(ctx)}
    if dates.get("date") and dates.get("modified") and dates["modified"] < dates["date"]:
        ctx.report("SL113", f"modified {dates['modified']} is before date {dates['date']}",
                   ctx.value_node("modified") or ctx.at_key("modified"),
                   "modified is the day of the last change, date the day the rule was written")


@check("SL121", "date-in-future", "warning", "a date or modified value after today")
def date_future(ctx: DocContext):
    for key, text, node in _dates(ctx):
        d = _date(text)
        if d and d > ctx.now:
            ctx.report("SL121", f"{key} {d} is in the future (today is {ctx.now})",
                       node or ctx.at_key(key), "use the day the rule was written or changed")


@check("SL114", "description-missing", "warning", "a rule has no description")
def description_missing(ctx: DocContext):
    if not _rules_only(ctx):
        return
    desc = ctx.data.get("description")
    if not isinstance(desc, str) or not desc.strip():
        ctx.report("SL114", "rule has no description" if desc is None else "description is empty",
                   ctx.at_key("description"), "add 'description:': what the rule detects and why")


@check("SL115", "author-missing", "info", "a rule has no author")
def author_missing(ctx: DocContext):
    if _rules_only(ctx) and not ctx.data.get("author"):
        ctx.report("SL115", "rule has no author", ctx.at_key("author"),
                   "add 'author:' (names, comma-separated)")


@check("SL116", "falsepositives-missing", "warning", "a rule has no falsepositives")
def falsepositives_missing(ctx: DocContext):
    if _rules_only(ctx) and not ctx.data.get("falsepositives"):
        ctx.report("SL116", "rule has no falsepositives", ctx.at_key("falsepositives"),
                   "add 'falsepositives:' as a list (e.g. '- Unknown')")


@check("SL118", "field-not-list", "error", "references, falsepositives or fields is not a list")
def not_list(ctx: DocContext):
    for key in LIST_FIELDS[:3]:
        value = ctx.data.get(key)
        if value is not None and not isinstance(value, list):
            ctx.report("SL118", f"{key} must be a list, not a {type(value).__name__}",
                       ctx.value_node(key) or ctx.at_key(key),
                       f"write each entry as '- ...' under '{key}:'")


@check("SL119", "reference-not-url", "info", "a reference that is not a URL")
def reference_url(ctx: DocContext):
    refs = ctx.data.get("references")
    node = ctx.value_node("references")
    nodes = node.value if isinstance(node, yaml.SequenceNode) else []
    if isinstance(refs, list):
        for i, ref in enumerate(refs):
            if not isinstance(ref, str) or not URL.match(ref.strip()):
                ctx.report("SL119", f"reference {ref!r} is not a URL",
                           nodes[i] if i < len(nodes) else ctx.at_key("references"),
                           "references are links (https://...) to what the rule is based on")


@check("SL120", "unknown-key", "warning", "a top-level key the specification does not define")
def unknown_key(ctx: DocContext):
    known = RULE_KEYS + OTHER_KEYS
    for key in ctx.data:
        if isinstance(key, str) and key not in known and not key.startswith("x-"):
            close = difflib.get_close_matches(key, known, n=1)
            ctx.report("SL120", f"unknown top-level key {key!r}", ctx.at_key(key),
                       f"did you mean {close[0]!r}?" if close else
                       "custom fields are allowed by the spec but unknown to tools; "
                       "disable SL120 in .sigcc-lint.yml if you use them on purpose")


@check("SL122", "status-deprecated", "info", "a rule whose status is deprecated or unsupported")
def status_deprecated(ctx: DocContext):
    status = ctx.data.get("status")
    if status in ("deprecated", "unsupported"):
        ctx.report("SL122", f"rule status is {status}", ctx.value_node("status"),
                   "move it out of the active rule tree (SigmaHQ keeps deprecated/ and "
                   "unsupported/ apart)")
