"""Running the checks: rule files -> findings.

Per file: the compiler's loader reads the documents (with `action: global` merging) and
its diagnostics; lint composes the same text once more for node positions. Per document:
the compiler lowers it (rules: sigcc/compiler/lower.py; correlations and filters:
sigcc/correlation/lower.py) and its diagnostics become findings of the compiler checks;
then every document check runs. Then the file checks, and the repository checks over all
documents. The config decides last which findings stay and at which level, so one run
holds everything (checks never depend on each other being enabled).

A check that raises is a bug in that check: it becomes a `compile-error` finding naming the
check, and the other checks go on.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path


from sigcc.compiler.loader import Document, load_file, rule_files
from sigcc.diagnostics import Diagnostic
from sigcc.lint import checks_detection, checks_meta, checks_repo, checks_tags  # noqa: F401 (register)
from sigcc.lint.config import LintConfig
from sigcc.lint.registry import CHECKS, by_code
from sigcc.lint.source import DocContext, Finding, SourceFile, get
from sigcc.options import DEFAULT_OPTIONS, Options


@dataclass
class LintResult:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    documents: int = 0
    fixed: int = 0  # fixes applied (with --fix)
    unfixed: list = field(default_factory=list)  # (file, why) when a file's fixes were refused

    def count(self, level: str) -> int:
        return sum(1 for f in self.findings if f.level == level)

    @property
    def errors(self) -> int:
        return self.count("error")


def _route(d: Diagnostic, codes: dict) -> str:
    if d.code == "bad-modifier" and "regular expression" in d.message:
        return "SL413"
    c = codes.get(d.code)
    if c is not None:
        return c.id
    return "SL002" if d.severity == "error" else "SL003"


def _finding(d: Diagnostic, codes: dict, file: str) -> Finding:
    message = d.message
    if d.excerpt:
        message += "\n" + d.excerpt
    return Finding(_route(d, codes), "", message, d.span.file or file, d.span.line,
                   d.span.col, d.rule_id, d.title, d.hint)


def _document_sources(roots: list, index: int) -> list:
    """Nodes a merged document's values come from: its own, then the `action: global`
    (or, for `repeat`, the previous) document's."""
    own = roots[index] if index < len(roots) else None
    out = [own]
    _, action = get(own, "action")
    if action is not None and action.value == "repeat" and index > 0:
        out.append(roots[index - 1])
        return out
    for j in range(index - 1, -1, -1):
        _, a = get(roots[j], "action")
        if a is not None and a.value == "reset":
            break
        if a is not None and a.value == "global":
            out.append(roots[j])
            break
    return out


def _lower(doc: Document, options: Options):
    """(Lowered or None, diagnostics) for one document, a crash being one diagnostic."""
    from sigcc.compiler.build import internal_error
    from sigcc.compiler.lower import lower_document
    from sigcc.correlation import is_correlation, is_filter
    from sigcc.correlation.lower import lower_correlation, lower_filter
    try:
        if is_correlation(doc.data) or is_filter(doc.data):
            lower = lower_correlation if is_correlation(doc.data) else lower_filter
            _, diags = lower(doc.data, doc.file, options, index=doc.index)
            return None, list(diags)
        lowered = lower_document(doc, options)
        return lowered, list(lowered.diagnostics)
    except Exception as exc:  # the safety net, as in the compiler's build
        from sigcc.diagnostics import Span
        return None, [internal_error(exc, "lowering this rule", Span(doc.file, doc.line))]


def _crash(check_id: str, exc: Exception, file: str, line: int = 0) -> Finding:
    return Finding("SL002", "", f"internal error in lint check {check_id} "
                                f"({CHECKS[check_id].slug}): {type(exc).__name__}: {exc}",
                   file, line, 0, hint="this is a bug in sigcc lint, not in the rule: please "
                                       "report it with the rule file; disable the check meanwhile")


def lint_file(path: str, config: LintConfig, options: Options = DEFAULT_OPTIONS,
              now: datetime.date | None = None) -> tuple[list[DocContext], list[Finding], SourceFile | None]:
    """One file's document contexts (findings inside) and its file-level findings."""
    codes = by_code()
    now = now or config.now or datetime.date.today()
    docs, diags = load_file(path, options)
    file_findings = [_finding(d, codes, path) for d in diags]
    try:
        source = SourceFile.read(path) if docs or not diags else None
    except (OSError, UnicodeDecodeError):
        source = None
    if source is None:
        return [], file_findings, None
    contexts = []
    for doc in docs:
        lowered, ldiags = _lower(doc, options)
        ctx = DocContext(source, doc, _document_sources(source.roots, doc.index), lowered,
                         ldiags, config, now)
        ctx.findings.extend(_finding(d, codes, path) for d in ldiags)
        checks_meta.compiler_fixes(ctx)
        for c in CHECKS.values():
            if c.scope == "document" and c.fn is not None:
                try:
                    c.fn(ctx)
                except Exception as exc:  # a bug in one check costs that check only
                    ctx.findings.append(_crash(c.id, exc, path, doc.line))
        contexts.append(ctx)

    def report(check_id, message, where, hint=None, fix=None):
        line, col = where
        file_findings.append(Finding(check_id, "", message, path, line, col, hint=hint, fix=fix))

    for c in CHECKS.values():
        if c.scope == "file":
            try:
                c.fn(source, report)
            except Exception as exc:
                file_findings.append(_crash(c.id, exc, path))
    return contexts, file_findings, source


def lint(paths, config: LintConfig = LintConfig(), options: Options = DEFAULT_OPTIONS,
         now: datetime.date | None = None) -> LintResult:
    """Lint rule files and directories (searched recursively for *.yml / *.yaml)."""
    result = LintResult()
    contexts: list[DocContext] = []
    raw: list[Finding] = []
    for p in paths:
        if not Path(p).exists():
            raw.append(Finding("SL001", "", f"no such rule file or directory: {p}", str(p),
                               hint="check the path; directories are searched recursively "
                                    "for *.yml/*.yaml"))
            continue
        for f in rule_files([p]):
            file = str(f)
            if config.excluded(file):
                continue
            result.files += 1
            ctxs, found, _ = lint_file(file, config, options, now)
            contexts.extend(ctxs)
            raw.extend(found)
    result.documents = len(contexts)

    def report(ctx, check_id, message, where, hint=None, fix=None):
        ctx.report(check_id, message, where, hint, fix)

    for c in CHECKS.values():
        if c.scope == "repository":
            try:
                c.fn(contexts, report)
            except Exception as exc:
                raw.append(_crash(c.id, exc, "<repository>"))
    for ctx in contexts:
        raw.extend(ctx.findings)
    result.findings = apply_config(raw, config)
    return result


def apply_config(findings: list[Finding], config: LintConfig) -> list[Finding]:
    """The findings the config keeps, each with its level, in file/line/column order."""
    out = []
    seen = set()
    for f in findings:
        level = config.level(f.check)
        if level is None:
            continue
        key = (f.check, f.file, f.line, f.col, f.message)
        if key in seen:  # e.g. a global document's key reported for each merged document
            continue
        seen.add(key)
        f.level = level
        out.append(f)
    out.sort(key=lambda f: (f.file, f.line, f.col, f.check))
    return out


__all__ = ["lint", "lint_file", "LintResult", "apply_config"]
