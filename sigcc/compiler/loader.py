"""Reading rule files: YAML with source positions, multi-document collections, diagnostics.

Uses libyaml's C parser and composer when PyYAML was built with it, and converts the node
tree to values directly (PyYAML's generic constructor is most of the cost of `yaml.load`).
Every mapping comes back as a `PosDict`: a dict that also knows the line and column of
itself and of each of its keys, so later stages can point at `file:line:col`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

import yaml

from sigcc.diagnostics import Diagnostic, Span

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
HAVE_LIBYAML = _Base is not yaml.SafeLoader


class PosDict(dict):
    """A dict with `line`/`col` of the mapping and `key_pos[key] = (line, col)`."""

    __slots__ = ("line", "col", "key_pos")

    def pos(self, key) -> tuple[int, int]:
        return self.key_pos.get(key, (self.line, self.col))


@lru_cache(maxsize=1 << 16)
def _resolve(kind, value, implicit):
    """YAML's implicit tag of a node: a pure function of its text (no path resolvers here),
    called from C for every scalar; rules repeat keys and values, so it is memoized."""
    return _RESOLVER.resolve(kind, value, implicit)


class _Composer(_Base):  # type: ignore[misc, valid-type]
    """libyaml scans, parses and composes nodes (with marks) in C; `_convert` builds values."""

    resolve = staticmethod(_resolve)


_RESOLVER = yaml.resolver.Resolver()
assert not _RESOLVER.yaml_path_resolvers, "memoized resolve assumes no path resolvers"

# Scalars other than plain strings are rare in rules; they go through PyYAML's own
# constructor so ints (0x.., 1_000), floats (.inf) and binary mean what YAML says they mean.
_SCALARS = yaml.constructor.SafeConstructor()
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_Scalar = yaml.ScalarNode
_SPECIAL = {
    "tag:yaml.org,2002:int": _SCALARS.construct_yaml_int,
    "tag:yaml.org,2002:float": _SCALARS.construct_yaml_float,
    "tag:yaml.org,2002:bool": _SCALARS.construct_yaml_bool,
    "tag:yaml.org,2002:null": _SCALARS.construct_yaml_null,
    "tag:yaml.org,2002:binary": _SCALARS.construct_yaml_binary,
    "tag:yaml.org,2002:timestamp": lambda node: node.value,  # dates stay text (rule metadata)
}


def _error(node, context: str, problem: str) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(context, node.start_mark, problem, node.start_mark)


def _convert(node, memo: dict):
    """A composed node as Python values; mappings become PosDicts. Aliases share the value."""
    if node.__class__ is yaml.ScalarNode:
        if node.tag == _STR:
            return node.value
        fn = _SPECIAL.get(node.tag)
        if fn is None:
            raise _error(node, "while reading a value", f"unsupported YAML tag {node.tag!r}")
        return fn(node)
    done = memo.get(id(node))
    if done is not None:
        return done
    if node.__class__ is yaml.SequenceNode:
        out = []
        memo[id(node)] = out
        for n in node.value:
            out.append(n.value if n.tag == _STR and n.__class__ is _Scalar else _convert(n, memo))
        return out
    if node.__class__ is yaml.MappingNode and node.tag == _MAP:
        data = PosDict()
        memo[id(node)] = data
        mark = node.start_mark
        data.line, data.col = mark.line + 1, mark.column + 1
        data.key_pos = pos = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged = _convert(value_node, memo)
                for m in merged if isinstance(merged, list) else [merged]:
                    if not isinstance(m, dict):
                        raise _error(value_node, "while merging a mapping", "'<<' needs mappings")
                    for k, v in m.items():
                        if k not in pos:
                            data[k] = v
                            pos[k] = getattr(m, "key_pos", {}).get(k, (data.line, data.col))
                continue
            key = key_node.value if key_node.tag == _STR else _convert(key_node, memo)
            if key.__class__ is list or key.__class__ is PosDict:
                raise _error(key_node, "while reading a mapping", "found an unhashable key")
            if key in pos:
                raise _error(key_node, "while reading a mapping", f"found duplicate key {key!r}")
            data[key] = (value_node.value if value_node.tag == _STR and value_node.__class__ is _Scalar
                         else _convert(value_node, memo))
            km = key_node.start_mark
            pos[key] = (km.line + 1, km.column + 1)
        return data
    raise _error(node, "while reading a value", f"unsupported YAML node {node.tag!r}")


def _load_all(text: str) -> list[tuple[object, int, int]]:
    """Every document of the text as (value, line, column)."""
    loader = _Composer(text)
    try:
        out = []
        while loader.check_node():
            node = loader.get_node()
            mark = node.start_mark
            out.append((_convert(node, {}), mark.line + 1, mark.column + 1))
        return out
    finally:
        loader.dispose()


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document of a rule file, after `action: global` merging."""

    data: PosDict
    file: str
    line: int
    index: int  # document number in the file, from 0


