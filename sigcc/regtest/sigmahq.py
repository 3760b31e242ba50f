"""SigmaHQ's regression data as `sigcc test` cases.

SigmaHQ keeps, per rule, a directory under `regression_data/` mirroring the rule's path:

    info.yml                      rule_metadata: [{id, title}]
                                  regression_tests_info: [{name, type, provider, match_count, path}]
    <rule id>.evtx                the events (the file `path` names, from the repository root)
    <rule id>.json                the same events exported as JSON

A case is one `regression_tests_info` entry for one rule of `rule_metadata`: it passes
when the rule fires on the entry's events at least once, as SigmaHQ's own regression runner
judges it; a count other than `match_count` is a warning (SigmaHQ's data has such cases,
and entries without a `match_count`). When the entry's file is an .evtx and the .json
export lies beside it, the export is a second case with the same expectation (`[json]`), so
both readers are tested. An entry of a type sigcc cannot read (e.g. `raw`) and an info.yml
without entries are skipped cases, with the reason; an info.yml that cannot be read, or an
event file that is nowhere to be found, is an error case.

`path` is written from the repository root (`regression_data/rules/...`); it is looked up
from the info.yml's directory upwards, then as a file of that name beside the info.yml.
"""
from __future__ import annotations

from pathlib import Path

from sigcc.regtest.cases import Case, Lined, YamlError, error_case, read_yaml

__all__ = ["INFO_NAMES", "READABLE_TYPES", "cases", "resolve_event_path"]

INFO_NAMES = ("info.yml", "info.yaml")
READABLE_TYPES = {"evtx": ".evtx", "json": ".json", "jsonl": ".jsonl"}


def cases(info: Path, suite: str) -> list[Case]:
    src = str(info)
    name = info.parent.name or src
    try:
        meta = read_yaml(info)
    except OSError as exc:
        return [error_case(name, suite, src, 0, f"cannot read it: {exc.strerror or exc}", "sigmahq")]
    except YamlError as exc:
        return [error_case(name, suite, src, exc.line, str(exc), "sigmahq")]
    if not isinstance(meta, Lined):
        return [error_case(name, suite, src, 1, "not a SigmaHQ info.yml: the file is not a YAML "
                           "mapping (expected rule_metadata and regression_tests_info)", "sigmahq")]
    rules = meta.get("rule_metadata")
    ids = []
    for i, r in enumerate(rules if isinstance(rules, list) else []):
        rid = r.get("id") if isinstance(r, dict) else None
        if not isinstance(rid, str) or not rid.strip():
            line = rules.lines[i] if hasattr(rules, "lines") else meta.line
            return [error_case(name, suite, src, line, "rule_metadata entry without an id: "
                               "each entry needs 'id: <the rule's id>'", "sigmahq")]
        ids.append(rid.strip())
    if not ids:
        return [error_case(name, suite, src, meta.lines.get("rule_metadata", 1),
                           "no rule_metadata with a rule id: a SigmaHQ info.yml names the rule "
                           "it tests as 'rule_metadata: [{id: ..., title: ...}]'", "sigmahq")]
    tests = meta.get("regression_tests_info")
    if tests is None:
        return [Case(f"{name} ({rid})" if len(ids) > 1 else name, suite, src,
                     meta.lines.get("rule_metadata", 1), rid, (), kind="sigmahq",
                     skip="the info.yml lists no regression_tests_info") for rid in ids]
    if not isinstance(tests, list):
        return [error_case(name, suite, src, meta.lines["regression_tests_info"],
                           "regression_tests_info is not a list of tests", "sigmahq", ids[0])]
    out = []
    for rid in ids:
        for i, t in enumerate(tests):
            line = tests.lines[i]
            label = name + (f" ({rid})" if len(ids) > 1 else "") + (
                f" #{i + 1}" if len(tests) > 1 else "")
            out += _entry_cases(info, suite, label, line, rid, t)
    return out


def _entry_cases(info: Path, suite: str, label: str, line: int, rid: str, t) -> list[Case]:
    src = str(info)
    if not isinstance(t, dict):
        return [error_case(label, suite, src, line, "a regression_tests_info entry must be a "
                           "mapping with type, path and match_count", "sigmahq", rid)]
    kind = t.get("type")
    mc = t.get("match_count")
    if mc is not None and (not isinstance(mc, int) or isinstance(mc, bool) or mc < 0):
        return [error_case(label, suite, src, t.lines.get("match_count", line),
                           f"match_count must be a whole number >= 0, not {mc!r}", "sigmahq", rid)]
    path = t.get("path")
    if not isinstance(path, str) or not path:
        return [error_case(label, suite, src, line, "the entry has no 'path' to its event file",
                           "sigmahq", rid)]
    suffix = READABLE_TYPES.get(str(kind).lower()) or READABLE_TYPES.get(Path(path).suffix[1:].lower())
    if suffix is None:
        return [Case(label, suite, src, line, rid, (path,), match_count=mc, kind="sigmahq",
                     skip=f"events of type {kind!r} ({path}): sigcc reads evtx, json and jsonl")]
    found = resolve_event_path(info, path)
    if found is None:
        return [error_case(label, suite, src, t.lines.get("path", line),
                           f"event file {path!r} not found (looked from {info.parent} upwards, "
                           "and beside the info.yml)", "sigmahq", rid)]
    out = [Case(f"{label} [{found.suffix[1:].lower()}]", suite, src, line, rid, (str(found),),
                match_count=mc, kind="sigmahq")]
    export = found.with_suffix(".json")
    if found.suffix.lower() == ".evtx" and export.is_file():
        out.append(Case(f"{label} [json]", suite, src, line, rid, (str(export),),
                        match_count=mc, kind="sigmahq"))
    return out


def resolve_event_path(info: Path, path: str) -> Path | None:
    rel = Path(path.replace("\\", "/"))
    if rel.is_absolute():
        return rel if rel.is_file() else None
    for base in [info.parent, *info.parent.resolve().parents]:
        if (base / rel).is_file():
            return base / rel
    beside = info.parent / rel.name
    return beside if beside.is_file() else None
