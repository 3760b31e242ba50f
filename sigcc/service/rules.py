"""The rules the service runs: built from --rules, rebuilt on reload, fingerprinted to
notice changes.

`build_rules` is what `sigcc scan` does with --rules (modules loaded, rule files and
directories compiled in memory, with what the match lines need: each set's RuleDocs). `check_rebuild` decides whether a rebuild may replace the
running rules: it may not when it raised, holds no rules, has more rule errors than the
running build (a rule broken by an edit would otherwise silently stop matching), or a
rebuilt module was built with other build-time switches."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sigcc.options import Options

RULE_SUFFIXES = (".yml", ".yaml", ".py")


@dataclass(frozen=True)
class Rules:
    """One build: its rulesets (in --rules order, as scan keeps them), error diagnostics,
    and per set its RuleDocs (the details and documentation of the match lines)."""

    sets: tuple
    errors: tuple
    fingerprint: tuple
    docs: tuple

    @property
    def count(self) -> int:
        return sum(len(s) for s in self.sets)


def fingerprint(paths) -> tuple:
    """(path, mtime_ns, size) of every rule file under `paths`, sorted: any edit, addition,
    removal or rename changes it."""
    out = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files = (f for f in path.rglob("*") if f.suffix.lower() in RULE_SUFFIXES)
        else:
            files = (path,)
        for f in files:
            try:
                st = os.stat(f)
            except OSError:
                out.append((str(f), None, None))
                continue
            if not os.path.isdir(f):
                out.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(sorted(out, key=lambda t: t[0]))


def build_rules(paths, options: Options, ns=None) -> Rules:
    """Build as `sigcc scan --rules` does (may raise: a module that does not load, a path
    that is gone, BuildTimeSwitch when `ns`, the command line, asks for a switch a module
    was not built with). Runs in a worker thread on reload (ns None)."""
    from sigcc.cli import _scan_rules
    from sigcc.results.filters import RuleFilter

    before = fingerprint(paths)
    setup = _scan_rules(ns, options, RuleFilter.from_args(), [], paths=list(paths))
    return Rules(tuple(setup.sets), tuple(d for d in setup.diagnostics if d.severity == "error"),
                 before, tuple(setup.docs))


def check_rebuild(old: Rules, new: Rules) -> str | None:
    """None when `new` may replace `old`, else why not (one line)."""
    if len(new.errors) > len(old.errors):
        first = new.errors[0]
        return (f"the rebuild has {len(new.errors)} rule errors, the running rules "
                f"{len(old.errors)}; first: {first.render().splitlines()[0]}")
    if not new.count:
        return "the rebuild holds no rules"
    if len(new.sets) != len(old.sets):
        return f"the rebuild has {len(new.sets)} rule sets, the running rules {len(old.sets)}"
    for k, (a, b) in enumerate(zip(old.sets, new.sets), 1):
        if _built_with(a) != _built_with(b):
            return (f"rule set {k} was rebuilt with other build-time switches "
                    f"({_built_with(b)} instead of {_built_with(a)})")
    return None


def _built_with(rs) -> dict:
    keep = ("logsource", "collapse_whitespace", "field_aliases", "unmapped_logsource",
            "field_names", "slash_regex")
    return {k: rs.options.get(k) for k in keep}
