"""Lint findings as text, JSON and SARIF 2.1.0 (what code-scanning UIs read)."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from sigcc.lint.registry import CHECKS

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
INFO_URI = "https://github.com/sigcc/sigcc/blob/main/docs/lint.md"


def text(result) -> str:
    lines = []
    for f in result.findings:
        where = f"{f.file}:{f.line}:{f.col}" if f.line else f.file
        who = f" (rule {f.rule_id})" if f.rule_id else ""
        tag = " [fixed]" if f.fixed else " [fixable]" if f.fix is not None else ""
        msg, *excerpt = f.message.split("\n")
        lines.append(f"{where}: {f.level}[{f.check} {CHECKS[f.check].slug}]: {msg}{who}{tag}")
        lines.extend("    " + x for x in excerpt)
        if f.hint:
            lines.append(f"  hint: {f.hint}")
    return "\n".join(lines) + ("\n" if lines else "")


def summary(result) -> dict:
    counts: dict[str, int] = {}
    for f in result.findings:
        counts[f.check] = counts.get(f.check, 0) + 1
    return {"files": result.files, "documents": result.documents,
            "errors": result.count("error"), "warnings": result.count("warning"),
            "infos": result.count("info"), "fixed": result.fixed,
            "per_check": dict(sorted(counts.items()))}


def to_json(result) -> str:
    return json.dumps({"findings": [f.to_dict() for f in result.findings],
                       "summary": summary(result)}, indent=1, ensure_ascii=False) + "\n"


def _uri(file: str) -> str:
    p = Path(file)
    try:
        p = p.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return p.resolve().as_uri()
    return quote(p.as_posix())


def sarif(result, version: str = "") -> dict:
    rules = list(CHECKS.values())
    index = {c.id: i for i, c in enumerate(rules)}
    results = []
    for f in result.findings:
        loc: dict = {"artifactLocation": {"uri": _uri(f.file), "uriBaseId": "%SRCROOT%"}}
        if f.line:
            loc["region"] = {"startLine": f.line, "startColumn": max(f.col, 1)}
        message = f.message.split("\n")[0] + (f" (hint: {f.hint})" if f.hint else "")
        res = {"ruleId": f.check, "ruleIndex": index[f.check], "level": SARIF_LEVEL[f.level],
               "message": {"text": message}, "locations": [{"physicalLocation": loc}]}
        if f.rule_id:
            res["properties"] = {"sigmaRuleId": f.rule_id}
        results.append(res)
    driver = {"name": "sigcc-lint", "informationUri": INFO_URI,
              "rules": [{"id": c.id, "name": c.slug,
                         "shortDescription": {"text": c.summary},
                         "defaultConfiguration": {"level": SARIF_LEVEL[c.level]},
                         "properties": {"fixable": c.fixable}} for c in rules]}
    if version:
        driver["version"] = version
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0",
            "runs": [{"tool": {"driver": driver}, "columnKind": "unicodeCodePoints",
                      "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().resolve().as_uri() + "/"}},
                      "results": results}]}


def to_sarif(result) -> str:
    try:
        from importlib.metadata import version
        v = version("sigcc")
    except Exception:  # not installed as a distribution
        v = ""
    return json.dumps(sarif(result, v), indent=1, ensure_ascii=False) + "\n"
