"""JUnit XML for `sigcc test --junit FILE`: what CI systems show as test results.

    <testsuites name="sigcc test" tests= failures= errors= skipped= time=>
      <testsuite name="<PATH given>" tests= failures= errors= skipped= time= timestamp=>
        <testcase name="<case>" classname="<source file>" file= line= time=>
          <failure message= type="expectation">...</failure>    (failed)
          <error message= type="error">...</error>             (could not run)
          <skipped message=.../>                               (skipped)
          <properties><property name="rule" value=.../> ...</properties>
          <system-out>matches, other rules that fired</system-out>
          <system-err>warnings</system-err>
        </testcase>

One testsuite per PATH given to `sigcc test` (in that order), one testcase per case. The
element and attribute names are those of the JUnit schema most CI systems read (Jenkins,
GitLab, GitHub test reporters); text that XML cannot hold (control characters) is replaced.
"""
from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

__all__ = ["to_xml", "write"]

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _t(text) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


def _counts(results) -> dict[str, str]:
    n = {s: sum(r.status == s for r in results) for s in ("failed", "error", "skipped")}
    return {"tests": str(len(results)), "failures": str(n["failed"]), "errors": str(n["error"]),
            "skipped": str(n["skipped"]), "time": f"{sum(_seconds(results)):.3f}"}


def _seconds(results):
    """A corpus shared by several cases is timed once: at the first case that used it."""
    seen, out = set(), []
    for r in results:
        key = r.case.corpus
        out.append(r.seconds if key not in seen else 0.0)
        seen.add(key)
    return out


def to_xml(results, suites_in_order: list[str]) -> bytes:
    root = ET.Element("testsuites", {"name": "sigcc test", **_counts(results)})
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    by_suite: dict[str, list] = {s: [] for s in suites_in_order}
    for r in results:
        by_suite.setdefault(r.case.suite, []).append(r)
    for suite, rs in by_suite.items():
        s = ET.SubElement(root, "testsuite", {"name": _t(suite), **_counts(rs),
                                              "timestamp": stamp})
        for r, secs in zip(rs, _seconds(rs)):
            _testcase(s, r, secs)
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def _testcase(parent, r, secs: float) -> None:
    c = r.case
    attrs = {"name": _t(c.name), "classname": _t(_relative(c.source, c.suite)),
             "file": _t(c.source), "time": f"{secs:.3f}"}
    if c.line:
        attrs["line"] = str(c.line)
    tc = ET.SubElement(parent, "testcase", attrs)
    props = ET.SubElement(tc, "properties")
    for name, value in (("rule", c.rule), ("rule_title", r.rule_title),
                        ("expected", c.expectation if c.error is None else None),
                        ("matches", r.count if r.status in ("passed", "failed") else None),
                        ("match_count", c.match_count), ("events", r.events or None),
                        ("corpus", " ".join(c.corpus) or None)):
        if value is not None:
            ET.SubElement(props, "property", {"name": name, "value": _t(value)})
    if r.status == "failed":
        ET.SubElement(tc, "failure", {"message": _t(r.message), "type": "expectation"}).text = \
            _t(r.message)
    elif r.status == "error":
        ET.SubElement(tc, "error", {"message": _t(r.message), "type": "error"}).text = _t(r.message)
    elif r.status == "skipped":
        ET.SubElement(tc, "skipped", {"message": _t(r.message)})
    out = []
    if r.status in ("passed", "failed"):
        out.append(r.message)
        out += [f"  match: {f}" + (f" record {rec}" if rec is not None else "")
                for f, rec in r.matches]
        if r.count > len(r.matches):
            out.append(f"  ... {r.count - len(r.matches)} more")
    if r.unexpected:
        out.append("other rules that fired on these events:")
        out += [f"  {rid} {title!r}: {n}" for rid, title, n in r.unexpected]
    if out:
        ET.SubElement(tc, "system-out").text = _t("\n".join(out))
    if r.warnings:
        ET.SubElement(tc, "system-err").text = _t("\n".join("warning: " + w for w in r.warnings))


def _relative(source: str, suite: str) -> str:
    """The case's file as written under the suite's directory (the file itself for a file)."""
    try:
        rel = Path(source).relative_to(suite)
    except ValueError:
        return source
    return str(rel) if str(rel) != "." else source


def write(path: str, results, suites_in_order: list[str]) -> None:
    data = to_xml(results, suites_in_order)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(p)
