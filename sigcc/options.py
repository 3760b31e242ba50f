"""Compatibility options: the one explicit configuration object passed down the compiler.

Every switch that makes sigcc behave like another Sigma engine lives here, documented, with
the pySigma-compatible choice as the default. Options are frozen: a build cannot change them
half-way, and a compiled module records the ones it was built with.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class Options:
    """How rules are interpreted.

    collapse_whitespace
        The Go engine collapses runs of whitespace to one space in both pattern and event
        value before matching. pySigma does not. Default off (pySigma-compatible).
    field_names
        "sensitive" (spec and pySigma: `Image` and `image` are different fields) or
        "insensitive" (field names are lower-cased on both sides, as some engines do).
    placeholders
        Values for the `expand` modifier: `%name%` -> list of strings. An unresolved
        placeholder is an error naming the rule and the placeholder.
    keyword_contains
        Keyword (full-text) values match anywhere in a field value (`*value*`), as the spec
        describes. When off, a keyword must equal a whole field value.
    logsource
        "windows" (default): rules only apply to events of their logsource; Windows
        logsources map to Channel/EventID via sigcc/data/windows_logsources.yml.
        "ignore": every rule applies to every event (for flat event streams that carry no
        channel information).
    max_expansion
        Upper bound on the number of values one detection item may expand to (windash,
        base64offset, expand, `1 of x*`). Exceeding it is a diagnostic, never a hang.

    Speed switches (they never change what matches; tests hold them to that):
    optimize
        Run the optimization passes (sigcc/compiler/passes) before generating code.
    dispatch
        At run time, test an event only against the logsource groups its (Channel,
        EventID) can belong to, instead of evaluating every logsource condition.
    prefilter
        At run time, evaluate in full only the rules one of whose required literals occurs
        in the event (one Aho-Corasick automaton per field; see compiler/prefilter.py).
    """

    collapse_whitespace: bool = False
    field_names: str = "sensitive"
    placeholders: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    keyword_contains: bool = True
    logsource: str = "windows"
    max_expansion: int = 4096
    optimize: bool = True
    dispatch: bool = True
    prefilter: bool = True

    def __post_init__(self) -> None:
        if self.field_names not in ("sensitive", "insensitive"):
            raise ValueError("Options.field_names must be 'sensitive' or 'insensitive'")
        if self.logsource not in ("windows", "ignore"):
            raise ValueError("Options.logsource must be 'windows' or 'ignore'")
        frozen = {str(k): tuple(str(x) for x in (v if isinstance(v, (list, tuple)) else [v]))
                  for k, v in dict(self.placeholders).items()}
        object.__setattr__(self, "placeholders", MappingProxyType(frozen))

    def runtime_flags(self) -> dict:
        """The options the runtime needs to prepare events the way the rules were compiled."""
        return {
            "collapse_whitespace": self.collapse_whitespace,
            "field_names": self.field_names,
            "logsource": self.logsource,
            "dispatch": self.dispatch,
            "prefilter": self.prefilter,
        }


DEFAULT_OPTIONS = Options()
