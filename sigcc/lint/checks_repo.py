"""Checks over the whole repository (every file lint was given), and of a file's text."""
from __future__ import annotations

import yaml

from sigcc.lint.registry import check, compiler_check
from sigcc.lint.source import Fix, SourceFile

compiler_check("SL001", "yaml-invalid", "error", "a file that is not readable YAML rules (syntax, "
                                                 "encoding, limits, a document that is no mapping)",
               "yaml-syntax", "encoding", "not-a-rule", "unreadable-file", "rule-file-too-large",
               "yaml-depth-limit", "yaml-node-limit", "yaml-size-limit", "yaml-recursive-alias",
               "number-too-large", "no-such-path")
compiler_check("SL002", "compile-error", "error", "any other error of the compiler (correlations, "
                                                  "filters, internal errors)")
compiler_check("SL003", "compile-warning", "warning", "any other warning of the compiler")


def _multiline_lines(root, out: set[int]) -> None:
    """Lines inside multi-line scalars (block or folded flow), where trailing spaces are
    part of the value (0-based; the scalar's first line is not included)."""
    stack = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.ScalarNode):
            if n.end_mark.line > n.start_mark.line:
                out.update(range(n.start_mark.line + 1, n.end_mark.line + 1))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack.extend((k, v))


@check("SL004", "trailing-whitespace", "info", "spaces or tabs at the end of a line",
       fixable=True, scope="file")
def trailing_whitespace(source: SourceFile, report):
    skip: set[int] = set()
    for root in source.roots:
        if root is not None:
            _multiline_lines(root, skip)
    pos = 0
    text = source.text
    for i, line in enumerate(text.split("\n")):
        body = line[:-1] if line.endswith("\r") else line
        stripped = body.rstrip(" \t")
        if stripped != body and i not in skip:
            start = pos + len(stripped)
            report("SL004", "line ends with whitespace", (i + 1, len(stripped) + 1),
                   "remove it", Fix(start, pos + len(body), "", "remove trailing whitespace"))
        pos += len(line) + 1


@check("SL501", "duplicate-id", "error", "an id used by more than one rule of the repository",
       scope="repository")
def duplicate_id(docs, report):
    first: dict[str, object] = {}
    for ctx in docs:
        if ctx.rule_id is None:
            continue
        if ctx.rule_id in first:
            other = first[ctx.rule_id]
            report(ctx, "SL501", f"id {ctx.rule_id} is also the id of {other.file}:"
                                 f"{other.doc.line} ({other.title!r})",
                   ctx.value_node("id") or ctx.at_key("id"), "give each rule its own UUID")
        else:
            first[ctx.rule_id] = ctx


@check("SL502", "duplicate-title", "warning", "a title used by more than one rule",
       scope="repository")
def duplicate_title(docs, report):
    first: dict[str, object] = {}
    for ctx in docs:
        if ctx.kind != "rule" or not ctx.title:
            continue
        key = ctx.title.strip().lower()
        if key in first:
            other = first[key]
            report(ctx, "SL502", f"title is also the title of {other.file}:{other.doc.line}",
                   ctx.value_node("title") or ctx.at_key("title"),
                   "say how this rule differs from the other one")
        else:
            first[key] = ctx


@check("SL503", "duplicate-detection", "warning", "two rules with the same logsource and "
                                                  "detection", scope="repository")
def duplicate_detection(docs, report):
    first: dict = {}
    for ctx in docs:
        rule = ctx.lowered.rule if ctx.lowered is not None else None
        if rule is None:
            continue
        key = (rule.meta.logsource, tuple((s.name, s.expr) for s in rule.searches),
               rule.condition)
        try:
            hash(key)
        except TypeError:
            continue
        if key in first:
            other = first[key]
            report(ctx, "SL503", f"detection and logsource are the same as those of "
                                 f"{other.file}:{other.doc.line} ({other.title!r})",
                   ctx.at_key("detection"), "merge the two rules, or make them differ")
        else:
            first[key] = ctx
