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
    slash_regex
        A plain value written `/.../` (no modifier but `all`; keyword values too) is a
        regular expression, as in the Go engine ("non-spec regex"): every leading and
        trailing `/` is stripped, as Go strips them, and the rest is searched for,
        case-sensitively. Default off: in the spec such a value is a wildcard string, and
        SigmaHQ's 16 plain values of that shape are paths (`/../../`, `/bin/bash -c ...`).
        Part of `--compat go` (sigcc/compat.py, docs/migrating-from-go.md).
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
        channel information). Field aliases stay (see field_aliases).
    field_aliases
        On (default): an event of a (Channel, EventID) the logsource table gives aliases
        for gets the rule-side name of a field it holds under another name, when it lacks
        that name (absent or null): Security 4688's NewProcessName / ParentProcessName as
        Image / ParentImage. Queries express the same ("Image if present, else
        NewProcessName" on Security 4688 events; the windows-field-aliases pipeline). Windows
        field names with spaces (Defender's `Threat Name`) are also given without them
        (`ThreatName`), in the runtime and the queries. Off: a rule sees only the event's own
        field names. Independent of `logsource`.
    unmapped_logsource
        What a Windows rule applies to when the table maps its logsource to no Channel/EventID
        (SigmaHQ's file_access, file_rename; an unknown category or service); the build warns
        (`unmapped-logsource`) in every mode. "fields" (default): only Windows events that hold
        at least one of the logsource's fields — those the table lists for it under
        `unmapped` (the provider's own fields, from SigmaHQ's tests/logsource.json), else the
        fields the rule's detection names (a detection of keywords only names none: every
        Windows event). "all": every Windows event. "none": no event. Queries carry the same
        condition (`FileObject IS NOT NULL OR ...`).
    max_expansion
        Upper bound on the number of values one detection item may expand to (windash,
        base64offset, expand, `1 of x*`). Exceeding it is a diagnostic, never a hang.

    Resource limits (each one hit is a diagnostic or a reported problem naming the limit,
    never a hang, a crash or a silent drop; see "Robustness" in the README):
    max_rule_file_bytes
        Largest rule file read (SigmaHQ's largest is ~300 kB); also the most characters of
        text one file's values may expand to through YAML aliases.
    max_yaml_nodes
        Most YAML nodes one rule file may hold after alias expansion: an alias counts as
        often as it is used and a global document once per document it is merged into, so
        an alias bomb is refused before it is expanded (SigmaHQ's largest file: ~4,500).
    max_depth
        Deepest nesting of a condition (parentheses and `not`) and of a rule's YAML values
        (SigmaHQ's deepest: 3 and 5). Every depth up to it compiles, imports, matches and
        converts to every target, whatever the shape; SQLite's parser is the first to give
        up above it (at 15, for and/or alternating twice per level).
    max_event_bytes
        Largest single event read, in bytes: a JSONL line, a .json element, an EVTX
        record's JSON. A longer JSONL line is skipped without being held in memory (a .json
        file is mapped, not read); the event is a reported problem naming the limit.
    max_event_depth
        Deepest nesting of objects and arrays in one event (the event itself is level 1),
        checked on the text before it is parsed; a deeper event is a reported problem naming
        the limit. `Ruleset.match` refuses a deeper dict with a ValueError naming it (at the
        default, 100: a Ruleset is not given the readers' Options).
    regex_timeout
        Seconds one regex test may take on the bounded engine (the few patterns the
        linear-time engine cannot express: look-arounds, back-references). A timeout is a
        reported per-rule error for that event, never a hang and never a silent non-match.

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
    slash_regex: bool = False
    field_names: str = "sensitive"
    placeholders: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    keyword_contains: bool = True
    logsource: str = "windows"
    field_aliases: bool = True
    unmapped_logsource: str = "fields"
    max_expansion: int = 4096
    max_rule_file_bytes: int = 4 << 20
    max_yaml_nodes: int = 200_000
    max_depth: int = 12
    max_event_bytes: int = 16 << 20
    max_event_depth: int = 100
    regex_timeout: float = 0.5
    optimize: bool = True
    dispatch: bool = True
    prefilter: bool = True

    def __post_init__(self) -> None:
        if self.field_names not in ("sensitive", "insensitive"):
            raise ValueError("Options.field_names must be 'sensitive' or 'insensitive'")
        if self.logsource not in ("windows", "ignore"):
            raise ValueError("Options.logsource must be 'windows' or 'ignore'")
        if self.unmapped_logsource not in ("fields", "all", "none"):
            raise ValueError("Options.unmapped_logsource must be 'fields', 'all' or 'none'")
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
            "regex_timeout": self.regex_timeout,
            # recorded only when on, so that modules built without it stay byte-identical
            **({"slash_regex": True} if self.slash_regex else {}),
            # likewise recorded only when not the default (the runtime reads field_aliases)
            **({"field_aliases": False} if not self.field_aliases else {}),
            **({"unmapped_logsource": self.unmapped_logsource}
               if self.unmapped_logsource != "fields" else {}),
        }


DEFAULT_OPTIONS = Options()
