"""Reading rule files: YAML with source positions, multi-document collections, diagnostics.

Uses libyaml's C loader when PyYAML was built with it (several times faster than the pure
Python one). Every mapping comes back as a `PosDict`: a dict that also knows the line and
column of itself and of each of its keys, so later stages can point at `file:line:col`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
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


class _PosLoader(_Base):  # type: ignore[misc, valid-type]
    pass


def _construct_map(loader: _PosLoader, node: yaml.MappingNode):
    data = PosDict()
    data.line = node.start_mark.line + 1
    data.col = node.start_mark.column + 1
    data.key_pos = {}
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=False)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                "found an unhashable key", key_node.start_mark)
        if key in data.key_pos:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"found duplicate key {key!r}", key_node.start_mark)
        data[key] = loader.construct_object(value_node, deep=False)
        data.key_pos[key] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)


_PosLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document of a rule file, after `action: global` merging."""

    data: PosDict
    file: str
    line: int
    index: int  # document number in the file, from 0


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
        raw = list(yaml.load_all(text, Loader=_PosLoader))
    except yaml.YAMLError as exc:
        return [], [_yaml_diagnostic(exc, file)]
    glob: dict | None = None
    for index, data in enumerate(raw):
        if data is None:
            continue
        if not isinstance(data, dict):
            diags.append(Diagnostic(
                "not-a-rule", f"document {index + 1} is a {type(data).__name__}, not a mapping",
                Span(file, 1), hint="a Sigma rule is a YAML mapping with title, logsource and detection"))
            continue
        action = data.get("action")
        if action == "global":
            glob = {k: v for k, v in data.items() if k != "action"}
            continue
        if action == "reset":
            glob = None
            continue
        if action == "repeat":
            prev = docs[-1].data if docs else {}
            data = _merge(prev, {k: v for k, v in data.items() if k != "action"})
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
