"""The runtime: load a generated module and match events against it.

    rs = Ruleset.load("detections.py")       # or a module object, or sigcc.compile(rules)
    for m in rs.match(event):                 # event: EVTX-shaped, nested or flat dict
        print(m.rule_id, m.title, m.level, m.searches)

An event is tested only against the rules whose logsource condition it meets; each
logsource condition is evaluated once per event. Which groups and rules are tried at all is
decided by the index (runtime/index.py): dispatch on (Channel, EventID) and the literal
prefilter, both on unless the module was built with them off or the Ruleset is told so.

`Ruleset.plan` is the module's resolved correlation plan (sigcc.correlation; empty for a
module without correlations), `Ruleset.correlations` its correlations in the order they run:
`sigcc.correlation.Engine(rs.plan)` runs them over the matches.
"""
from __future__ import annotations

import importlib.util
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import orjson

from sigcc.runtime.events import flatten
from sigcc.runtime.index import Group, Index
from sigcc.runtime.values import CollapsedLowerCache, CollapsedTextCache, LowerCache, TextCache

SUPPORTED_FORMATS = (2,)


@dataclass(frozen=True, slots=True)
class RuleInfo:
    id: str
    title: str
    level: str | None
    status: str | None
    tags: tuple[str, ...]
    logsource: tuple
    references: tuple[str, ...]
    file: str
    line: int
    condition: str
    name: str | None = None  # the rule's `name:` (correlations may refer to it by it)


@dataclass(frozen=True, slots=True)
class Match:
    """One rule firing on one event: the rule and which of its search identifiers were true."""

    rule_id: str
    title: str
    level: str | None
    tags: tuple[str, ...]
    searches: tuple[str, ...]
    rule: RuleInfo


@dataclass(frozen=True, slots=True)
class RuleError:
    """A rule that raised while matching one event (reported, never silently dropped)."""

    rule_id: str
    file: str
    line: int
    error: str


class CompiledRule:
    """One rule of a module: its info, match function, (search name, function) pairs,
    prefilter literals (None: always evaluated) and the search names true whenever it fires
    when the condition fixes them (compiler/fired.py; None: evaluated after it fired).
    `Ruleset.compiled` lists them in order."""

    __slots__ = ("info", "fn", "searches", "literals", "fired")

    def __init__(self, info, fn, searches, literals, fired=None):
        self.info, self.fn, self.searches, self.literals = info, fn, searches, literals
        self.fired = fired


def _json_lines(text: str) -> list:
    # split on "\n" only: str.splitlines() also splits on characters JSON leaves unescaped
    return [orjson.loads(line) for line in text.split("\n") if line]


