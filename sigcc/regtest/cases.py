"""Test cases for `sigcc test`: what a case is, and finding them under the paths given.

    cases = discover(["regression_data/", "tests/rules.sigcc-test.yml"])

A `Case` names one rule, the event files it runs over and the count of matches expected
(`op` at_least / exactly / at_most `count`). Two sources make cases:
- SigmaHQ's regression data (sigmahq.py): every `info.yml`;
- expectation files (expectations.py): `*.sigcc-test.yml` / `*.sigcc-test.yaml`.
A file given by name is read as the one or the other (an `info.yml`, or a file with
`rule_metadata`, is SigmaHQ's; anything else an expectation file); directories are searched
recursively for both kinds. Whatever cannot be read becomes a case with `error` set (the
file, line and what to fix), so it fails the run instead of vanishing; a path holding no
case at all is such an error too.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import yaml

__all__ = ["Case", "OPS", "EXPECTATION_SUFFIXES", "discover", "read_yaml", "YamlError"]

OPS = ("at_least", "exactly", "at_most")
EXPECTATION_SUFFIXES = (".sigcc-test.yml", ".sigcc-test.yaml")
MAX_FILE_BYTES = 4 << 20  # a test file larger than this is refused, never read
MAX_DEPTH = 32


@dataclass(frozen=True)
class Case:
    """One regression case. `suite`: the path given on the command line it was found under;
    `source`, `line`: where it is written; `rule`: the rule's id (or `name:`); `corpus`: the
    event files or directories; `match_count`: SigmaHQ's expected count, where the info.yml
    gives one (a different count is a warning, not a failure); `skip`: why it is not run;
    `error`: why it could not be read (the case fails)."""

    name: str
    suite: str
    source: str
    line: int
    rule: str | None
    corpus: tuple[str, ...]
    op: str = "at_least"
    count: int = 1
    match_count: int | None = None
    kind: str = "expectation"  # "sigmahq" | "expectation"
    skip: str | None = None
    error: str | None = None

    @property
    def expectation(self) -> str:
        return f"{self.op.replace('_', ' ')} {self.count}"

    def holds(self, n: int) -> bool:
        if self.op == "at_least":
            return n >= self.count
        if self.op == "at_most":
            return n <= self.count
        return n == self.count


def error_case(name: str, suite: str, source: str, line: int, message: str,
               kind: str = "expectation", rule: str | None = None) -> Case:
    return Case(name, suite, source, line, rule, (), kind=kind, error=message)


def discover(paths: Iterable[str]) -> list[Case]:
    """Every case under the paths, in the order given (directories: sorted, recursively)."""
    from sigcc.regtest import expectations, sigmahq

    out: list[Case] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files = sorted(f for f in path.rglob("*") if f.is_file() and _is_test_file(f))
            found = []
            for f in files:
                found += (sigmahq.cases(f, p) if f.name in sigmahq.INFO_NAMES
                          else expectations.cases(f, p))
            if not found:
                found = [error_case(p, p, p, 0, "no test cases here: a directory is searched for "
                                    "SigmaHQ info.yml files and *.sigcc-test.yml expectation "
                                    "files, and holds neither")]
            out += found
        elif path.is_file():
            out += (sigmahq.cases(path, p) if _is_sigmahq(path)
                    else expectations.cases(path, p))
        else:
            out.append(error_case(p, p, p, 0, "no such file or directory"))
    return out


def _is_test_file(f: Path) -> bool:
    from sigcc.regtest.sigmahq import INFO_NAMES

    return f.name in INFO_NAMES or f.name.lower().endswith(EXPECTATION_SUFFIXES)


def _is_sigmahq(path: Path) -> bool:
    from sigcc.regtest.sigmahq import INFO_NAMES

    if path.name in INFO_NAMES:
        return True
    if path.name.lower().endswith(EXPECTATION_SUFFIXES):
        return False
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:65536]
    except OSError:
        return False
    return any(line.startswith("rule_metadata:") for line in head.splitlines())


# --- YAML with lines -----------------------------------------------------------------------

class YamlError(ValueError):
    """A test file that is not the YAML it should be: `line` (from 1, 0 unknown) and why."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.line = line


class Lined(dict):
    """A mapping from a test file with the line of each key (`lines[key]`) and its own."""

    line = 0
    lines: dict


class LinedList(list):
    line = 0
    lines: list


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path):
    """The first YAML document of a test file, mappings as `Lined`, sequences as `LinedList`.
    Raises OSError (unreadable) or YamlError (too large, not YAML, aliases, too deep)."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise YamlError(f"{size} bytes: larger than the {MAX_FILE_BYTES} bytes a test file may "
                        "have (split it)")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlError(f"not valid YAML: {exc.problem or exc}", mark.line + 1 if mark else 0) \
            from None
    except yaml.YAMLError as exc:
        raise YamlError(f"not valid YAML: {exc}") from None
    if node is None:
        return None
    return _plain(node, set(), MAX_DEPTH, _Loader(""))


def _plain(node, seen: set, room: int, ctor):
    line = node.start_mark.line + 1
    if id(node) in seen:
        raise YamlError("the value anchored here (&name) is used again as an alias (*name): "
                        "aliases are not allowed in test files, write the value out", line)
    if room <= 0:
        raise YamlError(f"nested deeper than {MAX_DEPTH} levels", line)
    if isinstance(node, yaml.ScalarNode):
        try:
            return ctor.construct_object(node)
        except yaml.YAMLError as exc:
            raise YamlError(f"cannot read this value: {exc}", line) from None
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        out = LinedList(_plain(n, seen, room - 1, ctor) for n in node.value)
        out.line, out.lines = line, [n.start_mark.line + 1 for n in node.value]
        return out
    data = Lined()
    data.line, data.lines = line, {}
    for k, v in node.value:
        key = _plain(k, seen, room - 1, ctor)
        if isinstance(key, (list, dict)):
            raise YamlError("a mapping key must be a plain value", k.start_mark.line + 1)
        if key in data:
            raise YamlError(f"duplicate key {key!r}", k.start_mark.line + 1)
        data[key] = _plain(v, seen, room - 1, ctor)
        data.lines[key] = k.start_mark.line + 1
    return data