def _without_action(data: PosDict) -> PosDict:
    """The document without its `action` key, positions kept."""
    out = PosDict((k, v) for k, v in data.items() if k != "action")
    out.line, out.col, out.key_pos = data.line, data.col, data.key_pos
    return out


def _merge(base: dict, extra: dict) -> PosDict:
    """Deep-merge a global document into a rule document (the rule wins on scalars)."""
    out = PosDict(base)
    out.line, out.col = getattr(extra, "line", 1), getattr(extra, "col", 1)
    out.key_pos = {**getattr(base, "key_pos", {}), **getattr(extra, "key_pos", {})}
    for k, v in extra.items():
        if k in out and isinstance(out[k], dict) and isinstance(v, dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _yaml_diagnostic(exc: yaml.YAMLError, file: str) -> Diagnostic:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    span = Span(file, mark.line + 1, mark.column + 1) if mark else Span(file)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    msg = f"malformed YAML: {problem}" + (f" ({context})" if context else "")
    return Diagnostic("yaml-syntax", msg, span,
                      hint="check indentation and quoting at this line; values containing "
                           "': ' or starting with '*', '&', '%' or '@' need quotes")


def load_text(text: str, file: str = "<string>") -> tuple[list[Document], list[Diagnostic]]:
    """Parse one rule file's text into documents (collections merged) and diagnostics."""
    docs: list[Document] = []
    diags: list[Diagnostic] = []
    try:
        raw = _load_all(text)
    except yaml.YAMLError as exc:
        return [], [_yaml_diagnostic(exc, file)]
    glob: dict | None = None
    for index, (data, line, col) in enumerate(raw):
        if data is None:
            continue
        if not isinstance(data, dict):
            diags.append(Diagnostic(
                "not-a-rule", f"document {index + 1} is a {type(data).__name__}, not a mapping",
                Span(file, line, col),
                hint="a Sigma rule is a YAML mapping with title, logsource and detection"))
            continue
        action = data.get("action")
        if action == "global":
            glob = _without_action(data)
            continue
        if action == "reset":
            glob = None
            continue
        if action == "repeat":
            prev = docs[-1].data if docs else {}
            data = _merge(prev, _without_action(data))
        elif glob is not None:
            data = _merge(glob, data)
        docs.append(Document(data, file, getattr(data, "line", 1), index))
    return docs, diags


def load_file(path: str | os.PathLike) -> tuple[list[Document], list[Diagnostic]]:
    file = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        return [], [Diagnostic("unreadable-file", f"cannot read rule file: {exc.strerror}",
                               Span(file), hint="check the path and its permissions")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [Diagnostic("encoding", f"rule file is not UTF-8 (byte {exc.start})",
                               Span(file), hint="save the file as UTF-8")]
    return load_text(text, file)


RULE_SUFFIXES = (".yml", ".yaml")


def rule_files(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Rule files under the given files and directories, recursively, in a stable order."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = []
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(root, f) for f in files if f.endswith(RULE_SUFFIXES))
            yield from sorted(found)
        else:
            yield path