class Ruleset:
    """A compiled rule set, ready to match events.

    `dispatch` and `prefilter` (None: as the module was built) switch the index's two steps;
    they change speed only, never what matches.
    """

    def __init__(self, module: types.ModuleType, diagnostics=(), *, dispatch: bool | None = None,
                 prefilter: bool | None = None):
        fmt = getattr(module, "SIGCC_FORMAT", None)
        if fmt not in SUPPORTED_FORMATS:
            raise ValueError(f"{getattr(module, '__file__', module)!r} is not a sigcc module of a "
                             f"supported format (SIGCC_FORMAT={fmt!r}); rebuild it with 'sigcc build'")
        self.module = module
        self.diagnostics = list(diagnostics)
        self.options = dict(module.OPTIONS)
        self._lower_names = self.options.get("field_names") == "insensitive"
        self._aliases = self.options.get("field_aliases", True)
        collapse = self.options.get("collapse_whitespace")
        self._lc = CollapsedLowerCache if collapse else LowerCache
        self._tc = CollapsedTextCache if collapse else TextCache
        self.rules: list[RuleInfo] = []
        self.compiled: list[CompiledRule] = []  # per rule, in module order
        groups: list[list[CompiledRule]] = [[] for _ in module.LOGSOURCES]
        for r, (fn, search_fns) in zip(_json_lines(module.RULES_JSON), module.MATCHERS):
            info = RuleInfo(r["id"], r["title"], r["level"], r["status"], tuple(r["tags"]),
                            tuple(r["logsource"]), tuple(r["references"]), r["file"], r["line"],
                            r["condition"], r.get("name"))
            self.rules.append(info)
            literals = r["literals"]
            fired = r.get("fired")
            c = CompiledRule(info, fn, tuple(zip(r["searches"], search_fns)),
                             None if literals is None else tuple(map(tuple, literals)),
                             None if fired is None else tuple(fired))
            self.compiled.append(c)
            groups[r["logsource_index"]].append(c)
        self.dispatch = self.options.get("dispatch", True) if dispatch is None else dispatch
        self.prefilter = self.options.get("prefilter", True) if prefilter is None else prefilter
        self.index = Index([Group(key, applies, spec, tuple(g), self.prefilter)
                            for (key, applies, spec), g in zip(module.LOGSOURCES, groups) if g],
                           module.DISPATCH_FIELDS, self.dispatch)
        self.errors: list[RuleError] = []
        from sigcc.correlation.serial import plan_from_lines
        self.plan = plan_from_lines("".join(getattr(module, "CORRELATIONS_JSON", ())))
        self.correlations = tuple(s.correlation for s in self.plan.steps)

    # loading
    @classmethod
    def load(cls, module_or_path, *, dispatch: bool | None = None,
             prefilter: bool | None = None) -> "Ruleset":
        """A Ruleset from a generated module (object or path)."""
        if isinstance(module_or_path, types.ModuleType):
            return cls(module_or_path, dispatch=dispatch, prefilter=prefilter)
        path = Path(module_or_path)
        name = f"sigcc_rules_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ValueError(f"cannot load {path}: not a Python module")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return cls(module, dispatch=dispatch, prefilter=prefilter)

    @classmethod
    def from_source(cls, source: str, filename: str = "<sigcc>", diagnostics=(), *,
                    dispatch: bool | None = None, prefilter: bool | None = None) -> "Ruleset":
        module = types.ModuleType("sigcc_generated")
        module.__file__ = filename
        exec(compile(source, filename, "exec"), module.__dict__)
        return cls(module, diagnostics, dispatch=dispatch, prefilter=prefilter)

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def linemap(self) -> list[tuple[int, str, int]]:
        """(generated line, rule file, rule line) for every generated function."""
        return [tuple(row) for row in _json_lines(self.module.LINEMAP_JSON)]

    # matching
    def prepare(self, event: dict):
        ev = flatten(event, self._lower_names, aliases=self._aliases)
        return ev, self._lc(ev), self._tc(ev)

    def match(self, event: dict) -> list[Match]:
        """Every rule that fires on `event`, in rule order within each logsource."""
        return self.match_prepared(*self.prepare(event))

    def match_prepared(self, ev, lc, tc) -> list[Match]:
        out = []
        for g in self.index.groups_for(lc):
            if not g.applies(ev, lc, tc):
                continue
            for r in g.candidates(ev, lc):
                try:
                    hit = r.fn(ev, lc, tc)
                except Exception as exc:  # a rule bug must not stop the scan; it is reported
                    self._error(r, exc)
                    continue
                if hit:
                    i = r.info
                    fired = r.fired
                    if fired is None:
                        fired = self._fired(r, ev, lc, tc)
                    out.append(Match(i.id, i.title, i.level, i.tags, fired, i))
        return out

    def _fired(self, r: CompiledRule, ev, lc, tc) -> tuple[str, ...]:
        """The search identifiers of a rule that fired which are true. The condition may have
        short-circuited past a search that raises (a regex timeout): the match stands, that
        search is left out and its error is reported."""
        fired = []
        for name, fn in r.searches:
            try:
                if fn(ev, lc, tc):
                    fired.append(name)
            except Exception as exc:
                self._error(r, exc, name)
        return tuple(fired)

    def _error(self, r: CompiledRule, exc: Exception, search: str | None = None) -> None:
        where = f"search {search!r}: " if search else ""
        self.errors.append(RuleError(r.info.id, r.info.file, r.info.line, where + repr(exc)))

    # explaining (sigcc/explain)
    def explain(self, event: dict, rule_id: str | None = None):
        """Why each rule whose logsource applies to `event` (or rule `rule_id` only) did or
        did not fire: an Explanation (sigcc/explain/explainer.py) with the verdict of every
        search identifier and field test. The rules are lowered again, once, from the files
        the module records; a rule that cannot be (a file gone or changed, a rule compiled
        from a text) is explained as an error saying so."""
        from sigcc.explain import Explainer
        if getattr(self, "_explainer", None) is None:
            self._explainer = Explainer.for_ruleset(self)
        return self._explainer.explain(event, rule_id)
