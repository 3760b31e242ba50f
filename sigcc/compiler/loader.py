"""Reading rule files: YAML with source positions, multi-document collections, diagnostics.

Uses libyaml's C parser and composer when PyYAML was built with it, and converts the node
tree to values directly (PyYAML's generic constructor is most of the cost of `yaml.load`).
Every mapping comes back as a `PosDict`: a dict that also knows the line and column of
itself and of each of its keys, so later stages can point at `file:line:col`.

Hostile files are bounded here, at the source, so no later stage (lowering, `action: global`
merging, metadata, RULES_JSON) ever sees more than the limits of `Options` allow:
- a file larger than `max_rule_file_bytes` is not read;
- values nested deeper than `max_depth` are refused while converting (libyaml itself stops
  at 1000 levels);
- aliases: `_convert` shares an aliased value instead of copying it, so a "billion laughs"
  file is small in memory, but anything that walks, copies or prints it would expand it.
  `_Budget` counts every file's values as if expanded (an alias counts as often as it is
  used, its depth where it is used, a merged global document once per document it is merged
  into): more than `max_yaml_nodes` nodes, more than `max_rule_file_bytes` characters of
  text, an alias inside itself, or nesting past `max_depth` is a diagnostic naming the limit.
  It runs when the count could matter: the text has an `&` (no anchor, no alias), holds
  enough characters for `max_yaml_nodes` nodes, or merges documents; otherwise each node
  took at least one character of the text and the file size bounds everything.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

import yaml

from sigcc.diagnostics import Diagnostic, Span
from sigcc.options import DEFAULT_OPTIONS, Options

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
MAX_INT_BITS = 13_000  # ~3,900 decimal digits: Python refuses to print ints past 4,300


def _int(node) -> int:
    """A YAML integer, refused when Python could not print it again (emitter, queries)."""
    try:
        value = _SCALARS.construct_yaml_int(node)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        value = None
    if value is None or value.bit_length() > MAX_INT_BITS:
        mark = node.start_mark
        raise _Refusal("number-too-large", f"integer of {len(node.value)} characters is too "
                                           f"large (more than {MAX_INT_BITS} bits)",
                       (mark.line + 1, mark.column + 1), "quote it to make it a string")
    return value


_SPECIAL = {
    "tag:yaml.org,2002:int": _int,
    "tag:yaml.org,2002:float": _SCALARS.construct_yaml_float,
    "tag:yaml.org,2002:bool": _SCALARS.construct_yaml_bool,
    "tag:yaml.org,2002:null": _SCALARS.construct_yaml_null,
    "tag:yaml.org,2002:binary": _SCALARS.construct_yaml_binary,
    "tag:yaml.org,2002:timestamp": lambda node: node.value,  # dates stay text (rule metadata)
}


def _error(node, context: str, problem: str) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(context, node.start_mark, problem, node.start_mark)


class _Refusal(Exception):
    """Why one file is refused (a limit, a recursive alias, text that is not Unicode);
    `diagnostic()` makes it a value."""

    def __init__(self, code: str, message: str, where: tuple[int, int], hint: str):
        super().__init__(message)
        self.code, self.message, self.where, self.hint = code, message, where, hint
        self.who: tuple[str | None, str | None] = (None, None)  # rule id, title when known
        self.rest = False  # documents follow in the file (they are not compiled either)

    def diagnostic(self, file: str) -> Diagnostic:
        message = self.message + ("; this document and the rest of the file are not compiled"
                                  if self.rest else "")
        return Diagnostic(self.code, message, Span(file, *self.where), *self.who, self.hint)


def _too_deep(max_depth: int, where: tuple[int, int]) -> _Refusal:
    return _Refusal("yaml-depth-limit",
                    f"rule values nest deeper than Options.max_depth = {max_depth} levels",
                    where, "a Sigma rule needs a few levels of nesting: flatten the values, or "
                           "raise Options.max_depth if the file is honest")


class _TooDeep(Exception):
    """Raised by `_convert` at the first node nested past the limit (`mark`: where)."""

    def __init__(self, mark):
        super().__init__()
        self.where = (mark.line + 1, mark.column + 1)


def _convert(node, memo: dict, room: int):
    """A composed node as Python values; mappings become PosDicts. Aliases share the value.

    room: how many more levels of nesting may follow (from Options.max_depth)."""
    if node.__class__ is yaml.ScalarNode:
        if node.tag == _STR:
            return node.value
        fn = _SPECIAL.get(node.tag)
        if fn is None:
            raise _error(node, "while reading a value", f"unsupported YAML tag {node.tag!r}")
        return fn(node)
    done = memo.get(id(node))
    if done is not None:
        return done  # an alias: its expanded size and depth are _Budget's to count
    if room <= 0:
        raise _TooDeep(node.start_mark)
    room -= 1
    if node.__class__ is yaml.SequenceNode:
        out = []
        memo[id(node)] = out
        for n in node.value:
            out.append(n.value if n.tag == _STR and n.__class__ is _Scalar else _convert(n, memo, room))
        return out
    if node.__class__ is yaml.MappingNode and node.tag == _MAP:
        data = PosDict()
        memo[id(node)] = data
        mark = node.start_mark
        data.line, data.col = mark.line + 1, mark.column + 1
        data.key_pos = pos = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged = _convert(value_node, memo, room)
                for m in merged if isinstance(merged, list) else [merged]:
                    if not isinstance(m, dict):
                        raise _error(value_node, "while merging a mapping", "'<<' needs mappings")
                    for k, v in m.items():
                        if k not in pos:
                            data[k] = v
                            pos[k] = getattr(m, "key_pos", {}).get(k, (data.line, data.col))
                continue
            key = key_node.value if key_node.tag == _STR else _convert(key_node, memo, room)
            if key.__class__ is list or key.__class__ is PosDict:
                raise _error(key_node, "while reading a mapping", "found an unhashable key")
            if key in pos:
                raise _error(key_node, "while reading a mapping", f"found duplicate key {key!r}")
            data[key] = (value_node.value if value_node.tag == _STR and value_node.__class__ is _Scalar
                         else _convert(value_node, memo, room))
            km = key_node.start_mark
            pos[key] = (km.line + 1, km.column + 1)
        return data
    raise _error(node, "while reading a value", f"unsupported YAML node {node.tag!r}")


def _load_all(text: str, max_depth: int) -> tuple[list[tuple[object, int, int]], _Refusal | None]:
    """Every document of the text as (value, line, column), up to the first one refused
    (nested past `max_depth`, a number too large: then that refusal, else None). YAML errors
    raise."""
    loader = _Composer(text)
    out = []
    try:
        while loader.check_node():
            node = loader.get_node()
            mark = node.start_mark
            memo: dict = {}
            try:
                value = _convert(node, memo, max_depth)
            except (_TooDeep, RecursionError, _Refusal) as exc:
                # (RecursionError: Options.max_depth raised above what this stack allows)
                where = getattr(exc, "where", (mark.line + 1, mark.column + 1))
                refusal = exc if isinstance(exc, _Refusal) else _too_deep(max_depth, where)
                refusal.who = _who(memo.get(id(node)))  # the keys read before the refused value
                try:
                    refusal.rest = loader.check_node()
                except yaml.YAMLError:
                    refusal.rest = True
                return out, refusal
            out.append((value, mark.line + 1, mark.column + 1))
        return out, None
    finally:
        loader.dispose()


class _Budget:
    """One file's values counted as if every alias were expanded, against the limits.

    `add(value)` walks a document's values once per distinct container (sizes are memoized
    by identity, so a shared value costs one lookup per use) and keeps running totals for
    the file: nodes (`max_yaml_nodes`; a mapping entry is a key node and a value), characters
    of text in strings and keys (`max_rule_file_bytes`), and nesting (`max_depth`, also at
    the place an alias is used). It raises `_Refusal` at the first use that goes past one,
    with the line of the nearest mapping key. It also takes plain dicts/lists (API input).
    """

    def __init__(self, options: Options, check_text: bool = False):
        self.check_text = check_text  # strings from Python may hold lone surrogates; YAML's cannot
        self.max_nodes = options.max_yaml_nodes
        self.max_chars = options.max_rule_file_bytes
        self.max_depth = options.max_depth
        self.nodes = 0
        self.chars = 0
        self.sizes: dict[int, tuple[int, int, int] | None] = {}  # None: being walked (a cycle)

    def add(self, value, where: tuple[int, int]) -> tuple[int, int]:
        """Count one document; returns its (nodes, characters)."""
        n0, c0 = self.nodes, self.chars
        self._walk(value, 0, where)
        self._check(where)
        return self.nodes - n0, self.chars - c0

    def add_copy(self, size: tuple[int, int], where: tuple[int, int]) -> None:
        """Count a document merged into another once more (`action: global` / `repeat`)."""
        self.nodes += size[0]
        self.chars += size[1]
        self._check(where)

    def _check(self, where) -> None:
        if self.nodes > self.max_nodes:
            raise _Refusal(
                "yaml-node-limit",
                f"rule values expand to more than Options.max_yaml_nodes = {self.max_nodes} "
                "nodes in this file (a YAML alias counts once per use)", where,
                "write the values out instead of repeating aliases (*name), or raise "
                "Options.max_yaml_nodes if the file is honest")
        if self.chars > self.max_chars:
            raise _Refusal(
                "yaml-size-limit",
                f"rule values expand to more than Options.max_rule_file_bytes = "
                f"{self.max_chars} characters of text in this file (a YAML alias counts once "
                "per use)", where,
                "write the values out instead of repeating aliases (*name), or raise "
                "Options.max_rule_file_bytes if the file is honest")

    def _walk(self, v, depth: int, where: tuple[int, int]) -> int:
        """Count `v` (its enclosing containers: `depth`); returns its height."""
        cls = v.__class__
        if cls is str or cls is bytes:
            self.nodes += 1
            self.chars += len(v)
            if self.chars > self.max_chars or self.nodes > self.max_nodes:
                self._check(where)
            if self.check_text and cls is str and not v.isascii():
                _unicode(v, where)
            return 0
        is_map = isinstance(v, dict)
        if not is_map and cls is not list and cls is not tuple:
            self.nodes += 1
            return 0
        key = id(v)
        if key in self.sizes:
            size = self.sizes[key]
            if size is None:
                raise _Refusal("yaml-recursive-alias",
                               "a value contains itself (a YAML alias used inside its own anchor)",
                               where, "remove the alias (*name) from inside the value it names")
            self.nodes += size[0]
            self.chars += size[1]
            if depth + size[2] > self.max_depth:
                raise _too_deep(self.max_depth, where)
            self._check(where)
            return size[2]
        if depth >= self.max_depth:
            raise _too_deep(self.max_depth, where)
        self.sizes[key] = None
        n0, c0 = self.nodes, self.chars
        self.nodes += 1
        height = 0
        if is_map:
            pos = getattr(v, "key_pos", None) or {}
            for k, x in v.items():
                self.nodes += 1
                if k.__class__ is str:
                    self.chars += len(k)
                    if self.check_text and not k.isascii():
                        _unicode(k, where)
                h = self._walk(x, depth + 1, pos.get(k, where))
                if h > height:
                    height = h
        else:
            for x in v:
                h = self._walk(x, depth + 1, where)
                if h > height:
                    height = h
        self._check(where)
        self.sizes[key] = (self.nodes - n0, self.chars - c0, height + 1)
        return height + 1


def _unicode(text: str, where: tuple[int, int]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _Refusal("encoding", f"rule text holds a lone surrogate {text[exc.start]!r} (not "
                                   f"Unicode text) at character {exc.start}", where,
                       "decode the rule's bytes with errors='strict' (or 'replace')") from None


def _needs_budget(text: str, options: Options) -> bool:
    """Whether counting can find anything: without an `&` a file has no anchor (so no alias),
    and each node takes at least one character of the text (an implicit null takes its key's)."""
    return "&" in text or 2 * len(text) + 2 >= options.max_yaml_nodes


def _who(data) -> tuple[str | None, str | None]:
    """The document's rule id and title for a diagnostic, when they are plain scalars."""
    if not isinstance(data, dict):
        return None, None
    out = []
    for key in ("id", "title"):
        v = data.get(key)
        out.append(str(v) if isinstance(v, (str, int, float)) and len(str(v)) <= 200 else None)
    return out[0], out[1]


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


def _too_large(size: int, limit: int) -> str:
    return (f"rule file is {size} bytes: exceeds Options.max_rule_file_bytes = {limit}" if size
            else f"rule file exceeds Options.max_rule_file_bytes = {limit} bytes")


_TOO_LARGE_HINT = ("a Sigma rule file is a few kB (SigmaHQ's largest is ~300 kB): split it, or "
                   "raise Options.max_rule_file_bytes if the file is honest")


def load_text(text: str, file: str = "<string>",
              options: Options = DEFAULT_OPTIONS) -> tuple[list[Document], list[Diagnostic]]:
    """Parse one rule file's text into documents (collections merged) and diagnostics."""
    limit = options.max_rule_file_bytes
    if len(text) > limit // 4 and len(text.encode("utf-8", "surrogatepass")) > limit:
        return [], [Diagnostic("rule-file-too-large",
                               _too_large(len(text.encode("utf-8", "surrogatepass")), limit),
                               Span(file), hint=_TOO_LARGE_HINT)]
    docs: list[Document] = []
    diags: list[Diagnostic] = []
    try:
        raw, limit_hit = _load_all(text, options.max_depth)
    except yaml.YAMLError as exc:
        return [], [_yaml_diagnostic(exc, file)]
    except UnicodeEncodeError as exc:  # (libyaml reads UTF-8: a str from Python may not be)
        return [], [Diagnostic("encoding", f"rule text holds a lone surrogate "
                                           f"{exc.object[exc.start]!r} (not Unicode text) at "
                                           f"character {exc.start}", Span(file),
                               hint="decode the rule's bytes with errors='strict' (or 'replace')")]
    merges = any(isinstance(d, dict) and d.get("action") in ("global", "repeat") for d, _, _ in raw)
    budget = _Budget(options) if merges or _needs_budget(text, options) else None
    glob: dict | None = None
    glob_size = prev_size = (0, 0)
    for index, (data, line, col) in enumerate(raw):
        action = data.get("action") if isinstance(data, dict) else None
        try:  # count the document, and once more what it is merged with
            size = budget.add(data, (line, col)) if budget else (0, 0)
            base = (prev_size if docs else None) if action == "repeat" else (
                None if action in ("global", "reset") or glob is None else glob_size)
            if budget and base:
                budget.add_copy(base, (line, col))
                size = (size[0] + base[0], size[1] + base[1])
        except _Refusal as exc:
            exc.who, exc.rest = _who(data), index + 1 < len(raw) or limit_hit is not None
            diags.append(exc.diagnostic(file))
            return docs, diags
        if data is None:
            continue
        if not isinstance(data, dict):
            diags.append(Diagnostic(
                "not-a-rule", f"document {index + 1} is a {type(data).__name__}, not a mapping",
                Span(file, line, col),
                hint="a Sigma rule is a YAML mapping with title, logsource and detection"))
            continue
        if action == "global":
            glob, glob_size = _without_action(data), size
            continue
        if action == "reset":
            glob = None
            continue
        if action == "repeat":
            prev = docs[-1].data if docs else {}
            data = _merge(prev, _without_action(data))
        elif glob is not None:
            data = _merge(glob, data)
        prev_size = size
        docs.append(Document(data, file, getattr(data, "line", 1), index))
    if limit_hit is not None:
        diags.append(limit_hit.diagnostic(file))
    return docs, diags


def load_data(data: dict, file: str = "<rule>",
              options: Options = DEFAULT_OPTIONS) -> tuple[list[Document], list[Diagnostic]]:
    """A rule given as Python values (the API's dict sources), held to the same limits as a
    file: shared or recursive values, size and depth are counted before anything copies it."""
    try:
        _Budget(options, check_text=True).add(data, (getattr(data, "line", 1),
                                                     getattr(data, "col", 1)))
    except _Refusal as exc:
        exc.who = _who(data)
        return [], [exc.diagnostic(file)]
    out = data if isinstance(data, PosDict) else _posdict(data)
    return [Document(out, file, out.line, 0)], []


def _posdict(d: dict) -> PosDict:
    """A plain dict as a PosDict at line 1 (nested dicts too; depth bounded by _Budget)."""
    out = PosDict()
    out.line, out.col, out.key_pos = 1, 1, {}
    for k, v in d.items():
        out[k] = _posdict(v) if isinstance(v, dict) and not isinstance(v, PosDict) else v
    return out


def load_file(path: str | os.PathLike,
              options: Options = DEFAULT_OPTIONS) -> tuple[list[Document], list[Diagnostic]]:
    file = str(path)
    limit = options.max_rule_file_bytes
    try:
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            regular = stat.S_ISREG(info.st_mode)  # (a FIFO's size is unknown: read the limit)
            size = info.st_size if regular else 0
            raw = b"" if size > limit else fh.read() if regular else fh.read(limit + 1)
    except OSError as exc:
        return [], [Diagnostic("unreadable-file", f"cannot read rule file: {exc.strerror}",
                               Span(file), hint="check the path and its permissions")]
    if size > limit or len(raw) > limit:
        return [], [Diagnostic("rule-file-too-large",
                               _too_large(max(size, len(raw)) if regular else 0, limit),
                               Span(file), hint=_TOO_LARGE_HINT)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [Diagnostic("encoding", f"rule file is not UTF-8 (byte {exc.start})",
                               Span(file), hint="save the file as UTF-8")]
    return load_text(text, file, options)


RULE_SUFFIXES = (".yml", ".yaml")


def rule_files(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Rule files under the given files and directories, recursively, in a stable order."""
    return map(Path, rule_file_names(paths))


def rule_file_names(paths: Iterable[str | os.PathLike]) -> list[str]:
    """rule_files as strings (what str() of each Path gives), without making a Path per file:
    the order is that of sorting the Paths (by their parts), hidden directories skipped."""
    out: list[str] = []
    for p in paths:
        top = str(Path(p))  # (normalized as the Paths are: no trailing or doubled slashes)
        if not os.path.isdir(top):
            out.append(top)
            continue
        found = []
        for root, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            base = "" if root == "." else root + ("" if root.endswith(os.sep) else os.sep)
            parts = tuple(base.split(os.sep)[:-1]) if base else ()
            found.extend((parts + (f,), base + f) for f in files if f.endswith(RULE_SUFFIXES))
        found.sort()
        out.extend(name for _, name in found)
    return out
