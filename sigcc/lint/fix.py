"""`--fix`: the safe fixes, applied in place as edits of the recorded character ranges.

Fixes never re-dump YAML: each is a replacement of one scalar's text or the deletion of one
list item's line (sigcc/lint/source.py), so comments, quoting, key order and every other
line stay byte for byte. Before a file is written, its fixed text is loaded and lowered
again and must give the same detection (each rule's logsource and its optimized searches
and condition; correlations and filters: their values apart from metadata) and no new
error; a fix that would change what the rule matches is refused (reported, not applied).
"""
from __future__ import annotations

import os
import tempfile

from sigcc.compiler.loader import load_text
from sigcc.lint.source import Finding, Fix
from sigcc.options import DEFAULT_OPTIONS, Options

METADATA = frozenset(("title", "id", "name", "related", "taxonomy", "status", "description",
                      "license", "references", "author", "date", "modified", "tags", "fields",
                      "falsepositives", "level", "scope"))


def detection_signature(text: str, file: str, options: Options = DEFAULT_OPTIONS):
    """What a file's documents match: (error count, one entry per document)."""
    from sigcc.compiler.lower import lower_document
    from sigcc.compiler.passes import optimize

    docs, diags = load_text(text, file, options)
    errors = sum(d.severity == "error" for d in diags)
    out = []
    for doc in docs:
        data = doc.data
        raw = (data.get("detection"), data.get("logsource"))
        if "correlation" in data or ("filter" in data and "detection" not in data):
            out.append((raw, {k: v for k, v in data.items() if k not in METADATA}, None))
            continue
        low = lower_document(doc, options)
        errors += sum(d.severity == "error" for d in low.diagnostics)
        if low.rule is None:  # a metadata error (level, status, title) must not hide it
            low = lower_document(_detection_only(doc), options)
        r = low.rule
        out.append((raw, None, None if r is None else (
            r.logsource_key, tuple((s.name, optimize(s.expr)) for s in r.searches),
            optimize(r.condition))))
    return errors, out


def _detection_only(doc):
    """The document without the metadata the compiler checks, so its detection lowers even
    while, say, its level is invalid (the detection is what fixes must not change)."""
    from dataclasses import replace

    from sigcc.compiler.loader import PosDict
    data = PosDict((k, v) for k, v in doc.data.items() if k not in ("level", "status", "title"))
    data.line, data.col, data.key_pos = doc.data.line, doc.data.col, doc.data.key_pos
    data["title"] = "t"
    return replace(doc, data=data)


def same_detection(before, after) -> bool:
    """Fixed text is accepted when it has no more errors and every document matches what
    it matched: the same lowered detection when both lower, else the same values."""
    (e0, docs0), (e1, docs1) = before, after
    if e1 > e0 or len(docs0) != len(docs1):
        return False
    for (raw0, other0, low0), (raw1, other1, low1) in zip(docs0, docs1):
        if other0 != other1:
            return False
        if low0 is not None and low1 is not None:
            if low0 != low1:
                return False
        elif raw0 != raw1 or (low0 is not None and low1 is None):
            return False
    return True


def apply_fixes(text: str, fixes: list[Fix]) -> str:
    """The text with the fixes applied; overlapping ones after the first are skipped."""
    out, pos = [], 0
    for f in sorted(fixes, key=lambda f: (f.start, f.end)):
        if f.start < pos:
            continue
        out.append(text[pos:f.start])
        out.append(f.text)
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def fix_text(text: str, file: str, findings: list[Finding],
             options: Options = DEFAULT_OPTIONS) -> tuple[str, list[Finding], list[Finding]]:
    """(new text, findings fixed, findings whose fix was refused) for one file's text."""
    candidates = [f for f in findings if f.fix is not None]
    if not candidates:
        return text, [], []
    before = detection_signature(text, file, options)
    new = apply_fixes(text, [f.fix for f in candidates])
    if same_detection(before, detection_signature(new, file, options)):
        return new, _unique(candidates), []
    # one at a time: keep each fix that leaves the detection as it was
    kept: list[Finding] = []
    refused: list[Finding] = []
    for f in candidates:
        trial = apply_fixes(text, [k.fix for k in kept] + [f.fix])
        (kept if same_detection(before, detection_signature(trial, file, options)) else refused).append(f)
    return apply_fixes(text, [k.fix for k in kept]), _unique(kept), refused


def _unique(findings: list[Finding]) -> list[Finding]:
    """Findings whose fix was applied (of overlapping fixes only the first is)."""
    out, pos = [], 0
    for f in sorted(findings, key=lambda f: (f.fix.start, f.fix.end)):
        if f.fix.start >= pos:
            out.append(f)
            pos = f.fix.end
    return out


def fix_files(findings: list[Finding], options: Options = DEFAULT_OPTIONS):
    """Apply the fixes of these findings to their files; returns (fixed, refused) findings.
    Each file is replaced atomically (a temporary file renamed over it), its BOM kept."""
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        if f.fix is not None:
            by_file.setdefault(f.file, []).append(f)
    fixed: list[Finding] = []
    refused: list[Finding] = []
    for path, group in by_file.items():
        with open(path, "rb") as fh:
            raw = fh.read()
        bom = raw.startswith(b"\xef\xbb\xbf")
        text = raw.decode("utf-8-sig")
        new, done, no = fix_text(text, path, group, options)
        refused.extend(no)
        if not done:
            continue
        data = (b"\xef\xbb\xbf" if bom else b"") + new.encode("utf-8")
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".sigcc-lint-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        for f in done:
            f.fixed = True
        fixed.extend(done)
    return fixed, refused
