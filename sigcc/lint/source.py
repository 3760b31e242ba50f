"""What a check sees: one rule file's text with every YAML node's position, and per
document a `DocContext` that finds nodes by key path and collects findings.

The compiler's loader (sigcc/compiler/loader.py) gives the values (after `action: global`
merging) and key positions; for values, list items and fixes lint also composes the same
text with libyaml, whose marks give every scalar's line, column and character offsets.
Fixes are edits of those character ranges (sigcc/lint/fix.py), never a re-dump of the YAML,
so comments, quoting and key order stay as written.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from sigcc.compiler.loader import Document

_Composer = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALARS = yaml.constructor.SafeConstructor()
_STR = "tag:yaml.org,2002:str"


@dataclass(frozen=True, slots=True)
class Fix:
    """Replace text[start:end] with `text` (character offsets into the file's text)."""

    start: int
    end: int
    text: str
    what: str  # e.g. "remove the '*' that contains already implies"


@dataclass(slots=True)
class Finding:
    check: str  # check id
    level: str
    message: str
    file: str
    line: int = 0
    col: int = 0
    rule_id: str | None = None
    title: str | None = None
    hint: str | None = None
    fix: Fix | None = None
    fixed: bool = False

    def to_dict(self) -> dict:
        from sigcc.lint.registry import CHECKS
        return {"check": self.check, "slug": CHECKS[self.check].slug, "level": self.level,
                "message": self.message, "file": self.file, "line": self.line, "col": self.col,
                "rule_id": self.rule_id, "title": self.title, "hint": self.hint,
                "fixable": self.fix is not None, "fixed": self.fixed}


def compose_all(text: str) -> list:
    """Every document of the text as a composed node (None for an empty document); []
    when the text is not YAML (the loader reports why)."""
    loader = _Composer(text)
    out = []
    try:
        while loader.check_node():
            out.append(loader.get_node())
    except yaml.YAMLError:
        return []
    finally:
        loader.dispose()
    return out


def scalar(node):
    """A scalar node's value as YAML means it (str, int, float, bool, None); the node for
    sequences and mappings."""
    if not isinstance(node, yaml.ScalarNode):
        return node
    if node.tag == _STR:
        return node.value
    try:
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value
        return _SCALARS.construct_object(node)
    except (yaml.YAMLError, ValueError):
        return node.value


def get(node, key: str):
    """(key node, value node) of `key` in a mapping node, or (None, None)."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k, v
    return None, None


def items(node) -> list:
    """(key node, value node) pairs of a mapping node, else []."""
    return list(node.value) if isinstance(node, yaml.MappingNode) else []


def is_single_line(node) -> bool:
    return node.start_mark.line == node.end_mark.line


@dataclass
class SourceFile:
    path: str
    text: str  # as the loader decoded it (utf-8-sig: without a BOM)
    bom: bool = False
    roots: list = field(default_factory=list)  # composed documents, in order

    @classmethod
    def read(cls, path: str) -> "SourceFile":
        """The file's text (UTF-8, newlines as they are); raises OSError/UnicodeDecodeError."""
        with open(path, "rb") as fh:
            raw = fh.read()
        text = raw.decode("utf-8-sig")
        return cls(path, text, raw.startswith(b"\xef\xbb\xbf"), compose_all(text))

    def line_span(self, offset: int) -> tuple[int, int]:
        """Start and end (after its line break) of the line holding `offset`."""
        start = self.text.rfind("\n", 0, offset) + 1
        end = self.text.find("\n", offset)
        return start, len(self.text) if end < 0 else end + 1


class DocContext:
    """One document of a file: its values, its nodes, what the compiler said, and where
    the checks' findings go."""

    def __init__(self, source: SourceFile, doc: Document, nodes: list, lowered, diagnostics,
                 options, now):
        self.source = source
        self.file = source.path
        self.doc = doc
        self.data = doc.data
        self.nodes = [n for n in nodes if isinstance(n, yaml.MappingNode)]  # own node first
        self.lowered = lowered  # sigcc.compiler.lower.Lowered, or None for correlations/filters
        self.diagnostics = diagnostics  # the compiler's, for this document
        self.options = options  # LintOptions
        self.now = now  # datetime.date: "today" for date checks (fixed in tests)
        rid, title = self.data.get("id"), self.data.get("title")
        self.rule_id = str(rid) if isinstance(rid, (str, int)) else None
        self.title = str(title) if isinstance(title, (str, int, float)) else None
        self.findings: list[Finding] = []
        self.kind = ("correlation" if "correlation" in self.data else
                     "filter" if "filter" in self.data and "detection" not in self.data else "rule")

    # -- finding nodes ---------------------------------------------------------------------
    def lookup(self, *path: str):
        """(key node, value node) of a key path, in this document or the one merged into
        it (`action: global`), or (None, None)."""
        for root in self.nodes:
            k, v = None, root
            for p in path:
                k, v = get(v, p)
                if v is None:
                    break
            if v is not None:
                return k, v
        return None, None

    def value_node(self, *path: str):
        return self.lookup(*path)[1]

    def key_node(self, *path: str):
        return self.lookup(*path)[0]

    def is_own(self, node) -> bool:
        """Is the node in this document's own text (so a fix may edit it)?"""
        if node is None or not self.nodes:
            return False
        own = self.nodes[0]
        return own.start_mark.index <= node.start_mark.index <= own.end_mark.index

    # -- reporting -------------------------------------------------------------------------
    def report(self, check_id: str, message: str, where=None, hint: str | None = None,
               fix: Fix | None = None) -> None:
        """A finding at `where`: a node, a (line, col) pair, or None (the document start)."""
        if where is None:
            line, col = self.doc.line, 1
        elif isinstance(where, tuple):
            line, col = where
        else:
            line, col = where.start_mark.line + 1, where.start_mark.column + 1
        self.findings.append(Finding(check_id, "", message, self.file, line, col, self.rule_id,
                                     self.title, hint, fix))

    def at_key(self, *path: str):
        """Where a key is: its node, else the loader's key position, else None."""
        k = self.key_node(*path)
        if k is not None:
            return k
        d = self.data
        for p in path[:-1]:
            d = d.get(p) if isinstance(d, dict) else None
        if d is not None and hasattr(d, "pos") and path[-1] in d:
            return d.pos(path[-1])
        return None

    def replace_scalar(self, node, new_value: str, what: str) -> Fix | None:
        """A fix writing `new_value` in place of a single-line scalar, in the node's own
        quoting style when that reads back as `new_value`; None when no safe edit exists."""
        if not isinstance(node, yaml.ScalarNode) or not self.is_own(node) or not is_single_line(node):
            return None
        text = render_scalar(new_value, node.style)
        if text is None:
            return None
        return Fix(node.start_mark.index, node.end_mark.index, text, what)

    def delete_item(self, node, what: str) -> Fix | None:
        """A fix deleting a block sequence item that is alone on its line (`- value`,
        perhaps a comment after it); None otherwise (flow lists are left alone)."""
        if node is None or not self.is_own(node) or not is_single_line(node):
            return None
        text = self.source.text
        start, end = self.source.line_span(node.start_mark.index)
        before = text[start:node.start_mark.index]
        after = text[node.end_mark.index:end].strip()
        if before.strip() != "-" or (after and not after.startswith("#")):
            return None
        return Fix(start, end, "", what)


def render_scalar(value: str, style: str | None) -> str | None:
    """YAML text for a string, in the given style (None: plain, "'", '"'), that reads back
    as exactly `value`; None when that style cannot hold it on one line."""
    if "\n" in value or "\r" in value:
        return None
    if not style:  # plain (libyaml says '', PyYAML's Python parser None)
        candidates = [value]
    elif style == "'":
        candidates = ["'" + value.replace("'", "''") + "'"]
    elif style == '"':
        import json
        candidates = [json.dumps(value, ensure_ascii=False)]
    else:
        return None
    from sigcc.compiler.loader import load_text
    for text in candidates:  # read back as the compiler reads it (dates stay text)
        docs, diags = load_text("k: " + text)
        if not diags and docs and docs[0].data.get("k") == value and isinstance(docs[0].data["k"], str):
            return text
    return None
