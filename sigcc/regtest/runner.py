"""Running cases: the rules are compiled once, each corpus is read and matched once.

    results = run(cases, rulesets, options, unexpected="warn")

Every distinct corpus (a case's tuple of event paths) is read with scan's readers and
matched against every ruleset, as `sigcc scan` does (prepare + match_prepared), with fresh
correlation windows per corpus (a correlation fires on a case's events only); the counts
per rule are then judged for each case that uses the corpus:
- `passed`  the rule's count meets the expectation (SigmaHQ: at least 1);
- `failed`  it does not, or `--unexpected fail` and other rules fired;
- `error`   the case could not run: unreadable, its rule not among the rules given (the
            rule's own compile error is quoted when there is one), events that could not be
            read, no events at all, a rule that raised on them;
- `skipped` the case says why (e.g. SigmaHQ's `raw` events).
Warnings (a SigmaHQ count other than `match_count`; with `--unexpected warn`, the other rules
that fired) never fail a case.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from sigcc.correlation import CorrelationOptions
from sigcc.regtest.cases import Case

__all__ = ["Result", "CorpusRun", "run", "UNEXPECTED", "MAX_REFS"]

UNEXPECTED = ("ignore", "warn", "fail")
MAX_REFS = 50  # match references kept per rule and corpus (the count is always exact)


@dataclass
class CorpusRun:
    """What one corpus gave: events read, matches (and firings) per rule id, up to MAX_REFS
    (file, record) references per rule, what could not be read, rules that raised."""

    events: int = 0
    counts: Counter = field(default_factory=Counter)
    refs: dict = field(default_factory=dict)
    titles: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    rule_errors: list = field(default_factory=list)
    uncounted: list = field(default_factory=list)  # what correlations could not use, in words
    seconds: float = 0.0

    def add(self, rule_id: str, title: str, ref) -> None:
        self.counts[rule_id] += 1
        self.titles.setdefault(rule_id, title)
        refs = self.refs.setdefault(rule_id, [])
        if len(refs) < MAX_REFS:
            refs.append(ref)


@dataclass
class Result:
    case: Case
    status: str  # passed | failed | error | skipped
    message: str
    rule_title: str | None = None
    count: int = 0
    matches: list = field(default_factory=list)  # (file, record) of the rule's matches
    unexpected: list = field(default_factory=list)  # (rule id, title, count), most first
    warnings: list = field(default_factory=list)
    events: int = 0
    seconds: float = 0.0


class _Rules:
    """The rule ids (and names) of the rulesets, and the compile errors per rule id."""

    def __init__(self, sets, diagnostics):
        self.title: dict[str, str] = {}
        self.by_name: dict[str, str] = {}
        self.refers: dict[str, set[str]] = {}  # correlation id -> the rule ids it is built on
        for rs in sets:
            for r in rs.rules:
                self.title.setdefault(r.id, r.title)
                if r.name:
                    self.by_name.setdefault(r.name, r.id)
            for step in rs.plan.steps:
                c = step.correlation
                self.title.setdefault(c.id, c.title)
                if c.name:
                    self.by_name.setdefault(c.name, c.id)
        for rs in sets:
            for step in rs.plan.steps:
                c = step.correlation
                self.refers[c.id] = {self.by_name.get(x, x) for x in c.rules}
        self.errors: dict[str, str] = {}
        for d in diagnostics:
            if d.severity == "error" and d.rule_id and d.rule_id not in self.errors:
                self.errors[d.rule_id] = d.render().splitlines()[0]

    def resolve(self, ref: str) -> str | None:
        if ref in self.title:
            return ref
        return self.by_name.get(ref)

    def built_on(self, rule_id: str) -> set[str]:
        """Every rule a correlation is built on, through chained correlations too."""
        out, todo = set(), [rule_id]
        while todo:
            for r in self.refers.get(todo.pop(), ()):
                if r not in out:
                    out.add(r)
                    todo.append(r)
        return out


def run_corpus(paths: tuple[str, ...], sets, options, corr_options) -> CorpusRun:
    """Read and match one corpus. Correlations run on their own Engine per ruleset (fresh
    windows, flushed at the end of the corpus): every firing is counted, also those of a
    correlation that only feeds another one (scan does not print those)."""
    from sigcc.correlation.engine import Engine
    from sigcc.correlation.scan import UNCOUNTED
    from sigcc.correlation.time import event_time
    from sigcc.runtime.inputs import Problem, read_events

    out = CorpusRun()
    t0 = time.perf_counter()
    errors_before = [len(rs.errors) for rs in sets]
    engines = [Engine(rs.plan, corr_options) if rs.plan.steps else None for rs in sets]
    wanted = [e.rules if e is not None else frozenset() for e in engines]
    for item in read_events(list(paths), options=options):
        if isinstance(item, Problem):
            out.problems.append(item)
            continue
        out.events += 1
        ref = (item.file, item.record)
        for k, rs in enumerate(sets):
            ev, lc, tc = rs.prepare(item.event)
            for m in rs.match_prepared(ev, lc, tc):
                out.add(m.rule_id, m.title, ref)
                if m.rule_id in wanted[k]:
                    for f in engines[k].feed(m.rule_id, ev, event_time(ev, corr_options), ref):
                        out.add(f.rule_id, f.title, _last(f))
    for e in engines:
        if e is not None:
            for f in e.flush():
                out.add(f.rule_id, f.title, _last(f))
            for key, words in UNCOUNTED.items():
                if e.counters.get(key):
                    out.uncounted.append(f"{e.counters[key]} {words}")
    for rs, n in zip(sets, errors_before):
        out.rule_errors += rs.errors[n:]
    out.seconds = time.perf_counter() - t0
    return out


def _last(firing):
    """Where a firing is reported: its last contributing event."""
    return tuple(firing.events[-1]) if firing.events else ("", None)


def run(cases: list[Case], sets, options, diagnostics=(), unexpected: str = "warn",
        corr_options: CorrelationOptions | None = None, on_result=None) -> list[Result]:
    """Judge every case; `on_result(result)` is called as each is decided (for progress)."""
    if unexpected not in UNEXPECTED:
        raise ValueError(f"unexpected must be one of {UNEXPECTED}, not {unexpected!r}")
    rules = _Rules(sets, diagnostics)
    # as scan without --state: every window decided at the end of the corpus, whatever the
    # order of its files
    corr_options = corr_options or CorrelationOptions(lateness=float("inf"))
    runs: dict[tuple[str, ...], CorpusRun] = {}
    results = []
    for case in cases:
        if case.error is None and case.skip is None and rules.resolve(case.rule) is not None \
                and case.corpus not in runs:
            runs[case.corpus] = run_corpus(case.corpus, sets, options, corr_options)
        r = judge(case, rules, runs.get(case.corpus), unexpected)
        results.append(r)
        if on_result is not None:
            on_result(r)
    return results


def judge(case: Case, rules: _Rules, cr: CorpusRun | None, unexpected: str) -> Result:
    if case.error is not None:
        where = f"{case.source}:{case.line}" if case.line else case.source
        return Result(case, "error", f"{where}: {case.error}")
    if case.skip is not None:
        return Result(case, "skipped", case.skip)
    rid = rules.resolve(case.rule)
    if rid is None:
        why = rules.errors.get(case.rule)
        return Result(case, "error",
                      f"rule {case.rule} is not among the rules given to --rules"
                      + (f": it did not compile: {why}" if why else
                         "; give the rule's file or directory to --rules (or fix its id)"))
    title = rules.title[rid]
    base = Result(case, "error", "", title, cr.counts[rid], list(cr.refs.get(rid, ())),
                  events=cr.events, seconds=cr.seconds)
    if cr.problems:
        p = cr.problems[0]
        base.message = (f"{len(cr.problems)} problem(s) reading the events, first: {p.file}"
                        + (f" record {p.record}" if p.record is not None else "")
                        + f": {p.message}")
        return base
    if cr.rule_errors:
        e = cr.rule_errors[0]
        base.message = (f"{len(cr.rule_errors)} rule error(s) on these events, first: rule "
                        f"{e.rule_id} ({e.file}:{e.line}) raised {e.error}")
        return base
    if cr.events == 0:
        base.message = f"no events in {', '.join(case.corpus)}"
        return base
    skip = {rid} | rules.built_on(rid)
    others = sorted(((r, cr.titles[r], n) for r, n in cr.counts.items() if r not in skip),
                    key=lambda x: (-x[2], x[0]))
    if unexpected != "ignore":
        base.unexpected = others
    if case.match_count is not None and base.count != case.match_count:
        base.warnings.append(f"{base.count} matches where the info.yml's match_count says "
                             f"{case.match_count}")
    if cr.uncounted and (rules.refers.get(rid) or any(rid in rules.built_on(c)
                                                         for c in rules.refers)):
        hint = (" (name the time field with --timestamp-field)"
                if any("without an event time" in u for u in cr.uncounted) else "")
        base.warnings.append("correlations could not use: " + "; ".join(cr.uncounted) + hint)
    if unexpected == "warn" and others:
        base.warnings.append(f"{len(others)} other rule(s) fired on these events")
    ok = case.holds(base.count)
    said = (f"{base.count} match{'es' if base.count != 1 else ''} of {title!r} in "
            f"{cr.events} event{'s' if cr.events != 1 else ''}, expected {case.expectation}")
    if not ok:
        base.status, base.message = "failed", said
    elif unexpected == "fail" and others:
        base.status = "failed"
        base.message = said + f"; but {len(others)} other rule(s) fired (--unexpected fail)"
    else:
        base.status, base.message = "passed", said
    return base
