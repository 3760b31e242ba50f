"""Compatibility presets: named sets of Options that reproduce another engine's deliberate choices.

A preset holds only behaviours the other engine chose on purpose and documents; its bugs
are not reproduced (docs/migrating-from-go.md lists both, each measured on SigmaHQ's
Windows rules and backed by a test in tests/compat/). A preset is a starting point:
explicit options given beside it win.

    compat_options("go")                        # Options as the Go engine would interpret rules
    compat_options("go", logsource="windows")   # ... but keep sigcc's logsource gating
"""
from __future__ import annotations

from dataclasses import fields
from types import MappingProxyType

from sigcc.options import Options

PRESETS = MappingProxyType({
    # github.com/markuskont/go-sigma-rule-engine
    "go": MappingProxyType({
        # Config.NoCollapseWS defaults to false: runs of whitespace in patterns and values
        # become one space "to allow for better matching in the event that a bad actor
        # attempts to pad whitespace" (the engine's own comment)
        "collapse_whitespace": True,
        # NewStringMatcher: a plain value written /.../ is a regular expression ("non-spec regex")
        "slash_regex": True,
        # the engine never looks at a rule's logsource: every rule is tested on every event,
        # and routing events to rules is left to the caller
        "logsource": "ignore",
    }),
})


def compat_options(name: str, **overrides) -> Options:
    """Options for the preset `name` (see PRESETS), with `overrides` taking precedence.

    An unknown preset or option name is a ValueError naming the known ones."""
    preset = PRESETS.get(name)
    if preset is None:
        raise ValueError(f"unknown compatibility preset {name!r}; known: {', '.join(sorted(PRESETS))}")
    known = {f.name for f in fields(Options)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)} for compat_options({name!r})")
    return Options(**{**preset, **overrides})


__all__ = ["PRESETS", "compat_options"]
