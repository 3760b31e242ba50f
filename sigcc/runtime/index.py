"""The rule index: which rules an event is evaluated against.

Two steps, each switchable (`Options.dispatch`, `Options.prefilter`), neither ever changing
what matches:

1. **Dispatch.** Rules are grouped by logsource. Each group carries a spec of the
   (Channel, EventID) values its condition can accept (compiler/dispatch.py); the groups
   an event can belong to are looked up once per distinct (Channel, EventID) and cached.
   The group's logsource condition is still evaluated: the spec only narrows.
2. **Literal prefilter.** Each rule carries (field, literal) pairs one of which must occur
   in the field's lower-cased text for the rule to match (compiler/prefilter.py). A group
   holds one Aho-Corasick automaton per field over its rules' literals; an event's values
   are scanned once, and only the rules whose literal was seen, plus those without a
   literal set, are evaluated in full, in rule order; keyword literals are looked for in
   the joined text of all values (the pseudo-fields STR_TEXT/ALL_TEXT). (pyahocorasick over hyperscan, and
   frozenset values merged with |=: docs/prefilter.md has the measurements.)
"""
from __future__ import annotations

from collections import defaultdict

import ahocorasick

from sigcc.compiler.dispatch import allows
from sigcc.runtime.values import ABSENT, Multi

MAX_PLANS = 4096  # distinct (Channel, EventID) keys cached; past it, plans are recomputed
MIN_PREFILTERED = 4  # a group with fewer rules is cheaper to evaluate than to prefilter,
MIN_LITERALS = 8  # unless they have this many literals: one automaton pass beats many `in`s


class Group:
    """The rules of one logsource: its condition, dispatch spec, rules and prefilter."""

    __slots__ = ("key", "applies", "spec", "rules", "always", "always_rules", "automata",
                 "texts")

    def __init__(self, key: str, applies, spec, rules: tuple, prefilter: bool):
        self.key, self.applies, self.spec, self.rules = key, applies, spec, rules
        self.automata: dict | None = None
        self.texts: tuple = ()  # (pseudo-field, automaton): keyword literals (prefilter.py)
        self.always: frozenset = frozenset()
        self.always_rules: tuple = rules
        if prefilter and (len(rules) >= MIN_PREFILTERED or sum(
                len(r.literals) for r in rules if r.literals) >= MIN_LITERALS):
            self._build_prefilter()

    def _build_prefilter(self) -> None:
        by_field: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        always = []
        for pos, r in enumerate(self.rules):
            if r.literals is None:
                always.append(pos)
                continue
            for field, literal in r.literals:
                by_field[field][literal].append(pos)
        automata = {}
        for field in sorted(by_field):
            a = ahocorasick.Automaton()
            for literal, positions in by_field[field].items():
                a.add_word(literal, frozenset(positions))
            a.make_automaton()
            automata[field] = a
        # STR_TEXT/ALL_TEXT are LowerCache keys, never event fields: scanned for every event
        self.texts = tuple((f, automata.pop(f)) for f in sorted(automata) if f.startswith("\x00"))
        self.automata, self.always = automata, frozenset(always)
        self.always_rules = tuple(self.rules[i] for i in always)

    def candidates(self, ev: dict, lc):
        """The rules to evaluate in full for this event, in rule order."""
        automata = self.automata
        if automata is None:
            return self.rules
        hits: set = set()
        for field, a in self.texts:
            for _, positions in a.iter(lc[field]):
                hits |= positions
        for field in automata.keys() & ev.keys():
            v = lc[field]
            if v.__class__ is str:
                for _, positions in automata[field].iter(v):
                    hits |= positions
            elif v.__class__ is Multi:
                it = automata[field].iter
                for x in v:
                    for _, positions in it(x):
                        hits |= positions
        if not hits:
            return self.always_rules
        hits |= self.always
        rules = self.rules
        return [rules[i] for i in sorted(hits)]


class Index:
    """Groups by logsource, looked up per event by its (Channel, EventID)."""

    def __init__(self, groups: list[Group], fields: tuple[str, str], dispatch: bool):
        self.groups = tuple(groups)
        self.fields = fields
        self.dispatch = dispatch
        self._plans: dict = {}

    def groups_for(self, lc) -> tuple[Group, ...]:
        if not self.dispatch:
            return self.groups
        channel, event_id = lc[self.fields[0]], lc[self.fields[1]]
        key = (channel, event_id)
        plan = self._plans.get(key)
        if plan is None:
            c = None if channel is ABSENT else channel
            e = None if event_id is ABSENT else event_id
            plan = tuple(g for g in self.groups if allows(g.spec, c, e))
            # list values (Multi) compare equal to their elements: never cache them as keys
            if len(self._plans) < MAX_PLANS and Multi not in (c.__class__, e.__class__):
                self._plans[key] = plan
        return plan
