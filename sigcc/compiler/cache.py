"""The build cache: what loading each rule file gave, keyed by the file's content.

    cache = BuildCache.open("out/.sigcc-cache/detections.py.cache", options)
    result = load_rules(files, options, optimize=True, emit=True, cache=cache)
    cache.save()

A rebuild after one changed file loads, lowers, optimizes and emits that file only; every
other file's entries (its diagnostics, and per rule its metadata and its RuleCode, the
Python code writer.assemble puts into the module) come from the cache, so the module is
byte-identical to a clean build's (tests/compiler/test_build_cache.py). The cache also
keeps the last module in parts (backends/python/assembly.py): a rebuild whose changed rules
leave the rest of the module as it was splices their code into it, without reading the
other rules' codes (each file's codes are a pickle of their own, read only when the module
is assembled from all codes). An entry is used
when the file's bytes have the same SHA-1 and the build the same fingerprint: sigcc's own
source files, the options, this format and the Python version; anything else is a miss,
never a stale hit. Files that are not in the tree any more are dropped at save.

What the cache does not cover (it is then not read, and the build is a clean one): rule
sources that are YAML texts or dicts rather than files, and trees holding filter
documents (a filter changes the code of the rules it applies to, in other files).
Correlation documents are cached like rules: they are resolved over the rules' metadata.

Rules from cached files are `CachedRule`s in `CompileResult.rules`: their metadata and
logsource key, not their IR (which a build does not need once their code is made).

The cache is a pickle: as trusted as the module it builds (which is Python that scans run),
so keep it where the module is and do not take one from elsewhere.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

FORMAT = 4


@dataclass
class CachedMeta:
    """A cached rule's RuleMeta, as plain data (a frozen, slotted dataclass unpickles through
    Python code: 3x slower for a tree of rules); `logsource` as (product, category, service)."""

    id: str
    title: str
    level: str | None
    status: str | None
    tags: tuple
    logsource: tuple
    references: tuple
    description: str | None
    author: str | None
    falsepositives: tuple
    file: str
    line: int
    name: str | None


@dataclass
class CachedRule:
    """A rule whose code came from the build cache: what a build reads of it."""

    meta: CachedMeta
    logsource_key: str


def _code_fingerprint() -> str:
    """SHA-1 over sigcc's own source and data files: a changed compiler is a new cache."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha1()
    for p in sorted(root.rglob("*")):
        if p.suffix in (".py", ".lark", ".yml", ".j2") and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def fingerprint(options, optimize: bool) -> str:
    parts = (FORMAT, sys.version, _code_fingerprint(), repr(options), optimize)
    return hashlib.sha1(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()


def default_path(output: str | os.PathLike) -> Path:
    """Where `sigcc build -o OUTPUT` keeps its cache: .sigcc-cache/ beside the module."""
    out = Path(output)
    return out.parent / ".sigcc-cache" / f"{out.name}.cache"


class BuildCache:
    """Entries per file path: (SHA-1 of its bytes, its entries for compiler/build.py)."""

    def __init__(self, path: Path | None, key: str, entries: dict, assembly=None):
        self.path, self.key = path, key
        self.old = entries  # path -> (sha1, entries, their rules' codes) as last saved
        self.new: dict = {}  # what this build found: saved by save()
        self.hits = self.misses = 0
        self.disabled: str | None = None  # why this build could not use the cache
        self.assembly = assembly  # the last build's module in parts (assembly.Assembly)
        self.assembly_changed = False
        self.spliced = False  # did this build splice the last module (api.build_module)?

    @classmethod
    def open(cls, path: str | os.PathLike | None, options, optimize: bool = True) -> "BuildCache":
        """The cache at `path` (None: one that is never saved); an unreadable, foreign or
        other-fingerprint file is an empty cache (this build is then a clean one)."""
        key = fingerprint(options, optimize)
        entries: dict = {}
        assembly = None
        if path is not None:
            try:
                with open(path, "rb") as fh:
                    data = pickle.load(fh)
                if isinstance(data, dict) and data.get("key") == key:
                    from sigcc.backends.python.assembly import Assembly

                    entries, assembly = data["files"], data.get("assembly")
                    if not isinstance(assembly, Assembly):
                        assembly = None
            except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError,
                    IndexError, KeyError, TypeError, ValueError):
                entries, assembly = {}, None
        return cls(Path(path) if path is not None else None, key, entries, assembly)

    def get(self, file: str, digest: str):
        """The file's entries, each rule's code None (`codes` has them), or None: a miss."""
        hit = self.old.get(file)
        if isinstance(hit, tuple) and len(hit) == 3 and hit[0] == digest:
            try:
                entries = pickle.loads(hit[1])
            except Exception:  # a damaged entry is a miss, never an error
                entries = None
            if entries is not None:
                self.hits += 1
                self.new[file] = hit
                return entries
        self.misses += 1
        return None

    def codes(self, file: str) -> list:
        """The RuleCodes of the rules of a file `get` found, in order (a damaged entry
        raises DamagedEntry: the caller builds without the cache)."""
        try:
            codes = pickle.loads(self.new[file][2])
        except Exception as exc:
            raise DamagedEntry(f"the build cache's entry for {file} is damaged") from exc
        if not isinstance(codes, list):
            raise DamagedEntry(f"the build cache's entry for {file} is damaged")
        return codes

    def fill_codes(self, rules: list, codes: list) -> None:
        """codes[i] for each rule i from the cache (codes[i] None): from `codes(file)`."""
        pending: dict = {}
        for i, code in enumerate(codes):
            if code is None:
                file = rules[i].meta.file
                it = pending.get(file)
                if it is None:
                    it = pending[file] = iter(self.codes(file))
                codes[i] = next(it, None)
                if codes[i] is None:
                    raise DamagedEntry(f"the build cache's entry for {file} is damaged")

    def put(self, file: str, digest: str, entries: list) -> None:
        # each file's entries pickled on their own (a save writes bytes it already has), the
        # rules' codes apart (a rebuild that splices the module does not unpickle them)
        stored = [_storable(e) for e in entries]
        self.new[file] = (digest, pickle.dumps([e[:6] + (None,) for e in stored], protocol=5),
                          pickle.dumps([e[6] for e in stored if e[1] is not None], protocol=5))

    def keep_assembly(self, assembly) -> None:
        """What this build assembled (None: nothing to keep), saved with the entries."""
        if assembly is not self.assembly:
            self.assembly, self.assembly_changed = assembly, True

    def save(self) -> str | None:
        """Write what this build found (atomically); the reason it could not, or None."""
        if self.path is None or self.disabled or (
                not self.misses and self.new.keys() == self.old.keys() and not self.assembly_changed):
            return None  # (nothing changed since it was saved)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump({"key": self.key, "files": self.new, "assembly": self.assembly}, fh,
                            protocol=5)
            os.replace(tmp, self.path)
        except OSError as exc:
            return f"cannot write the build cache {self.path}: {exc.strerror or exc}"
        return None


class DamagedEntry(Exception):
    """A cache entry whose codes cannot be read (the build is then a clean one)."""


def _storable(entry: tuple) -> tuple:
    """An entry with its rule as a CachedRule (the IR is not kept)."""
    diagnostics, rule, files, is_document, is_correlation, ir, code = entry
    if rule is not None and not isinstance(rule, CachedRule):
        m, ls = rule.meta, rule.meta.logsource
        rule = CachedRule(CachedMeta(
            m.id, m.title, m.level, m.status, m.tags, (ls.product, ls.category, ls.service),
            m.references, m.description, m.author, m.falsepositives, m.file, m.line, m.name),
            rule.logsource_key)
    return (tuple(diagnostics), rule, files, is_document, is_correlation, ir, code)


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()
